// GET /metrics, GET / and kvctl status against a real 3-process cluster.
// promtool (Debian's prometheus package) checks the real output when it is
// installed; under RAFTLITE_FULL_CHECKS=1 it must be (./run installs it).
#include <boost/test/unit_test.hpp>

#include "kv/prometheus_grammar.hpp"
#include "kv_process_cluster.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

std::string problems_of(const prom_text& t) {
    std::string all;
    for (const auto& p : t.problems) all += p + "\n";
    return all;
}

double value_or_zero(const prom_text& t, const std::string& name, const std::string& key = {},
                     const std::string& value = {}) {
    const prom_sample* s = t.find(name, key, value);
    return s ? s->value : 0;
}

bool full_checks() {
    const char* v = std::getenv("RAFTLITE_FULL_CHECKS");
    return v && std::string(v) == "1";
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics_endpoints)

BOOST_AUTO_TEST_CASE(metrics_status_page_and_kvctl_status_on_a_running_cluster) {
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);
    constexpr int writes = 6;
    for (int i = 0; i < writes; ++i) BOOST_REQUIRE(c.put("m" + std::to_string(i), "v", 20s));
    BOOST_REQUIRE(c.wait_converged());

    // Every peer's /metrics follows the format, and together they count the writes.
    double committed = 0;
    std::string leader_text;
    for (node_id id = 1; id <= 3; ++id) {
        const auto r = http_call(c.kv_port(id), "GET", "/metrics");
        BOOST_TEST_REQUIRE(r.has_value());
        BOOST_TEST_REQUIRE(r->status == 200u);
        const prom_text t = parse_prometheus(r->body);
        BOOST_TEST(t.problems.empty(), "n" << id << ":\n" << problems_of(t));
        BOOST_TEST(value_or_zero(t, "raftlite_node_id") == id);
        BOOST_TEST(value_or_zero(t, "raftlite_disk_round_duration_seconds_count") > 0);
        committed += value_or_zero(t, "raftlite_broadcasts_total", "outcome", "committed");
        if (id == *leader) {
            leader_text = r->body;
            BOOST_TEST(value_or_zero(t, "raftlite_role", "role", "leader") == 1);
            for (const char* peer : {"1", "2", "3"})
                if (std::to_string(id) != peer)
                    BOOST_TEST(t.find("raftlite_peer_match_lag_entries", "peer", peer), "no lag for " << peer);
        }
    }
    // Each put is committed once, through whichever peer took it (a retried
    // put may count twice: at least `writes`).
    BOOST_TEST(committed >= writes);

    // The status page is served by every peer.
    const auto page = http_call(c.kv_port(1), "GET", "/");
    BOOST_TEST_REQUIRE(page.has_value());
    BOOST_TEST(page->status == 200u);
    BOOST_TEST(page->body.find("id=\"members\"") != std::string::npos);
    // /status carries what the page shows: the members and recent leaders.
    const auto status = http_call(c.kv_port(*leader), "GET", "/status");
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST(status->body.find("\"members\":[1,2,3]") != std::string::npos, status->body);
    BOOST_TEST(status->body.find("\"leader_changes\":[{") != std::string::npos, status->body);

    // kvctl status: a header and one row of 10 columns per peer, one leader,
    // and the leader's lag for each follower.
    const auto kvctl = run_program(staged_program("kvctl"),
                                   {"--cluster", c.config(1).parent_path().string(), "status"});
    BOOST_TEST_REQUIRE(kvctl.status == 0, kvctl.output);
    BOOST_TEST_MESSAGE("kvctl status:\n" << kvctl.output);
    std::istringstream lines(kvctl.output);
    std::string line;
    std::getline(lines, line);
    BOOST_TEST(line.rfind("peer", 0) == 0, kvctl.output);
    int rows = 0, leaders = 0;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string w; fields >> w;) f.push_back(w);
        BOOST_TEST_REQUIRE(f.size() == 10u, line);
        ++rows;
        if (f[1] == "leader") {
            ++leaders;
            BOOST_TEST(f[0] == "n" + std::to_string(*leader));
            BOOST_TEST(f[7] == "-");
        } else {
            BOOST_TEST(f[3] == "n" + std::to_string(*leader), line);
            BOOST_TEST(f[7].find_first_not_of("0123456789") == std::string::npos, line);
        }
    }
    BOOST_TEST(rows == 3);
    BOOST_TEST(leaders == 1);

    // promtool's own parser and linter on the leader's real output.
    const bool have_promtool = run_program("/bin/sh", {"-c", "command -v promtool"}).status == 0;
    if (!have_promtool) {
        BOOST_TEST(!full_checks(), "RAFTLITE_FULL_CHECKS=1 but promtool is missing (Debian: prometheus)");
        BOOST_TEST_MESSAGE("promtool not installed: its check of /metrics did not run");
        return;
    }
    const auto file = std::filesystem::temp_directory_path() /
                      ("raftlite-metrics-" + std::to_string(std::random_device{}()) + ".txt");
    std::ofstream(file) << leader_text;
    const auto check = run_program("/bin/sh", {"-c", "promtool check metrics < '" + file.string() + "'"});
    std::filesystem::remove(file);
    BOOST_TEST(check.status == 0, "promtool check metrics:\n" << check.output);
}

BOOST_AUTO_TEST_SUITE_END()
