// The library's version: the macros agree with each other and with what the
// library reports at run time (the build reads the same header for
// raftlite.pc and the CMake package, Jamroot).
#include <boost/test/unit_test.hpp>

#include <raftlite/version.hpp>

#include <string>

BOOST_AUTO_TEST_SUITE(version)

BOOST_AUTO_TEST_CASE(macros_and_the_library_agree) {
    const std::string expected = std::to_string(RAFTLITE_VERSION_MAJOR) + "." +
                                 std::to_string(RAFTLITE_VERSION_MINOR) + "." +
                                 std::to_string(RAFTLITE_VERSION_PATCH);
    BOOST_TEST(std::string(RAFTLITE_VERSION_STRING) == expected);
    BOOST_TEST(std::string(raftlite::version()) == expected);
    BOOST_TEST(RAFTLITE_VERSION ==
               RAFTLITE_VERSION_MAJOR * 100000 + RAFTLITE_VERSION_MINOR * 100 + RAFTLITE_VERSION_PATCH);
}

BOOST_AUTO_TEST_SUITE_END()
