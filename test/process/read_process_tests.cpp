// raftlite-kv processes: GET through a read index (Raft thesis §6.4), in the
// default read_index mode and under leases: every peer answers with what was
// written before, and reads write nothing to the log.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <raftlite/version.hpp>

#include <boost/json.hpp>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

std::string status_field(const kv_process_cluster& c, node_id id, const char* field) {
    auto r = http_call(c.kv_port(id), "GET", "/status", {}, 10s);
    BOOST_REQUIRE(r);
    BOOST_REQUIRE_EQUAL(r->status, 200u);
    const boost::json::value parsed = boost::json::parse(r->body);
    const auto& v = parsed.as_object().at(field);
    return v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
}

// N reads spread over the peers, each right after a write it must see; the
// log of every peer is as long after the reads as before them.
void reads_see_writes_and_leave_the_log_alone(kv_process_cluster& c) {
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    BOOST_REQUIRE(c.wait_for_leader());
    for (int i = 0; i < 10; ++i) {
        const std::string v = "v" + std::to_string(i);
        BOOST_REQUIRE(c.put("k", v, 20s));
        // Acknowledged, so every peer's read must see it (linearizability),
        // whether or not that peer has applied it yet.
        for (node_id id = 1; id <= 3; ++id) {
            auto r = http_call(c.kv_port(id), "GET", "/kv/k", {}, 10s);
            BOOST_REQUIRE(r);
            BOOST_TEST(r->status == 200u);
            BOOST_TEST(r->body == v);
        }
    }
    BOOST_REQUIRE(c.wait_converged());
    std::map<node_id, index_t> before;
    for (node_id id = 1; id <= 3; ++id) before[id] = c.status(id)->last_log_index;
    for (int i = 0; i < 60; ++i) {
        auto r = http_call(c.kv_port(1 + i % 3), "GET", "/kv/k", {}, 10s);
        BOOST_REQUIRE(r);
        BOOST_TEST(r->status == 200u);
        BOOST_TEST(r->body == "v9");
        auto missing = http_call(c.kv_port(1 + i % 3), "GET", "/kv/nothing-here", {}, 10s);
        BOOST_REQUIRE(missing);
        BOOST_TEST(missing->status == 404u);
    }
    for (node_id id = 1; id <= 3; ++id) BOOST_TEST(c.status(id)->last_log_index == before[id]);
}

} // namespace

BOOST_AUTO_TEST_CASE(read_index_reads_are_linearizable_and_do_not_grow_the_log, *boost::unit_test::timeout(180)) {
    kv_process_cluster c(3);
    reads_see_writes_and_leave_the_log_alone(c);
    BOOST_TEST(status_field(c, 1, "read_mode") == "read_index");
}

BOOST_AUTO_TEST_CASE(lease_reads_are_linearizable_and_do_not_grow_the_log, *boost::unit_test::timeout(180)) {
    kv_process_cluster c(3, {}, "read_mode = lease\n");
    reads_see_writes_and_leave_the_log_alone(c);
    BOOST_TEST(status_field(c, 1, "read_mode") == "lease");
}

// GET /health follows the cluster: 200 on every peer while a majority runs;
// 503 on the one peer left when the other two are killed (no read index can
// be confirmed); 200 again once one of them is back.
BOOST_AUTO_TEST_CASE(health_follows_the_majority, *boost::unit_test::timeout(180)) {
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    BOOST_REQUIRE(c.wait_for_leader());
    auto health = [&](node_id id) {
        auto r = http_call(c.kv_port(id), "GET", "/health", {}, 30s);
        return r ? r->status : 0u;
    };
    for (node_id id = 1; id <= 3; ++id) BOOST_TEST(health(id) == 200u, "n" << id);
    BOOST_TEST(status_field(c, 1, "version") == RAFTLITE_VERSION_STRING);
    auto kvctl_health = [&] {
        return run_program(staged_program("kvctl"), {"--cluster", c.config_dir().string(), "health"});
    };
    auto all = kvctl_health();
    BOOST_TEST(all.status == 0, all.output);
    BOOST_TEST(all.output == "n1     healthy\nn2     healthy\nn3     healthy\n");
    c.kill(1);
    c.kill(2);
    // Answered within the node's own bounds on a read (no leader after
    // hold_elections election timeouts, or a leader that lost its majority
    // stepping down): never 200.
    const auto alone = http_call(c.kv_port(3), "GET", "/health", {}, 60s);
    BOOST_REQUIRE(alone);
    BOOST_TEST(alone->status == 503u);
    BOOST_TEST(boost::json::parse(alone->body).as_object().at("health").as_bool() == false, alone->body);
    const auto some = kvctl_health();
    BOOST_TEST(some.status == 1, some.output);
    BOOST_TEST(some.output.find("n1     unreachable") != std::string::npos, some.output);
    BOOST_TEST(some.output.find("n3     unhealthy") != std::string::npos, some.output);
    c.start(1);
    BOOST_REQUIRE(c.wait_for_leader());
    BOOST_TEST(health(3) == 200u);
    BOOST_TEST(health(1) == 200u);
}

// Range reads over processes: 2,500 keys written through the leader, then
// `kvctl list` through each peer pages through them (1000 a page) in key
// order, each page linearizable; a write acknowledged just before is seen by
// every peer's range; ranges leave the log alone.
BOOST_AUTO_TEST_CASE(range_reads_list_every_key_from_every_peer, *boost::unit_test::timeout(240)) {
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);
    auto key = [](std::size_t i) {
        char k[16];
        std::snprintf(k, sizeof k, "item/%05zu", i);
        return std::string(k);
    };
    BOOST_REQUIRE_EQUAL(bulk_put(c.kv_port(*leader), 2500, 16, key, [](std::size_t i) { return "v" + std::to_string(i); }),
                        2500u);
    BOOST_REQUIRE(c.put("other", "x", 20s));
    auto kvctl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--cluster", c.config_dir().string()});
        return run_program(staged_program("kvctl"), args, {}, true);
    };
    for (node_id id = 1; id <= 3; ++id) {
        const auto r = kvctl({"--node", std::to_string(id), "list", "item/"});
        BOOST_TEST(r.status == 0);
        std::string expected;
        for (std::size_t i = 0; i < 2500; ++i) expected += key(i) + "\tv" + std::to_string(i) + "\n";
        BOOST_TEST((r.output == expected), "n" << id << " listed " << r.output.size() << " bytes");
    }
    auto keys = kvctl({"list", "--keys-only", "--limit", "3"});
    BOOST_TEST(keys.status == 0);
    BOOST_TEST(keys.output == "item/00000\nitem/00001\nitem/00002\n");

    for (int i = 0; i < 5; ++i) {
        const std::string v = "w" + std::to_string(i);
        BOOST_REQUIRE(c.put("other", v, 20s));
        // Acknowledged: every peer's range must see it.
        for (node_id id = 1; id <= 3; ++id) {
            auto r = http_call(c.kv_port(id), "GET", "/kv?prefix=oth", {}, 10s);
            BOOST_REQUIRE(r);
            BOOST_TEST(r->status == 200u);
            BOOST_TEST(r->body == R"({"entries":[{"key":"other","value":")" + v + R"("}],"more":false})");
        }
    }
    BOOST_REQUIRE(c.wait_converged());
    std::map<node_id, index_t> before;
    for (node_id id = 1; id <= 3; ++id) before[id] = c.status(id)->last_log_index;
    for (int i = 0; i < 30; ++i) {
        auto r = http_call(c.kv_port(1 + i % 3), "GET", "/kv?start=item%2F02400&limit=50&keys_only=1", {}, 10s);
        BOOST_REQUIRE(r);
        BOOST_TEST(r->status == 200u);
        BOOST_TEST(r->body.find(R"("more":true)") != std::string::npos);
    }
    for (node_id id = 1; id <= 3; ++id) BOOST_TEST(c.status(id)->last_log_index == before[id]);
}
