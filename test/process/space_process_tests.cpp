// raftlite-kv processes: the space guard (kv_space.hpp). A client that keeps
// writing gets 507 no_space once the state reaches [kv] quota_bytes, or while
// a member's disk is short of room (its no_space alarm), instead of filling
// the disk, on which every peer would stop at once. Every peer keeps
// running, nothing refused reaches the log, and deletes make room again.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

http_reply call(const kv_process_cluster& c, node_id id, const std::string& method, const std::string& target,
                const std::string& body = {}) {
    auto r = http_call(c.kv_port(id), method, target, body, 20s);
    BOOST_REQUIRE_MESSAGE(r, method << " " << target << " on n" << id << ": no answer");
    return *r;
}

// The members whose no_space alarm peer `id` has applied (its /status).
std::vector<std::uint64_t> alarms_seen_by(const kv_process_cluster& c, node_id id) {
    auto r = http_call(c.kv_port(id), "GET", "/status", {}, 5s);
    if (!r || r->status != 200) return {};
    const boost::json::value status = boost::json::parse(r->body);
    std::vector<std::uint64_t> ids;
    for (const auto& v : status.at("space").at("alarms").as_array()) ids.push_back(v.to_number<std::uint64_t>());
    return ids;
}

bool no_space(const http_reply& r) { return r.status == 507 && r.body.find("\"no_space\"") != std::string::npos; }

} // namespace

BOOST_AUTO_TEST_CASE(a_full_quota_refuses_growth_on_every_peer_and_deletes_make_room, *boost::unit_test::timeout(180)) {
    // Values of 1000 bytes: the ninth key would take the state past 8 KB
    // (the level keys take a few bytes more).
    kv_process_cluster c(3, {}, "quota_bytes = 8192\n");
    BOOST_REQUIRE(c.start_all());
    const std::string value(1000, 'v');
    std::size_t stored = 0;
    for (; stored < 20; ++stored) {
        const http_reply r = call(c, stored % 3 + 1, "PUT", "/kv/k" + std::to_string(stored), value);
        if (r.status != 200) {
            BOOST_TEST(no_space(r), r.status << " " << r.body);
            BOOST_TEST(r.body.find("quota_bytes") != std::string::npos, r.body);
            break;
        }
    }
    BOOST_TEST(stored == 8u);

    // Refused on every peer, before the log: nothing is written.
    BOOST_REQUIRE(c.wait_converged());
    const index_t last = c.status(1)->last_log_index;
    for (node_id id = 1; id <= 3; ++id) {
        BOOST_TEST(no_space(call(c, id, "PUT", "/kv/more", value)));
        BOOST_TEST(no_space(call(c, id, "POST", "/txn", R"({"success":[{"op":"put","key":"t","value":")" + value + R"("}]})")));
        // What adds nothing still works: an overwrite as long, a read.
        BOOST_TEST(call(c, id, "PUT", "/kv/k0", value).status == 200u);
        BOOST_TEST(call(c, id, "GET", "/kv/k1").body == value);
    }
    BOOST_REQUIRE(c.wait_converged());
    BOOST_TEST(c.status(1)->last_log_index == last + 3);   // the three overwrites
    for (node_id id = 1; id <= 3; ++id) BOOST_TEST(c.running(id));

    // kvctl reports it at once (507 is not retried) and exits 1.
    auto r = run_program(staged_program("kvctl"), {"--cluster", c.config_dir().string(), "put", "more", value});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(r.output.find("no_space") != std::string::npos, r.output);

    // A delete makes room for the next write, on the peer that applied it.
    BOOST_TEST(call(c, 2, "DELETE", "/kv/k3").status == 200u);
    BOOST_TEST(call(c, 2, "PUT", "/kv/more", value).status == 200u);
    BOOST_TEST(no_space(call(c, 2, "PUT", "/kv/even-more", value)));
    BOOST_REQUIRE(c.wait_converged());
}

BOOST_AUTO_TEST_CASE(a_member_short_of_disk_holds_growing_writes_off_the_whole_cluster, *boost::unit_test::timeout(180)) {
    kv_process_cluster c(3);
    // n3 asks for more free disk than any disk has: its alarm goes up.
    std::ofstream(c.config(3), std::ios::app) << "reserve_bytes = 281474976710656\n";
    BOOST_REQUIRE(c.start_all());
    const std::vector<std::uint64_t> n3{3};
    BOOST_REQUIRE(eventually([&] { return alarms_seen_by(c, 1) == n3 && alarms_seen_by(c, 2) == n3; }));
    BOOST_TEST(c.log_text(3).find("raised the no_space alarm") != std::string::npos);

    for (node_id id = 1; id <= 3; ++id) {
        const http_reply r = call(c, id, "PUT", "/kv/k", "v");
        BOOST_TEST(no_space(r), r.status << " " << r.body);
        BOOST_TEST(call(c, id, "DELETE", "/kv/k").status == 404u);   // deletes are never refused
    }
    BOOST_TEST(call(c, 1, "PUT", "/kv/k", "v").body.find("n3") != std::string::npos);
    const auto metrics = call(c, 1, "GET", "/metrics").body;
    BOOST_TEST(metrics.find("\nraftlite_kv_no_space_alarms 1\n") != std::string::npos);

    // n3 back without watching its disk: it drops its alarm, writes resume.
    BOOST_REQUIRE(c.terminate(3, 20s) == std::optional<int>(0));
    {
        std::ifstream in(c.config(3));
        std::stringstream text;
        text << in.rdbuf();
        std::string cfg = text.str();
        cfg.replace(cfg.find("reserve_bytes = 281474976710656"), 31, "reserve_bytes = 0");
        in.close();
        std::ofstream(c.config(3), std::ios::trunc) << cfg;
    }
    c.start(3);
    BOOST_REQUIRE(eventually([&] { return alarms_seen_by(c, 1).empty() && alarms_seen_by(c, 2).empty(); }));
    BOOST_TEST(c.log_text(3).find("dropped the no_space alarm") != std::string::npos);
    for (node_id id = 1; id <= 3; ++id) BOOST_TEST(call(c, id, "PUT", "/kv/k", "v").status == 200u);
    BOOST_REQUIRE(c.wait_converged());
}
