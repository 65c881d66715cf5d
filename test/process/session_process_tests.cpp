// raftlite-kv processes: exactly-once writes through client sessions (Raft
// thesis §6.3) and answers that go to the request that asked, whatever
// X-Request-Id clients choose; and what kvctl sends.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <future>
#include <thread>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

// Polls until `condition` holds or `limit` passes (a bound for a hang, not
// a measurement).
template <class F>
bool within(std::chrono::seconds limit, F&& condition) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);   // the poll interval, not a synchronization
    }
    return condition();
}

std::optional<std::string> value_of(const kv_process_cluster& c, node_id id, const std::string& key) {
    auto r = http_call(c.kv_port(id), "GET", "/kv/" + key, {}, 10s);
    if (!r || r->status != 200) return std::nullopt;
    return r->body;
}

struct three_peers {
    kv_process_cluster cluster{3};
    node_id leader = 0;

    three_peers() {
        for (node_id id = 1; id <= 3; ++id) cluster.start(id);
        auto l = cluster.wait_for_leader();
        BOOST_REQUIRE(l);
        leader = *l;
    }
};

} // namespace

// A cas whose first attempt timed out on the client's side after the cluster
// committed it: the retry kvctl sends in the same session (--client-id,
// --seq) reports success and is not applied a second time.
BOOST_FIXTURE_TEST_CASE(a_retried_cas_is_applied_once, three_peers, *boost::unit_test::timeout(180)) {
    kv_process_cluster& c = cluster;
    BOOST_REQUIRE(c.put("k", "a", 20s));
    auto opened = http_call(c.kv_port(leader), "POST", "/session", {}, 10s);
    BOOST_REQUIRE(opened);
    BOOST_REQUIRE_EQUAL(opened->status, 200u);
    const auto id = boost::json::parse(opened->body).as_object().at("client_id").to_number<std::uint64_t>();
    BOOST_TEST_MESSAGE("client session " << id);
    const http_headers session{{"X-Client-Id", std::to_string(id)}, {"X-Client-Seq", "1"}};

    // The first attempt: sent, its answer never read.
    BOOST_REQUIRE(http_send_and_hang_up(c.kv_port(leader), "POST", "/kv/k?cas", R"({"expected":"a","value":"b"})",
                                        session));
    BOOST_REQUIRE(within(30s, [&] { return value_of(c, leader, "k") == std::optional<std::string>("b"); }));
    // Someone else moves the value on: a second application of the cas a->b
    // would now fail (and report cas failed), not succeed.
    auto moved = http_call(c.kv_port(leader), "POST", "/kv/k?cas", R"({"expected":"b","value":"c"})", 10s);
    BOOST_REQUIRE(moved);
    BOOST_TEST(moved->status == 200u);

    // The retry, as kvctl sends it after an unknown outcome.
    const node_id follower = leader % 3 + 1;
    auto retry = run_program(staged_program("kvctl"),
                             {"--cluster", c.config_dir().string(), "--node", std::to_string(follower), "--client-id",
                              std::to_string(id), "--seq", "1", "cas", "k", "a", "b"});
    BOOST_TEST(retry.status == 0, retry.output);
    BOOST_TEST(retry.output == "OK\n");
    // Applied once: the value is c, and the original cas a->b fails now.
    BOOST_TEST((value_of(c, leader, "k") == std::optional<std::string>("c")));
    auto again = http_call(c.kv_port(leader), "POST", "/kv/k?cas", R"({"expected":"a","value":"b"})", 10s);
    BOOST_REQUIRE(again);
    BOOST_TEST(again->status == 409u);
    BOOST_TEST(again->body.find("cas_failed") != std::string::npos);

    // The next command of the session applies; an older seq is refused, and
    // so is any command of a closed session.
    auto in_session = [&](int seq) {
        return http_headers{{"X-Client-Id", std::to_string(id)}, {"X-Client-Seq", std::to_string(seq)}};
    };
    auto next = http_call(c.kv_port(follower), "PUT", "/kv/k", "z", 10s, in_session(2));
    BOOST_REQUIRE(next);
    BOOST_TEST(next->status == 200u);
    auto stale = http_call(c.kv_port(leader), "PUT", "/kv/k", "y", 10s, in_session(1));
    BOOST_REQUIRE(stale);
    BOOST_TEST(stale->status == 409u);
    BOOST_TEST(stale->body.find("stale_request") != std::string::npos);
    BOOST_TEST((value_of(c, leader, "k") == std::optional<std::string>("z")));
    auto closed = http_call(c.kv_port(follower), "DELETE", "/session/" + std::to_string(id), {}, 10s);
    BOOST_REQUIRE(closed);
    BOOST_TEST(closed->status == 200u);
    auto gone = http_call(c.kv_port(leader), "PUT", "/kv/k", "x", 10s, in_session(3));
    BOOST_REQUIRE(gone);
    BOOST_TEST(gone->status == 410u);
    BOOST_TEST(gone->body.find("session_expired") != std::string::npos);

    // kvctl's own session for a write: opened, used and closed.
    auto put = run_program(staged_program("kvctl"), {"--cluster", c.config_dir().string(), "put", "k2", "v2"});
    BOOST_TEST(put.status == 0, put.output);
    BOOST_TEST((value_of(c, leader, "k2") == std::optional<std::string>("v2")));
    BOOST_REQUIRE(c.wait_converged());
}

// 20 requests at once to the leader, all with the same X-Request-Id: every
// connection is answered, each with its own result, and the id is echoed.
BOOST_FIXTURE_TEST_CASE(one_request_id_on_many_requests, three_peers, *boost::unit_test::timeout(180)) {
    kv_process_cluster& c = cluster;
    BOOST_REQUIRE(c.put("read-me", "the value", 20s));
    const http_headers same_id{{"X-Request-Id", "777"}};
    std::vector<std::future<std::optional<http_reply>>> replies;
    for (int i = 0; i < 20; ++i)
        replies.push_back(std::async(std::launch::async, [&, i] {
            return i % 2 ? http_call(c.kv_port(leader), "GET", "/kv/read-me", {}, 30s, same_id)
                         : http_call(c.kv_port(leader), "PUT", "/kv/w" + std::to_string(i), "v" + std::to_string(i),
                                     30s, same_id);
        }));
    for (int i = 0; i < 20; ++i) {
        const auto r = replies[i].get();
        BOOST_REQUIRE_MESSAGE(r, "request " << i << " got no answer");
        BOOST_TEST(r->status == 200u, "request " << i << ": " << r->status << " " << r->body);
        BOOST_TEST(r->body == (i % 2 ? std::string("the value") : std::string(R"({"result":"ok"})")),
                   "request " << i << " got " << r->body);
        const auto echoed = r->headers.find("X-Request-Id");
        BOOST_TEST((echoed != r->headers.end() && echoed->second == "777"), "request " << i << ": no X-Request-Id echo");
    }
    for (int i = 0; i < 20; i += 2)
        BOOST_TEST((value_of(c, leader, "w" + std::to_string(i)) == std::optional<std::string>("v" + std::to_string(i))));
}

// Two clients choose the same X-Request-Id on different peers: each gets the
// answer to its own request (an entry answers only the peer that broadcast it).
BOOST_FIXTURE_TEST_CASE(one_request_id_on_two_peers, three_peers, *boost::unit_test::timeout(180)) {
    kv_process_cluster& c = cluster;
    BOOST_REQUIRE(c.put("a", "A", 20s));
    BOOST_REQUIRE(c.put("b", "B", 20s));
    BOOST_REQUIRE(c.wait_converged());
    const node_id first = leader, second = leader % 3 + 1;
    for (int round = 0; round < 20; ++round) {
        const http_headers same_id{{"X-Request-Id", std::to_string(1000 + round)}};
        auto on_first = std::async(std::launch::async,
                                   [&] { return http_call(c.kv_port(first), "GET", "/kv/a", {}, 30s, same_id); });
        auto on_second = std::async(std::launch::async,
                                    [&] { return http_call(c.kv_port(second), "GET", "/kv/b", {}, 30s, same_id); });
        const auto ra = on_first.get(), rb = on_second.get();
        BOOST_REQUIRE_MESSAGE(ra && rb, "round " << round << ": a request got no answer");
        BOOST_TEST(ra->status == 200u);
        BOOST_TEST(rb->status == 200u);
        BOOST_TEST(ra->body == "A", "round " << round << ": n" << first << " answered " << ra->body);
        BOOST_TEST(rb->body == "B", "round " << round << ": n" << second << " answered " << rb->body);
    }
}

// kvctl's attempt timeout: a peer that accepts connections but never answers
// (SIGSTOP) costs one attempt, then the same write goes to the next peer.
BOOST_FIXTURE_TEST_CASE(kvctl_moves_on_from_a_peer_that_does_not_answer, three_peers,
                        *boost::unit_test::timeout(180)) {
    kv_process_cluster& c = cluster;
    c.pause(1);   // kvctl asks peers in id order: n1 first
    auto put = run_program(staged_program("kvctl"), {"--cluster", c.config_dir().string(), "--attempt-timeout-ms",
                                                     "500", "--timeout", "60000", "-v", "put", "k", "v"});
    BOOST_TEST(put.status == 0, put.output);
    BOOST_TEST(put.output.find("n1: unreachable") != std::string::npos, put.output);
    c.resume(1);
    BOOST_REQUIRE(c.wait_for_leader());
    BOOST_TEST((value_of(c, 2, "k") == std::optional<std::string>("v")));
}

// kvctl put without a value reads it from standard input, byte for byte: a
// value beyond the system's limit on one argument (128 KiB), with every byte
// value in it, is stored as it was read.
BOOST_FIXTURE_TEST_CASE(kvctl_put_takes_the_value_from_standard_input, three_peers, *boost::unit_test::timeout(180)) {
    kv_process_cluster& c = cluster;
    std::string value;
    for (std::size_t i = 0; i < 300 * 1024; ++i) value.push_back(static_cast<char>((i * 7 + i / 251) % 256));
    const auto input = c.config_dir() / "value.bin";
    {
        std::ofstream f(input, std::ios::binary);
        f.write(value.data(), static_cast<std::streamsize>(value.size()));
    }
    auto put = run_program(staged_program("kvctl"), {"--cluster", c.config_dir().string(), "put", "big"}, input);
    BOOST_TEST(put.status == 0, put.output);
    BOOST_TEST(put.output == "OK\n");
    const auto stored = value_of(c, leader, "big");
    BOOST_REQUIRE(stored);
    BOOST_TEST(stored->size() == value.size());
    BOOST_TEST((*stored == value));
}

// kvctl's exit statuses, and standard output carrying only what was asked
// for: scripts branch on the status and take values with $(kvctl get k).
BOOST_FIXTURE_TEST_CASE(kvctl_exit_statuses_and_standard_output, three_peers, *boost::unit_test::timeout(180)) {
    kv_process_cluster& c = cluster;
    auto kvctl = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--cluster", c.config_dir().string()});
        return run_program(staged_program("kvctl"), args, {}, true);
    };
    auto r = kvctl({"put", "k", "v1"});
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.output == "OK\n");
    r = kvctl({"get", "k"});
    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.output == "v1\n");
    r = kvctl({"get", "missing"});
    BOOST_TEST(r.status == 3);
    BOOST_TEST(r.output.empty(), r.output);   // "(not found)" went to standard error
    r = kvctl({"delete", "missing"});
    BOOST_TEST(r.status == 3);
    BOOST_TEST(r.output.empty(), r.output);
    r = kvctl({"cas", "k", "other", "v2"});
    BOOST_TEST(r.status == 4);
    BOOST_TEST(r.output.find("\"current\":\"v1\"") != std::string::npos, r.output);
    BOOST_TEST((value_of(c, leader, "k") == std::optional<std::string>("v1")));   // the failed cas changed nothing
    for (const std::vector<std::string>& bad :
         {std::vector<std::string>{"bogus"}, {"put"}, {"get"}, {"promote", "x"}, {"--no-such-option", "get", "k"}}) {
        r = kvctl(bad);
        BOOST_TEST(r.status == 2, bad.front());
        BOOST_TEST(r.output.empty(), r.output);
    }
    BOOST_TEST(kvctl({}).status == 2);   // no command
}
