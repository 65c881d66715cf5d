// raftlite-kv processes: GET through a read index (Raft thesis §6.4), in the
// default read_index mode and under leases: every peer answers with what was
// written before, and reads write nothing to the log.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <raftlite/version.hpp>

#include <boost/json.hpp>

#include <future>

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
            const auto answer = boost::json::parse(r->body).as_object();
            BOOST_TEST(boost::json::serialize(answer.at("entries")) == R"([{"key":"other","value":")" + v + R"("}])");
            BOOST_TEST(!answer.at("more").as_bool());
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

namespace {

boost::json::object json_answer(const std::optional<http_reply>& r, unsigned status) {
    BOOST_REQUIRE(r);
    BOOST_REQUIRE_EQUAL(r->status, status);
    return boost::json::parse(r->body).as_object();
}

} // namespace

// Watches over processes: with a range's index as since, a watch on any peer
// misses no change made after the range was read; a watch waiting on one peer
// is answered when a write made through another applies there; kvctl watch
// prints the changes; a since older than the changes kept gets 410.
BOOST_AUTO_TEST_CASE(watches_follow_changes_from_a_range_index, *boost::unit_test::timeout(180)) {
    kv_process_cluster c(3, {}, "watch_history_bytes = 8192\n");
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    BOOST_REQUIRE(c.wait_for_leader());
    BOOST_REQUIRE(c.put("cfg/a", "1", 20s));
    auto listed = json_answer(http_call(c.kv_port(2), "GET", "/kv?prefix=cfg%2F", {}, 10s), 200);
    BOOST_TEST(listed.at("entries").as_array().size() == 1u);
    const std::string since = std::to_string(listed.at("index").as_int64());

    // Sent on another thread, before or after the write: with since, the
    // answer is the same either way.
    auto pending = std::async(std::launch::async, [&] {
        return http_call(c.kv_port(3), "GET", "/kv?prefix=cfg%2F&watch=1&timeout_ms=60000&since=" + since, {}, 90s);
    });
    BOOST_REQUIRE(http_call(c.kv_port(1), "PUT", "/kv/cfg%2Fb", "2", 10s));
    BOOST_REQUIRE(http_call(c.kv_port(1), "PUT", "/kv/unwatched", "x", 10s));
    BOOST_REQUIRE(http_call(c.kv_port(2), "DELETE", "/kv/cfg%2Fa", {}, 10s));
    // The changes in order, however many each answer holds, the later
    // answers from another peer (every peer numbers the changes alike).
    std::vector<boost::json::object> changes;
    for (auto answer = json_answer(pending.get(), 200);;) {
        for (const auto& e : answer.at("events").as_array()) changes.push_back(e.as_object());
        if (changes.size() >= 2) break;
        answer = json_answer(http_call(c.kv_port(1), "GET",
                                       "/kv?prefix=cfg%2F&watch=1&timeout_ms=60000&since=" +
                                           std::to_string(answer.at("index").as_int64()),
                                       {}, 90s),
                             200);
    }
    BOOST_REQUIRE_EQUAL(changes.size(), 2u);
    BOOST_TEST(changes[0].at("key").as_string() == "cfg/b");
    BOOST_TEST(changes[0].at("type").as_string() == "put");
    BOOST_TEST(changes[0].at("value").as_string() == "2");
    BOOST_TEST(changes[0].at("index").as_int64() > listed.at("index").as_int64());
    BOOST_TEST(changes[1].at("key").as_string() == "cfg/a");
    BOOST_TEST(changes[1].at("type").as_string() == "delete");
    BOOST_TEST(!changes[1].contains("value"));

    const auto watched = run_program(staged_program("kvctl"),
                                     {"--cluster", c.config_dir().string(), "watch", "cfg/", "--since", since,
                                      "--count", "2"},
                                     {}, true);
    BOOST_TEST(watched.status == 0);
    const std::string b_index = std::to_string(changes[0].at("index").as_int64());
    const std::string a_index = std::to_string(changes[1].at("index").as_int64());
    BOOST_TEST(watched.output == b_index + "\tput\tcfg/b\t2\n" + a_index + "\tdelete\tcfg/a\n", watched.output);

    // 200 changes of about 150 bytes each overflow 8 KiB of history: the
    // changes after the range's index are gone on every peer.
    BOOST_REQUIRE_EQUAL(bulk_put(c.kv_port(1), 200, 8, [](std::size_t i) { return "bulk/" + std::to_string(i); },
                                 [](std::size_t) { return std::string(40, 'v'); }),
                        200u);
    BOOST_REQUIRE(c.wait_converged());
    for (node_id id = 1; id <= 3; ++id) {
        auto gone = json_answer(http_call(c.kv_port(id), "GET", "/kv?watch=1&since=" + since, {}, 10s), 410);
        BOOST_TEST(gone.at("error").as_string() == "history_gone");
    }
    const auto refused = run_program(staged_program("kvctl"),
                                     {"--cluster", c.config_dir().string(), "watch", "--since", since}, {}, false);
    BOOST_TEST(refused.status == 1);
    BOOST_TEST(refused.output.find("no longer kept") != std::string::npos, refused.output);

    // A peer told to stop while a watch waits on it stops at once (the
    // watch's timer does not hold it for its five minutes), and cleanly.
    auto waiting = std::async(std::launch::async, [&] {
        return http_call(c.kv_port(2), "GET", "/kv?prefix=nothing&watch=1&timeout_ms=300000", {}, 600s);
    });
    for (int i = 0; i < 10000 && status_field(c, 2, "watches") != "1"; ++i) {
    }
    BOOST_REQUIRE_EQUAL(status_field(c, 2, "watches"), "1");
    BOOST_TEST((c.terminate(2, 60s) == std::optional<int>(0)));
    waiting.get();   // closed without an answer, or answered: either way, not after five minutes
}

// A peer restarted from a snapshot has no changes from before it: a watch
// from an older index gets 410, while a watch from the index of a range read
// after the restart gets the next change (the history follows the restored
// store).
BOOST_AUTO_TEST_CASE(watches_after_a_restart_from_a_snapshot, *boost::unit_test::timeout(180)) {
    kv_process_cluster c(3, "snapshot_entries = 50\n");
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);
    BOOST_REQUIRE_EQUAL(bulk_put(c.kv_port(*leader), 300, 8, [](std::size_t i) { return "k" + std::to_string(i); },
                                 [](std::size_t i) { return std::to_string(i); }),
                        300u);
    BOOST_REQUIRE(c.wait_converged());
    const node_id restarted = *leader == 3 ? 2 : 3;
    c.kill(restarted);
    c.start(restarted);
    BOOST_REQUIRE(c.wait_converged());
    BOOST_REQUIRE_GT(c.status(restarted)->snapshot_index, 0u);

    auto gone = json_answer(http_call(c.kv_port(restarted), "GET", "/kv?watch=1&since=1", {}, 10s), 410);
    BOOST_TEST(gone.at("error").as_string() == "history_gone");
    auto listed = json_answer(http_call(c.kv_port(restarted), "GET", "/kv?prefix=new&limit=1", {}, 10s), 200);
    const std::string since = std::to_string(listed.at("index").as_int64());
    auto pending = std::async(std::launch::async, [&] {
        return http_call(c.kv_port(restarted), "GET", "/kv?prefix=new&watch=1&timeout_ms=60000&since=" + since, {},
                         90s);
    });
    BOOST_REQUIRE(c.put("new", "value", 20s));
    auto answer = json_answer(pending.get(), 200);
    BOOST_REQUIRE_EQUAL(answer.at("events").as_array().size(), 1u);
    BOOST_TEST(answer.at("events").as_array()[0].as_object().at("value").as_string() == "value");
}
