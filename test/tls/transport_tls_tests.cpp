// TLS between transports on 127.0.0.1 (transport_tests style: one io_context
// driven by the test thread, waits on conditions with generous deadlines, no
// sleeps, no timing assertions). Certificates: tls_certs.hpp.
#define BOOST_TEST_MODULE tls_tests
#include <boost/test/unit_test.hpp>

#include "tls_certs.hpp"
#include "../transport/transport_fixture.hpp"

#include <raftlite/codec.hpp>
#include <raftlite/detail/transport_test_access.hpp>
#include <raftlite/transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace raftlite;
using raftlite::test::test_certs;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const char* const cluster = "tls-test";

// The transport tests' fixture (one io_context driven by the test thread),
// with the test certificates.
struct net_fixture : raftlite::test::net_fixture {
    const test_certs& certs = test_certs::get();
};

using raftlite::test::closed_port;
using raftlite::test::inbox;

transport_options make_options(node_id self, tls_options tls) {
    transport_options o = raftlite::test::make_options(self, {}, cluster);
    o.tls = std::move(tls);
    return o;
}

std::vector<char> handshake_bytes(node_id sender) { return raftlite::test::handshake_bytes(cluster, sender); }

/// Two transports, a (id_a) and b (id_b), that know each other.
struct pair_fixture : net_fixture {
    inbox in_a, in_b;
    std::unique_ptr<transport> a, b;

    void start(transport_options oa, transport_options ob) {
        const node_id id_b = ob.self;
        oa.peers[id_b] = {"127.0.0.1", closed_port(ioc)};
        a = std::make_unique<transport>(ioc, oa, in_a.handler());
        a->start();
        ob.peers[oa.self] = {"127.0.0.1", a->listen_port()};
        b = std::make_unique<transport>(ioc, ob, in_b.handler());
        b->start();
        a->add_peer(id_b, {"127.0.0.1", b->listen_port()});
    }
};

log_request big_request(term_t term, std::size_t payload_size) {
    log_request r{term, 1, 1, 0, {}};
    log_entry e;
    e.term = term;
    e.index = 2;
    e.origin = {1, 1};
    e.payload = make_bytes(std::string(payload_size, 'x'));
    r.suffix.push_back(std::move(e));
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(transport_tls)

BOOST_FIXTURE_TEST_CASE(tls_peers_exchange_messages, pair_fixture) {
    start(make_options(1, certs.tls("node-1")), make_options(2, certs.tls("node-2")));
    const int n = 300;
    for (int i = 1; i <= n; ++i) {
        a->send({1, 2, vote_request{term_t(i), 7, 3}});
        b->send({2, 1, vote_request{term_t(i), 8, 4}});
    }
    // Larger than a TLS record (16 KiB) many times over.
    a->send({1, 2, big_request(9, 3 << 20)});
    BOOST_REQUIRE(run_until([&] { return in_b.got.size() == n + 1 && in_a.got.size() == n; }));
    for (int i = 0; i < n; ++i) {
        BOOST_TEST(in_b.got[i].from == 1u);
        BOOST_TEST(std::get<vote_request>(in_b.got[i].msg).term == term_t(i + 1)); // in order
        BOOST_TEST(in_a.got[i].from == 2u);
    }
    const auto& big = std::get<log_request>(in_b.got.back().msg);
    BOOST_REQUIRE_EQUAL(big.suffix.size(), 1u);
    BOOST_TEST(big.suffix[0].size() == std::size_t(3 << 20));
    for (const auto* t : {a.get(), b.get()}) {
        const auto s = t->stats();
        BOOST_TEST(s.handshakes_rejected == 0u);
        BOOST_TEST(s.tls_handshakes_failed == 0u);
        BOOST_TEST(s.bad_frames == 0u);
    }
}

BOOST_FIXTURE_TEST_CASE(certificate_from_another_ca_is_refused, pair_fixture) {
    // The rogue trusts both CAs, so it is node 1's own checks that refuse it
    // (inbound: its client certificate; outbound: its server certificate).
    start(make_options(1, certs.tls("node-1")), make_options(3, certs.tls("rogue-node-3", "both-cas.pem")));
    for (int i = 1; i <= 10; ++i) {
        a->send({1, 3, vote_request{term_t(i), 1, 1}});
        b->send({3, 1, vote_request{term_t(i), 3, 1}});
    }
    // Several attempts each way, every one refused.
    BOOST_REQUIRE(run_until([&] {
        return a->stats().tls_handshakes_failed >= 3 && a->stats().connect_failures >= 3;
    }));
    BOOST_TEST(in_a.got.empty());
    BOOST_TEST(in_b.got.empty());
    BOOST_TEST(a->stats().handshakes_rejected >= 3u);
    BOOST_TEST(a->stats().connects == 0u);   // node 1 never sent its handshake to the rogue
    BOOST_TEST(raftlite::detail::transport_test_access::queued_messages(*a, 3) > 0u);  // still waiting for a genuine node 3
}

BOOST_FIXTURE_TEST_CASE(a_peer_claiming_another_nodes_id_is_refused, pair_fixture) {
    // Node 2's genuine certificate, but the handshake says "node 3".
    start(make_options(1, certs.tls("node-1")), make_options(3, certs.tls("node-2")));
    for (int i = 1; i <= 10; ++i) {
        a->send({1, 3, vote_request{term_t(i), 1, 1}});
        b->send({3, 1, vote_request{term_t(i), 3, 1}});
    }
    BOOST_REQUIRE(run_until([&] {
        return a->stats().handshakes_rejected >= 3 && a->stats().connect_failures >= 3;
    }));
    BOOST_TEST(in_a.got.empty());
    BOOST_TEST(in_b.got.empty());
    // The TLS handshakes themselves succeed (the CA signed node 2's
    // certificate): it is the name check that refuses, on both sides.
    BOOST_TEST(a->stats().tls_handshakes_failed == 0u);
    BOOST_TEST(a->stats().connects == 0u);
}

BOOST_FIXTURE_TEST_CASE(plaintext_to_a_tls_port_is_refused, net_fixture) {
    inbox in;
    auto o = make_options(1, certs.tls("node-1"));
    o.peers[2] = {"127.0.0.1", closed_port(ioc)};
    transport t(ioc, o, in.handler());
    t.start();

    // Raw bytes: a valid raftlite handshake and message, without TLS.
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), t.listen_port()));
    auto bytes = handshake_bytes(2);
    encode_message(vote_request{5, 2, 0}, bytes);
    asio::write(s, asio::buffer(bytes));
    bool closed = false;
    char buf[256];
    std::function<void()> watch = [&] {
        s.async_read_some(asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t) {
            if (ec)
                closed = true;
            else
                watch();   // a TLS alert, perhaps: keep reading until the close
        });
    };
    watch();
    BOOST_REQUIRE(run_until([&] { return closed; }));
    BOOST_TEST(t.stats().tls_handshakes_failed == 1u);
    BOOST_TEST(t.stats().handshakes_rejected == 1u);

    // A transport with TLS off is refused the same way.
    inbox in2;
    auto o2 = make_options(2, tls_options{});
    o2.peers[1] = {"127.0.0.1", t.listen_port()};
    transport plain(ioc, o2, in2.handler());
    plain.start();
    plain.send({2, 1, vote_request{6, 2, 0}});
    BOOST_REQUIRE(run_until([&] { return t.stats().tls_handshakes_failed >= 3; }));
    BOOST_TEST(in.got.empty());
}

BOOST_FIXTURE_TEST_CASE(a_tls_client_gets_nowhere_with_a_plain_port, pair_fixture) {
    start(make_options(1, certs.tls("node-1")), make_options(2, tls_options{}));
    a->send({1, 2, vote_request{1, 1, 0}});
    BOOST_REQUIRE(run_until([&] { return a->stats().connect_failures >= 2 && b->stats().handshakes_rejected >= 2; }));
    BOOST_TEST(in_b.got.empty());
    BOOST_TEST(a->stats().connects == 0u);
}

BOOST_FIXTURE_TEST_CASE(silent_client_is_closed_after_handshake_timeout, net_fixture) {
    inbox in;
    auto o = make_options(1, certs.tls("node-1"));
    o.handshake_timeout = 200ms;
    transport t(ioc, o, in.handler());
    t.start();
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), t.listen_port()));
    bool closed = false;
    char buf[64];
    s.async_read_some(asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t) { closed = bool(ec); });
    BOOST_REQUIRE(run_until([&] { return closed; }));
    BOOST_TEST(t.stats().handshakes_rejected == 1u);
}

// With TLS the acknowledgement travels inside the session: a listener that
// completes TLS as node 2 (its genuine certificate) and then never answers
// the raftlite handshake is retried, and the real node 2 taking its port over
// gets the queued message.
BOOST_FIXTURE_TEST_CASE(a_tls_listener_that_never_acknowledges_is_retried, net_fixture) {
    asio::ssl::context server(asio::ssl::context::tls_server);
    const auto node2 = certs.tls("node-2");
    server.use_certificate_chain_file(node2.cert_file);
    server.use_private_key_file(node2.key_file, asio::ssl::context::pem);
    server.load_verify_file(node2.ca_file);
    server.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    using tls_socket = asio::ssl::stream<tcp::socket>;
    std::vector<std::shared_ptr<tls_socket>> held;   // open, never written to
    std::size_t tls_done = 0;
    std::function<void()> accept = [&] {
        auto s = std::make_shared<tls_socket>(ioc, server);
        acceptor.async_accept(s->next_layer(), [&, s](const boost::system::error_code& ec) {
            if (ec)
                return;
            held.push_back(s);
            s->async_handshake(asio::ssl::stream_base::server, [&, s](const boost::system::error_code& e) {
                if (!e)
                    ++tls_done;
            });
            accept();
        });
    };
    accept();

    auto o1 = make_options(1, certs.tls("node-1"));
    o1.peers[2] = {"127.0.0.1", acceptor.local_endpoint().port()};
    o1.handshake_timeout = 200ms;
    inbox in1;
    transport t1(ioc, o1, in1.handler());
    t1.start();
    t1.send({1, 2, vote_request{4, 1, 0}});
    BOOST_REQUIRE(run_until([&] { return tls_done >= 2 && t1.stats().ack_timeouts >= 2; }));
    BOOST_TEST(t1.stats().connects == 0u);
    BOOST_TEST(t1.stats().messages_sent == 0u);

    const auto port = acceptor.local_endpoint().port();
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& s : held)
        s->next_layer().close(ignored);
    auto o2 = make_options(2, node2);
    o2.peers[1] = {"127.0.0.1", t1.listen_port()};
    o2.listen.port = port;
    inbox in2;
    transport t2(ioc, o2, in2.handler());
    t2.start();
    BOOST_REQUIRE(run_until([&] { return in2.got.size() == 1; }));
    BOOST_TEST(in2.got[0].from == 1u);
    BOOST_TEST(std::get<vote_request>(in2.got[0].msg).term == 4u);
    BOOST_TEST(t1.stats().connects == 1u);
}

BOOST_FIXTURE_TEST_CASE(reconnects_with_tls_after_the_peer_restarts, pair_fixture) {
    auto ob = make_options(2, certs.tls("node-2"));
    start(make_options(1, certs.tls("node-1")), ob);
    a->send({1, 2, vote_request{1, 1, 0}});
    BOOST_REQUIRE(run_until([&] { return in_b.got.size() == 1; }));
    const auto port = b->listen_port();
    b.reset();
    ob.listen.port = port;
    ob.peers[1] = {"127.0.0.1", a->listen_port()};
    in_b.got.clear();
    b = std::make_unique<transport>(ioc, ob, in_b.handler());
    b->start();
    // Messages sent into the dead connection may be lost (Raft retransmits):
    // keep sending until one arrives on a new TLS connection.
    term_t term = 2;
    BOOST_REQUIRE(run_until([&] {
        if (in_b.got.empty())
            a->send({1, 2, vote_request{term++, 1, 0}});
        return !in_b.got.empty();
    }));
    BOOST_TEST(a->stats().connects >= 2u);
}

BOOST_FIXTURE_TEST_CASE(a_peer_added_at_runtime_is_name_checked, net_fixture) {
    inbox in_a, in_liar, in_c;
    transport a(ioc, make_options(1, certs.tls("node-1")), in_a.handler());
    a.start();
    // Claims to be node 3 with node 2's genuine certificate.
    auto ol = make_options(3, certs.tls("node-2"));
    ol.peers[1] = {"127.0.0.1", a.listen_port()};
    transport liar(ioc, ol, in_liar.handler());
    liar.start();

    // Node 1 adds node 3 at the liar's address: both directions are refused,
    // exactly as for a peer configured at start.
    a.add_peer(3, {"127.0.0.1", liar.listen_port()});
    for (int i = 1; i <= 5; ++i) {
        a.send({1, 3, vote_request{term_t(i), 1, 1}});
        liar.send({3, 1, vote_request{term_t(i), 3, 1}});
    }
    BOOST_REQUIRE(run_until([&] {
        return a.stats().handshakes_rejected >= 3 && a.stats().connect_failures >= 3;
    }));
    BOOST_TEST(in_a.got.empty());
    BOOST_TEST(in_liar.got.empty());
    BOOST_TEST(a.stats().tls_handshakes_failed == 0u); // the CA signed it: the name check refuses
    BOOST_TEST(a.stats().connects == 0u);

    // A genuine node 2, added later, gets through both ways.
    auto oc = make_options(2, certs.tls("node-2"));
    oc.peers[1] = {"127.0.0.1", a.listen_port()};
    transport c(ioc, oc, in_c.handler());
    c.start();
    a.add_peer(2, {"127.0.0.1", c.listen_port()});
    a.send({1, 2, vote_request{7, 1, 1}});
    c.send({2, 1, vote_request{8, 2, 1}});
    BOOST_REQUIRE(run_until([&] { return in_c.got.size() == 1 && in_a.got.size() == 1; }));
    BOOST_TEST(in_a.got[0].from == 2u);
    BOOST_TEST(in_c.got[0].from == 1u);
}

BOOST_FIXTURE_TEST_CASE(unknown_senders_are_name_checked_too, net_fixture) {
    // accept_unknown_peers widens which ids may connect, not what proves one.
    auto oa = make_options(1, certs.tls("node-1"));
    oa.accept_unknown_peers = true;
    inbox in_a, in_liar, in_c;
    transport a(ioc, oa, in_a.handler());
    a.start();
    auto ol = make_options(3, certs.tls("node-2"));   // node 2's certificate, says node 3
    ol.peers[1] = {"127.0.0.1", a.listen_port()};
    transport liar(ioc, ol, in_liar.handler());
    liar.start();
    liar.send({3, 1, vote_request{1, 3, 1}});
    BOOST_REQUIRE(run_until([&] { return a.stats().handshakes_rejected >= 3; }));
    BOOST_TEST(in_a.got.empty());
    BOOST_TEST(a.stats().tls_handshakes_failed == 0u);

    // A certificate from another CA is refused by TLS itself.
    auto orogue = make_options(3, certs.tls("rogue-node-3", "both-cas.pem"));
    orogue.peers[1] = {"127.0.0.1", a.listen_port()};
    transport rogue(ioc, orogue, in_liar.handler());
    rogue.start();
    rogue.send({3, 1, vote_request{1, 3, 1}});
    BOOST_REQUIRE(run_until([&] { return a.stats().tls_handshakes_failed >= 2; }));
    BOOST_TEST(in_a.got.empty());

    // Node 4, unknown to node 1 but with its own certificate, is let in.
    auto oc = make_options(4, certs.tls("node-4"));
    oc.peers[1] = {"127.0.0.1", a.listen_port()};
    transport c(ioc, oc, in_c.handler());
    c.start();
    c.send({4, 1, vote_request{9, 4, 1}});
    BOOST_REQUIRE(run_until([&] { return in_a.got.size() == 1; }));
    BOOST_TEST(in_a.got[0].from == 4u);
    BOOST_TEST(a.stats().unknown_messages_received == 1u);
}

BOOST_FIXTURE_TEST_CASE(unusable_tls_files_fail_start_naming_the_file, net_fixture) {
    auto check = [&](tls_options tls, const std::string& expected) {
        auto o = make_options(1, std::move(tls));
        transport t(ioc, o, {});
        try {
            t.start();
            BOOST_ERROR("start() succeeded with " << expected);
        } catch (const boost::system::system_error& e) {
            BOOST_TEST_MESSAGE(e.what());
            BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what());
        }
        BOOST_TEST(t.listen_port() == 0u);
    };
    auto missing = certs.tls("node-1");
    missing.key_file = certs.file("no-such.key");
    check(missing, "no-such.key");
    auto mismatched = certs.tls("node-1");
    mismatched.key_file = certs.file("node-2.key");
    check(mismatched, "node-2.key");
    auto not_a_ca = certs.tls("node-1");
    not_a_ca.ca_file = certs.file("node-1.key");
    check(not_a_ca, "node-1.key");
}

BOOST_AUTO_TEST_SUITE_END()
