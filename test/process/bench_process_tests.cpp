// raftlite-bench's read and mixed workloads, end to end: a short run of each
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
    BOOST_REQUIRE_EQUAL(r.status, 0);
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
