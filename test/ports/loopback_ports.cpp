#include "ports/loopback_ports.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>

namespace raftlite::test_support {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Ports below this are left to system services.
constexpr unsigned lowest_port = 10000;

// The first port of the range the kernel picks source ports from (32768 on
// Linux unless configured otherwise).
unsigned ephemeral_low() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned low = 0, high = 0;
    if (in >> low >> high) return low;
    return 32768;
}

// True when a listener on 127.0.0.1:port could be opened now.
bool can_listen(asio::io_context& ioc, std::uint16_t port) {
    boost::system::error_code ec;
    tcp::acceptor a(ioc);
    const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);   // as the servers do
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    return !ec;
}

} // namespace

std::uint16_t free_loopback_port() {
    static std::mutex m;
    static std::set<std::uint16_t> given;
    static std::mt19937 rng{std::random_device{}()};
    std::lock_guard<std::mutex> lock(m);
    asio::io_context ioc;
    const unsigned high = ephemeral_low();
    if (high > lowest_port + 1000) {
        // Random candidates below the ephemeral range: two test programs
        // running at once rarely try the same one, and a port some server
        // holds fails can_listen.
        std::uniform_int_distribution<unsigned> pick(lowest_port, high - 1);
        for (int attempt = 0; attempt < 1000; ++attempt) {
            const auto port = static_cast<std::uint16_t>(pick(rng));
            if (!given.count(port) && can_listen(ioc, port)) {
                given.insert(port);
                return port;
            }
        }
    }
    // No room below the ephemeral range: let the kernel choose, still never
    // the same number twice.
    for (int attempt = 0; attempt < 1000; ++attempt) {
        tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
        const auto port = a.local_endpoint().port();
        if (given.insert(port).second) return port;
    }
    throw std::runtime_error("no free port on 127.0.0.1");
}

} // namespace raftlite::test_support
