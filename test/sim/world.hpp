// raftlite simulator — a cluster of cores in virtual time.
//
// One run: N nodes, a virtual clock in ticks of 1 ms, one seeded PRNG for every
// choice, clients issuing key-value operations through broadcast_request, and
// a fault schedule (crashes that lose unsynced writes, restarts, partitions of
// every shape, loss and duplication). The safety invariants are checked after
// every step. After `steps` steps the faults heal and the run must show
// liveness: a leader, and a fresh broadcast committed on every node, within
// `liveness_bound()`. The client history must then be linearizable.
#ifndef RAFTLITE_SIM_WORLD_HPP
#define RAFTLITE_SIM_WORLD_HPP

#include <raftlite/core.hpp>
#include <raftlite/detail/faults.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>

namespace raftlite::sim {

struct fault_kinds {
    bool crash = true;
    bool partition = true;
    bool loss = true;        ///< message loss (also one-way links)
    bool duplicate = true;
    static fault_kinds all() { return {}; }
    static fault_kinds none() { return {false, false, false, false}; }
    /// "all", "none", or a comma list of crash,partition,loss,duplicate.
    static fault_kinds parse(const std::string& s);
    std::string to_string() const;
};

struct world_config {
    std::uint64_t seed = 1;
    std::size_t nodes = 3;
    std::uint64_t steps = 20000;            ///< steps (events) with faults, before healing
    fault_kinds faults;
    std::size_t clients = 4;
    std::size_t keys = 3;
    std::uint64_t election_timeout = 150;   ///< T: timeouts are drawn from [T, 2T)
    std::uint64_t heartbeat = 30;
    std::uint64_t min_latency = 1;
    std::uint64_t max_latency = 15;
    std::uint64_t max_sync = 3;             ///< a sync takes 0..max_sync ticks
    std::uint64_t client_timeout = 1500;    ///< a client gives up (outcome unknown) after this
    std::uint64_t client_think = 30;        ///< a client waits 0..client_think ticks between operations
    std::uint64_t fault_min_gap = 50;       ///< faults strike every fault_min_gap..fault_max_gap ticks
    std::uint64_t fault_max_gap = 400;
    core_config core;                       ///< template for every node (self/members are set per node)
    detail::core_faults broken_core;        ///< deliberately broken protocol rules (sim_fault_tests)
    detail::runner_faults broken_driver;    ///< deliberately broken driver rules (sim_fault_tests)
    /// Drivers group-commit: half the messages a node receives wait up to 2 ms
    /// and are then stepped together into one output (one write batch, one sync).
    bool group_commit = false;
    /// A deliberately wrong client, to show the history check at work: reads
    /// are answered from the contacted node's state machine, not through the
    /// log (the stale-read incident of the test scenarios).
    bool local_reads = false;
    bool check_outcomes = true;             ///< healed and idle, every accepted broadcast has an outcome
    bool check_false_failures = true;       ///< a broadcast that failed never commits later
    std::size_t trace_keep = 60;            ///< lines of trace kept for a failure report
    std::ostream* trace_all = nullptr;      ///< stream every trace line here

    /// Healed cluster: a broadcast commits on every node within this many ticks.
    /// Elections take at most a few rounds of [T, 2T) plus round trips; the
    /// bound allows 20 election timeouts, ample for randomized split votes.
    std::uint64_t liveness_bound() const { return 20 * election_timeout; }
};

struct run_stats {
    std::uint64_t steps = 0;
    std::uint64_t virtual_ms = 0;
    std::uint64_t crashes = 0;
    std::uint64_t partitions = 0;
    std::uint64_t elections = 0;        ///< distinct (term, leader) pairs seen
    std::uint64_t messages = 0;
    std::uint64_t ops = 0;              ///< client operations invoked
    std::uint64_t ops_determinate = 0;
    std::uint64_t committed = 0;        ///< entries known committed
    std::uint64_t lost_writes = 0;      ///< unsynced disk operations lost by crashes
    std::uint64_t heal_to_commit_ms = 0;
    run_stats& operator+=(const run_stats& o);
};

struct run_result {
    bool ok = true;
    std::uint64_t seed = 0;
    std::string invariant;   ///< the violated property ("liveness", "linearizability", ...)
    std::string detail;
    std::string trace;       ///< the last events before the failure
    std::uint64_t digest = 0;
    run_stats stats;
};

run_result run_world(const world_config& cfg);

/// A report of a failed run, with the command line that replays it.
std::string describe_failure(const world_config& cfg, const run_result& r);

} // namespace raftlite::sim

#endif
