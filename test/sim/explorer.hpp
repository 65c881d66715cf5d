// raftlite simulator — exhaustive exploration of a small cluster.
//
// From 3 fresh nodes, every interleaving of the enabled events up to a depth:
// deliver, drop or duplicate any in-flight message (so every reordering is
// covered), fire a node's election or heartbeat timer, complete a node's
// pending sync, crash a node (losing all or none of its unsynced writes) and
// restart it, issue a broadcast at a node, take a snapshot at a node's
// applied index (max_snapshots; with core.log_keep_entries 0 a follower that
// lags then needs InstallSnapshot), ask the leader to remove a node (any of
// the three, itself included: max_membership, a single-server change, thesis
// §4). States already seen (by a hash of
// every core's observable state, the disks and the network) are not explored
// again unless reached at a smaller depth. The same invariants as the random
// simulator are checked after every transition.
#ifndef RAFTLITE_SIM_EXPLORER_HPP
#define RAFTLITE_SIM_EXPLORER_HPP

#include <raftlite/core.hpp>
#include <raftlite/detail/faults.hpp>

#include <cstdint>
#include <string>

namespace raftlite::sim {

struct explore_config {
    std::size_t depth = 12;
    std::size_t broadcasts = 1;       ///< client broadcasts issued along a path, at most
    std::size_t max_crashes = 1;
    std::size_t max_drops = 1;        ///< messages lost along a path
    std::size_t max_duplicates = 1;
    std::size_t max_timeouts = 3;     ///< election timeouts along a path
    std::size_t max_heartbeats = 2;
    std::size_t max_snapshots = 0;    ///< snapshot events along a path (a node snapshots what it applied)
    std::size_t max_membership = 1;   ///< membership events along a path (the leader is asked to remove a node)
    std::uint64_t max_states = 40'000'000;   ///< distinct states before giving up (memory bound)
    core_config core;                 ///< template (self/members set per node)
    detail::core_faults broken_core;  ///< deliberately broken protocol rules (sim_fault_tests)
};

struct explore_result {
    bool ok = true;
    std::string invariant;
    std::string detail;
    std::string path;                 ///< the events leading to the violation
    std::uint64_t transitions = 0;
    std::uint64_t distinct_states = 0;
    std::size_t max_depth = 0;
    bool budget_exhausted = false;
    std::uint64_t states_with_leader = 0;
    std::uint64_t states_with_commit = 0;
    std::uint64_t states_with_snapshot = 0;   ///< some node holds a snapshot
    std::uint64_t restores = 0;               ///< transitions that replaced a state machine by a snapshot
    std::uint64_t states_with_change = 0;     ///< some node's configuration is not the bootstrap one
};

explore_result explore(const explore_config& cfg);

} // namespace raftlite::sim

#endif
