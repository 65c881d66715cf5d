// node::async_read_index (Raft thesis §6.4): linearizable reads from every
// peer without writing the log, on a real cluster. Waits are on conditions
// with generous deadlines; nothing asserts on timing.
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

index_t broadcast_ok(node& n, const std::string& payload) {
    auto f = n.async_broadcast(payload, boost::asio::use_future);
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
}

// The read's index and how many entries the node had delivered when its
// handler ran (on the node's strand, where deliveries run).
struct read_seen {
    boost::system::error_code ec;
    index_t index = 0;
    std::size_t delivered = 0;
};

read_seen read_on(local_cluster& c, node_id id) {
    auto done = std::make_shared<std::promise<read_seen>>();
    auto f = done->get_future();
    c.at(id).async_read_index([&c, id, done](boost::system::error_code ec, index_t index) {
        done->set_value({ec, index, c.delivered(id).size()});
    });
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
}

} // namespace

BOOST_AUTO_TEST_SUITE(read_index)

BOOST_AUTO_TEST_CASE(every_peer_reads_what_was_written_before_without_growing_the_log) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    index_t last = 0;
    for (int i = 0; i < 5; ++i) last = broadcast_ok(c.at(1 + i % 3), "w" + std::to_string(i));
    std::map<node_id, index_t> log_before;
    for (node_id id = 1; id <= 3; ++id) BOOST_REQUIRE(c.wait_until([&] { return c.at(id).status().last_log_index >= last; }));
    for (node_id id = 1; id <= 3; ++id) log_before[id] = c.at(id).status().last_log_index;
    // A read that begins after a write completed sees it: its index covers
    // the write, and the handler runs once this peer has delivered it.
    for (int round = 0; round < 20; ++round) {
        for (node_id id = 1; id <= 3; ++id) {
            const read_seen r = read_on(c, id);
            BOOST_REQUIRE(!r.ec);
            BOOST_TEST(r.index >= last);
            BOOST_TEST(r.delivered >= 5u);
        }
    }
    // 60 reads and not one entry more in any log.
    for (node_id id = 1; id <= 3; ++id) BOOST_TEST(c.at(id).status().last_log_index == log_before[id]);
}

BOOST_AUTO_TEST_CASE(lease_reads_are_served_and_counted) {
    local_cluster c(3, [](node_id, node_options& o) { o.lease_reads = true; });
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const index_t w = broadcast_ok(c.at(leader), "x");
    // Within the leader's lease (its heartbeats renew it) reads need no
    // round; which ones do depends on timing, so only the outcome and the
    // counter's eventual movement are asserted.
    BOOST_REQUIRE(c.wait_until([&] {
        const read_seen r = read_on(c, leader);
        return !r.ec && r.index >= w && c.at(leader).status().core.lease_reads > 0;
    }));
}

BOOST_AUTO_TEST_CASE(a_cancelled_read_completes_with_operation_aborted) {
    local_cluster c(3);
    // Not started: nothing can confirm a read, so it waits until cancelled.
    c.start(1);
    boost::asio::cancellation_signal cancel;
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = done->get_future();
    c.at(1).async_read_index(boost::asio::bind_cancellation_slot(
        cancel.slot(), [done](boost::system::error_code ec, index_t) { done->set_value(ec); }));
    cancel.emit(boost::asio::cancellation_type::terminal);
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    BOOST_TEST((f.get() == boost::system::errc::operation_canceled));
}

BOOST_AUTO_TEST_CASE(stop_completes_waiting_reads_with_stopped) {
    local_cluster c(3);
    c.start(1);
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = done->get_future();
    c.at(1).async_read_index([done](boost::system::error_code ec, index_t) { done->set_value(ec); });
    c.at(1).stop();
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    BOOST_TEST((f.get() == errc::stopped));
}

BOOST_AUTO_TEST_SUITE_END()
