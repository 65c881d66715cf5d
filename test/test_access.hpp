// raftlite tests — access to the library's deliberately broken rules
// (raftlite/detail/faults.hpp), for the tests that prove the checks can fail.
#ifndef RAFTLITE_TEST_ACCESS_HPP
#define RAFTLITE_TEST_ACCESS_HPP

#include <raftlite/core.hpp>
#include <raftlite/runner.hpp>

namespace raftlite::detail {

struct core_test_access {
    static core_faults& faults(core& c) { return c.faults_; }
};

struct runner_test_access {
    static runner_faults& faults(runner& r) { return r.faults_; }
    static core& raft(runner& r) { return *r.core_; }
};

} // namespace raftlite::detail

#endif
