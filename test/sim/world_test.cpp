// Simulation tests: determinism, liveness without faults, every fault kind,
// and the standard sweep (sweep.hpp): 300 seeds over 3- and 5-node clusters
// with all faults, even cluster sizes, batches of one and of two, slow disks,
// group commit. Every run prints its seed; a failure prints the command that
// replays it.
#include "kv_machine.hpp"
#include "node_host.hpp"
#include "sweep.hpp"
#include "world.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>

using namespace raftlite;
using namespace raftlite::sim;

namespace {

// Every check is on in every sweep, "every accepted broadcast gets an
// outcome" included.
world_config config(std::uint64_t seed, std::size_t nodes, std::uint64_t steps,
                    fault_kinds faults = fault_kinds::all()) {
    world_config c;
    c.seed = seed;
    c.nodes = nodes;
    c.steps = steps;
    c.faults = faults;
    return c;
}

// Runs one seed; a violation fails the test with the full report.
void expect_ok(const world_config& c, run_stats& total) {
    const run_result r = run_world(c);
    total += r.stats;
    BOOST_TEST(r.ok, describe_failure(c, r));
}

// Runs every seed of a family of the standard sweep.
run_stats run_family(const sweep_family& f) {
    run_stats total;
    for (std::uint64_t seed = f.first; seed <= f.last; ++seed) {
        const world_config c = f.make(seed);
        BOOST_TEST_CONTEXT(f.name << ", seed " << seed << ", " << c.nodes << " nodes") { expect_ok(c, total); }
    }
    BOOST_TEST_MESSAGE(f.name << ": seeds " << f.first << ".." << f.last << ", " << total.steps << " steps, "
                              << total.crashes << " crashes (" << total.process_crashes << " process crashes), "
                              << total.partitions << " partitions, " << total.elections << " elections, "
                              << total.ops << " operations checked, " << total.retries << " retries, "
                              << total.duplicates << " duplicates answered from session tables, "
                              << total.membership_committed << " membership changes committed, worst heal-to-commit "
                              << total.heal_to_commit_ms << " ms");
    return total;
}

const sweep_family& family(std::size_t k) { return raftlite::sim::standard_sweep().at(k); }

// Seeds among first..last that fail with `invariant`; other failures fail the test.
std::string seeds_failing(const std::string& invariant, std::uint64_t first, std::uint64_t last,
                          std::size_t nodes, bool outcomes, bool failures) {
    std::string seeds;
    for (std::uint64_t seed = first; seed <= last; ++seed) {
        world_config c = config(seed, nodes, 10000);
        c.check_outcomes = outcomes;
        c.check_false_failures = failures;
        const run_result r = run_world(c);
        if (r.ok) continue;
        if (r.invariant == invariant) {
            seeds += ' ';
            seeds += std::to_string(seed);
            BOOST_TEST_MESSAGE(describe_failure(c, r));
        } else {
            BOOST_TEST(r.ok, describe_failure(c, r));
        }
    }
    return seeds;
}

} // namespace

BOOST_AUTO_TEST_SUITE(simulation)

BOOST_AUTO_TEST_CASE(same_seed_same_trace) {
    std::ostringstream a, b, other;
    world_config c = config(7, 5, 4000);
    c.trace_all = &a;
    const run_result ra = run_world(c);
    c.trace_all = &b;
    const run_result rb = run_world(c);
    c.seed = 8;
    c.trace_all = &other;
    const run_result rc = run_world(c);
    BOOST_TEST(ra.ok);
    BOOST_TEST(a.str().size() > 10000u);
    BOOST_TEST((a.str() == b.str()), "two runs of seed 7 differ");
    BOOST_TEST(ra.digest == rb.digest);
    BOOST_TEST(ra.stats.steps == rb.stats.steps);
    BOOST_TEST(ra.stats.messages == rb.stats.messages);
    BOOST_TEST(ra.digest != rc.digest);
}

// Deferred snapshots draw their delays from the run's generator too.
BOOST_AUTO_TEST_CASE(same_seed_same_trace_with_deferred_snapshots) {
    std::ostringstream a, b;
    world_config c = config(6002, 5, 4000);
    c.snapshot_entries = 7;
    c.core.log_keep_entries = 1;
    c.core.snapshot_chunk_bytes = 5;
    c.snapshot_delay = 20;
    c.trace_all = &a;
    const run_result ra = run_world(c);
    c.trace_all = &b;
    const run_result rb = run_world(c);
    BOOST_TEST(ra.ok, ra.invariant << ": " << ra.detail);
    BOOST_TEST(ra.stats.snapshots_deferred > 0u);
    BOOST_TEST((a.str() == b.str()), "two runs of seed 6002 with deferred snapshots differ");
    BOOST_TEST(ra.digest == rb.digest);
}

BOOST_AUTO_TEST_CASE(no_faults_elects_and_commits) {
    for (std::size_t nodes : {1u, 3u, 5u}) {
        const world_config c = config(1, nodes, 5000, fault_kinds::none());
        const run_result r = run_world(c);
        BOOST_TEST(r.ok, describe_failure(c, r));
        BOOST_TEST(r.stats.elections >= 1u);
        BOOST_TEST(r.stats.ops_determinate > 100u);
        BOOST_TEST_MESSAGE(nodes << " nodes, no faults: " << r.stats.elections << " elections, "
                                  << r.stats.ops_determinate << " operations completed");
    }
}

BOOST_AUTO_TEST_CASE(each_fault_kind_alone) {
    run_stats total;
    for (const char* kind : {"crash", "partition", "loss", "duplicate", "late", "transfer"}) {
        for (std::uint64_t seed = 1; seed <= 10; ++seed) {
            BOOST_TEST_CONTEXT("faults " << kind << " seed " << seed) {
                expect_ok(config(seed, seed % 2 ? 3 : 5, 5000, fault_kinds::parse(kind)), total);
            }
        }
    }
    BOOST_TEST_MESSAGE("single fault kinds: " << total.crashes << " crashes, " << total.partitions << " partitions");
}

BOOST_AUTO_TEST_CASE(three_hundred_seeds_all_faults) {
    const run_stats total = run_family(family(0));
    BOOST_TEST(total.crashes > 1000u);
    BOOST_TEST(total.process_crashes > 100u);
    BOOST_TEST(total.partitions > 1000u);
    BOOST_TEST(total.ops > 10000u);
    // A third of the seeds read through ReadIndex, a third under leases.
    BOOST_TEST_MESSAGE("main family: " << total.reads << " reads without the log, " << total.read_rounds
                                       << " heartbeat rounds, " << total.lease_reads << " under a lease");
    BOOST_TEST(total.reads > 1000u);
    BOOST_TEST(total.lease_reads > 0u);
    // Half the seeds run retrying clients (thesis §6.3): retries happen, and
    // some commit after an earlier attempt applied, answered from the session
    // table (and checked exactly once on every node).
    BOOST_TEST(total.retries > 0u);
    BOOST_TEST(total.duplicates > 0u);
    // Leadership transfers (thesis §3.10) are a fault kind: some complete,
    // some time out (the target cut off or down); half the seeds run
    // pre-vote (thesis §9.6).
    BOOST_TEST_MESSAGE("main family: " << total.transfers << " transfers asked, " << total.transfers_done << " done, "
                                       << total.transfers_timed_out << " timed out; " << total.pre_votes
                                       << " pre-elections, " << total.terms << " terms started");
    BOOST_TEST(total.transfers_done > 0u);
    BOOST_TEST(total.transfers_timed_out > 0u);
    BOOST_TEST(total.pre_votes > 0u);
    // Half the seeds run membership churn (thesis §4): changes commit, and
    // removed servers come back.
    BOOST_TEST_MESSAGE("main family: " << total.membership_asked << " membership changes asked, "
                                       << total.membership_committed << " committed, " << total.configurations
                                       << " configurations committed, " << total.readded
                                       << " removed servers added back");
    BOOST_TEST(total.membership_committed > 100u);
    BOOST_TEST(total.readded > 10u);
}

// The disruptive-rejoin scenario (thesis §9.6, world_config::rejoin_isolation):
// with pre-vote, a follower cut off for 6 election timeouts and let back
// starts no term (checked in every run); without, it deposes the leader.
BOOST_AUTO_TEST_CASE(rejoining_node_with_and_without_pre_vote) {
    run_stats on, off;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        BOOST_TEST_CONTEXT("seed " << seed) {
            expect_ok(rejoin_config(seed, true), on);
            expect_ok(rejoin_config(seed, false), off);
        }
    }
    BOOST_TEST_MESSAGE("rejoin, 20 seeds: pre-vote on " << on.rejoin_terms << " terms, " << on.rejoin_leaders
                                                        << " leaders; off " << off.rejoin_terms << " terms, "
                                                        << off.rejoin_leaders << " leaders");
    BOOST_TEST(on.rejoins == 20u);
    BOOST_TEST(on.rejoin_terms == 0u);
    BOOST_TEST(on.rejoin_leaders == 0u);
    BOOST_TEST(off.rejoin_leaders > 0u);
}

BOOST_AUTO_TEST_CASE(even_cluster_sizes) {
    // 2, 4 and 6 nodes: a majority is n/2 + 1, so a tie of votes elects no one
    // and a 2-node cluster needs both nodes.
    const run_stats total = run_family(family(1));
    BOOST_TEST(total.elections > 100u);
}

BOOST_AUTO_TEST_CASE(batch_of_one) {
    const run_stats total = run_family(family(2));
    BOOST_TEST(total.ops > 1000u);
}

BOOST_AUTO_TEST_CASE(tiny_batches) {
    const run_stats total = run_family(family(3));
    BOOST_TEST(total.ops > 1000u);
}

BOOST_AUTO_TEST_CASE(slow_disks) {
    // Syncs of up to 40 ms: many more crashes fall between a write and its
    // sync, and lose it (fewer since two seeds in three read without the log,
    // and fewer again since a quarter of the faults are leadership transfers).
    const run_stats total = run_family(family(4));
    BOOST_TEST_MESSAGE("slow disks: " << total.crashes << " crashes lost " << total.lost_writes << " unsynced writes");
    BOOST_TEST(total.lost_writes > 30u);
}

BOOST_AUTO_TEST_CASE(group_commit) {
    // Drivers that step several messages into one output (output::truncate
    // withdrawing appends of the same turn, one sync for several promises).
    run_family(family(5));
}

// Compaction at random points; followers that fall behind the log start
// (crashes, partitions) catch up by InstallSnapshot under loss, duplication
// and late copies; crashes during snapshot writes and installs; restarts
// from snapshots. Every invariant holds, and restored state machines equal
// the committed log replayed to the snapshot's index.
BOOST_AUTO_TEST_CASE(sweep_snapshots) {
    const run_stats total = run_family(family(6));
    BOOST_TEST_MESSAGE("snapshots: " << total.snapshots << " taken, " << total.snapshot_chunks
                                     << " chunks sent, " << total.restores << " restores, "
                                     << total.snapshots_deferred << " deferred (taken or received), "
                                     << total.snapshots_abandoned << " abandoned by crashes");
    BOOST_TEST(total.snapshots > 0u);
    BOOST_TEST(total.snapshot_chunks > 0u);
    BOOST_TEST(total.restores > 0u);
    // Deferred snapshots run, and crashes fall while one is unfinished.
    BOOST_TEST(total.snapshots_deferred > 0u);
    BOOST_TEST(total.snapshots_abandoned > 0u);
}

// Slow disks, crashes and partitions, one-entry batches (sweep.hpp:
// apply_figure8_settings): the Figure 8 window (§5.4.2) opens often, and the
// correct core never commits an earlier term's entry by counting.
BOOST_AUTO_TEST_CASE(figure_8) {
    const run_stats total = run_family(family(7));
    BOOST_TEST(total.elections > 100u);
}

// Two core defects membership churn found (regression seeds): a commit
// that let a change append a configuration without the follower being
// answered left a dangling progress reference (use after free: seed 26,
// 5 nodes), and a one-voter cluster with learners that won its election at
// once sent log requests of a term not yet durable (durability: seed 35,
// 3 nodes).
BOOST_AUTO_TEST_CASE(membership_churn_regressions) {
    for (auto [seed, nodes] : {std::pair<std::uint64_t, std::size_t>{26, 5}, {35, 3}}) {
        world_config c = config(seed, nodes, 8000);
        c.membership_changes = 500;
        c.spare_nodes = 2;
        run_stats total;
        BOOST_TEST_CONTEXT("seed " << seed) { expect_ok(c, total); }
        BOOST_TEST(total.membership_committed > 0u);
    }
}

// Raft lets a removed server come back only with its state: one added again
// with a wiped disk under its old id votes for a server whose stale log
// still names it a voter, which then leads without committed entries. The
// checks catch it (world_config::wipe_removed).
BOOST_AUTO_TEST_CASE(a_removed_server_back_with_a_wiped_disk_is_caught) {
    // `sim --seeds 1..400 --membership-changes 500 --wipe-removed --steps
    // 20000` fails seeds 163 and 181 (leader completeness). (The seeds move
    // whenever the schedules do: run that line and take the new ones.)
    std::string caught;
    for (std::uint64_t seed : {163, 181}) {
        world_config c = sweep_config(seed, seed % 2 ? 3 : 5, 20000);
        if (seed % 4 >= 2) apply_snapshot_settings(c, seed);
        apply_churn_settings(c);
        c.wipe_removed = true;
        const run_result r = run_world(c);
        if (r.ok) continue;
        caught = r.invariant;
        BOOST_TEST_MESSAGE("a wiped server added again: caught at seed " << seed << ": " << r.detail);
        break;
    }
    BOOST_TEST((caught == "leader completeness" || caught == "election quorum" || caught == "state machine safety" ||
                caught == "quorum overlap" || caught == "log matching"),
               "caught by: '" << caught << "'");
}

BOOST_AUTO_TEST_CASE(stale_local_reads_are_caught) {
    // The history check can fail: a client that reads from the contacted
    // node's state machine instead of through the log sees stale values
    // under partitions, and the history is not linearizable.
    std::uint64_t caught = 0;
    for (std::uint64_t seed = 1; seed <= 30 && caught == 0; ++seed) {
        world_config c = config(seed, 3, 8000, fault_kinds::parse("partition"));
        c.local_reads = true;
        const run_result r = run_world(c);
        if (!r.ok) {
            BOOST_TEST(r.invariant == "linearizability", describe_failure(c, r));
            BOOST_TEST_MESSAGE("stale reads caught at seed " << seed << ":\n" << r.detail);
            caught = seed;
        }
    }
    BOOST_TEST(caught != 0u);
}

// A defect the simulator found, now fixed in the core: a broadcast a deposed
// leader appended, overwritten by the next leader whose log is shorter,
// waited for the commit length to reach its index before being completed
// `superseded`; in a healed, idle cluster that never happens, so the caller
// never heard back (every broadcast must get an outcome, forwarded or not).
// It showed with 3 nodes, 10000 steps, seed 150. The rule now: a committed
// entry of term T supersedes pending entries of earlier terms at once.
BOOST_AUTO_TEST_CASE(broadcast_outcome_after_heal) {
    const std::string seeds = seeds_failing("broadcast outcome", 1, 160, 3, true, true);
    BOOST_TEST(seeds.empty(), "healed cluster, broadcasts without an outcome in seeds:" << seeds);
}

// Found by the 20-minute sweep: a follower's forwarded broadcast was answered
// "accepted at 1124" by the old leader; the follower then won an election and
// appended another request at 1124 too. The core indexed its appended
// requests in a std::map, so the second one was silently not indexed and never
// got an outcome. Now a multimap: two requests may claim one index.
BOOST_AUTO_TEST_CASE(two_requests_expected_at_one_index_both_get_an_outcome) {
    run_stats total;
    expect_ok(config(10385, 3, 20000), total);
}

// A second defect, now fixed in the core (also found by core_tests): a
// forwarded broadcast whose answer was lost was completed `not_leader`
// after hold_elections election timeouts, yet its entry committed; a caller
// told "not_leader" retries, and the operation takes effect twice. It showed
// in 92 of seeds 1..300 (e.g. seed 3: request 242 of node 1, index 229).
BOOST_AUTO_TEST_CASE(failure_is_final) {
    const std::string seeds = seeds_failing("failure is final", 1, 40, 3, false, true);
    BOOST_TEST(seeds.empty(), "broadcasts completed as failed that committed, in seeds:" << seeds);
}

BOOST_AUTO_TEST_SUITE_END()

// The simulated state machine's client sessions (thesis §6.3), entry by
// entry: what the retrying clients of the sweep rely on.
namespace {

log_entry command(index_t index, const std::string& payload) {
    log_entry e;
    e.term = 1;
    e.index = index;
    e.payload = make_bytes(payload);
    return e;
}

kv_options two_sessions() {
    kv_options o;
    o.sessions = 2;
    return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(kv_sessions)

BOOST_AUTO_TEST_CASE(session_prefix_round_trips_and_decodes_strictly) {
    kv_command c;
    c.kind = kv_kind::cas;
    c.key = "k1";
    c.expected = 3;
    c.value = 4;
    c.session = {2, 17};
    BOOST_TEST(encode(c) == "s2.17 c k1 3 4");
    const auto d = decode(encode(c));
    BOOST_TEST_REQUIRE(d.has_value());
    BOOST_TEST((d->session == kv_session{2, 17}));
    BOOST_TEST(d->value == 4);
    BOOST_TEST(decode("p k1 5")->session.id == 0u);
    for (const char* bad : {"s0.1 p k 1", "s1.0 p k 1", "s1 p k 1", "s1. p k 1", "s.1 p k 1", "s1.2x p k 1",
                            "s+1.2 p k 1", "s1.-2 p k 1", "s1.2", "s1.2 s1.2 p k 1"})
        BOOST_TEST(!decode(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(a_retry_is_answered_from_the_session_table) {
    kv_machine m(two_sessions());
    BOOST_TEST((m.apply(command(1, "s1.1 c k -1 5")).verdict == kv_verdict::fresh));
    BOOST_TEST(m.result(1).succeeded);
    // The retry commits again: not applied (the cas would fail now), answered as the first time.
    const kv_applied& again = m.apply(command(2, "s1.1 c k -1 5"));
    BOOST_TEST((again.verdict == kv_verdict::duplicate));
    BOOST_TEST(again.result.succeeded);
    BOOST_TEST(m.value("k") == 5);
    BOOST_TEST((m.apply(command(3, "s2.1 p k 7")).verdict == kv_verdict::fresh));   // another session
    BOOST_TEST((m.apply(command(4, "s1.2 g k")).verdict == kv_verdict::fresh));
    BOOST_TEST(m.result(4).observed == 7);
    // Once the client moved on, a late copy of its first command answers nothing.
    BOOST_TEST((m.apply(command(5, "s1.1 c k -1 5")).verdict == kv_verdict::stale));
    BOOST_TEST((m.apply(command(6, "s3.1 p k 1")).verdict == kv_verdict::unknown_session));
    BOOST_TEST(m.value("k") == 7);
    // Without a session, every copy applies.
    BOOST_TEST((m.apply(command(7, "d k")).verdict == kv_verdict::none));
    BOOST_TEST(m.value("k") == kv_absent);
}

BOOST_AUTO_TEST_CASE(sessions_travel_in_snapshots) {
    kv_machine a(two_sessions());
    a.apply(command(1, "s1.1 c k -1 5"));
    a.apply(command(2, "s2.1 p j 2"));
    kv_machine b(two_sessions());
    BOOST_TEST_REQUIRE(b.restore(a.snapshot(), 2));
    BOOST_TEST(b.digest() == a.digest());
    // The restored replica never applied the cas, yet knows its retry.
    const kv_applied& r = b.apply(command(3, "s1.1 c k -1 5"));
    BOOST_TEST((r.verdict == kv_verdict::duplicate));
    BOOST_TEST(r.result.succeeded);
    // The sessions are part of the state: the same map with another table differs.
    kv_machine c(two_sessions());
    c.apply(command(1, "c k -1 5"));
    c.apply(command(2, "p j 2"));
    BOOST_TEST(c.digest() != a.digest());
    // Strict: a table cut short, or missing, is no snapshot (and changes nothing).
    const std::string snap = a.snapshot();
    kv_machine d(two_sessions());
    BOOST_TEST(!d.restore(snap.substr(0, snap.size() - 1), 2));
    BOOST_TEST(!d.restore(c.snapshot().substr(0, c.snapshot().find("sessions")), 2));
    BOOST_TEST(d.applied() == 0u);
    // A machine without sessions writes the map alone.
    kv_machine plain;
    plain.apply(command(1, "p k 1"));
    BOOST_TEST(plain.snapshot() == "1 k1\n");
    // A crash starts the table over: sessions open, nothing recorded.
    a.reset();
    BOOST_TEST(a.digest() == kv_machine(two_sessions()).digest());
}

BOOST_AUTO_TEST_CASE(the_broken_machine_applies_a_retry_again) {
    kv_options o = two_sessions();
    o.ignore_sessions = true;
    kv_machine m(o);
    m.apply(command(1, "s1.1 c k -1 5"));
    const kv_applied& again = m.apply(command(2, "s1.1 c k -1 5"));
    BOOST_TEST((again.verdict == kv_verdict::fresh));
    BOOST_TEST(!again.result.succeeded);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(simulation_regressions)

// A defect the late-delivery fault found: "failure is final" violated. A
// follower forwards a broadcast to the leader; one copy of the forward is
// held back (a TCP transport re-sends queued frames after a reconnect). The
// leader appends the request, is deposed, and another entry commits at that
// index: the follower completed the broadcast `superseded`. Seconds later the
// held-back copy reaches the leader of a later term, which does not hold the
// request and appends it again: it commits, and a caller told "failed" would
// have retried it. Now a forwarded request whose entry is displaced is asked
// for again (the leader finds it or appends it) and never fails. Before the
// fix: seeds 100, 193 and 199 of the main sweep at 20000 steps (the sim's
// default). Thirty five-node seeds with late copies of up to 1.5 s follow.
BOOST_AUTO_TEST_CASE(late_forward_after_superseded) {
    run_stats total;
    for (std::uint64_t seed : {100u, 193u, 199u}) {
        BOOST_TEST_CONTEXT("seed " << seed) { expect_ok(config(seed, seed % 2 ? 3 : 5, 20000), total); }
    }
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        world_config c = config(seed, 5, 8000);
        c.late_max = 1500;
        BOOST_TEST_CONTEXT("5 nodes, late copies up to 1.5 s, seed " << seed) { expect_ok(c, total); }
    }
}

BOOST_AUTO_TEST_SUITE_END()

// Process crashes (the page cache survives the process): the restart's load()
// makes what it read durable, so a power loss after the restart takes back
// nothing the restarted node may promise (a node acknowledges its log up to
// core::durable_length(), and repeats the vote in its hard state). One node,
// driven by hand; the sweep mixes process crashes and power losses.
namespace {

core_config one_node_config() {
    core_config c;
    c.self = 1;
    c.members = {1};
    return c;
}

void complete_syncs(node_host& h, host_effects fx) {
    while (fx.syncs_queued > 0) {
        host_effects more;
        h.complete_sync(more);
        fx = std::move(more);
    }
}

struct after_restart {
    index_t written = 0;    // log length in the page cache at the process crash
    index_t durable = 0;    // of which durable
    index_t promised = 0;   // the restarted core's durable length
    term_t term = 0;
    index_t survived = 0;   // log length after the power loss
    term_t term_survived = 0;
};

after_restart process_crash_then_power_loss(bool broken_load) {
    node_host h(one_node_config(), {}, {}, broken_load);
    host_effects fx;
    h.boot(fx);
    complete_syncs(h, std::move(fx));
    fx.clear();
    h.step(election_timeout{}, fx);   // a one-node cluster elects itself
    complete_syncs(h, std::move(fx));
    for (int k = 0; k < 3; ++k) {
        host_effects b;
        h.broadcast(make_bytes("p k" + std::to_string(k) + " 1"), b);
        complete_syncs(h, std::move(b));
    }
    // Another write reaches the page cache, not the disk (its sync never
    // completes); then the process dies.
    host_effects b;
    h.broadcast(make_bytes("p u 2"), b);
    after_restart out;
    out.written = h.disk().last_index();
    out.durable = h.disk().durable_last_index();
    h.process_crash();
    host_effects r;
    h.boot(r);   // reads the unsynced write back
    out.promised = h.core().durable_length();
    out.term = h.core().current_term();
    h.crash(std::size_t{0});   // power loss before the restarted node synced anything
    host_effects again;
    h.boot(again);
    out.survived = h.core().log().length();
    out.term_survived = h.core().current_term();
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(process_crash_then_power_loss_keeps_what_the_restart_read) {
    const after_restart a = process_crash_then_power_loss(false);
    BOOST_TEST_MESSAGE("restarted with " << a.promised << " entries it may acknowledge; after a power loss: "
                                         << a.survived);
    BOOST_TEST(a.durable == 4u);    // the no-op and 3 synced entries
    BOOST_TEST(a.written == 5u);    // and one in the page cache only
    BOOST_TEST(a.promised == a.written);
    BOOST_TEST(a.survived == a.promised);
    BOOST_TEST(a.term_survived == a.term);
}

BOOST_AUTO_TEST_CASE(process_crash_check_can_fail) {
    // The broken restart (node_host's broken_load: the page cache's contents
    // without a sync) promises entries the power loss then takes back.
    const after_restart a = process_crash_then_power_loss(true);
    BOOST_TEST(a.durable < a.written);
    BOOST_TEST(a.promised == a.written);
    BOOST_TEST(a.survived < a.promised, "promised " << a.promised << ", survived " << a.survived);
}

// Lease reads (thesis §6.4.1) are safe only while clocks drift within the
// bound the lease assumes. With a leader's clock running at a third of its
// rate, far beyond the bound, a deposed leader still thinks its lease holds
// after the others elected a successor and wrote: the linearizability check
// must see it (so the check of lease reads in the standard sweep, where
// clocks stay within the bound, is real).
BOOST_AUTO_TEST_CASE(lease_reads_with_clocks_drifting_beyond_the_bound_are_caught) {
    bool caught = false;
    for (std::uint64_t seed = 1; seed <= 200 && !caught; ++seed) {
        world_config c;
        c.seed = seed;
        c.nodes = 3;
        c.steps = 6000;
        c.faults = fault_kinds::parse("partition");
        c.reads = sim_read_mode::lease;
        c.clock_drift = 0.05;
        c.leader_clock_factor = 0.3;
        c.check_quorum_rule = false;   // a leader's slow clock also stretches its check-quorum
        c.check_stability = false;
        const run_result r = run_world(c);
        if (!r.ok && r.invariant == "linearizability") {
            caught = true;
            BOOST_TEST_MESSAGE("stale lease read caught at seed " << seed << ":\n" << r.detail);
        }
    }
    BOOST_TEST(caught, "no stale lease read in 200 seeds with a leader's clock at 0.3 of its rate");
}

// The same worlds with clocks within the bound: no violation.
BOOST_AUTO_TEST_CASE(lease_reads_with_clocks_within_the_bound_are_linearizable) {
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        world_config c;
        c.seed = seed;
        c.nodes = 3;
        c.steps = 6000;
        c.faults = fault_kinds::parse("partition");
        c.reads = sim_read_mode::lease;
        c.lease_drift_bound = 0.1;
        c.clock_drift = 0.1;
        const run_result r = run_world(c);
        BOOST_TEST(r.ok, describe_failure(c, r));
        BOOST_TEST(r.stats.lease_reads > 0u);
    }
}
