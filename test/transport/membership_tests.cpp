// The set of peers changing while the transport runs (cluster membership
// changes): add_peer, remove_peer, set_peers, accept_unknown_peers.
// Conventions: transport_fixture.hpp.
#include <boost/test/unit_test.hpp>

#include "transport_fixture.hpp"

#include <raftlite/detail/transport_test_access.hpp>

#include <atomic>
#include <thread>

using namespace raftlite;
using namespace raftlite::test;
using test_access = raftlite::detail::transport_test_access;

namespace {

endpoint_address at(const transport& t) { return {"127.0.0.1", t.listen_port()}; }

/// A transport started on an ephemeral port, with its inbox.
struct node {
    inbox in;
    std::unique_ptr<transport> t;

    node(asio::io_context& ioc, transport_options o) {
        t = std::make_unique<transport>(ioc, std::move(o), in.handler());
        t->start();
    }
    transport* operator->() { return t.get(); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(membership)

BOOST_FIXTURE_TEST_CASE(a_peer_added_at_runtime_exchanges_messages_both_ways, net_fixture) {
    node n1(ioc, make_options(1, {}));
    node n2(ioc, make_options(2, {}));
    BOOST_TEST(n1->peers().empty());

    // Not a peer yet: dropped at once.
    n1->send({1, 2, vote_request{1, 0, 0}});
    BOOST_TEST(n1->stats().dropped_unknown_peer == 1u);

    n1->add_peer(2, at(*n2.t));
    n2->add_peer(1, at(*n1.t));
    n2->add_peer(2, {"127.0.0.1", 1}); // self: ignored
    BOOST_TEST((n1->peers() == std::map<node_id, endpoint_address>{{2, at(*n2.t)}}));
    BOOST_TEST((n2->peers() == std::map<node_id, endpoint_address>{{1, at(*n1.t)}}));

    // Sent as soon as the call returns: the peer is known, the message waits
    // for the connection.
    for (int i = 1; i <= 20; ++i) {
        n1->send({1, 2, vote_request{term_t(i), 0, 0}});
        n2->send({2, 1, vote_response{term_t(i), true}});
    }
    BOOST_REQUIRE(run_until([&] { return n2.in.got.size() == 20 && n1.in.got.size() == 20; }));
    for (std::size_t i = 0; i < 20; ++i) {
        BOOST_TEST(n2.in.got[i].from == 1u);
        BOOST_TEST(std::get<vote_request>(n2.in.got[i].msg).term == i + 1); // in order
        BOOST_TEST(n1.in.got[i].from == 2u);
    }
    const auto s = n1->stats();
    BOOST_TEST(s.peers_added == 1u);
    BOOST_TEST(s.peers_removed == 0u);
    BOOST_REQUIRE_EQUAL(s.peers.size(), 1u);
    BOOST_TEST(s.peers[0].id == 2u);
    BOOST_TEST(s.peers[0].messages_received == 20u);
    BOOST_TEST(s.messages_received == 20u);
    BOOST_TEST(n2->stats().peers_added == 1u); // not self

    // Adding it again at the same address changes nothing.
    n1->add_peer(2, at(*n2.t));
    BOOST_TEST(n1->stats().peers_added == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_removed_peer_is_cut_off_until_added_again, pair_fixture) {
    for (int i = 1; i <= 10; ++i) {
        t1->send({1, 2, vote_request{term_t(i), 0, 0}});
        t2->send({2, 1, vote_request{term_t(i), 0, 0}});
    }
    BOOST_REQUIRE(run_until([&] { return in1.got.size() == 10 && in2.got.size() == 10; }));
    BOOST_REQUIRE(run_until([&] {
        return t1->stats().peers.at(0).inbound_connections == 1u && t2->stats().peers.at(0).inbound_connections == 1u &&
               t1->stats().messages_sent == 10u;
    }));
    const auto before = t1->stats();

    t1->remove_peer(2);
    // At once: no longer a peer for send(), stats() and peers().
    BOOST_TEST(t1->peers().empty());
    auto s = t1->stats();
    BOOST_TEST(s.peers.empty());
    BOOST_TEST(s.peers_removed == 1u);
    t1->send({1, 2, vote_request{99, 0, 0}});
    BOOST_TEST(t1->stats().dropped_unknown_peer == 1u);
    // Totals keep what the removed peer counted.
    BOOST_TEST(s.messages_sent == before.messages_sent);
    BOOST_TEST(s.messages_received == before.messages_received);
    BOOST_TEST(s.bytes_sent == before.bytes_sent);

    // Both connections close: n1's outbound one (n2 sees its inbound one end),
    // and n2's into n1. n2 reconnects and is refused, again and again.
    BOOST_REQUIRE(run_until([&] {
        return t2->stats().peers.at(0).inbound_connections == 0u && t1->stats().inbound_connections == 0u &&
               t1->stats().handshakes_rejected >= 2u;
    }));
    BOOST_TEST(t1->stats().outbound_connections == 0u);
    // What n2 sends now is not delivered (n2 writes it after its handshake,
    // into connections n1 refuses: lost, as Raft allows).
    for (int i = 11; i <= 15; ++i)
        t2->send({2, 1, vote_request{term_t(i), 0, 0}});
    const auto rejected = t1->stats().handshakes_rejected;
    BOOST_REQUIRE(run_until([&] { return t1->stats().handshakes_rejected >= rejected + 2; }));
    BOOST_TEST(in1.got.size() == 10u);
    BOOST_TEST(in2.got.size() == 10u);

    // Added again: n2's reconnect is let in and traffic flows both ways. Its
    // per-peer counters start over.
    t1->add_peer(2, at(*t2));
    term_t term = 100;
    BOOST_REQUIRE(run_until([&] {
        if (in1.got.size() == 10u)
            t2->send({2, 1, vote_request{++term, 0, 0}});
        return in1.got.size() > 10u;
    }));
    BOOST_TEST(in1.got.back().from == 2u);
    t1->send({1, 2, vote_request{1000, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return in2.got.size() == 11u; }));
    BOOST_TEST(std::get<vote_request>(in2.got.back().msg).term == 1000u);
    s = t1->stats();
    BOOST_TEST(s.peers_added == 1u);
    BOOST_REQUIRE_EQUAL(s.peers.size(), 1u);
    BOOST_TEST(s.peers[0].messages_received == in1.got.size() - 10);
    BOOST_TEST(s.messages_received == in1.got.size());
}

BOOST_FIXTURE_TEST_CASE(removing_a_peer_drops_its_queue, net_fixture) {
    auto o = make_options(1, {{2, {"127.0.0.1", closed_port(ioc)}}, {3, {"127.0.0.1", closed_port(ioc)}}});
    node n1(ioc, o);
    for (int i = 1; i <= 5; ++i) {
        n1->send({1, 2, vote_request{term_t(i), 0, 0}});
        n1->send({1, 3, vote_request{term_t(i), 0, 0}});
    }
    BOOST_REQUIRE(run_until([&] {
        return test_access::queued_messages(*n1.t, 2) == 5u && test_access::queued_messages(*n1.t, 3) == 5u;
    }));
    n1->remove_peer(2);
    BOOST_REQUIRE(run_until([&] { return n1->stats().dropped_peer_removed == 5u; }));
    const auto s = n1->stats();
    BOOST_REQUIRE_EQUAL(s.peers.size(), 1u);
    BOOST_TEST(s.peers[0].id == 3u);
    BOOST_TEST(s.peers[0].queued_messages == 5u); // the other peer's queue is untouched
    BOOST_TEST(s.dropped_stopped == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_message_already_read_from_a_removed_peer_is_not_delivered, net_fixture) {
    // The handler removes the sender on its first message; the second one,
    // read in the same buffer, is not delivered.
    std::vector<envelope> got;
    std::unique_ptr<transport> t;
    t = std::make_unique<transport>(ioc, make_options(1, {{2, {"127.0.0.1", closed_port(ioc)}}}), [&](envelope e) {
        got.push_back(std::move(e));
        t->remove_peer(2);
    });
    t->start();
    raw_client c(ioc, t->listen_port());
    auto bytes = handshake_bytes(cluster, 2);
    for (term_t term : {1, 2, 3}) {
        const auto m = message_bytes(vote_request{term, 0, 0});
        bytes.insert(bytes.end(), m.begin(), m.end());
    }
    c.write(bytes); // all in the socket before the transport reads anything
    BOOST_REQUIRE(c.wait_closed(*this));
    BOOST_REQUIRE_EQUAL(got.size(), 1u);
    BOOST_TEST(std::get<vote_request>(got[0].msg).term == 1u);
    BOOST_TEST(t->stats().received_from_removed == 2u);
    BOOST_TEST(t->stats().messages_received == 1u);
}

BOOST_FIXTURE_TEST_CASE(set_peers_reconciles, net_fixture) {
    // n2..n4 take anyone of the cluster: they need not know n1.
    auto open = [](node_id id) {
        auto o = make_options(id, {});
        o.accept_unknown_peers = true;
        return o;
    };
    node n2(ioc, open(2)), n3(ioc, open(3)), n4(ioc, open(4));
    node n1(ioc, make_options(1, {{2, at(*n2.t)}, {3, at(*n3.t)}}));

    n1->send({1, 2, vote_request{1, 0, 0}});
    n1->send({1, 3, vote_request{1, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return n2.in.got.size() == 1 && n3.in.got.size() == 1; }));
    BOOST_REQUIRE(run_until([&] { return n3->stats().unknown_connections == 1u; }));

    // {2, 3} -> {2, 4} (self's entry, as a configuration lists it, is ignored).
    const std::map<node_id, endpoint_address> next{{1, at(*n1.t)}, {2, at(*n2.t)}, {4, at(*n4.t)}};
    n1->set_peers(next);
    BOOST_TEST((n1->peers() == std::map<node_id, endpoint_address>{{2, at(*n2.t)}, {4, at(*n4.t)}}));
    auto s = n1->stats();
    BOOST_TEST(s.peers_added == 1u);
    BOOST_TEST(s.peers_removed == 1u);
    BOOST_REQUIRE_EQUAL(s.peers.size(), 2u);
    BOOST_TEST(s.peers[0].id == 2u);
    BOOST_TEST(s.peers[1].id == 4u);

    n1->send({1, 2, vote_request{2, 0, 0}});
    n1->send({1, 3, vote_request{2, 0, 0}});
    n1->send({1, 4, vote_request{2, 0, 0}});
    BOOST_TEST(n1->stats().dropped_unknown_peer == 1u);
    BOOST_REQUIRE(run_until([&] { return n2.in.got.size() == 2 && n4.in.got.size() == 1; }));
    // n3's connection from n1 is closed; n2's is the same one as before.
    BOOST_REQUIRE(run_until([&] { return n3->stats().unknown_connections == 0u; }));
    BOOST_TEST(n3.in.got.size() == 1u);
    BOOST_TEST(n1->stats().peers[0].connects == 1u);

    // The same set again changes nothing.
    n1->set_peers(n1->peers());
    n1->set_peers(next);
    s = n1->stats();
    BOOST_TEST(s.peers_added == 1u);
    BOOST_TEST(s.peers_removed == 1u);

    // A new address for n2 (n2 moved: another transport with id 2) re-points
    // its link, and it reaches the new one.
    node n2b(ioc, open(2));
    auto moved = next;
    moved[2] = at(*n2b.t);
    n1->set_peers(moved);
    n1->send({1, 2, vote_request{3, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return n2b.in.got.size() == 1; }));
    BOOST_TEST(n1->stats().peers_added == 1u); // same peer, new address
    BOOST_TEST(n1->peers().at(2) == at(*n2b.t));

    // The empty set removes everyone.
    n1->set_peers({});
    BOOST_TEST(n1->peers().empty());
    BOOST_TEST(n1->stats().peers_removed == 3u);
    BOOST_REQUIRE(run_until([&] { return n1->stats().outbound_connections == 0u; }));
}

BOOST_FIXTURE_TEST_CASE(accept_unknown_peers_lets_unlisted_senders_in, net_fixture) {
    // Without the flag a sender n1 does not know is refused.
    node strict(ioc, make_options(1, {}));
    node sender(ioc, make_options(2, {{1, at(*strict.t)}}));
    sender->send({2, 1, vote_request{1, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return strict->stats().handshakes_rejected >= 2u; }));
    BOOST_TEST(strict.in.got.empty());

    // With it, the same sender is let in (a joining node hearing from a leader
    // it does not know yet); its messages carry its id.
    auto o = make_options(1, {});
    o.accept_unknown_peers = true;
    node open(ioc, o);
    sender->stop();
    node joined(ioc, make_options(2, {{1, at(*open.t)}}));
    joined->send({2, 1, vote_request{1, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return open.in.got.size() == 1; }));
    BOOST_TEST(open.in.got[0].from == 2u);
    BOOST_TEST(open.in.got[0].to == 1u);
    auto s = open->stats();
    BOOST_TEST(s.peers.empty());
    BOOST_TEST(s.unknown_messages_received == 1u);
    BOOST_TEST(s.messages_received == 1u);
    BOOST_TEST(s.unknown_connections == 1u);
    BOOST_TEST(s.handshakes_rejected == 0u);

    // Once added, the connection counts as the peer's.
    open->add_peer(2, at(*joined.t));
    BOOST_REQUIRE(run_until([&] {
        const auto s = open->stats();
        return s.unknown_connections == 0u && s.peers.size() == 1 && s.peers[0].inbound_connections == 1u;
    }));
    joined->send({2, 1, vote_request{2, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return open.in.got.size() == 2; }));
    BOOST_TEST(open->stats().peers.at(0).messages_received == 1u);

    // Removed: refused even with the flag.
    open->remove_peer(2);
    BOOST_REQUIRE(run_until([&] { return open->stats().handshakes_rejected >= 2u; }));
    joined->send({2, 1, vote_request{3, 0, 0}});
    const auto rejected = open->stats().handshakes_rejected;
    BOOST_REQUIRE(run_until([&] { return open->stats().handshakes_rejected >= rejected + 1; }));
    BOOST_TEST(open.in.got.size() == 2u);

    // The handshake is checked as ever: another cluster, self, no id.
    for (const auto& [cluster_id, id] : {std::pair<std::string, node_id>{"another-cluster", 3}, {cluster, 1},
                                         {cluster, no_node}}) {
        raw_client c(ioc, open->listen_port());
        auto bytes = handshake_bytes(cluster_id, id);
        const auto m = message_bytes(vote_request{1, 2, 3});
        bytes.insert(bytes.end(), m.begin(), m.end());
        c.write(bytes);
        BOOST_REQUIRE(c.wait_closed(*this));
    }
    BOOST_TEST(open.in.got.size() == 2u);

    // A removed id that is no peer is refused too: remove_peer(3) before n3 ever connects.
    open->remove_peer(3);
    raw_client c(ioc, open->listen_port());
    auto bytes = handshake_bytes(cluster, 3);
    const auto m = message_bytes(vote_request{1, 2, 3});
    bytes.insert(bytes.end(), m.begin(), m.end());
    c.write(bytes);
    BOOST_REQUIRE(c.wait_closed(*this));
    BOOST_TEST(open.in.got.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(changes_before_start_and_after_stop, net_fixture) {
    inbox in;
    transport t(ioc, make_options(1, {{2, {"127.0.0.1", 1}}}), in.handler());
    t.add_peer(3, {"127.0.0.1", 2});
    t.remove_peer(2);
    BOOST_TEST((t.peers() == std::map<node_id, endpoint_address>{{3, {"127.0.0.1", 2}}}));
    t.start();
    BOOST_TEST(t.stats().peers.size() == 1u);
    t.stop();
    t.add_peer(4, {"127.0.0.1", 3});
    t.remove_peer(3);
    BOOST_TEST((t.peers() == std::map<node_id, endpoint_address>{{3, {"127.0.0.1", 2}}}));
    ioc.restart();
    ioc.poll();
}

BOOST_AUTO_TEST_CASE(changes_from_other_threads_while_running) {
    // Peers added and removed from one thread while two threads run the
    // io_context, another sends both ways and another reads stats(): no
    // crash or race (run it under sanitize=thread), counters never go back,
    // and once the changes end with n2 a peer, traffic flows again.
    asio::io_context ioc;
    std::atomic<std::size_t> got1{0};
    transport t1(ioc, make_options(1, {}), [&](envelope) { ++got1; });
    t1.start();
    transport t2(ioc, make_options(2, {{1, at(t1)}}), [](envelope) {});
    t2.start();
    auto guard = asio::make_work_guard(ioc);
    std::thread runner1([&] { ioc.run(); });
    std::thread runner2([&] { ioc.run(); });

    std::atomic<bool> done{false};
    std::thread sender([&] {
        for (term_t i = 0; !done.load(); ++i) {
            t2.send({2, 1, vote_request{i, 0, 0}});
            t1.send({1, 2, vote_request{i, 0, 0}});
            std::this_thread::yield();
        }
    });
    bool monotonic = true;
    std::thread reader([&] {
        transport_stats last;
        while (!done.load()) {
            const auto s = t1.stats();
            monotonic = monotonic && s.messages_sent >= last.messages_sent &&
                        s.messages_received >= last.messages_received && s.bytes_sent >= last.bytes_sent &&
                        s.connects >= last.connects && s.peers_added >= last.peers_added &&
                        s.peers_removed >= last.peers_removed &&
                        s.dropped_peer_removed >= last.dropped_peer_removed && s.peers.size() <= 2;
            last = s;
        }
    });
    std::thread changer([&] {
        for (int i = 0; i < 200; ++i) {
            t1.add_peer(2, at(t2));
            std::this_thread::yield();
            t1.remove_peer(2);
            t1.set_peers({{2, at(t2)}, {3, {"127.0.0.1", 1}}});
            t1.set_peers({});
        }
        t1.set_peers({{2, at(t2)}});
    });
    changer.join();

    // Traffic flows again (bounded wait: the test thread only polls).
    const auto before = got1.load();
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (got1.load() < before + 10 && std::chrono::steady_clock::now() < end)
        std::this_thread::yield();
    done = true;
    sender.join();
    reader.join();
    BOOST_TEST(got1.load() >= before + 10);
    BOOST_TEST(monotonic);
    const auto s = t1.stats();
    BOOST_TEST(s.peers_added == 601u);   // 2, 2 and 3 each time, then 2
    BOOST_TEST(s.peers_removed == 600u);
    BOOST_TEST((t1.peers() == std::map<node_id, endpoint_address>{{2, at(t2)}}));
    t1.stop();
    t2.stop();
    guard.reset();
    runner1.join();
    runner2.join();
}

BOOST_AUTO_TEST_SUITE_END()
