// GET /metrics, GET / and kvctl status against a real 3-process cluster.
// promtool (Debian's prometheus package) checks the real output when it is
// installed; under RAFTLITE_FULL_CHECKS=1 it must be (./run installs it).
#include <boost/test/unit_test.hpp>

#include "kv/prometheus_grammar.hpp"
#include "kv_process_cluster.hpp"

#include <raftlite/version.hpp>

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

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto i = text.find(what); i != std::string::npos; i = text.find(what, i + what.size())) ++n;
    return n;
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
    // A GET on the leader (read_index mode, the default) takes a read index.
    const auto got = http_call(c.kv_port(*leader), "GET", "/kv/m0");
    BOOST_TEST_REQUIRE(got.has_value());
    BOOST_TEST(got->status == 200u);

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
        BOOST_TEST(t.types.count("raftlite_snapshot_index") == 1u);
        BOOST_TEST(value_or_zero(t, "raftlite_log_start_index") == 1);
        committed += value_or_zero(t, "raftlite_broadcasts_total", "outcome", "committed");
        if (id == *leader) {
            leader_text = r->body;
            BOOST_TEST(value_or_zero(t, "raftlite_role", "role", "leader") == 1);
            BOOST_TEST(value_or_zero(t, "raftlite_reads_total", "outcome", "ready") >= 1);
            BOOST_TEST(value_or_zero(t, "raftlite_read_duration_seconds_count") >= 1);
            BOOST_TEST(value_or_zero(t, "raftlite_read_rounds_total") >= 1);
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
    // and each peer's connection health: on loopback every handshake is
    // acknowledged.
    BOOST_TEST(occurrences(status->body, "\"handshake_ack_timeouts\":0") == 2u, status->body);
    BOOST_TEST(occurrences(status->body, "\"connect_failures\":") == 2u, status->body);

    // kvctl status: a header and one row of 14 columns per peer (peer role
    // term leader commit applied last snapshot start held lag keys digest
    // level), one leader, and the leader's lag for each follower.
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
        BOOST_TEST_REQUIRE(f.size() == 14u, line);
        ++rows;
        BOOST_TEST((f[13] == "1/2" || f[13] == "2/2"), line);   // the level settles as the peers report
        // No snapshot yet (6 writes): snapshot 0, the log from entry 1, all of it held.
        BOOST_TEST(f[7] == "0", line);
        BOOST_TEST(f[8] == "1", line);
        BOOST_TEST(f[9] == f[6], line);
        if (f[1] == "leader") {
            ++leaders;
            BOOST_TEST(f[0] == "n" + std::to_string(*leader));
            BOOST_TEST(f[10] == "-");
        } else {
            BOOST_TEST(f[3] == "n" + std::to_string(*leader), line);
            BOOST_TEST(f[10].find_first_not_of("0123456789") == std::string::npos, line);
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

// The status page's script run by a real browser (Debian's chromium,
// headless): the DOM it renders shows the three members and the leader.
// Under RAFTLITE_FULL_CHECKS=1 chromium must be installed (./run installs it).
BOOST_AUTO_TEST_CASE(the_status_page_renders_the_cluster_in_a_browser) {
    const bool have_chromium = run_program("/bin/sh", {"-c", "command -v chromium"}).status == 0;
    if (!have_chromium) {
        BOOST_TEST(!full_checks(), "RAFTLITE_FULL_CHECKS=1 but chromium is missing (Debian: chromium)");
        BOOST_TEST_MESSAGE("chromium not installed: the status page was not rendered");
        return;
    }
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);
    BOOST_REQUIRE(c.put("page", "v", 20s));
    const node_id asked = *leader % 3 + 1;   // a follower: it knows the leader too
    // The page fetches /status and /metrics after loading; the virtual time
    // budget lets those fetches and the first render finish before the dump
    // (no wall-clock wait). --no-sandbox: the test may run as root.
    const std::string url = "http://127.0.0.1:" + std::to_string(c.kv_port(asked)) + "/";
    const std::string dir = (std::filesystem::temp_directory_path() /
                             ("raftlite-chromium-" + std::to_string(std::random_device{}()))).string();
    const auto r = run_program(
        "/bin/sh", {"-c", "chromium --headless --no-sandbox --disable-gpu --user-data-dir='" + dir +
                              "' --virtual-time-budget=10000 --dump-dom '" + url + "' 2>/dev/null"});
    std::filesystem::remove_all(dir);
    BOOST_TEST_REQUIRE(r.status == 0, r.output);
    // The rows the script made (the page's style and script name the same
    // attributes, so only the members' table body counts).
    const auto begin = r.output.find("<tbody id=\"members\">");
    BOOST_TEST_REQUIRE(begin != std::string::npos, r.output);
    const std::string members = r.output.substr(begin, r.output.find("</tbody>", begin) - begin);
    BOOST_TEST(occurrences(members, "class=\"member\"") == 3u, r.output);
    BOOST_TEST(occurrences(members, "data-role=\"leader\"") == 1u, r.output);
    BOOST_TEST(members.find("data-id=\"" + std::to_string(*leader) + "\" data-role=\"leader\"") != std::string::npos,
               r.output);
    BOOST_TEST(r.output.find("<span id=\"self\">n" + std::to_string(asked) + "</span>") != std::string::npos,
               r.output);
    BOOST_TEST(r.output.find(std::string("<dd id=\"version\">") + RAFTLITE_VERSION_STRING + "</dd>") !=
                   std::string::npos,
               r.output);
    // One key written ("page"), no watch waiting.
    BOOST_TEST(r.output.find("<dd id=\"keys\">1</dd>") != std::string::npos, r.output);
    BOOST_TEST(r.output.find("<dd id=\"watches\">0</dd>") != std::string::npos, r.output);
    // The feature level: the cluster's (1 until every peer reported, then 2) and this peer's report.
    BOOST_TEST((r.output.find("<dd id=\"level\">1 / 2</dd>") != std::string::npos ||
                r.output.find("<dd id=\"level\">2 / 2</dd>") != std::string::npos),
               r.output);
    // The space guard: the state's bytes (the key, and the level keys as they
    // are reported) against the default quota, no alarm.
    const auto space = r.output.find("<dd id=\"space\">");
    BOOST_TEST_REQUIRE(space != std::string::npos, r.output);
    BOOST_TEST(r.output.substr(space, r.output.find("</dd>", space) - space).ends_with(" / 2147483648"), r.output);
}

BOOST_AUTO_TEST_SUITE_END()
