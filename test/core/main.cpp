// raftlite — the core's test suite (Boost.Test program core_tests).
// The test cases live in the other files of this directory, one file per topic.
#define BOOST_TEST_MODULE core_tests
#include <boost/test/unit_test.hpp>
