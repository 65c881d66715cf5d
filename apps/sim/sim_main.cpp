// sim — raftlite's deterministic simulator from the command line.
//
//   sim --seed S [--nodes N] [--steps K] [--faults all] [--trace]   replay one run
//   sim --seeds A..B [--nodes N]                                    a sweep of seeds
//   sim --minutes M [--seeds A..]                                   sweep for a while
//   sim --explore [--depth D] [--crashes K] [--broadcasts B]        exhaustive exploration
//       (3 nodes; also --drops, --duplicates, --timeouts, --heartbeats, --budget)
//   --clients C, --max-sync TICKS, --group-commit   workload and disk of a run
//   --skip outcomes,failures   leave out a check: that every accepted broadcast
//                              gets an outcome once healed (outcomes), that a
//                              broadcast completed as failed never commits
//                              (failures). Every check is on by default.
//
// Without --nodes a sweep alternates 3- and 5-node clusters. A failing run
// prints its seed, the violated property, the last events, and the command
// line that replays it; the exit status is then 1. test/sim/README.md
// describes the simulator.
#include "sim/explorer.hpp"
#include "sim/world.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

using namespace raftlite::sim;

namespace {

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "sim: " << why << "\n"
              << "usage: sim [--seed S | --seeds A..B | --minutes M] [--nodes 3|5] [--steps K]\n"
              << "           [--faults all|none|crash,partition,loss,duplicate] [--trace] [--skip outcomes,failures]\n"
              << "           [--clients C] [--max-sync TICKS] [--group-commit]\n"
              << "       sim --explore [--depth D] [--crashes K] [--broadcasts B] [--drops L] [--duplicates U]\n"
              << "                     [--timeouts E] [--heartbeats H] [--budget STATES]\n";
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
              << " heartbeats, depth limit " << ec.depth << "\n"
              << "  transitions explored " << r.transitions << ", distinct states " << r.distinct_states
              << ", max depth reached " << r.max_depth << (r.budget_exhausted ? " (state budget exhausted)" : "")
              << ", " << secs << " s\n"
              << "  leaders seen in " << r.states_with_leader << " states, commits in " << r.states_with_commit
              << " states\n";
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
    bool sweep = false, fixed_nodes = false, trace_on = false, explore_mode = false;
    double minutes = 0;
    explore_config ec;
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
        else if (a == "--nodes") { cfg.nodes = number(value()); fixed_nodes = true; }
        else if (a == "--steps") cfg.steps = number(value());
        else if (a == "--faults") {
            try { cfg.faults = fault_kinds::parse(value()); } catch (const std::exception& e) { usage(e.what()); }
        }
        else if (a == "--clients") cfg.clients = number(value());
        else if (a == "--max-sync") cfg.max_sync = number(value());
        else if (a == "--group-commit") cfg.group_commit = true;
        else if (a == "--trace") trace_on = true;
        else if (a == "--skip") {
            // leaves out checks (both are on by default)
            std::istringstream in(value());
            std::string w;
            while (std::getline(in, w, ',')) {
                if (w == "outcomes") cfg.check_outcomes = false;
                else if (w == "failures") cfg.check_false_failures = false;
                else usage("--skip takes outcomes,failures");
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
        else if (a == "--help" || a == "-h") usage("help");
        else usage("unknown option " + a);
    }
    if (explore_mode) return explore_main(ec);
    if (cfg.nodes < 1 || cfg.nodes > 9) usage("--nodes must be 1..9");
    if (minutes > 0 && last == first && !sweep) last = ~0ull;
    if (minutes > 0 && last == first) last = ~0ull;
    if (trace_on) cfg.trace_all = &std::cout;

    const auto t0 = std::chrono::steady_clock::now();
    run_stats total;
    std::uint64_t runs = 0, failures = 0;
    for (std::uint64_t seed = first;; ++seed) {
        world_config c = cfg;
        c.seed = seed;
        if (!fixed_nodes && sweep) c.nodes = (seed % 2) ? 3 : 5;
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
              << "crashes " << total.crashes << ", partitions " << total.partitions << ", elections "
              << total.elections << ", messages " << total.messages << ", lost unsynced writes "
              << total.lost_writes << "\n"
              << "client operations " << total.ops << " checked for linearizability (" << total.ops_determinate
              << " with known outcome), entries committed " << total.committed
              << ", worst heal-to-commit " << total.heal_to_commit_ms << " ms\n";
    return failures ? 1 : 0;
}
