// Membership changes on a real cluster (Raft thesis §4): a fresh machine
// joins as a learner, is promoted, a dead member is removed, and the leader
// removes itself; the transport follows the configuration. Waits are on
// conditions with generous deadlines; nothing asserts on timing.
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>

#include <boost/asio/deferred.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

// Nodes 1..3 are the bootstrap cluster and do not know node 4; node 4
// joins: no configuration, the others' addresses to answer them.
void four_joins(node_id id, node_options& o) {
    if (id == 4) {
        o.core.members = membership{};
        o.transport.accept_unknown_peers = true;
        return;
    }
    o.core.members.erase(4);
    o.transport.peers.erase(4);
}

template <class Future>
auto wait(Future f) {
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
}

// The outcome of a membership change (the error code; the index when
// committed). The operation comes deferred and completes into a promise of
// a value: with use_future the error would be an exception shared between the
// io thread and this one, and its reference count lives in uninstrumented
// libstdc++, so TSan reports its release on the io thread as a race.
template <class Deferred>
std::pair<boost::system::error_code, index_t> outcome(Deferred&& op) {
    auto done = std::make_shared<std::promise<std::pair<boost::system::error_code, index_t>>>();
    auto f = done->get_future();
    std::forward<Deferred>(op)([done](boost::system::error_code ec, index_t index) {
        done->set_value({ec, ec ? 0 : index});
    });
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
}

index_t broadcast_ok(node& n, const std::string& payload) { return wait(n.async_broadcast(payload, boost::asio::use_future)); }

std::size_t count_of(const local_cluster::deliveries& d, const std::string& payload) {
    return static_cast<std::size_t>(std::count_if(d.begin(), d.end(), [&](const auto& e) { return e.second == payload; }));
}

} // namespace

BOOST_AUTO_TEST_SUITE(membership_changes)

BOOST_AUTO_TEST_CASE(a_new_machine_replaces_a_dead_one_and_the_leader_leaves) {
    local_cluster c(4, four_joins);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    node_id leader = c.wait_for_leader(4);
    BOOST_REQUIRE(leader != no_node);
    for (int i = 0; i < 5; ++i) broadcast_ok(c.at(leader), "before " + std::to_string(i));

    c.start(4);
    const std::string address = "127.0.0.1:" + std::to_string(c.at(4).listen_port());
    auto [ec, index] = outcome(c.at(leader).async_add_learner(member{4, false, address, "app info"}, boost::asio::deferred));
    BOOST_REQUIRE_MESSAGE(!ec, ec.message());
    BOOST_TEST(index > 0u);
    BOOST_REQUIRE(c.wait_until([&] { return count_of(c.delivered(4), "before 4") == 1; }));
    const membership with_learner = c.at(leader).status().members;
    BOOST_TEST(with_learner.contains(4));
    BOOST_TEST(!with_learner.is_voter(4));
    BOOST_TEST(with_learner.find(4)->info == "app info");
    BOOST_REQUIRE(c.wait_until([&] { return c.at(4).status().members == with_learner; }));

    std::tie(ec, index) = outcome(c.at(leader).async_promote(4, boost::asio::deferred));
    BOOST_REQUIRE_MESSAGE(!ec, ec.message());
    BOOST_TEST(c.at(leader).status().members.is_voter(4));

    // A follower dies; it is removed and the cluster goes on without it.
    const node_id dead = leader == 1 ? 2 : 1;
    c.stop(dead);
    std::tie(ec, index) = outcome(c.at(leader).async_remove(dead, boost::asio::deferred));
    BOOST_REQUIRE_MESSAGE(!ec, ec.message());
    BOOST_TEST(!c.at(leader).status().members.contains(dead));
    BOOST_TEST(c.at(leader).status().transport.peers.size() == 2u);   // the transport let it go
    broadcast_ok(c.at(leader), "after the removal");
    BOOST_REQUIRE(c.wait_until([&] { return count_of(c.delivered(4), "after the removal") == 1; }));

    // The leader removes itself (thesis §4.2.2): it steps down once that
    // commits, and the two voters left elect one of them.
    std::tie(ec, index) = outcome(c.at(leader).async_remove(leader, boost::asio::deferred));
    BOOST_REQUIRE_MESSAGE(!ec, ec.message());
    const node_id old_leader = leader;
    BOOST_REQUIRE(c.wait_until([&] { return c.at(old_leader).status().role != role::leader; }));
    c.stop(old_leader);
    leader = c.wait_for_leader(dead);
    BOOST_REQUIRE(leader != no_node);
    BOOST_TEST(leader != old_leader);
    broadcast_ok(c.at(leader), "without the first leader");
    const node_id other = leader == 4 ? 6 - dead - old_leader : 4;   // the remaining voter besides the leader
    BOOST_REQUIRE(c.wait_until([&] { return count_of(c.delivered(other), "without the first leader") == 1; }));
    BOOST_TEST(c.at(leader).status().members.voter_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_follower_refuses_changes_and_a_bad_change_is_rejected) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id follower = leader == 1 ? 2 : 1;
    auto [ec, index] = outcome(c.at(follower).async_remove(3, boost::asio::deferred));
    BOOST_TEST((ec == errc::not_leader), ec.message());
    std::tie(ec, index) = outcome(c.at(leader).async_promote(9, boost::asio::deferred));
    BOOST_TEST((ec == errc::change_rejected), ec.message());
    std::tie(ec, index) = outcome(c.at(leader).async_remove(9, boost::asio::deferred));
    BOOST_TEST(!ec);   // not a member: nothing to do, done
    BOOST_TEST(c.at(leader).status().members.voter_count() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
