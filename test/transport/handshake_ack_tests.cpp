// The receiver's acknowledgement of a handshake (protocol version 5): an
// outbound link is up only once it arrives, a listener that never answers is
// retried, a refused handshake gets none, and a peer closing an acknowledged
// connection is noticed without a further write.
// Conventions: transport_fixture.hpp.
#include <boost/test/unit_test.hpp>

#include "transport_fixture.hpp"

#include <boost/asio/read.hpp>

#include <memory>
#include <optional>
#include <vector>

using namespace raftlite;
using namespace raftlite::test;

namespace {

/// Something listening where a peer should be, written with plain Asio:
/// it accepts every connection and keeps it open; with an `answer`, it reads
/// the handshake and writes the answer back, without one it never writes (a
/// proxy whose onward leg is dead, a half-open path). Made by make_shared:
/// its handlers keep it alive.
struct fake_peer : std::enable_shared_from_this<fake_peer> {
    struct connection {
        explicit connection(asio::io_context& ioc) : socket(ioc) {}
        tcp::socket socket;
        std::vector<char> buf;
    };

    asio::io_context& ioc;
    tcp::acceptor acceptor;
    std::optional<std::vector<char>> answer;
    std::vector<std::shared_ptr<connection>> connections;
    std::size_t accepted = 0;
    std::size_t answered = 0;

    fake_peer(asio::io_context& io, std::optional<std::vector<char>> a)
        : ioc(io), acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), answer(std::move(a)) {}

    static std::shared_ptr<fake_peer> start(asio::io_context& io, std::optional<std::vector<char>> a) {
        auto p = std::make_shared<fake_peer>(io, std::move(a));
        p->accept();
        return p;
    }

    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    void accept() {
        auto c = std::make_shared<connection>(ioc);
        acceptor.async_accept(c->socket, [self = shared_from_this(), this, c](const boost::system::error_code& ec) {
            if (ec)
                return;
            ++accepted;
            connections.push_back(c);
            if (answer)
                read_handshake(c);
            accept();
        });
    }

    void read_handshake(const std::shared_ptr<connection>& c) {
        c->buf.resize(frame_header_size);
        asio::async_read(c->socket, asio::buffer(c->buf), [self = shared_from_this(), this, c](const boost::system::error_code& ec, std::size_t) {
            frame_header h;
            if (ec || parse_frame_header(c->buf.data(), h, default_max_frame_bytes))
                return;
            c->buf.resize(h.payload_size);
            asio::async_read(c->socket, asio::buffer(c->buf), [self, this, c](const boost::system::error_code& e, std::size_t) {
                if (e)
                    return;
                asio::async_write(c->socket, asio::buffer(*answer), [self, this, c](const boost::system::error_code& w, std::size_t) {
                    if (!w)
                        ++answered;
                });
            });
        });
    }

    /// Closes the listening socket and every connection.
    void close() {
        boost::system::error_code ignored;
        acceptor.close(ignored);
        for (auto& c : connections)
            c->socket.close(ignored);
        connections.clear();
    }
};

std::vector<char> ack_bytes(const std::string& cluster_id, node_id receiver, std::uint32_t version = protocol_version) {
    std::vector<char> b;
    encode_handshake_ack(handshake{cluster_id, receiver, version}, b);
    return b;
}

/// Collects every byte a connection receives, until it is closed.
struct byte_reader {
    tcp::socket& socket;
    std::vector<char> got;
    bool closed = false;
    char buf[256];

    explicit byte_reader(tcp::socket& s) : socket(s) { read(); }
    void read() {
        socket.async_read_some(asio::buffer(buf), [this](const boost::system::error_code& ec, std::size_t n) {
            if (ec) {
                closed = true;
                return;
            }
            got.insert(got.end(), buf, buf + n);
            read();
        });
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(handshake_ack)

BOOST_FIXTURE_TEST_CASE(a_listener_that_never_answers_is_retried_until_a_real_peer_answers, net_fixture) {
    const auto silent_peer = fake_peer::start(ioc, std::nullopt);
    fake_peer& silent = *silent_peer;
    auto o1 = make_options(1, {{2, {"127.0.0.1", silent.port()}}});
    o1.handshake_timeout = 100ms;
    inbox in1;
    transport t1(ioc, o1, in1.handler());
    t1.start();
    t1.send({1, 2, vote_request{7, 1, 0}});

    // Each attempt reaches the listener, writes its handshake into a
    // connection nobody reads, and is given up when no acknowledgement comes.
    BOOST_REQUIRE(run_until([&] { return silent.accepted >= 3 && t1.stats().ack_timeouts >= 2; }));
    auto s = t1.stats();
    BOOST_TEST(s.connects == 0u);                // counts every connection ever acknowledged
    BOOST_TEST(s.messages_sent == 0u);          // held back, not written into the void
    BOOST_TEST(s.peers.at(0).queued_messages == 1u);
    BOOST_TEST(s.peers.at(0).ack_timeouts == s.ack_timeouts);
    BOOST_TEST(s.connect_failures >= s.ack_timeouts);

    // A real peer takes the address over: the queued message is delivered.
    const auto port = silent.port();
    silent.close();
    auto o2 = make_options(2, {{1, {"127.0.0.1", t1.listen_port()}}});
    o2.listen.port = port;
    inbox in2;
    transport t2(ioc, o2, in2.handler());
    t2.start();
    BOOST_REQUIRE(run_until([&] { return in2.got.size() == 1; }));
    BOOST_TEST(in2.got[0].from == 1u);
    BOOST_TEST(std::get<vote_request>(in2.got[0].msg).term == 7u);
    s = t1.stats();
    BOOST_TEST(s.connects == 1u);
    BOOST_TEST(s.peers.at(0).connected);
    BOOST_TEST(s.messages_sent == 1u);
    BOOST_TEST(t2.stats().handshakes_rejected == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_good_handshake_is_acknowledged_and_a_refused_one_is_not, net_fixture) {
    auto o = make_options(1, {{2, {"127.0.0.1", closed_port(ioc)}}});
    inbox in;
    transport t(ioc, o, in.handler());
    t.start();

    // Accepted: one handshake_ack frame naming the receiver, and the
    // connection stays open for messages.
    raw_client good(ioc, t.listen_port());
    byte_reader good_read(good.socket);
    good.write(handshake_bytes(cluster, 2));
    const std::size_t ack_size = ack_bytes(cluster, 1).size();
    BOOST_REQUIRE(run_until([&] { return good_read.got.size() >= ack_size || good_read.closed; }));
    BOOST_TEST(!good_read.closed);
    BOOST_REQUIRE_EQUAL(good_read.got.size(), ack_size);
    handshake h;
    const char* why = nullptr;
    BOOST_REQUIRE(!decode_handshake_frame(good_read.got.data(), good_read.got.size(), frame_kind::handshake_ack, h,
                                          {}, &why));
    BOOST_TEST(h.cluster_id == cluster);
    BOOST_TEST(h.sender == 1u);
    BOOST_TEST(h.protocol_version == protocol_version);
    good.write(message_bytes(vote_request{3, 0, 0}));
    BOOST_REQUIRE(run_until([&] { return in.got.size() == 1; }));
    BOOST_TEST(in.got[0].from == 2u);

    // Refused (another cluster, another protocol version): closed, and not a
    // byte written back.
    raw_client wrong_cluster(ioc, t.listen_port());
    byte_reader wrong_cluster_read(wrong_cluster.socket);
    wrong_cluster.write(handshake_bytes("other-cluster", 2));
    raw_client wrong_version(ioc, t.listen_port());
    byte_reader wrong_version_read(wrong_version.socket);
    wrong_version.write(handshake_bytes(cluster, 2, protocol_version - 1));
    BOOST_REQUIRE(run_until([&] { return wrong_cluster_read.closed && wrong_version_read.closed; }));
    BOOST_TEST(wrong_cluster_read.got.empty());
    BOOST_TEST(wrong_version_read.got.empty());
    BOOST_TEST(t.stats().handshakes_rejected == 2u);
    BOOST_TEST(!good_read.closed);
}

BOOST_FIXTURE_TEST_CASE(a_peer_closing_an_acknowledged_connection_is_noticed_without_a_write, net_fixture) {
    const auto fake = fake_peer::start(ioc, ack_bytes(cluster, 2));
    fake_peer& peer = *fake;
    auto o1 = make_options(1, {{2, {"127.0.0.1", peer.port()}}});
    inbox in1;
    transport t1(ioc, o1, in1.handler());
    t1.start();
    BOOST_REQUIRE(run_until([&] { return t1.stats().peers.at(0).connected; }));
    BOOST_TEST(t1.stats().connects == 1u);
    BOOST_TEST(t1.stats().connect_failures == 0u);

    // The peer goes away; nothing is sent, yet the link notices and retries.
    const auto port = peer.port();
    peer.close();
    BOOST_REQUIRE(run_until([&] {
        const auto s = t1.stats();
        return !s.peers.at(0).connected && s.connect_failures >= 1;
    }));
    BOOST_TEST(t1.stats().messages_sent == 0u);

    // A real peer at the same address: the link reconnects by itself, and the
    // next message is delivered.
    auto o2 = make_options(2, {{1, {"127.0.0.1", t1.listen_port()}}});
    o2.listen.port = port;
    inbox in2;
    transport t2(ioc, o2, in2.handler());
    t2.start();
    BOOST_REQUIRE(run_until([&] { return t1.stats().connects == 2u && t1.stats().peers.at(0).connected; }));
    t1.send({1, 2, vote_request{9, 0, 0}});
    BOOST_REQUIRE(run_until([&] { return in2.got.size() == 1; }));
    BOOST_TEST(std::get<vote_request>(in2.got[0].msg).term == 9u);
}

BOOST_FIXTURE_TEST_CASE(an_acknowledgement_from_the_wrong_node_or_garbage_is_not_a_connection, net_fixture) {
    // Another node answers at this peer's address, or something answers
    // with bytes that are no acknowledgement: never connected, retried.
    for (const auto& answer : {ack_bytes(cluster, 3), ack_bytes("other-cluster", 2), handshake_bytes(cluster, 2),
                               std::vector<char>(40, 'x')}) {
        const auto fake = fake_peer::start(ioc, answer);
        fake_peer& peer = *fake;
        auto o1 = make_options(1, {{2, {"127.0.0.1", peer.port()}}});
        inbox in1;
        transport t1(ioc, o1, in1.handler());
        t1.start();
        t1.send({1, 2, vote_request{1, 0, 0}});
            BOOST_REQUIRE(run_until([&] { return peer.answered >= 2 && t1.stats().connect_failures >= 2; }));
        BOOST_TEST(t1.stats().connects == 0u);
        BOOST_TEST(t1.stats().messages_sent == 0u);
        BOOST_TEST(t1.stats().ack_timeouts == 0u); // refused at once, not timed out
        t1.stop();
        peer.close();
    }
}

BOOST_AUTO_TEST_SUITE_END()
