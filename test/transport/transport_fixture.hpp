// Helpers of the transport tests: transports on 127.0.0.1 with ephemeral
// ports, one io_context driven by the test thread. run_until() runs it in
// short slices until a condition holds, with a generous deadline. No sleeps
// for synchronisation, no assertions on timing.
#ifndef RAFTLITE_TEST_TRANSPORT_FIXTURE_HPP
#define RAFTLITE_TEST_TRANSPORT_FIXTURE_HPP

#include <raftlite/codec.hpp>
#include <raftlite/transport.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace raftlite::test {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

inline const char* const cluster = "test-cluster";

struct net_fixture {
    asio::io_context ioc;

    template <class Pred>
    bool run_until(Pred done, std::chrono::seconds deadline = 30s) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= end)
                return false;
            ioc.restart(); // run_for stops the context when it runs out of work
            ioc.run_for(5ms);
        }
        return true;
    }

    /// Runs for a while so that anything that was going to happen can happen.
    void settle(std::chrono::milliseconds d = 200ms) {
        const auto end = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < end) {
            ioc.restart();
            ioc.run_for(5ms);
        }
    }
};

struct inbox {
    std::vector<envelope> got;
    transport::message_handler handler() {
        return [this](envelope e) { got.push_back(std::move(e)); };
    }
};

// A port nobody listens on (connections are refused): bind one, then close it.
inline std::uint16_t closed_port(asio::io_context& ioc) {
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

inline transport_options make_options(node_id self, std::map<node_id, endpoint_address> peers,
                               std::string cluster_id = cluster) {
    transport_options o;
    o.cluster_id = std::move(cluster_id);
    o.self = self;
    o.listen = {"127.0.0.1", 0};
    o.peers = std::move(peers);
    o.reconnect_min = 10ms;
    o.reconnect_max = 200ms;
    return o;
}

inline std::vector<char> handshake_bytes(const std::string& cluster_id, node_id sender,
                                  std::uint32_t version = protocol_version) {
    std::vector<char> b;
    encode_handshake(handshake{cluster_id, sender, version}, b);
    return b;
}

inline std::vector<char> message_bytes(const message& m) {
    std::vector<char> b;
    encode_message(m, b);
    return b;
}

inline log_request sample_request(term_t term, std::size_t entries, std::size_t payload_size) {
    log_request r{term, 10, term, 9, {}};
    for (std::size_t i = 0; i < entries; ++i) {
        log_entry e;
        e.term = term;
        e.index = 11 + i;
        e.origin = {1, i};
        e.payload = make_bytes(std::string(payload_size, char('a' + i % 26)));
        r.suffix.push_back(std::move(e));
    }
    return r;
}

/// A plain TCP client speaking raw bytes to a transport.
struct raw_client {
    tcp::socket socket;
    bool closed = false;
    char buf[256];

    raw_client(asio::io_context& ioc, std::uint16_t port) : socket(ioc) {
        socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void write(const std::vector<char>& bytes) { asio::write(socket, asio::buffer(bytes)); }

    /// Reads (and discards) until the other side closes the connection.
    void watch() {
        socket.async_read_some(asio::buffer(buf), [this](const boost::system::error_code& ec, std::size_t) {
            if (ec)
                closed = true;
            else
                watch();
        });
    }
    bool wait_closed(net_fixture& f) {
        watch();
        return f.run_until([&] { return closed; });
    }
};

/// Two transports, n1 and n2, that know each other.
struct pair_fixture : net_fixture {
    inbox in1, in2;
    std::unique_ptr<transport> t1, t2;

    explicit pair_fixture(transport_options o1 = make_options(1, {}), transport_options o2 = make_options(2, {})) {
        // Ephemeral ports: n2's port is known only once it listens, so n1
        // starts with a placeholder address and learns the real one.
        o1.peers[2] = {"127.0.0.1", closed_port(ioc)};
        t1 = std::make_unique<transport>(ioc, o1, in1.handler());
        t1->start();
        o2.peers[1] = {"127.0.0.1", t1->listen_port()};
        t2 = std::make_unique<transport>(ioc, o2, in2.handler());
        t2->start();
        t1->add_peer(2, {"127.0.0.1", t2->listen_port()});
    }
};

} // namespace raftlite::test

#endif
