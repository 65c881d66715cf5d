// raftlite-bench end to end: the read and mixed workloads and the wide-area
// mode (the relay, a lossy follower), a short run of each
// against a real 3-process cluster, every operation answered, no read that
// missed a write completed before it. No timing is checked: the figures are
// the benchmark's business, this only shows the program works.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

using namespace raftlite::test;

namespace {

boost::json::object bench(std::vector<std::string> args) {
    for (const char* a : {"--seconds", "1", "--warmup", "0.5", "--durability", "none", "--json"}) args.push_back(a);
    auto r = run_program(staged_program("raftlite-bench"), args);
    BOOST_TEST_MESSAGE("raftlite-bench: " << r.output);
    BOOST_REQUIRE_MESSAGE(r.status == 0, "raftlite-bench exited with " << r.status << ", its output ends with: "
                                             << r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
    // stdout carries the one JSON object on its last line.
    auto end = r.output.find_last_not_of('\n');
    auto begin = r.output.rfind('\n', end);
    return boost::json::parse(r.output.substr(begin == std::string::npos ? 0 : begin + 1)).as_object();
}

std::int64_t integer(const boost::json::object& o, const char* key) { return o.at(key).to_number<std::int64_t>(); }

} // namespace

BOOST_AUTO_TEST_CASE(bench_reads_through_read_index_without_errors) {
    auto o = bench({"--workload", "read", "--clients", "4"});
    BOOST_TEST(o.at("workload").as_string() == "read");
    BOOST_TEST(integer(o, "errors") == 0);
    BOOST_TEST(integer(o, "stale_reads") == 0);
    BOOST_TEST(integer(o, "read_operations") > 0);
    BOOST_TEST(integer(o, "write_operations") == 0);
    BOOST_TEST(integer(o, "read_rounds") > 0);   // the leader's counters reach the report
    BOOST_TEST(o.at("fdatasync_per_s").to_number<double>() > 0);
    BOOST_TEST(o.at("rtt_us").to_number<double>() > 0);
}

BOOST_AUTO_TEST_CASE(bench_mixed_from_every_peer_and_under_a_lease_without_errors) {
    for (bool lease : {false, true}) {
        BOOST_TEST_CONTEXT("lease " << lease) {
            std::vector<std::string> args{"--workload", "mixed", "--read-ratio", "0.5", "--clients", "6",
                                          "--read-from", "any"};
            if (lease) args.push_back("--lease");
            auto o = bench(args);
            BOOST_TEST(integer(o, "errors") == 0);
            BOOST_TEST(integer(o, "stale_reads") == 0);
            BOOST_TEST(integer(o, "read_operations") > 0);
            BOOST_TEST(integer(o, "write_operations") > 0);
            BOOST_TEST(integer(o, "operations") == integer(o, "read_operations") + integer(o, "write_operations"));
            BOOST_TEST(o.at("read_from").as_string() == "any");
            BOOST_TEST(o.at("lease").as_bool() == lease);
        }
    }
}

// Wide-area mode without namespaces (no root needed): the links pass through
// the relay on loopback, and the bench reports the round trip through it.
BOOST_AUTO_TEST_CASE(bench_through_the_relay_without_errors) {
    auto o = bench({"--rtt-ms", "2", "--jitter-ms", "1", "--no-netns", "--clients", "4", "--relay-seed", "7"});
    BOOST_TEST(integer(o, "errors") == 0);
    BOOST_TEST(integer(o, "operations") > 0);
    BOOST_TEST(o.at("network").as_string() == "loopback");
    BOOST_TEST(o.at("relay_rtt_us").to_number<double>() > 0);
    BOOST_TEST(integer(o, "relay_connections") > 0);
    BOOST_TEST(integer(o, "relay_seed") == 7);
    // What the relay adds of its own: chunks are counted, whatever the priority it got (no root: normal).
    BOOST_TEST(o.at("relay_late_p99_us").to_number<double>() >= o.at("relay_late_p50_us").to_number<double>());
    BOOST_TEST(o.at("relay_late_p50_us").to_number<double>() >= 1.0);
    BOOST_TEST(o.at("relay_realtime").is_bool());
}

// A follower whose links cut connections at 20 % of chunks (5 nodes): every
// broadcast still commits, and once its links heal every peer has delivered
// the same sequence. Correctness only: the pace is the benchmark's business.
BOOST_AUTO_TEST_CASE(bench_lossy_follower_every_broadcast_commits_and_every_peer_delivers_the_same_sequence) {
    auto o = bench({"--nodes", "5", "--rtt-ms", "1", "--no-netns", "--lossy-follower", "0.2", "--clients", "8",
                    "--relay-seed", "11"});
    BOOST_TEST(integer(o, "errors") == 0);
    BOOST_TEST(integer(o, "lossy_errors") == 0);
    BOOST_TEST(integer(o, "clean_after_errors") == 0);
    BOOST_TEST(integer(o, "lossy_operations") > 0);
    BOOST_TEST(integer(o, "relay_cuts") > 0);   // the lossy links did cut connections
    BOOST_TEST(o.at("sequence_agrees").as_bool());
    BOOST_TEST(integer(o, "sequence_entries") > 0);
    BOOST_TEST(integer(o, "sequence_entries") == integer(o, "sequence_most"));   // the lossy follower caught up
}

BOOST_AUTO_TEST_CASE(bad_wide_area_arguments_are_refused) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--lossy-follower", "0.2", "--nodes", "3", "--no-netns"},
             {"--rtt-ms", "-1"},
             {"--loss", "1.5", "--no-netns"},
             {"--jitter-ms", "3"}}) {
        auto r = run_program(staged_program("raftlite-bench"), args);
        BOOST_TEST(r.status == 2, "raftlite-bench " << args.front() << " " << args[1] << ": " << r.output);
        BOOST_TEST(r.output.find("raftlite-bench: ") != std::string::npos);
    }
    auto r = run_program(staged_program("raftlite-relay"), {"--route", "127.0.0.1:9001=127.0.0.1:7001", "--drop-rate", "2"});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.output.find("--drop-rate must be in [0, 1)") != std::string::npos, r.output);
}
