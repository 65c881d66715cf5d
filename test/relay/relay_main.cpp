// raftlite-relay: relays TCP connections with a wide-area link's delay,
// jitter, loss and bandwidth (relay.hpp). One io_context thread; runs until
// SIGINT or SIGTERM.
#include "relay/relay.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
    using namespace raftlite::relay;
    relay_config c;
    try {
        c = parse_arguments(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::cerr << "raftlite-relay: " << e.what() << "\n" << usage();
        return 2;
    }
    if (c.help) {
        std::cout << usage();
        return 0;
    }
    boost::asio::io_context ioc(1);
    relay r(ioc, c.seed);
    try {
        for (const auto& route : c.routes) r.add(route);
    } catch (const std::exception& e) {
        std::cerr << "raftlite-" << e.what() << "\n";
        return 2;
    }
    const auto& l = c.routes.front().link;
    std::cout << "raftlite-relay: " << c.routes.size() << " route(s), one-way delay " << l.delay.count() / 1000.0
              << " ms, jitter 0.." << l.jitter.count() / 1000.0 << " ms, drop rate " << l.drop_rate
              << " per chunk, bandwidth " << (l.bandwidth_mbit > 0 ? std::to_string(l.bandwidth_mbit) + " Mbit/s" : "unlimited")
              << ", seed " << c.seed;
    if (c.realtime) std::cout << (make_thread_realtime() ? ", real-time thread" : ", normal priority (no permission for SCHED_FIFO)");
    std::cout << std::endl;
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) {
        r.stop();
    });
    ioc.run();
    const auto s = r.stats();
    std::cout << "raftlite-relay: " << s.connections << " connections, " << s.cuts << " cut, " << s.bytes
              << " bytes relayed, chunks late p50 < " << s.late_percentile_us(0.5) << " us, p99 < "
              << s.late_percentile_us(0.99) << " us" << std::endl;
    return 0;
}
