// raftlite fuzz targets — a property check that libFuzzer reports as a crash.
//
// assert() would vanish under NDEBUG; a violated property must always stop
// the run with the input saved, so it aborts after saying what failed.
#ifndef RAFTLITE_FUZZ_CHECK_HPP
#define RAFTLITE_FUZZ_CHECK_HPP

#include <cstdio>
#include <cstdlib>

#define RAFTLITE_FUZZ_CHECK(cond, what)                                                    \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "fuzz property violated at %s:%d: %s (%s)\n", __FILE__,   \
                         __LINE__, #cond, what);                                           \
            std::abort();                                                                  \
        }                                                                                  \
    } while (false)

#endif
