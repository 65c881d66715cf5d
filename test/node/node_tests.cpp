// The networked node: real sockets on 127.0.0.1, file persisters in a temp
// directory, one io_context thread. Waits are on conditions with generous
// deadlines; nothing asserts on timing.
#define BOOST_TEST_MODULE node_tests
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <condition_variable>
#include <functional>
#include <set>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

index_t broadcast_ok(node& n, const std::string& payload) {
    auto f = n.async_broadcast(payload, boost::asio::use_future);
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();   // throws system_error on failure
}

} // namespace

BOOST_AUTO_TEST_CASE(single_node_cluster_elects_itself_and_commits) {
    local_cluster c(1);
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader());
    const index_t i = broadcast_ok(c.at(1), "hello");
    BOOST_TEST(i >= 1u);
    BOOST_REQUIRE(c.wait_delivered(1, 1));
    BOOST_TEST(c.delivered(1).front().second == "hello");
}

BOOST_AUTO_TEST_CASE(broadcasts_from_every_peer_are_delivered_in_the_same_order) {
    local_cluster c(3);
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader());
    std::vector<std::future<index_t>> futures;
    for (int round = 0; round < 10; ++round)
        for (node_id id = 1; id <= 3; ++id)
            futures.push_back(c.at(id).async_broadcast("r" + std::to_string(round) + "-n" + std::to_string(id),
                                                       boost::asio::use_future));
    std::set<index_t> indexes;
    for (auto& f : futures) {
        BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
        indexes.insert(f.get());
    }
    BOOST_TEST(indexes.size() == 30u);   // every broadcast has its own index
    for (node_id id = 1; id <= 3; ++id) BOOST_REQUIRE(c.wait_delivered(id, 30));
    BOOST_TEST(c.delivered(1) == c.delivered(2));
    BOOST_TEST(c.delivered(1) == c.delivered(3));
}

BOOST_AUTO_TEST_CASE(a_follower_broadcast_completes_with_its_index) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id follower = leader == 1 ? 2 : 1;
    const index_t i = broadcast_ok(c.at(follower), "from a follower");
    BOOST_REQUIRE(c.wait_delivered(follower, 1));
    bool found = false;
    for (auto& [idx, payload] : c.delivered(follower))
        if (idx == i) found = payload == "from a follower";
    BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(a_new_leader_takes_over_and_nothing_committed_is_lost) {
    local_cluster c(3);
    c.start_all();
    const node_id old_leader = c.wait_for_leader();
    BOOST_REQUIRE(old_leader != no_node);
    for (int k = 0; k < 5; ++k) broadcast_ok(c.at(old_leader), "before-" + std::to_string(k));
    c.stop(old_leader);
    const node_id new_leader = c.wait_for_leader(old_leader);
    BOOST_REQUIRE(new_leader != no_node);
    BOOST_TEST(new_leader != old_leader);
    for (int k = 0; k < 5; ++k) broadcast_ok(c.at(new_leader), "after-" + std::to_string(k));
    const node_id other = 6 - old_leader - new_leader;
    BOOST_REQUIRE(c.wait_delivered(other, 10));
    BOOST_REQUIRE(c.wait_delivered(new_leader, 10));
    BOOST_TEST(c.delivered(other) == c.delivered(new_leader));
    // the old leader comes back from its disk and catches up
    c.start(old_leader);
    BOOST_REQUIRE(c.wait_delivered(old_leader, 10));
    BOOST_TEST(c.delivered(old_leader) == c.delivered(new_leader));
}

BOOST_AUTO_TEST_CASE(a_whole_cluster_restarts_from_disk) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    for (int k = 0; k < 7; ++k) broadcast_ok(c.at(leader), "durable-" + std::to_string(k));
    for (node_id id = 1; id <= 3; ++id) BOOST_REQUIRE(c.wait_delivered(id, 7));
    const auto before = c.delivered(1);
    c.stop_all();
    c.start_all();   // delivery restarts from the first entry
    BOOST_REQUIRE(c.wait_for_leader());
    for (node_id id = 1; id <= 3; ++id) {
        BOOST_REQUIRE(c.wait_delivered(id, 7));
        auto after = c.delivered(id);
        after.resize(7);
        BOOST_TEST(after == before);
    }
}

BOOST_AUTO_TEST_CASE(stop_completes_pending_broadcasts_with_stopped) {
    local_cluster c(3);
    c.start(1);   // alone: no quorum, nothing can commit
    // A callback, not use_future: a failed future carries an exception_ptr,
    // whose reference count ThreadSanitizer cannot see in libstdc++.
    std::promise<boost::system::error_code> p;
    c.at(1).async_broadcast(std::string("never"),
                            [&](boost::system::error_code ec, index_t) { p.set_value(ec); });
    c.stop(1);
    auto f = p.get_future();
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    const auto ec = f.get();
    BOOST_TEST((ec == errc::stopped || ec == errc::not_leader));
}

BOOST_AUTO_TEST_CASE(a_callback_token_is_called_once_with_the_index) {
    local_cluster c(1);
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader());
    std::promise<std::pair<boost::system::error_code, index_t>> p;
    c.at(1).async_broadcast(std::string("cb"), [&](boost::system::error_code ec, index_t i) {
        p.set_value({ec, i});
    });
    auto f = p.get_future();
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    auto [ec, i] = f.get();
    BOOST_TEST(!ec);
    BOOST_TEST(i >= 1u);
}

BOOST_AUTO_TEST_CASE(status_reports_role_term_and_match_indexes) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const index_t i = broadcast_ok(c.at(leader), "x");
    BOOST_REQUIRE(c.wait_until([&] {
        auto s = c.at(leader).status();
        return s.match_index.size() == 2 && s.match_index.begin()->second >= i &&
               s.match_index.rbegin()->second >= i;
    }));
    auto s = c.at(leader).status();
    BOOST_TEST((s.role == role::leader));
    BOOST_TEST(s.leader == leader);
    BOOST_TEST(s.term >= 1u);
    BOOST_TEST(s.commit_index >= i);
    BOOST_TEST(s.running);
}

BOOST_AUTO_TEST_CASE(a_coroutine_awaits_a_broadcast_with_use_awaitable) {
    // The coroutine runs on its own io_context (this thread): the completion
    // is delivered through the awaitable's executor, not the node's. Declared
    // before the cluster so that it outlives the node's thread (TSan).
    boost::asio::io_context caller;
    local_cluster c(1);
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader());
    index_t index = 0;
    boost::system::error_code error;
    boost::asio::co_spawn(
        caller,
        [&]() -> boost::asio::awaitable<void> {
            auto [ec, i] = co_await c.at(1).async_broadcast(
                std::string("awaited"), boost::asio::as_tuple(boost::asio::use_awaitable));
            error = ec;
            index = i;
        },
        boost::asio::detached);
    caller.run();
    BOOST_TEST(!error);
    BOOST_TEST(index >= 1u);
    BOOST_REQUIRE(c.wait_delivered(1, 1));
    BOOST_TEST(c.delivered(1).front().second == "awaited");
}

BOOST_AUTO_TEST_CASE(deliveries_can_run_on_an_executor_of_the_application) {
    // A one-node cluster on its own io_context thread, in memory.
    boost::asio::io_context node_ioc;
    auto node_work = boost::asio::make_work_guard(node_ioc);
    node_options o;
    o.core.self = 1;
    o.core.members = {1};
    o.transport.cluster_id = "executor-test";
    o.transport.listen = {"127.0.0.1", 0};
    o.transport.peers[1] = {"127.0.0.1", 0};
    o.election_timeout_min = std::chrono::milliseconds(20);
    o.election_timeout_max = std::chrono::milliseconds(40);
    node n(node_ioc, o, std::make_unique<memory_persister>());
    boost::asio::io_context app;   // the application's own thread: this one
    auto app_work = boost::asio::make_work_guard(app);
    std::vector<std::string> seen;
    std::thread::id ran_on;
    n.on_deliver(app.get_executor(), [&](index_t, const shared_bytes& p) {
        seen.push_back(*p);
        ran_on = std::this_thread::get_id();
        if (seen.size() == 3) app_work.reset();
    });
    BOOST_REQUIRE(!n.start());
    std::thread io([&] { node_ioc.run(); });
    for (const char* s : {"a", "b", "c"}) n.async_broadcast(std::string(s), boost::asio::detached);
    app.run();   // returns once the three deliveries ran here
    n.stop();
    node_work.reset();
    io.join();
    BOOST_TEST(seen == (std::vector<std::string>{"a", "b", "c"}));
    BOOST_TEST((ran_on == std::this_thread::get_id()));
}

// A payload no frame, decoder or storage of the cluster would take is refused
// at once; before, it was appended and then dropped by the transport on every
// retry, and replication wedged behind it.
BOOST_AUTO_TEST_CASE(a_payload_too_large_for_the_cluster_fails_at_once_and_the_cluster_goes_on) {
    local_cluster c(3, [](node_id, node_options& o) {
        o.transport.max_frame_bytes = 64 * 1024;
        o.transport.limits.max_payload_bytes = 32 * 1024;
        o.core.max_batch_bytes = 16 * 1024;
    });
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id follower = leader == 1 ? 2 : 1;
    for (node_id from : {leader, follower}) {
        // A callback, not use_future: a failed future carries an exception_ptr,
        // whose reference count ThreadSanitizer cannot see in libstdc++.
        std::promise<boost::system::error_code> p;
        c.at(from).async_broadcast(std::string(32 * 1024 + 1, 'x'),
                                   [&](boost::system::error_code ec, index_t) { p.set_value(ec); });
        auto f = p.get_future();
        BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
        BOOST_TEST(f.get() == make_error_code(errc::payload_too_large));
    }
    // The largest payload that fits every limit commits, and so does what follows.
    broadcast_ok(c.at(follower), std::string(32 * 1024, 'y'));
    broadcast_ok(c.at(leader), "after");
    for (node_id id = 1; id <= 3; ++id) {
        BOOST_REQUIRE(c.wait_delivered(id, 2));
        BOOST_TEST(c.delivered(id).back().second == "after");
    }
}

// Broadcasts that reach the leader's strand together are fed to the core as
// one batch (one log_request per follower for the lot); each still has its
// own outcome: issued from one thread they commit in issue order, and one
// too large for the cluster among them fails at once, alone.
BOOST_AUTO_TEST_CASE(broadcasts_issued_together_commit_in_issue_order_each_with_its_outcome) {
    local_cluster c(3, [](node_id, node_options& o) { o.transport.limits.max_payload_bytes = 1024; });
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    constexpr std::size_t count = 40, oversized = 17;
    struct outcome {
        boost::system::error_code ec;
        index_t index = 0;
        int calls = 0;
    };
    std::vector<outcome> outcomes(count);
    std::mutex m;
    std::condition_variable cv;
    std::size_t done = 0;
    for (std::size_t k = 0; k < count; ++k)
        c.at(leader).async_broadcast(k == oversized ? std::string(1025, 'x') : "b" + std::to_string(k),
                                     [&, k](boost::system::error_code ec, index_t index) {
                                         std::lock_guard<std::mutex> lock(m);
                                         outcomes[k].ec = ec;
                                         outcomes[k].index = index;
                                         ++outcomes[k].calls;
                                         ++done;
                                         cv.notify_all();
                                     });
    {
        std::unique_lock<std::mutex> lock(m);
        BOOST_REQUIRE(cv.wait_for(lock, 30s, [&] { return done == count; }));
    }
    index_t last = 0;
    for (std::size_t k = 0; k < count; ++k) {
        BOOST_TEST(outcomes[k].calls == 1);
        if (k == oversized) {
            BOOST_TEST(outcomes[k].ec == make_error_code(errc::payload_too_large));
            continue;
        }
        BOOST_TEST(!outcomes[k].ec);
        BOOST_TEST(outcomes[k].index > last);   // issue order
        last = outcomes[k].index;
    }
    for (node_id id = 1; id <= 3; ++id) BOOST_REQUIRE(c.wait_delivered(id, count - 1));
    BOOST_TEST(c.delivered(1) == c.delivered(2));
    BOOST_TEST(c.delivered(1) == c.delivered(3));
}

// completions_per_drain: clients that answer each completion with their next
// broadcast (a closed loop, from inside the completion handler) have them
// replicated among the other completions, not after the whole burst. Every
// broadcast still commits once, with its own index, and every peer delivers
// the same sequence.
BOOST_AUTO_TEST_CASE(a_closed_loop_commits_everything_with_drains_among_the_completions) {
    local_cluster c(3, [](node_id, node_options& o) { o.completions_per_drain = 2; });
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader());
    constexpr std::size_t clients = 24, per_client = 20;
    std::mutex m;
    std::condition_variable cv;
    std::size_t done = 0, failed = 0;
    std::set<index_t> indexes;
    std::function<void(std::size_t, std::size_t)> issue = [&](std::size_t client, std::size_t k) {
        node& n = c.at(static_cast<node_id>(1 + client % 3));
        n.async_broadcast("c" + std::to_string(client) + "-" + std::to_string(k),
                          [&, client, k](boost::system::error_code ec, index_t index) {
                              {
                                  std::lock_guard<std::mutex> lock(m);
                                  ++done;
                                  if (ec) ++failed;
                                  else indexes.insert(index);
                                  cv.notify_all();
                              }
                              if (k + 1 < per_client) issue(client, k + 1);
                          });
    };
    for (std::size_t client = 0; client < clients; ++client) issue(client, 0);
    {
        std::unique_lock<std::mutex> lock(m);
        BOOST_REQUIRE(cv.wait_for(lock, 60s, [&] { return done == clients * per_client; }));
    }
    BOOST_TEST(failed == 0u);
    BOOST_TEST(indexes.size() == clients * per_client);   // each its own index
    for (node_id id = 1; id <= 3; ++id) BOOST_REQUIRE(c.wait_delivered(id, clients * per_client));
    BOOST_TEST(c.delivered(1) == c.delivered(2));
    BOOST_TEST(c.delivered(1) == c.delivered(3));
}
