// A program that uses an installed raftlite (b2 install), built by the
// out-of-tree projects in cmake/ (find_package) and make/ (pkg-config):
// the protocol core elects a one-node cluster, then a node on an io_context
// with a memory_persister commits one broadcast and delivers it.
#include <raftlite/core.hpp>
#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/node.hpp>
#include <raftlite/version.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

int main() {
    // The installed headers and the installed library are one version.
    if (std::string(raftlite::version()) != RAFTLITE_VERSION_STRING) {
        std::cerr << "consumer: headers say " << RAFTLITE_VERSION_STRING << ", the library " << raftlite::version()
                  << "\n";
        return 1;
    }
    // The pure state machine.
    raftlite::core_config cfg;
    cfg.self = 1;
    cfg.members = {1};
    raftlite::core c(cfg);
    c.start();
    c.step(raftlite::election_timeout{});
    if (c.role() != raftlite::role::leader) {
        std::cerr << "consumer: the core of a one-node cluster did not elect itself\n";
        return 1;
    }

    // A node: timers, loopback transport, persister, delivery.
    boost::asio::io_context ioc;
    raftlite::node_options o;
    o.core = cfg;
    o.transport.cluster_id = "consumer";
    o.transport.self = 1;
    o.transport.listen = {"127.0.0.1", 0};
    o.transport.peers[1] = {"127.0.0.1", 0};
    o.election_timeout_min = std::chrono::milliseconds(20);
    o.election_timeout_max = std::chrono::milliseconds(40);
    raftlite::node n(ioc, o, std::make_unique<raftlite::memory_persister>());

    std::string delivered;
    boost::system::error_code result = raftlite::errc::timed_out;
    raftlite::index_t committed = 0;
    bool completed = false;
    boost::asio::steady_timer deadline(ioc, std::chrono::seconds(20));
    auto stop_when_done = [&] {
        if (completed && !delivered.empty()) {
            deadline.cancel();
            n.stop();
        }
    };
    n.on_deliver([&](raftlite::index_t, const raftlite::shared_bytes& payload) {
        delivered = *payload;
        stop_when_done();
    });
    if (auto ec = n.start()) {
        std::cerr << "consumer: node::start: " << ec.message() << "\n";
        return 1;
    }
    n.async_broadcast(std::string("hello from an installed raftlite"),
                      [&](boost::system::error_code ec, raftlite::index_t index) {
                          result = ec;
                          committed = index;
                          completed = true;
                          if (ec) delivered = "(none)";
                          stop_when_done();
                      });
    deadline.async_wait([&](boost::system::error_code ec) {
        if (!ec) n.stop();
    });
    n.status();   // thread-safe, callable before the loop runs
    ioc.run_for(std::chrono::seconds(30));

    if (result || committed == 0 || delivered != "hello from an installed raftlite") {
        std::cerr << "consumer: broadcast did not commit and deliver: " << result.message()
                  << " (index " << committed << ", delivered \"" << delivered << "\")\n";
        return 1;
    }
    std::cout << "consumer: committed and delivered at index " << committed << "\n";
    return 0;
}
