// node::async_transfer_leadership (Raft thesis §3.10) on a real cluster.
// Waits are on conditions with generous deadlines; nothing asserts on timing.
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

boost::system::error_code transfer_on(local_cluster& c, node_id on, node_id target) {
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = done->get_future();
    c.at(on).async_transfer_leadership(target, [done](boost::system::error_code ec) { done->set_value(ec); });
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
}

boost::system::error_code broadcast_on(local_cluster& c, node_id on, const std::string& payload) {
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = done->get_future();
    c.at(on).async_broadcast(payload, [done](boost::system::error_code ec, index_t) { done->set_value(ec); });
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
}

} // namespace

BOOST_AUTO_TEST_SUITE(leadership_transfer)

BOOST_AUTO_TEST_CASE(the_target_takes_over_and_serves) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    BOOST_REQUIRE(!broadcast_on(c, leader, "before"));
    const node_id target = leader % 3 + 1;
    const term_t term = c.at(leader).status().term;
    BOOST_TEST(!transfer_on(c, leader, target));   // done: the old leader saw the higher term
    BOOST_TEST((c.at(leader).status().role != role::leader));
    BOOST_REQUIRE(c.wait_until([&] { return c.wait_for_leader() == target; }));
    BOOST_TEST(c.at(target).status().term > term);
    BOOST_TEST(c.at(target).status().core.elections_started >= 1u);
    BOOST_TEST(!broadcast_on(c, leader, "after"));   // forwarded to the new leader
    BOOST_TEST(c.at(leader).status().core.transfers_started == 1u);
}

BOOST_AUTO_TEST_CASE(refused_on_a_follower_and_for_a_bad_target) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id follower = leader % 3 + 1;
    BOOST_TEST((transfer_on(c, follower, leader) == errc::not_leader));
    BOOST_TEST((transfer_on(c, leader, leader) == errc::transfer_rejected));
    BOOST_TEST((transfer_on(c, leader, 9) == errc::transfer_rejected));
    BOOST_TEST((c.at(leader).status().role == role::leader));
}

// The target is down: after an election timeout the leader gives up and
// takes broadcasts again.
BOOST_AUTO_TEST_CASE(an_unreachable_target_times_out_and_service_resumes) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id target = leader % 3 + 1;
    c.stop(target);
    BOOST_TEST((transfer_on(c, leader, target) == errc::transfer_timed_out));
    BOOST_TEST((c.at(leader).status().role == role::leader));
    BOOST_TEST(!broadcast_on(c, leader, "served again"));
}

BOOST_AUTO_TEST_CASE(a_cancelled_transfer_completes_with_operation_aborted) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id target = leader % 3 + 1;
    c.stop(target);   // the transfer cannot finish: it waits until cancelled (or times out)
    boost::asio::cancellation_signal cancel;
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = done->get_future();
    c.at(leader).async_transfer_leadership(
        target, boost::asio::bind_cancellation_slot(cancel.slot(), [done](boost::system::error_code ec) {
            done->set_value(ec);
        }));
    cancel.emit(boost::asio::cancellation_type::terminal);
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    const auto ec = f.get();
    // Cancelled while waiting, unless the transfer had timed out first.
    BOOST_TEST((ec == boost::system::errc::operation_canceled || ec == errc::transfer_timed_out), ec.message());
    BOOST_TEST(!broadcast_on(c, leader, "served again"));
}

BOOST_AUTO_TEST_CASE(stop_completes_a_waiting_transfer_with_stopped) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id target = leader % 3 + 1;
    c.stop(target);
    auto done = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = done->get_future();
    c.at(leader).async_transfer_leadership(target, [done](boost::system::error_code ec) { done->set_value(ec); });
    c.at(leader).stop();
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    const auto ec = f.get();
    BOOST_TEST((ec == errc::stopped || ec == errc::transfer_timed_out), ec.message());
}

BOOST_AUTO_TEST_SUITE_END()
