// sim — raftlite's deterministic simulator from the command line.
//
//   sim --seed S [--nodes N] [--steps K] [--faults all] [--trace]   replay one run
//   sim --seeds A..B [--nodes N[,M...]]                             a sweep of seeds
//   sim --minutes M [--seeds A..]                                   sweep for a while
//   sim --explore [--depth D] [--crashes K] [--broadcasts B]        exhaustive exploration
//       (3 nodes; also --drops, --duplicates, --timeouts, --heartbeats, --budget,
//       --snapshot-events S: up to S snapshots at a node's applied index, with
//       log_keep_entries 0; --membership-events M: up to M times the leader
//       is asked to remove a node, itself included, default 1)
//   --clients C, --max-sync TICKS, --group-commit   workload and disk of a run
//   --retrying-clients         clients retry a command of unknown outcome with
//                              the same (session, seq) until it commits; the
//                              state machines answer retries from their
//                              session tables (exactly once, thesis §6.3)
//   --faults crash,partition,loss,duplicate,late,transfer (or all, none);
//   `late` holds some messages or duplicates of them back --late-min..--late-max
//   ms; `transfer` asks the leader now and then to hand over to a random node
//   (thesis §3.10)
//   --pre-vote on|off          pre-vote (thesis §9.6; the core's default: on).
//                              A --faults all sweep without it runs pre-vote in
//                              the seeds S with S/24 even, as sim_tests does
//   --rejoin TICKS             the disruptive-rejoin scenario: after the faults,
//                              one follower is cut off for TICKS and let back;
//                              the summary counts the terms it caused, and with
//                              pre-vote on any is a violation (world.hpp)
//   --batch E, --inflight F    the core's max_batch_entries and max_inflight
//   --inflight-bytes B         the core's max_inflight_bytes
//   --snapshots N              every node snapshots every N applied entries
//                              (0: never), keeping --snapshot-keep K entries
//                              (default 2) below it; snapshots travel in
//                              chunks of --snapshot-chunk B bytes (default 8),
//                              --snapshot-inflight F at a time (default 2);
//                              --snapshot-delay D finishes snapshots, and
//                              seals received ones, 1..D ms later (0, the
//                              default: at once), so crashes fall in between
//   --membership-changes MS    membership churn (Raft thesis §4): a single-server
//                              change asked every MS/2..3MS/2 ms while faults
//                              run (0: none); --spares K nodes wait from the
//                              start, with no configuration, to be added
//                              (default 2 with churn); --churn-min-voters V
//                              voters kept (default 3); --wipe-removed brings
//                              a removed server back with an empty disk (the
//                              same id: unsafe, the checks catch it) instead
//                              of from its own disk
//   A sweep with --faults all and no --membership-changes runs churn in the
//   seeds S with S/12 odd (churn_for in sim/sweep.hpp); --membership-changes 0
//   turns that off.
//   A sweep with --faults all (the default) and no --snapshots runs every
//   seed S with S mod 4 in {2, 3} with the snapshot settings of sim_tests'
//   snapshot family (sim/sweep.hpp); --snapshots 0 turns that off. It also
//   runs half the seeds with retrying clients, as sim_tests does
//   (retrying_clients_for in sim/sweep.hpp), unless --retrying-clients puts
//   them in every seed. The replay line of a failure names the settings of
//   its seed.
//   --skip outcomes,failures   leave out two checks (every accepted broadcast
//                              gets an outcome; a failed broadcast never
//                              commits), to sweep for anything else
//   --skip terms,quorum,stability,rejoin,membership,snapshot-traffic
//                              leave out the rule checks
//                              (a higher term is adopted; check-quorum; a quiet
//                              cluster keeps its leader; a rejoining node raises
//                              no term under pre-vote; configuration entries one
//                              server apart, one change at a time; a follower
//                              that stops answering is sent no more than one
//                              window of snapshot chunks), e.g. to see
//                              whether the liveness bound or the quorum checks
//                              alone catch a broken rule
//   --broken RULE[,RULE]       switch on deliberately broken rules
//                              (raftlite/detail/faults.hpp: core and runner
//                              rules; load_without_sync is node_host's broken
//                              restart; sessions_ignored, a state machine
//                              that applies every retry again)
//
// A sweep without --nodes alternates 3- and 5-node clusters; with a list
// (--nodes 2,4,6) seed S runs list[S mod length]. A failing run prints its
// seed, the violated property, the last events, and the command line that
// replays it; the exit status is then 1.
// test/sim/README.md describes the simulator.
#include "sim/explorer.hpp"
#include "sim/sweep.hpp"
#include "sim/world.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace raftlite;
using namespace raftlite::sim;

namespace {

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "sim: " << why << "\n"
              << "usage: sim [--seed S | --seeds A..B | --minutes M] [--nodes N[,M...]] [--steps K]\n"
              << "           [--faults all|none|crash,partition,loss,duplicate,late] [--trace] [--skip outcomes,failures]\n"
              << "           [--clients C] [--max-sync TICKS] [--group-commit] [--batch E] [--inflight F]\n"
              << "           [--inflight-bytes B]\n"
              << "           [--late-min TICKS] [--late-max TICKS] [--process-crashes 0..100] [--broken RULE,...]\n"
              << "           [--snapshots N] [--snapshot-keep K] [--snapshot-chunk B] [--snapshot-inflight F]\n"
              << "           [--snapshot-delay D] [--reads log|read_index|lease|mixed] [--clock-drift D]\n"
              << "           [--lease-drift-bound B] [--retrying-clients] [--pre-vote on|off] [--rejoin TICKS]\n"
              << "           [--membership-changes MS] [--spares K] [--churn-min-voters V] [--wipe-removed]\n"
              << "       (a --faults all sweep without --reads mixes the three read modes, a third of the\n"
              << "        seeds each, lease seeds with clocks drifting 0.9 of the bound)\n"
              << "       (a --faults all sweep without --snapshots runs seeds S with S mod 4 in {2,3} with\n"
              << "        the snapshot family's settings; --snapshots 0 turns that off)\n"
              << "       (a --faults all sweep without --retrying-clients runs them in seeds S with S/6 odd)\n"
              << "       (a --faults all sweep without --pre-vote runs pre-vote in seeds S with S/24 even)\n"
              << "       (a --faults all sweep without --membership-changes runs churn in seeds S with S/12 odd)\n"
              << "       sim --explore [--depth D] [--crashes K] [--broadcasts B] [--drops L] [--duplicates U]\n"
              << "                     [--timeouts E] [--heartbeats H] [--budget STATES] [--snapshot-events S]\n"
              << "                     [--membership-events M]\n";
    std::exit(2);
}

std::uint64_t number(const std::string& s) {
    try {
        std::size_t used = 0;
        const auto v = std::stoull(s, &used);
        if (used == s.size()) return v;
    } catch (...) {
    }
    usage("not a number: '" + s + "'");
}

int explore_main(const explore_config& ec) {
    const auto t0 = std::chrono::steady_clock::now();
    const explore_result r = explore(ec);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "explore: 3 nodes, " << ec.broadcasts << " broadcasts, up to " << ec.max_crashes
              << " crash(es), up to " << ec.max_drops << " drop(s) and " << ec.max_duplicates
              << " duplicate(s), up to " << ec.max_timeouts << " election timeouts and " << ec.max_heartbeats
              << " heartbeats, " << ec.max_snapshots << " snapshot(s), " << ec.max_membership
              << " membership change(s), depth limit " << ec.depth << "\n"
              << "  transitions explored " << r.transitions << ", distinct states " << r.distinct_states
              << ", max depth reached " << r.max_depth << (r.budget_exhausted ? " (state budget exhausted)" : "")
              << ", " << secs << " s\n"
              << "  leaders seen in " << r.states_with_leader << " states, commits in " << r.states_with_commit
              << " states, snapshots in " << r.states_with_snapshot << " states, " << r.restores
              << " restores, configuration changed in " << r.states_with_change << " states\n";
    if (!r.ok) {
        std::cout << "VIOLATION: " << r.invariant << "\n  " << r.detail << "\npath:\n" << r.path;
        return 1;
    }
    std::cout << "no violation\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    world_config cfg;
    std::uint64_t first = 1, last = 1;
    bool sweep = false, trace_on = false, explore_mode = false;
    std::vector<std::size_t> node_list;   // empty: 3 and 5 alternate in a sweep
    double minutes = 0;
    explore_config ec;
    std::optional<index_t> snapshots;   // --snapshots; unset: a --faults all sweep mixes them in
    std::optional<std::uint64_t> snap_keep, snap_chunk, snap_inflight, snap_delay;
    std::optional<std::string> reads;   // --reads; unset: a --faults all sweep mixes the three modes
    std::optional<bool> pre_vote;       // --pre-vote; unset: a --faults all sweep mixes it in
    std::optional<std::uint64_t> churn;   // --membership-changes; unset: a --faults all sweep mixes it in
    std::optional<std::size_t> spares;
    for (int k = 1; k < argc; ++k) {
        const std::string a = argv[k];
        auto value = [&]() -> std::string {
            if (k + 1 >= argc) usage(a + " needs a value");
            return argv[++k];
        };
        if (a == "--seed") { first = last = number(value()); }
        else if (a == "--seeds") {
            const std::string v = value();
            const auto dots = v.find("..");
            first = number(v.substr(0, dots));
            last = dots == std::string::npos ? first : (dots + 2 == v.size() ? ~0ull : number(v.substr(dots + 2)));
            sweep = true;
        }
        else if (a == "--minutes") { minutes = std::stod(value()); sweep = true; }
        else if (a == "--nodes") {
            std::istringstream in(value());
            std::string w;
            while (std::getline(in, w, ',')) node_list.push_back(number(w));
            if (node_list.empty()) usage("--nodes needs a number");
            cfg.nodes = node_list.front();
        }
        else if (a == "--batch") cfg.core.max_batch_entries = number(value());
        else if (a == "--inflight") cfg.core.max_inflight = number(value());
        else if (a == "--inflight-bytes") cfg.core.max_inflight_bytes = number(value());
        else if (a == "--late-min") cfg.late_min = number(value());
        else if (a == "--late-max") cfg.late_max = number(value());
        else if (a == "--process-crashes") cfg.process_crash_percent = number(value());
        else if (a == "--steps") cfg.steps = number(value());
        else if (a == "--snapshots") snapshots = number(value());
        else if (a == "--snapshot-keep") snap_keep = number(value());
        else if (a == "--snapshot-chunk") snap_chunk = number(value());
        else if (a == "--snapshot-inflight") snap_inflight = number(value());
        else if (a == "--snapshot-delay") snap_delay = number(value());
        else if (a == "--faults") {
            try { cfg.faults = fault_kinds::parse(value()); } catch (const std::exception& e) { usage(e.what()); }
        }
        else if (a == "--clients") cfg.clients = number(value());
        else if (a == "--max-sync") cfg.max_sync = number(value());
        else if (a == "--group-commit") cfg.group_commit = true;
        else if (a == "--retrying-clients") cfg.retrying_clients = true;
        else if (a == "--pre-vote") {
            const std::string v = value();
            if (v != "on" && v != "off") usage("--pre-vote takes on or off");
            pre_vote = v == "on";
            cfg.core.pre_vote = ec.core.pre_vote = *pre_vote;
        }
        else if (a == "--rejoin") cfg.rejoin_isolation = number(value());
        else if (a == "--membership-changes") churn = number(value());
        else if (a == "--spares") spares = number(value());
        else if (a == "--churn-min-voters") cfg.churn_min_voters = number(value());
        else if (a == "--wipe-removed") cfg.wipe_removed = true;
        else if (a == "--reads") {
            reads = value();
            if (*reads == "log") cfg.reads = sim_read_mode::log;
            else if (*reads == "read_index") cfg.reads = sim_read_mode::read_index;
            else if (*reads == "lease") cfg.reads = sim_read_mode::lease;
            else if (*reads != "mixed") usage("--reads takes log, read_index, lease or mixed");
        }
        else if (a == "--clock-drift") cfg.clock_drift = std::stod(value());
        else if (a == "--lease-drift-bound") cfg.lease_drift_bound = std::stod(value());
        else if (a == "--leader-clock-factor") cfg.leader_clock_factor = std::stod(value());
        else if (a == "--trace") trace_on = true;
        else if (a == "--skip") {
            // leaves out checks (both are on by default)
            std::istringstream in(value());
            std::string w;
            while (std::getline(in, w, ',')) {
                if (w == "outcomes") cfg.check_outcomes = false;
                else if (w == "failures") cfg.check_false_failures = false;
                else if (w == "terms") cfg.check_terms = false;
                else if (w == "quorum") cfg.check_quorum_rule = false;
                else if (w == "stability") cfg.check_stability = false;
                else if (w == "rejoin") cfg.check_rejoin = false;
                else if (w == "membership") cfg.check_membership_rule = false;
                else if (w == "snapshot-traffic") cfg.check_snapshot_traffic = false;
                else usage("--skip takes outcomes,failures,terms,quorum,stability,rejoin,membership,snapshot-traffic");
            }
        }
        else if (a == "--broken") {
            std::istringstream in(value());
            std::string w;
            while (std::getline(in, w, ',')) {
                auto& b = cfg.broken_core;
                if (w == "commit_earlier_term_by_count") b.commit_earlier_term_by_count = true;
                else if (w == "double_vote") b.double_vote = true;
                else if (w == "count_stale_votes") b.count_stale_votes = true;
                else if (w == "commit_beyond_match") b.commit_beyond_match = true;
                else if (w == "ignore_higher_term_in_response") b.ignore_higher_term_in_response = true;
                else if (w == "no_timer_reset_on_leader_message") b.no_timer_reset_on_leader_message = true;
                else if (w == "no_check_quorum_step_down") b.no_check_quorum_step_down = true;
                else if (w == "install_older_snapshot") b.install_older_snapshot = true;
                else if (w == "resend_snapshot_window_unanswered") b.resend_snapshot_window_unanswered = true;
                else if (w == "read_without_round") b.read_without_round = true;
                else if (w == "pre_vote_raises_term") b.pre_vote_raises_term = true;
                else if (w == "count_learner_votes") b.count_learner_votes = true;
                else if (w == "concurrent_changes") b.concurrent_changes = true;
                else if (w == "accept_forwards_from_outside") b.accept_forwards_from_outside = true;
                else if (w == "hold_forwarded_forever") b.hold_forwarded_forever = true;
                else if (w == "after_sync_messages_before_sync") cfg.broken_driver.after_sync_messages_before_sync = true;
                else if (w == "compact_before_snapshot_durable") cfg.broken_driver.compact_before_snapshot_durable = true;
                else if (w == "load_without_sync") cfg.broken_load = true;
                else if (w == "sessions_ignored") cfg.broken_sessions = true;
                else usage("unknown broken rule '" + w + "' (see raftlite/detail/faults.hpp)");
            }
        }
        else if (a == "--explore") explore_mode = true;
        else if (a == "--depth") ec.depth = number(value());
        else if (a == "--crashes") ec.max_crashes = number(value());
        else if (a == "--broadcasts") ec.broadcasts = number(value());
        else if (a == "--drops") ec.max_drops = number(value());
        else if (a == "--duplicates") ec.max_duplicates = number(value());
        else if (a == "--budget") ec.max_states = number(value());
        else if (a == "--timeouts") ec.max_timeouts = number(value());
        else if (a == "--heartbeats") ec.max_heartbeats = number(value());
        else if (a == "--membership-events") ec.max_membership = number(value());
        else if (a == "--snapshot-events") {
            // every snapshot drops the whole log below it, so a lagging follower needs InstallSnapshot
            ec.max_snapshots = number(value());
            ec.core.log_keep_entries = 0;
        }
        else if (a == "--help" || a == "-h") usage("help");
        else usage("unknown option " + a);
    }
    if (explore_mode) return explore_main(ec);
    for (std::size_t n : node_list)
        if (n < 1 || n > 9) usage("--nodes must be 1..9");
    if (cfg.core.max_batch_entries == 0 || cfg.core.max_inflight == 0 || cfg.core.max_inflight_bytes == 0)
        usage("--batch, --inflight and --inflight-bytes must be positive");
    if (cfg.late_max < cfg.late_min) usage("--late-max must not be below --late-min");
    if (snap_chunk && *snap_chunk == 0) usage("--snapshot-chunk must be positive");
    if (!(cfg.clock_drift >= 0 && cfg.clock_drift < 1)) usage("--clock-drift must be in [0, 1)");
    if (!(cfg.lease_drift_bound >= 0 && cfg.lease_drift_bound < 1)) usage("--lease-drift-bound must be in [0, 1)");
    if (snap_inflight && *snap_inflight == 0) usage("--snapshot-inflight must be positive");
    if (snapshots && *snapshots != 0) {
        cfg.snapshot_entries = *snapshots;
        cfg.core.log_keep_entries = snap_keep.value_or(2);
        cfg.core.snapshot_chunk_bytes = snap_chunk.value_or(8);
        cfg.core.snapshot_chunks_inflight = snap_inflight.value_or(2);
        cfg.snapshot_delay = snap_delay.value_or(0);
    } else if ((snap_keep || snap_chunk || snap_inflight || snap_delay) && !snapshots) {
        usage("--snapshot-keep, --snapshot-chunk, --snapshot-inflight and --snapshot-delay need --snapshots N");
    }
    // A full-fault sweep covers snapshots too unless told otherwise.
    const bool mix_snapshots = sweep && !snapshots && cfg.faults.to_string() == "all";
    // ... and the read modes, as the standard sweep does.
    const bool mix_reads = (sweep && !reads && cfg.faults.to_string() == "all") || (reads && *reads == "mixed");
    // ... and retrying clients.
    const bool mix_retrying = sweep && !cfg.retrying_clients && cfg.faults.to_string() == "all";
    // ... and pre-vote.
    const bool mix_pre_vote = sweep && !pre_vote && cfg.faults.to_string() == "all";
    if (churn) cfg.membership_changes = *churn;
    cfg.spare_nodes = spares.value_or(churn && *churn != 0 ? 2 : 0);
    // ... and membership churn.
    const bool mix_churn = sweep && !churn && cfg.faults.to_string() == "all";
    if (minutes > 0 && last == first) last = ~0ull;
    if (trace_on) cfg.trace_all = &std::cout;

    const auto t0 = std::chrono::steady_clock::now();
    run_stats total;
    std::uint64_t runs = 0, failures = 0;
    for (std::uint64_t seed = first;; ++seed) {
        world_config c = cfg;
        c.seed = seed;
        if (node_list.empty()) {
            if (sweep) c.nodes = (seed % 2) ? 3 : 5;
        } else {
            c.nodes = node_list[seed % node_list.size()];
        }
        if (mix_snapshots && seed % 4 >= 2) apply_snapshot_settings(c, seed);
        if (mix_reads) {
            c.reads = static_cast<sim_read_mode>(seed % 3);
            c.clock_drift = c.reads == sim_read_mode::lease ? 0.9 * c.lease_drift_bound : 0.0;
        }
        if (mix_retrying) c.retrying_clients = retrying_clients_for(seed);
        if (mix_pre_vote) c.core.pre_vote = pre_vote_for(seed);
        if (mix_churn && churn_for(seed)) {
            apply_churn_settings(c);
            if (spares) c.spare_nodes = *spares;
        }
        const run_result r = run_world(c);
        ++runs;
        total += r.stats;
        if (!r.ok) {
            ++failures;
            std::cout << describe_failure(c, r) << std::flush;
        } else if (!sweep) {
            std::cout << "seed " << seed << ": ok, trace digest " << std::hex << r.digest << std::dec << "\n";
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (seed == last || (minutes > 0 && elapsed >= minutes * 60)) break;
        if (sweep && runs % 100 == 0)
            std::cout << "... " << runs << " runs, " << failures << " failed, " << elapsed << " s\n" << std::flush;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "runs " << runs << " (seeds " << first << ".." << first + runs - 1 << "), failed " << failures
              << "\nsteps " << total.steps << " (" << static_cast<std::uint64_t>(total.steps / (secs > 0 ? secs : 1))
              << " steps/s), virtual time " << total.virtual_ms / 1000.0 << " s\n"
              << "crashes " << total.crashes << " (" << total.process_crashes << " process crashes)"
              << ", partitions " << total.partitions << ", messages " << total.messages
              << ", lost unsynced writes " << total.lost_writes << "\n"
              << "elections: " << total.terms << " terms started, " << total.elections << " leaders elected, "
              << total.pre_votes << " pre-elections (final incarnations); leadership transfers "
              << total.transfers << " asked, " << total.transfers_done << " done, " << total.transfers_timed_out
              << " timed out\n"
              << (total.rejoins ? "rejoin scenarios " + std::to_string(total.rejoins) + ": " +
                                      std::to_string(total.rejoin_terms) + " terms started (the cut-off nodes' own "
                                      "included), " + std::to_string(total.rejoin_leaders) +
                                      " leaders elected after the rejoin\n"
                                : std::string())
              << "client operations " << total.ops << " checked for linearizability (" << total.ops_determinate
              << " with known outcome), entries committed " << total.committed
              << ", worst heal-to-commit " << total.heal_to_commit_ms << " ms\n"
              << "snapshots " << total.snapshots << " taken, " << total.snapshot_chunks << " chunks sent, "
              << total.restores << " restores, " << total.snapshots_deferred << " deferred, "
              << total.snapshots_abandoned << " abandoned by crashes\n"
              << "reads without the log " << total.reads << " (" << total.read_rounds << " heartbeat rounds, "
              << total.lease_reads << " under a lease)\n"
              << "retrying clients: " << total.retries << " retries, " << total.duplicates
              << " duplicates answered from the session table\n"
              << "membership changes " << total.membership_asked << " asked, " << total.membership_committed
              << " committed, " << total.configurations << " configurations committed, " << total.readded
              << " removed servers added back\n";
    return failures ? 1 : 0;
}
