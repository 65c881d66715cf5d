// raftlite — the library's version, for the preprocessor and at run time.
//
// The one place the version is written: the build (Jamroot) reads it from
// here for raftlite.pc and the CMake package's version file.
#ifndef RAFTLITE_VERSION_HPP
#define RAFTLITE_VERSION_HPP

#define RAFTLITE_VERSION_MAJOR 0
#define RAFTLITE_VERSION_MINOR 2
#define RAFTLITE_VERSION_PATCH 1

#define RAFTLITE_DETAIL_STRING(x) #x
#define RAFTLITE_DETAIL_EXPANDED_STRING(x) RAFTLITE_DETAIL_STRING(x)
/// "MAJOR.MINOR.PATCH", made from the three numbers above.
#define RAFTLITE_VERSION_STRING                                                                      \
    RAFTLITE_DETAIL_EXPANDED_STRING(RAFTLITE_VERSION_MAJOR) "." RAFTLITE_DETAIL_EXPANDED_STRING(    \
        RAFTLITE_VERSION_MINOR) "." RAFTLITE_DETAIL_EXPANDED_STRING(RAFTLITE_VERSION_PATCH)
/// MAJOR * 100000 + MINOR * 100 + PATCH, as BOOST_VERSION counts: compare
/// with `#if RAFTLITE_VERSION >= 100` (0.1.0).
#define RAFTLITE_VERSION \
    (RAFTLITE_VERSION_MAJOR * 100000 + RAFTLITE_VERSION_MINOR * 100 + RAFTLITE_VERSION_PATCH)

namespace raftlite {

/// The version of the library linked, "MAJOR.MINOR.PATCH": the headers a
/// program was compiled with say RAFTLITE_VERSION_STRING, which differs when
/// it runs against another libraftlite.so.
const char* version() noexcept;

} // namespace raftlite

#endif
