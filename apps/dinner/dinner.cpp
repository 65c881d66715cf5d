// raftlite-dinner — the raft-lite README example as three peer processes.
//
// Three guests each broadcast one restaurant. Total-order broadcast gives
// every guest the same sequence of proposals, so each can decide locally and
// all decide the same: the decision is the last of the three proposals
// delivered ("the last message is the final decision", as in raft-lite).
//
//   raftlite-dinner --config conf/dinner/n1.ini --option Ratskeller
//
// A guest leaves by itself once it has decided and every guest has said it
// decided (a second round of broadcasts), lingering a moment so that the
// others learn the last commit.
#include "../command_line.hpp"

#include <raftlite/config.hpp>
#include <raftlite/error.hpp>
#include <raftlite/file_persister.hpp>
#include <raftlite/logging.hpp>
#include <raftlite/node.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options.hpp>

#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace po = boost::program_options;

int main(int argc, char** argv) {
    std::string config_path, option;
    int timeout_s = 60;
    po::options_description desc("raftlite-dinner options");
    raftlite::apps::add_standard_options(desc);
    desc.add_options()
        ("config", po::value(&config_path)->required(), "peer config file (conf/dinner/nN.ini)")
        ("option", po::value(&option)->required(), "the restaurant this guest proposes")
        ("timeout", po::value(&timeout_s)->default_value(60), "give up after this many seconds");
    po::variables_map vm;
    if (auto status = raftlite::apps::parse_command_line("raftlite-dinner", argc, argv, desc, vm)) return *status;

    raftlite::raft_config cfg;
    try {
        cfg = raftlite::load_config(config_path);
    } catch (const raftlite::config_error& e) {
        std::cerr << "raftlite-dinner: " << e.what() << "\n";
        return 2;
    }
    raftlite::init_logging(cfg.log);

    boost::asio::io_context ioc;
    raftlite::node guest(ioc, cfg.node,
                         std::make_unique<raftlite::file_persister>(cfg.data_dir.string()));
    const std::size_t guests = cfg.node.core.members.size();
    const raftlite::node_id self = cfg.node.core.self;
    std::vector<std::string> proposals;
    std::set<std::string> done;
    bool decided = false;
    int status = 1;
    boost::asio::steady_timer linger(ioc), give_up(ioc);

    guest.on_deliver([&](raftlite::index_t, const raftlite::shared_bytes& payload) {
        const std::string msg = *payload;
        if (msg.rfind("propose:", 0) == 0 && proposals.size() < guests) {
            proposals.push_back(msg.substr(8));
            if (proposals.size() == guests && !decided) {
                decided = true;
                std::cout << "Guest " << self << ": Today we'll have dinner at " << proposals.back() << "!"
                          << std::endl;
                guest.async_broadcast("done:" + std::to_string(self),
                                      [](boost::system::error_code, raftlite::index_t) {});
            }
        } else if (msg.rfind("done:", 0) == 0) {
            done.insert(msg.substr(5));
            if (done.size() == guests && decided) {
                status = 0;
                // Stay a few heartbeats so that the others learn the last commit.
                linger.expires_after(cfg.node.election_timeout_max * 2);
                linger.async_wait([&](boost::system::error_code) {
                    guest.stop();
                    give_up.cancel();
                });
            }
        }
    });

    if (auto ec = guest.start()) {
        std::cerr << "raftlite-dinner: cannot start: " << ec.message() << "\n";
        return 1;
    }
    // A broadcast that fails (no leader yet, superseded) is simply made again.
    std::function<void()> propose = [&] {
        guest.async_broadcast("propose:" + option, [&](boost::system::error_code ec, raftlite::index_t) {
            if (ec && ec != raftlite::errc::stopped) propose();
        });
    };
    propose();
    give_up.expires_after(std::chrono::seconds(timeout_s));
    give_up.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        std::cerr << "raftlite-dinner: guest " << self << " gave up after " << timeout_s << " s\n";
        guest.stop();
    });
    ioc.run();
    return status;
}
