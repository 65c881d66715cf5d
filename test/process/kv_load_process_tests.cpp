// raftlite-kv-load against a real 3-process cluster: a few hundred requests
// of each workload, spread over every peer (--cluster reads their [kv]
// addresses), all answered 200. No timing is checked: the figures are the
// benchmark's business, this only shows the program works end to end.
// The same for wrk's script (apps/kv_load/wrk_kv.lua) when wrk is installed.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

using namespace raftlite;
using namespace raftlite::test;

namespace {

boost::json::object load(const std::vector<std::string>& args) {
    auto r = run_program(staged_program("raftlite-kv-load"), args);
    BOOST_TEST_MESSAGE("raftlite-kv-load: " << r.output);
    BOOST_REQUIRE_EQUAL(r.status, 0);
    // stdout carries the one JSON object on its last line.
    auto end = r.output.find_last_not_of('\n');
    auto begin = r.output.rfind('\n', end);
    return boost::json::parse(r.output.substr(begin == std::string::npos ? 0 : begin + 1)).as_object();
}

} // namespace

BOOST_AUTO_TEST_CASE(kv_load_puts_and_reads_through_every_peer_without_errors) {
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    BOOST_REQUIRE(c.wait_for_leader());
    const std::string cluster = c.config(1).parent_path().string();

    for (const char* workload : {"put", "get", "mixed"}) {
        BOOST_TEST_CONTEXT("workload " << workload) {
            auto o = load({"--cluster", cluster, "--connections", "6", "--workload", workload, "--keys", "40",
                           "--requests", "300", "--no-reference", "--json"});
            BOOST_TEST(o.at("errors").as_int64() == 0);
            BOOST_TEST(o.at("ok").as_int64() == 300);
            // Two connections to each peer: every peer answered.
            for (const auto& [name, ok] : o.at("ok_by_target").as_object()) {
                BOOST_TEST_CONTEXT("target " << name) { BOOST_TEST(ok.as_int64() > 0); }
            }
        }
    }
    // One address alone, and the reference figures printed beside the figures.
    auto o = load({"--target", "127.0.0.1:" + std::to_string(c.kv_port(1)), "--connections", "4", "--requests",
                   "100", "--data-dir", c.data_dir(1).string(), "--json"});
    BOOST_TEST(o.at("errors").as_int64() == 0);
    BOOST_TEST(o.at("fdatasync_per_s").to_number<double>() > 0);
    BOOST_TEST(o.at("rtt_us").to_number<double>() > 0);

    // --watchers: clients following every change receive the PUTs' changes,
    // with no error (the rate and delays are the benchmark's business).
    o = load({"--cluster", cluster, "--connections", "6", "--watchers", "3", "--duration", "1", "--warmup", "0.5",
              "--no-reference", "--json"});
    BOOST_TEST(o.at("errors").as_int64() == 0);
    BOOST_TEST(o.at("watch_errors").as_int64() == 0);
    BOOST_TEST(o.at("watchers").as_int64() == 3);
    BOOST_TEST(o.at("watch_events_per_s").to_number<double>() > 0);
    BOOST_TEST(run_program(staged_program("raftlite-kv-load"), {"--cluster", cluster, "--workload", "get", "--watchers", "2"})
                   .status == 2);

    // --reference-only: the references on the cluster's disk, and no load.
    o = load({"--cluster", cluster, "--reference-only", "--json"});
    BOOST_TEST(o.at("fdatasync_per_s").to_number<double>() > 0);
    BOOST_TEST(o.at("rtt_us").to_number<double>() > 0);
    BOOST_TEST(!o.contains("ok"));
}

// wrk's JSON line (the script's done()): the last line starting {"ops_per_s".
boost::json::object wrk_figures(const std::string& output) {
    const auto begin = output.rfind("{\"ops_per_s\"");
    BOOST_REQUIRE(begin != std::string::npos);
    return boost::json::parse(output.substr(begin, output.find('\n', begin) - begin)).as_object();
}

BOOST_AUTO_TEST_CASE(wrk_script_puts_and_reads_every_peer_with_every_response_checked) {
    if (run_program("/bin/sh", {"-c", "command -v wrk"}).status != 0) {
        BOOST_TEST(!full_checks(), "RAFTLITE_FULL_CHECKS=1 but wrk is missing (Debian: wrk)");
        BOOST_TEST_MESSAGE("wrk not installed (Debian: wrk): its script was not run");
        return;
    }
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    BOOST_REQUIRE(c.wait_for_leader());
    // stage/test/<this> -> the source tree's root
    const auto script = (staged_program("wrk").parent_path().parent_path().parent_path() / "apps" / "kv_load" /
                         "wrk_kv.lua").string();
    std::string targets;
    for (node_id id = 1; id <= 3; ++id)
        targets += (id > 1 ? "," : "") + std::string("127.0.0.1:") + std::to_string(c.kv_port(id));
    const std::string url = "http://127.0.0.1:" + std::to_string(c.kv_port(1));
    // Nothing written yet: every GET is a 404, counted, and the run fails.
    {
        auto r = run_program("/bin/sh", {"-c", "exec wrk -t1 -c2 -d1s -s " + script + " " + url + " -- get 5 256 check"});
        auto o = wrk_figures(r.output);
        BOOST_TEST(r.status != 0);
        BOOST_TEST(o.at("ok").as_int64() == 0);
        BOOST_TEST(o.at("errors").as_int64() > 0);
        BOOST_TEST(o.at("non_200_by_status").as_object().at("404").as_int64() > 0);
    }
    // 20 keys and a run of a second: far more PUTs than keys, so every key has
    // its value before the GETs (put writes the keys in turn).
    for (const char* workload : {"put", "get"}) {
        BOOST_TEST_CONTEXT("workload " << workload) {
            auto r = run_program("/bin/sh", {"-c", "KV_WRK_TARGETS=" + targets + " exec wrk -t3 -c6 -d1s --timeout 15s -s " +
                                                       script + " " + url + " -- " + workload + " 20 256 check"});
            BOOST_TEST_MESSAGE("wrk: " << r.output);
            BOOST_REQUIRE_EQUAL(r.status, 0);
            auto o = wrk_figures(r.output);
            BOOST_TEST(o.at("errors").as_int64() == 0);
            BOOST_TEST(o.at("ok").as_int64() >= 20);
            BOOST_TEST(o.at("ok").as_int64() == o.at("requests").as_int64());
            BOOST_TEST(o.at("threads").as_int64() == 3);
        }
    }
}
