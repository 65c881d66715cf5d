// raftlite simulator — a cluster of cores in virtual time.
//
// One run: N nodes, a virtual clock in ticks of 1 ms, one seeded PRNG for every
// choice, clients issuing key-value operations through broadcast_request, and
// a fault schedule (crashes that lose unsynced writes, restarts, partitions of
// every shape, loss, duplication and late delivery, process crashes that keep
// the page cache). The safety invariants are checked after every step. After
// `steps` steps the faults heal and the run must show liveness: a leader, and a
// fresh broadcast committed on every node, within `liveness_bound()`. The run
// then waits for quiescence (every node caught up, nothing in flight on any
// disk) before the end-of-run checks: acknowledged entries everywhere, the
// client history linearizable, every broadcast with an outcome, and a stable
// leader. With membership churn (membership_changes, spare_nodes) "every
// node" is every member of the leader's configuration at the end, and the
// leader is one of its voters.
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
    /// Late delivery: a message, or a duplicate of it, held back 0.5..3 s
    /// (many election timeouts: it arrives in a later term).
    bool late = true;
    /// Leadership transfers (thesis §3.10): now and then the leader is asked
    /// to hand over to a node picked at random (itself included: refused).
    bool transfer = true;
    static fault_kinds all() { return {}; }
    static fault_kinds none() { return {false, false, false, false, false, false}; }
    /// "all", "none", or a comma list of crash,partition,loss,duplicate,late,transfer.
    static fault_kinds parse(const std::string& s);
    std::string to_string() const;
};

/// How the simulated clients read (the kv store's read modes).
enum class sim_read_mode {
    log,          ///< a get is a log entry, like a write
    read_index,   ///< runner::read (thesis §6.4): a heartbeat round, then the local state
    lease,        ///< the same, served under the leader's lease when it holds (thesis §6.4.1)
};
const char* read_mode_name(sim_read_mode m) noexcept;

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
    std::uint64_t late_min = 500;           ///< fault `late`: a held-back message arrives late_min..late_max
    std::uint64_t late_max = 3000;          ///< ticks after it was sent
    std::uint64_t max_sync = 3;             ///< a sync takes 0..max_sync ticks
    std::uint64_t client_timeout = 1500;    ///< a client gives up (outcome unknown) after this
    std::uint64_t client_think = 30;        ///< a client waits 0..client_think ticks between operations
    /// Of the crashes, this percentage are process crashes (the page cache
    /// survives: unsynced writes stay readable, and the restart's load()
    /// makes them durable); the others are power losses (a random prefix of
    /// the unsynced writes survives).
    unsigned process_crash_percent = 30;
    std::uint64_t fault_min_gap = 50;       ///< faults strike every fault_min_gap..fault_max_gap ticks
    std::uint64_t fault_max_gap = 400;
    core_config core;                       ///< template for every node (self/members are set per node)
    detail::core_faults broken_core;        ///< deliberately broken protocol rules (sim_fault_tests)
    detail::runner_faults broken_driver;    ///< deliberately broken driver rules (sim_fault_tests)
    bool broken_load = false;               ///< restarts act on unsynced writes (node_host, sim_fault_tests)
    /// Every node snapshots its state machine after this many applied
    /// entries (0: never) and compacts its log down to core.log_keep_entries,
    /// so followers that fall behind get InstallSnapshot (Raft §7).
    index_t snapshot_entries = 0;
    /// Deferred snapshots (0: off, every snapshot finishes inside the call
    /// that asks for it): a node's application captures its state when asked
    /// and finishes the snapshot 1..snapshot_delay ticks later, while
    /// deliveries go on; a snapshot received from the leader is sealed
    /// 1..snapshot_delay ticks after its last chunk. A crash in between
    /// abandons either (node_host::set_deferred_snapshots).
    std::uint64_t snapshot_delay = 0;
    /// Drivers group-commit: half the messages a node receives, and half the
    /// broadcasts clients send it, wait up to 2 ms and are then stepped
    /// together into one output (one write batch, one sync), the broadcasts
    /// as one batch (runner::feed_broadcasts), as the node's strand turn does.
    bool group_commit = false;
    /// A deliberately wrong client, to show the history check at work: reads
    /// are answered from the contacted node's state machine, not through the
    /// log (the stale-read incident of the test scenarios).
    bool local_reads = false;
    /// Clients that retry (Raft thesis §6.3): every command a client sends
    /// through the log carries its session (client c: session c + 1, see
    /// kv_machine.hpp) and the next seq in it. When the outcome is not
    /// `committed` with a result (client_timeout, not_leader, busy,
    /// superseded, unknown, or its node crashed), the client sends the same
    /// (session, seq) again to a node picked at random, until one attempt
    /// commits; the operation is invoked at the first attempt and completed
    /// with the committed attempt's result (a duplicate's is the one saved
    /// when the command first applied). Reads that do not go through the log
    /// (read_index, lease) are not retried.
    bool retrying_clients = false;
    /// A deliberately broken state machine, to show the exactly-once check at
    /// work: it ignores the session table and applies every retry again
    /// (kv_options::ignore_sessions).
    bool broken_sessions = false;
    /// How gets are served; lease mode sets core.lease_duration from
    /// lease_drift_bound.
    sim_read_mode reads = sim_read_mode::log;
    /// Each node's clock (and its timers) runs at a rate drawn from
    /// [1 - clock_drift, 1 + clock_drift] of true time. 0: every clock exact.
    double clock_drift = 0;
    /// The drift bound lease reads assume (node_options::max_clock_drift): the
    /// lease lasts election_timeout × (1 - b) / (1 + b) on the leader's clock.
    /// Reads stay linearizable while clock_drift <= this bound.
    double lease_drift_bound = 0.1;
    /// A leader's clock (and timers) run this much slower while it leads, on
    /// top of its drift (1: no change): a drift beyond any bound, where it
    /// matters most, to show that the lease check is real.
    double leader_clock_factor = 1.0;
    /// Membership churn (Raft thesis §4; churn.hpp): 0, off; otherwise the
    /// world asks the leader (or, one time in five, any node) for a
    /// single-server change every membership_changes / 2 .. 3 ×
    /// membership_changes / 2 ms while faults run (now and then twice in a
    /// row, 1..30 ms apart, to race the one under way). A server whose
    /// removal commits is stopped (what it sent, or was sent, and has not
    /// arrived is dropped, as the transport drops a removed peer's
    /// connections); added again, it restarts from its disk (see
    /// wipe_removed).
    std::uint64_t membership_changes = 0;
    /// Nodes nodes+1 .. nodes+spare_nodes exist from the start with an empty
    /// bootstrap configuration, waiting to be added (clients may call them:
    /// they hold broadcasts and answer not_leader).
    std::size_t spare_nodes = 0;
    /// Churn keeps this many voters (at most `nodes`), a replace dipping one below.
    std::size_t churn_min_voters = 3;
    /// A removed server added again comes back as a fresh machine (its disk
    /// wiped, the same id) instead of restarting from its own disk. Unsafe
    /// in Raft, and the checks show it: a server with a stale log whose
    /// configuration still names the wiped server as a voter gets its vote
    /// (an empty log is never more up to date) and leads without committed
    /// entries (leader completeness; e.g. `sim --seeds 1..300
    /// --membership-changes 500 --wipe-removed`). Off: the server restarts
    /// from the disk it had when it was stopped, as Raft allows.
    bool wipe_removed = false;
    bool check_outcomes = true;             ///< healed and idle, every accepted broadcast has an outcome
    bool check_false_failures = true;       ///< a broadcast that failed never commits later
    bool check_terms = true;                ///< a node adopts a higher term it receives (§5.1)
    bool check_quorum_rule = true;          ///< check_quorum_bound(), when core.check_quorum is on
    bool check_stability = true;            ///< stability_window()
    /// The disruptive-rejoin scenario (thesis §9.6; 0: off). Once the faults
    /// end (and late copies have arrived), with a leader a majority follows
    /// and the clients still busy, one follower is cut off for this many
    /// ticks (several election timeouts), then let back, and the world runs
    /// stability_window() more. Terms started meanwhile are counted
    /// (run_stats::rejoin_terms); with core.pre_vote and check_rejoin, any is
    /// a violation ("disruptive rejoin"): the node cut off never won a
    /// pre-election, so its term never rose, and the majority kept its leader.
    std::uint64_t rejoin_isolation = 0;
    bool check_rejoin = true;
    bool check_membership_rule = true;      ///< configuration entries: one server apart, one change at a time
    /// Between two answers of a follower, a leader sends it at most one
    /// window of snapshot data (core.snapshot_chunks_inflight chunks of
    /// core.snapshot_chunk_bytes): one that stops answering mid-transfer is
    /// sent empty chunks only ("snapshot traffic").
    bool check_snapshot_traffic = true;
    std::size_t trace_keep = 60;            ///< lines of trace kept for a failure report
    std::ostream* trace_all = nullptr;      ///< stream every trace line here

    /// Election rounds the liveness bound allows for (see liveness_bound()).
    std::uint64_t election_rounds = 4;

    // ---- bounds derived from the parameters ----
    // One exchange (a request and its answer) takes at most a round trip:
    // each side syncs before it speaks (Raft §5.1: respond to RPCs only after
    // updating stable storage), a group-committing driver holds a message up
    // to 2 ticks, the network takes up to max_latency each way, and the
    // answer to a snapshot's last chunk waits for the seal (snapshot_delay).
    std::uint64_t round_trip() const {
        return 2 * (max_latency + max_sync + (group_commit ? 2 : 0)) + snapshot_delay;
    }
    /// A healed cluster, with no node more than `catch_up` round trips of
    /// replication behind (entries to fetch in batches of max_batch_entries,
    /// plus one rejected probe per conflicting term run: the world computes it
    /// at the heal), commits a broadcast on every node within this many ticks:
    ///   election_rounds rounds of (2T + rtt): a timeout drawn from [T, 2T),
    ///     then votes asked and granted (§5.2). One round may be lost to a
    ///     node that comes back from a partition with a higher term and a
    ///     stale log (it deposes the leader but cannot win, §5.4.1), others to
    ///     split votes, which randomized timeouts make rare;
    ///   + 2 heartbeats (a commit reaches followers with the next heartbeat);
    ///   + 4 round trips: forward the broadcast, replicate it, answer, commit;
    ///   + catch_up round trips.
    /// A node that ignores a higher term, or a follower that does not reset
    /// its election timer on the leader's messages, keeps the cluster electing
    /// and misses it (the leader-stability check below catches the latter even
    /// when it does not).
    std::uint64_t liveness_bound(std::uint64_t catch_up = 0) const {
        return election_rounds * (2 * slow(election_timeout) + round_trip()) + 2 * slow(heartbeat) +
               (4 + catch_up) * round_trip();
    }
    /// True time that `ticks` of the slowest clock (clock_drift) take.
    std::uint64_t slow(std::uint64_t ticks) const {
        if (clock_drift <= 0) return ticks;
        return static_cast<std::uint64_t>(static_cast<double>(ticks) / (1.0 - clock_drift)) + 1;
    }
    /// Once a healed cluster has quiesced (one leader, every log equal to its
    /// log and committed, nothing in flight on any disk), no node's term may
    /// change for this long: two of the longest election timeouts. Followers
    /// hear from the leader every heartbeat + round trip < T and reset their
    /// election timers (§5.2: a follower remains one while it receives valid
    /// RPCs from a leader), and no message of a higher term exists. Checked
    /// when heartbeat + round_trip() < election_timeout.
    std::uint64_t stability_window() const { return 4 * slow(election_timeout); }
    /// Check-quorum (Raft thesis §6.2): a leader steps down when a whole
    /// election timeout passed without hearing from a majority. Its timer
    /// fires every [T, 2T), each time counting the followers heard since the
    /// last firing, so a leader still leads at most this long after it last
    /// heard from a majority (or after it was elected). Checked after every
    /// turn of a leader when core.check_quorum is on.
    std::uint64_t check_quorum_bound() const { return 4 * slow(election_timeout); }
};

struct run_stats {
    std::uint64_t steps = 0;
    std::uint64_t virtual_ms = 0;
    std::uint64_t crashes = 0;
    std::uint64_t process_crashes = 0;  ///< of the crashes, those that kept the page cache
    std::uint64_t partitions = 0;
    std::uint64_t elections = 0;        ///< distinct (term, leader) pairs seen
    std::uint64_t terms = 0;            ///< terms started: the highest term any node reached
    std::uint64_t pre_votes = 0;        ///< pre-elections begun (final incarnations)
    std::uint64_t transfers = 0;        ///< leadership transfers asked of a leader
    std::uint64_t transfers_done = 0;   ///< of those, done (the leader stepped down for a higher term)
    std::uint64_t transfers_timed_out = 0;   ///< ... given up after an election timeout
    std::uint64_t rejoins = 0;          ///< rejoin scenarios run (world_config::rejoin_isolation)
    std::uint64_t rejoin_terms = 0;     ///< terms started from the cut to the end of the scenario (the cut-off node's own included)
    std::uint64_t rejoin_leaders = 0;   ///< leaders elected meanwhile (each deposed a healthy one)
    std::uint64_t messages = 0;
    std::uint64_t ops = 0;              ///< client operations invoked
    std::uint64_t ops_determinate = 0;
    std::uint64_t committed = 0;        ///< entries known committed
    std::uint64_t lost_writes = 0;      ///< unsynced disk operations lost by crashes
    std::uint64_t heal_to_commit_ms = 0;
    std::uint64_t reads = 0;            ///< gets served without the log (read_index, lease)
    std::uint64_t read_rounds = 0;      ///< heartbeat rounds the leaders began for reads (all nodes, final incarnations)
    std::uint64_t lease_reads = 0;      ///< reads served under a lease (final incarnations)
    std::uint64_t snapshots = 0;        ///< snapshots taken
    std::uint64_t snapshot_chunks = 0;  ///< install_snapshot messages sent
    std::uint64_t restores = 0;         ///< state machines replaced by a snapshot (restarts and installs)
    std::uint64_t snapshots_deferred = 0;   ///< snapshots taken or received that finished later (snapshot_delay)
    std::uint64_t snapshots_abandoned = 0;  ///< of those, the ones a crash abandoned before they were durable
    std::uint64_t retries = 0;          ///< attempts a retrying client sent after its first (retrying_clients)
    std::uint64_t duplicates = 0;       ///< attempts that committed as a duplicate, answered from the session table
    std::uint64_t membership_asked = 0;     ///< membership changes asked for (membership_changes)
    std::uint64_t membership_committed = 0; ///< of those, answered committed
    std::uint64_t configurations = 0;       ///< configuration entries committed
    std::uint64_t readded = 0;              ///< removed servers added again (and restarted)
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
