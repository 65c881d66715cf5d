// raftlite simulator — the standard sweep: the configurations and seeds that
// sim_tests runs against the correct core, and that sim_fault_tests runs
// against each deliberately broken rule (each must be caught by it).
//
// Every family runs with every fault kind (crashes, power losses and process
// crashes, partitions of every shape, loss, duplication, late delivery) and
// every check on; a third of the seeds read through the log, a third through
// ReadIndex, a third under leases, and half of them run retrying clients;
// in the main, batch-of-one and snapshot families half the seeds run
// membership churn with two spare nodes (churn_for).
// Seed S of a family replays with the command line that describe_failure()
// prints.
#ifndef RAFTLITE_SIM_SWEEP_HPP
#define RAFTLITE_SIM_SWEEP_HPP

#include "world.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace raftlite::sim {

struct sweep_family {
    std::string name;
    std::uint64_t first = 1, last = 1;   ///< seeds
    world_config (*make)(std::uint64_t seed) = nullptr;
    std::size_t seeds() const { return static_cast<std::size_t>(last - first + 1); }
};

/// Half the seeds run retrying clients (world_config::retrying_clients:
/// sessions, exactly-once retries, thesis §6.3). seed mod 6 picks the read
/// mode (mod 3) and, in most families, the cluster size (mod 2); seed / 6
/// leaves both alone, so every read mode and size runs with and without.
inline bool retrying_clients_for(std::uint64_t seed) { return (seed / 6) % 2 == 1; }

/// Pre-vote (thesis §9.6) is on in the seeds S with S / 24 even and off in
/// the others, whatever their read mode, size and clients: both election
/// paths run in every family, with and without membership churn (S / 12
/// odd). (Pre-vote makes contested elections rare, and the broken election
/// rules of sim_fault_tests are mostly caught without it.)
inline bool pre_vote_for(std::uint64_t seed) { return (seed / 24) % 2 == 0; }

/// The disruptive-rejoin scenario (world_config::rejoin_isolation): no
/// faults, then one follower cut off for 6 election timeouts and let back;
/// 3 and 5 nodes alternate. `sim --seeds 1..50 --rejoin 900 --faults none`
/// runs the same.
inline world_config rejoin_config(std::uint64_t seed, bool pre_vote) {
    world_config c;
    c.seed = seed;
    c.nodes = seed % 2 ? 3 : 5;
    c.steps = 3000;
    c.faults = fault_kinds::none();
    c.core.pre_vote = pre_vote;
    c.rejoin_isolation = 6 * c.election_timeout;
    return c;
}

inline world_config sweep_config(std::uint64_t seed, std::size_t nodes, std::uint64_t steps) {
    world_config c;
    c.seed = seed;
    c.nodes = nodes;
    c.steps = steps;
    c.faults = fault_kinds::all();
    // Gets go through the log, through ReadIndex, or under a lease with
    // clocks drifting within the bound the lease assumes, a third each.
    c.reads = static_cast<sim_read_mode>(seed % 3);
    if (c.reads == sim_read_mode::lease) c.clock_drift = 0.9 * c.lease_drift_bound;
    c.retrying_clients = retrying_clients_for(seed);
    c.core.pre_vote = pre_vote_for(seed);
    return c;
}

/// Membership churn (world_config::membership_changes): the seeds S with
/// (S / 12) odd, in the main, batch-of-one and snapshot families (and in
/// `sim --faults all` sweeps), so every read mode, size and client kind runs
/// with and without it.
inline bool churn_for(std::uint64_t seed) { return (seed / 12) % 2 == 1; }

/// Churn settings: a change asked every 250..750 ms (now and then two in a
/// row), two spare nodes waiting to be added, at least 3 voters kept (2 for
/// smaller clusters), a replace dipping one below.
inline void apply_churn_settings(world_config& c) {
    c.membership_changes = 500;
    c.spare_nodes = 2;
}

/// The stranded-servers scenario: 5 voters, two spares, membership churn in
/// every seed, every fault, and 12 clients (three times the sweep's), so
/// that clients often reach a server just as it is dropped from the
/// configuration without learning it: a spare whose addition is undone
/// after it received it, a leader removed while cut off. No leader
/// replicates to such a server again (thesis §4.2.2), so only its own bound
/// (hold_elections) settles what it holds; a rule that waits for a leader to
/// tell fails the broadcast outcome check in about one seed in seventy-five.
/// `sim --seeds 1..600 --nodes 5 --spares 2 --membership-changes 500
/// --clients 12 --faults all --snapshots 0 --steps 8000` runs the same.
inline world_config stranded_servers_config(std::uint64_t seed) {
    world_config c = sweep_config(seed, 5, 8000);
    apply_churn_settings(c);
    c.clients = 12;
    return c;
}

/// The snapshot family's settings for seed `s`: every node snapshots every
/// 5..24 entries and keeps 0..7 entries below it, snapshots travel in chunks
/// of 1..16 bytes, 1..3 in flight; two seeds in three take their snapshots
/// deferred (finished, and received ones sealed, 1..30 ms later, so crashes
/// fall in between). `sim --faults all` sweeps use it too.
inline void apply_snapshot_settings(world_config& c, std::uint64_t s) {
    c.snapshot_entries = 5 + s % 20;
    c.core.log_keep_entries = s % 8;
    c.core.snapshot_chunk_bytes = 1 + s % 16;
    c.core.snapshot_chunks_inflight = 1 + s % 3;
    c.snapshot_delay = s % 3 == 0 ? 0 : 1 + (s / 3) % 30;
}

/// The Figure 8 family's settings (Raft §5.4.2): 3 nodes, only crashes and
/// partitions, one-entry batches, one request in flight, syncs of up to
/// 40 ms, 20000 steps. A new leader's own entries then stay undurable on its
/// disk (it counts itself only for what is durable) while an earlier term's
/// entry it holds reaches a majority of the others: the window in which
/// counting replicas of an earlier term commits it, and a later leader with a
/// newer conflicting entry erases it. The broken rule
/// (commit_earlier_term_by_count) fails about one seed in five here; in the
/// families above, whose schedules change with any change of timing (answers
/// sent without a disk round, say), it is a matter of a handful of seeds in
/// the hundreds.
inline void apply_figure8_settings(world_config& c) {
    c.nodes = 3;
    c.steps = 20000;
    c.faults = fault_kinds::none();
    c.faults.crash = true;
    c.faults.partition = true;
    c.max_sync = 40;
    c.core.max_batch_entries = 1;
    c.core.max_inflight = 1;
}

/// The families, each a modest number of seeds (sim_tests' budget):
///   main           seeds 1..300, 3 and 5 nodes alternating, 8000 steps;
///                  membership churn in the seeds S with S / 12 odd (as in
///                  batch of one and snapshots: configurations travel in
///                  snapshots and through one-entry batches there)
///   even sizes     2, 4 and 6 nodes (a 2-node cluster needs both nodes)
///   batch of one   max_batch_entries 1, max_inflight 1: a new leader's probe
///                  and its no-op no longer hide a stale suffix or the
///                  Figure 8 window behind one big batch
///   tiny batches   max_batch_entries 2, max_inflight 2
///   slow disks     syncs of up to 40 ms: crashes fall between write and sync;
///                  max_inflight_bytes 16..47 (a few entries): followers slow
///                  to answer fill the window by bytes, not by count
///   group commit   drivers that step several messages into one output, and
///                  start the broadcasts of a turn as one batch
///   snapshots      every node snapshots every 5..24 entries and keeps 0..7
///                  entries below it, chunks of 1..16 bytes: followers that
///                  fall behind (crashes, partitions) catch up by
///                  InstallSnapshot under loss, duplication and late copies;
///                  two seeds in three finish and seal snapshots 1..30 ms
///                  after they are asked for, and crashes abandon them
///   figure 8       apply_figure8_settings: the schedule in which an earlier
///                  term's entry may be committed by counting (§5.4.2)
inline const std::vector<sweep_family>& standard_sweep() {
    static const std::vector<sweep_family> families = {
        {"main (3/5 nodes)", 1, 300,
         [](std::uint64_t s) {
             world_config c = sweep_config(s, s % 2 ? 3 : 5, 8000);
             if (churn_for(s)) apply_churn_settings(c);
             return c;
         }},
        {"even sizes (2/4/6 nodes)", 3001, 3090,
         [](std::uint64_t s) { return sweep_config(s, 2 + 2 * (s % 3), 6000); }},
        {"batch of one (3/4/5 nodes)", 4001, 4060,
         [](std::uint64_t s) {
             world_config c = sweep_config(s, 3 + s % 3, 6000);
             c.core.max_batch_entries = 1;
             c.core.max_inflight = 1;
             if (churn_for(s)) apply_churn_settings(c);
             return c;
         }},
        {"tiny batches (2/3/5 nodes)", 5001, 5060,
         [](std::uint64_t s) {
             static const std::size_t sizes[] = {2, 3, 5};
             world_config c = sweep_config(s, sizes[s % 3], 6000);
             c.core.max_batch_entries = 2;
             c.core.max_inflight = 2;
             return c;
         }},
        {"slow disks (3/5 nodes)", 1001, 1050,
         [](std::uint64_t s) {
             world_config c = sweep_config(s, s % 2 ? 3 : 5, 6000);
             c.max_sync = 40;
             c.core.max_inflight_bytes = 16 + s % 32;
             return c;
         }},
        {"group commit (3/5 nodes)", 2001, 2050,
         [](std::uint64_t s) {
             world_config c = sweep_config(s, s % 2 ? 3 : 5, 6000);
             c.group_commit = true;
             c.max_sync = 1 + s % 20;
             return c;
         }},
        {"snapshots (3/5 nodes)", 6001, 6080,
         [](std::uint64_t s) {
             world_config c = sweep_config(s, s % 2 ? 3 : 5, 6000);
             apply_snapshot_settings(c, s);
             if (churn_for(s)) apply_churn_settings(c);
             return c;
         }},
        {"figure 8 (3 nodes)", 7001, 7040,
         [](std::uint64_t s) {
             world_config c = sweep_config(s, 3, 20000);
             apply_figure8_settings(c);
             return c;
         }},
    };
    return families;
}

/// Every (family, seed) of the standard sweep, interleaved: the k-th seed of
/// each family before the (k+1)-th of any. sim_fault_tests hunts in this
/// order, so a rule that only the small families catch is found early.
struct sweep_point {
    const sweep_family* family;
    std::uint64_t seed;
};
inline std::vector<sweep_point> standard_sweep_interleaved() {
    std::vector<sweep_point> out;
    std::size_t longest = 0;
    for (const sweep_family& f : standard_sweep()) longest = std::max(longest, f.seeds());
    for (std::size_t k = 0; k < longest; ++k)
        for (const sweep_family& f : standard_sweep())
            if (k < f.seeds()) out.push_back({&f, f.first + k});
    return out;
}

} // namespace raftlite::sim

#endif
