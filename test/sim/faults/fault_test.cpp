// sim_fault_tests: the simulator's checks can fail. Each deliberately broken
// rule (raftlite/detail/faults.hpp: in the core, or in the runner that drives
// it in production; node_host's broken restart) must be caught by the
// standard sweep itself (sim/sweep.hpp: the configurations and seeds
// sim_tests runs against the correct core), by the property the breakage
// violates. The hunt stops at the first failing seed and prints it.
#define BOOST_TEST_MODULE sim_fault_tests
#include <boost/test/unit_test.hpp>

#include "sim/explorer.hpp"
#include "sim/sweep.hpp"
#include "sim/world.hpp"

#include <map>
#include <sstream>

using namespace raftlite;
using namespace raftlite::sim;

// The broken rules, one at a time.
enum class fault {
    none,
    commit_earlier_term_by_count,
    double_vote,
    after_sync_messages_before_sync,
    count_stale_votes,
    commit_beyond_match,
    ignore_higher_term_in_response,
    no_timer_reset_on_leader_message,
    no_check_quorum_step_down,
    load_without_sync,
    install_older_snapshot,
    resend_snapshot_window_unanswered,
    compact_before_snapshot_durable,
    read_without_round,
    sessions_ignored,
    pre_vote_raises_term,
    count_learner_votes,
    concurrent_changes,
    hold_forwarded_forever,
};

namespace {

struct caught {
    std::uint64_t seed = 0;   // 0: not caught
    std::string invariant;
    std::size_t runs = 0;
};

void set_fault(world_config& w, fault f) {
    w.broken_core.commit_earlier_term_by_count = f == fault::commit_earlier_term_by_count;
    w.broken_core.double_vote = f == fault::double_vote;
    w.broken_core.count_stale_votes = f == fault::count_stale_votes;
    w.broken_core.commit_beyond_match = f == fault::commit_beyond_match;
    w.broken_core.ignore_higher_term_in_response = f == fault::ignore_higher_term_in_response;
    w.broken_core.no_timer_reset_on_leader_message = f == fault::no_timer_reset_on_leader_message;
    w.broken_core.no_check_quorum_step_down = f == fault::no_check_quorum_step_down;
    w.broken_driver.after_sync_messages_before_sync = f == fault::after_sync_messages_before_sync;
    w.broken_load = f == fault::load_without_sync;
    w.broken_core.install_older_snapshot = f == fault::install_older_snapshot;
    w.broken_core.resend_snapshot_window_unanswered = f == fault::resend_snapshot_window_unanswered;
    w.broken_driver.compact_before_snapshot_durable = f == fault::compact_before_snapshot_durable;
    w.broken_core.read_without_round = f == fault::read_without_round;
    w.broken_sessions = f == fault::sessions_ignored;
    w.broken_core.pre_vote_raises_term = f == fault::pre_vote_raises_term;
    w.broken_core.count_learner_votes = f == fault::count_learner_votes;
    w.broken_core.concurrent_changes = f == fault::concurrent_changes;
    w.broken_core.hold_forwarded_forever = f == fault::hold_forwarded_forever;
}

world_config base(fault f, std::size_t nodes, std::uint64_t steps) {
    world_config w;
    w.nodes = nodes;
    w.steps = steps;
    set_fault(w, f);
    return w;
}

// The standard sweep (the same configurations and seeds as sim_tests,
// interleaved across its families) with one rule broken, until a seed fails.
caught hunt_sweep(fault f, const char* name) {
    caught c;
    for (const sweep_point& p : standard_sweep_interleaved()) {
        world_config w = p.family->make(p.seed);
        set_fault(w, f);
        const run_result r = run_world(w);
        ++c.runs;
        if (!r.ok) {
            c.seed = p.seed;
            c.invariant = r.invariant;
            BOOST_TEST_MESSAGE(name << ": caught by the standard sweep after " << c.runs << " runs, family "
                                    << p.family->name << ", seed " << p.seed << " (" << w.nodes
                                    << " nodes): " << r.invariant << "\n  " << r.detail << "\nlast events:\n"
                                    << r.trace);
            return c;
        }
    }
    BOOST_TEST_MESSAGE(name << ": NOT caught in " << c.runs << " runs of the standard sweep");
    return c;
}

// Caught, and by one of the properties the breakage violates.
void expect_caught(fault f, const char* name, std::initializer_list<const char*> by) {
    const caught c = hunt_sweep(f, name);
    BOOST_TEST(c.seed != 0u, name << " not caught in " << c.runs << " runs of the standard sweep");
    bool expected = false;
    for (const char* i : by) expected = expected || c.invariant == i;
    BOOST_TEST(expected, name << " caught by an unexpected property: " << c.invariant);
}

// Runs seeds first..last until one fails; returns the first failure.
caught hunt(world_config w, std::uint64_t first, std::uint64_t last) {
    caught c;
    for (std::uint64_t seed = first; seed <= last; ++seed) {
        w.seed = seed;
        const run_result r = run_world(w);
        ++c.runs;
        if (!r.ok) {
            c.seed = seed;
            c.invariant = r.invariant;
            BOOST_TEST_MESSAGE("caught at seed " << seed << " (" << w.nodes << " nodes): " << r.detail
                                                 << "\nlast events:\n" << r.trace);
            return c;
        }
    }
    return c;
}

// Figure 8 needs a leader to count replicas of an earlier term's entry
// before entries of its own term reach a majority. The fault also drops the
// new leader's noop; one-entry batches, slow syncs (the leader's own entries
// stay undurable while the earlier entry reaches the others), crashes and
// partitions make the window common (sweep.hpp: apply_figure8_settings):
// 36 of seeds 1..200 at the time of writing. (Idle clients and faults every
// 10..100 ms did it in 7 of 200 until answers that promise nothing new left
// without a disk round, and then in none.)
world_config figure8_world(fault f) {
    world_config w = base(f, 3, 20000);
    apply_figure8_settings(w);
    return w;
}

// Seeds first..last of a scenario with `f`, until one fails.
template <class Make>
caught hunt_scenario(Make make, fault f, std::uint64_t first, std::uint64_t last, const char* name) {
    caught c;
    for (std::uint64_t seed = first; seed <= last && c.seed == 0; ++seed) {
        world_config w = make(seed);
        set_fault(w, f);
        const run_result r = run_world(w);
        ++c.runs;
        if (!r.ok) {
            c.seed = seed;
            c.invariant = r.invariant;
            BOOST_TEST_MESSAGE(name << ": caught at seed " << seed << " (" << w.nodes << " nodes): " << r.invariant
                                    << ": " << r.detail << "\nlast events:\n" << r.trace);
        }
    }
    return c;
}

// The standard sweep's snapshot family, its seeds first..last (counted
// from 1), with `f`.
caught hunt_snapshots(fault f, std::uint64_t first, std::uint64_t last) {
    const sweep_family& fam = standard_sweep().at(6);   // snapshots
    return hunt_scenario(fam.make, f, fam.first + first - 1, fam.first + last - 1, "snapshots");
}

} // namespace

BOOST_AUTO_TEST_CASE(correct_core_passes_the_same_seeds) {
    // The hand-tuned worlds below without a fault: their failures are the
    // faults' doing. (The standard sweep's seeds pass in sim_tests.)
    world_config w = base(fault::none, 5, 6000);
    w.core.max_batch_entries = 1;
    caught c = hunt(w, 1, 20);
    BOOST_TEST(c.seed == 0u, "correct core failed at seed " << c.seed << ": " << c.invariant);
    c = hunt(figure8_world(fault::none), 1, 60);
    BOOST_TEST(c.seed == 0u, "correct core failed at seed " << c.seed << ": " << c.invariant);
}

// ---- each broken rule, caught by the standard sweep -----------------------------

BOOST_AUTO_TEST_CASE(sweep_catches_after_sync_messages_before_sync) {
    expect_caught(fault::after_sync_messages_before_sync, "after-sync messages before the sync", {"durability"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_double_vote) {
    expect_caught(fault::double_vote, "double vote", {"election safety", "persistence"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_commit_earlier_term_by_count) {
    expect_caught(fault::commit_earlier_term_by_count, "Figure 8 (commit an earlier term by counting)",
                  {"leader completeness", "state machine safety", "acknowledged", "linearizability"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_count_stale_votes) {
    // A stale vote can arrive before the candidate's own new term is synced:
    // it then leads, and speaks, in a term its disk does not hold yet.
    // The election quorum check (the votes granted in the leader's term do
    // not make a majority) sees it first: main seed 4, after 22 runs.
    expect_caught(fault::count_stale_votes, "a vote of an earlier term counted",
                  {"election quorum", "election safety", "leader completeness", "state machine safety", "log matching",
                   "durability"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_commit_beyond_match) {
    expect_caught(fault::commit_beyond_match, "follower commits beyond the matched prefix",
                  {"state machine safety", "delivery", "log matching", "leader completeness", "acknowledged"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_ignore_higher_term_in_response) {
    expect_caught(fault::ignore_higher_term_in_response, "a higher term in a response ignored",
                  {"higher term", "liveness", "leader stability"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_no_timer_reset_on_leader_message) {
    expect_caught(fault::no_timer_reset_on_leader_message, "election timer not reset by the leader",
                  {"leader stability", "liveness"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_no_check_quorum_step_down) {
    expect_caught(fault::no_check_quorum_step_down, "no step-down on check-quorum", {"check quorum"});
}

BOOST_AUTO_TEST_CASE(sweep_catches_load_without_sync) {
    // A restart after a process crash acts on writes that are not durable.
    expect_caught(fault::load_without_sync, "restart without syncing what load() read",
                  {"persistence", "durability"});
}

// The production driver (raftlite::runner) sending the messages that promise
// durability (votes, acknowledgements) before the sync.
BOOST_AUTO_TEST_CASE(after_sync_messages_before_sync_is_caught) {
    const caught c = hunt(base(fault::after_sync_messages_before_sync, 3, 6000), 1, 5);
    BOOST_TEST(c.seed != 0u);
    BOOST_TEST(c.invariant == "durability");
}

BOOST_AUTO_TEST_CASE(double_vote_is_caught) {
    const caught c = hunt(base(fault::double_vote, 5, 6000), 1, 20);
    BOOST_TEST(c.seed != 0u);
    // a second vote in one term shows first as a vote that changed
    BOOST_TEST((c.invariant == "election safety" || c.invariant == "persistence"), c.invariant);
}

BOOST_AUTO_TEST_CASE(commit_earlier_term_by_count_is_caught) {
    // The first violation is of leader completeness (a new leader lacks the
    // wrongly committed entry) or state machine safety.
    const caught c = hunt(figure8_world(fault::commit_earlier_term_by_count), 1, 200);
    BOOST_TEST(c.seed != 0u, "not caught in " << c.runs << " runs");
    BOOST_TEST((c.invariant == "leader completeness" || c.invariant == "state machine safety" ||
                c.invariant == "acknowledged" || c.invariant == "linearizability"), c.invariant);
    BOOST_TEST_MESSAGE("Figure 8 fault caught after " << c.runs << " runs: " << c.invariant);
}

BOOST_AUTO_TEST_CASE(double_vote_is_caught_by_exploration) {
    explore_config x;
    x.depth = 8;
    x.broadcasts = 0;
    x.max_crashes = 0;
    x.max_drops = 0;
    x.max_duplicates = 0;
    x.broken_core.double_vote = true;
    // A pre-election costs a round trip more than the depth allows: the
    // classic election (Raft §5.2) is where the second vote shows.
    x.core.pre_vote = false;
    const explore_result r = explore(x);
    BOOST_TEST(!r.ok);
    BOOST_TEST((r.invariant == "election safety" || r.invariant == "persistence"), r.invariant);
    BOOST_TEST_MESSAGE("exploration: " << r.detail << "\n" << r.path);
}

// Raft §7: a follower discards a snapshot that holds nothing beyond its
// commit index. Installing it anyway takes its state machine back in time.
BOOST_AUTO_TEST_CASE(install_older_snapshot_is_caught) {
    const caught c = hunt_snapshots(fault::install_older_snapshot, 1, 80);
    BOOST_TEST(c.seed != 0u, "installing an older snapshot not caught in " << c.runs << " runs");
    BOOST_TEST_MESSAGE("install_older_snapshot: " << c.invariant << " at seed " << c.seed);
}

// A leader whose snapshot chunks go unanswered probes with empty chunks
// until the follower answers (etcd's probe state). Sending the whole window
// again every two heartbeats, and a window of every newer snapshot, is
// caught by the snapshot traffic check when a follower is cut off
// mid-transfer.
BOOST_AUTO_TEST_CASE(resend_snapshot_window_unanswered_is_caught) {
    const caught c = hunt_snapshots(fault::resend_snapshot_window_unanswered, 1, 80);
    BOOST_TEST(c.seed != 0u, "resending snapshot windows to a silent follower not caught in " << c.runs << " runs");
    BOOST_TEST(c.invariant == "snapshot traffic", c.invariant);
    BOOST_TEST_MESSAGE("resend_snapshot_window_unanswered: " << c.invariant << " at seed " << c.seed << " after "
                                                             << c.runs << " runs");
}

// Raft §7: a snapshot replaces the log prefix it covers only once it is
// durable. A driver that drops the prefix when it asks the application for
// the snapshot leaves a disk holding neither until the snapshot is finished
// (for ever, if a crash abandons it). The snapshot family's deferred seeds
// (the application finishes 1..30 ms later) see the gap after the next sync.
BOOST_AUTO_TEST_CASE(compact_before_snapshot_durable_is_caught) {
    const caught c = hunt_snapshots(fault::compact_before_snapshot_durable, 1, 80);
    BOOST_TEST(c.seed != 0u, "compacting before the snapshot is durable not caught in " << c.runs << " runs");
    BOOST_TEST(c.invariant == "durability", c.invariant);
    BOOST_TEST_MESSAGE("compact_before_snapshot_durable: " << c.invariant << " at seed " << c.seed << " after "
                                                           << c.runs << " runs");
}

// Thesis §6.4: a leader confirms that it still leads (a heartbeat round a
// majority answers) before it serves a read from its state. Without it, a
// leader cut off from the cluster answers from a state a newer leader has
// moved past: a stale read the linearizability check finds.
BOOST_AUTO_TEST_CASE(sweep_catches_read_without_round) {
    expect_caught(fault::read_without_round, "a read served without confirming leadership", {"linearizability"});
}

// Thesis §6.3: a client that retries a command of unknown outcome needs the
// state machine to recognise the retry (its session and seq) and answer it
// with the saved result. A state machine that ignores its session table
// applies a retry of a command that took effect once more: the half of the
// sweep that runs retrying clients sees the command applied at two indexes.
BOOST_AUTO_TEST_CASE(sweep_catches_sessions_ignored) {
    expect_caught(fault::sessions_ignored, "a state machine that applies every retry again",
                  {"exactly once", "linearizability"});
}

// Thesis §9.6: a pre-election changes no term. A node that raises its term
// when it starts one climbs terms while cut off, and back, its answers to
// the leader's heartbeats depose a healthy leader: the rejoin scenario
// (sweep.hpp: rejoin_config) sees the term rise. The correct core passes
// the same seeds (and without pre-vote the rise is expected, not checked).
BOOST_AUTO_TEST_CASE(rejoin_scenario_catches_pre_vote_raises_term) {
    const caught c = hunt_scenario([](std::uint64_t seed) { return rejoin_config(seed, true); },
                                   fault::pre_vote_raises_term, 1, 20, "pre_vote_raises_term");
    BOOST_TEST(c.seed != 0u, "pre_vote_raises_term not caught in " << c.runs << " rejoin scenarios");
    BOOST_TEST(c.invariant == "disruptive rejoin", c.invariant);
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        const run_result r = run_world(rejoin_config(seed, true));
        BOOST_TEST(r.ok, "correct core failed the rejoin scenario at seed " << seed << ": " << r.invariant << ": "
                                                                          << r.detail);
    }
}

// Membership changes (thesis §4), in the sweep's churn seeds (S / 12 odd:
// the first in the interleaved order is batch of one 4001, 5 nodes, the
// third run). A candidate that counts a learner's vote leads with the votes
// of a minority of its voters: the election quorum check sees it at once
// (batch of one 4001). The CLI sweep (`sim --seeds 1..100 --broken
// count_learner_votes`) fails from its first churn seed on (12: one voter of
// three and a learner; 13: leader completeness first).
BOOST_AUTO_TEST_CASE(sweep_catches_count_learner_votes) {
    expect_caught(fault::count_learner_votes, "a learner's vote counted",
                  {"election quorum", "leader completeness", "election safety", "state machine safety"});
}

// A leader that starts a change while the one before is uncommitted (and
// reports it committed once appended): the configuration entries check sees
// the second appended over the uncommitted first (batch of one 4001, the
// third run; `sim --seeds 1..100 --broken concurrent_changes` fails every
// churn seed from 12 on, e.g. 12: entry 42 over 40 with commit 39), before
// two configurations apart can form disjoint majorities.
BOOST_AUTO_TEST_CASE(sweep_catches_concurrent_changes) {
    expect_caught(fault::concurrent_changes, "concurrent membership changes",
                  {"membership", "quorum overlap", "election quorum", "leader completeness", "state machine safety"});
}

// A server dropped from the configuration without learning it hears from no
// leader again (thesis §4.2.2): what it forwarded must end by its own bound
// (hold_elections), `unknown`. With the rule that waits for a leader to
// tell, the stranded-servers scenario (sweep.hpp) sees a broadcast without
// an outcome (seed 57 at the time of writing: 8 of seeds 1..600); the
// correct core passes every seed up to the one that caught it. The standard
// sweep meets the case once in its 690 runs (main seed 254), too seldom to
// ask of it.
BOOST_AUTO_TEST_CASE(stranded_servers_scenario_catches_hold_forwarded_forever) {
    const caught c = hunt_scenario(stranded_servers_config, fault::hold_forwarded_forever, 1, 300, "hold_forwarded_forever");
    BOOST_TEST(c.seed != 0u, "hold_forwarded_forever not caught in " << c.runs << " stranded-servers scenarios");
    BOOST_TEST(c.invariant == "broadcast outcome", c.invariant);
    for (std::uint64_t seed = 1; seed <= c.seed; ++seed) {
        const run_result r = run_world(stranded_servers_config(seed));
        BOOST_TEST(r.ok, "correct core failed the stranded-servers scenario at seed " << seed << ": " << r.invariant
                                                                                    << ": " << r.detail);
    }
}
