#include "local_cluster.hpp"

#include <raftlite/file_persister.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/test/unit_test.hpp>

#include <random>

namespace raftlite::test {

using namespace std::chrono_literals;

std::uint16_t free_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

local_cluster::local_cluster(std::size_t nodes, options_hook hook)
    : hook_(std::move(hook)),
      dir_(std::filesystem::temp_directory_path() /
           ("raftlite-node-test-" + std::to_string(std::random_device{}()))),
      work_(boost::asio::make_work_guard(ioc_)) {
    std::filesystem::create_directories(dir_);
    for (std::size_t i = 0; i < nodes; ++i) ports_.push_back(free_port());
    thread_ = std::thread([this] { ioc_.run(); });
}

local_cluster::~local_cluster() {
    stop_all();
    work_.reset();
    ioc_.stop();
    thread_.join();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void local_cluster::start(node_id id) {
    stop(id);
    node_options o;
    o.core.self = id;
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        o.core.members.push_back(i + 1);
        o.transport.peers[i + 1] = {"127.0.0.1", ports_[i]};
    }
    o.transport.cluster_id = "test";
    o.transport.listen = {"127.0.0.1", ports_[id - 1]};
    o.transport.reconnect_min = 10ms;
    o.transport.reconnect_max = 200ms;
    o.election_timeout_min = 150ms;
    o.election_timeout_max = 300ms;
    o.heartbeat_interval = 30ms;
    o.seed = id * 7919;
    if (hook_) hook_(id, o);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        delivered_[id].clear();
    }
    const auto data_dir = data_dirs_.count(id) ? data_dirs_[id] : dir_ / std::to_string(id);
    auto n = std::make_unique<node>(ioc_, o, std::make_unique<file_persister>(data_dir.string()));
    n->on_deliver([this, id](index_t i, const shared_bytes& p) {
        std::lock_guard<std::mutex> lock(mutex_);
        delivered_[id].emplace_back(i, *p);
    });
    auto ec = n->start();
    BOOST_REQUIRE_MESSAGE(!ec, "node " << id << " failed to start: " << ec.message());
    nodes_[id] = std::move(n);
}

void local_cluster::stop(node_id id) {
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    it->second->stop();
    // Wait until the node's strand has run its shutdown (status says so).
    wait_until([&] { return !it->second->status().running; });
    nodes_.erase(it);
}

void local_cluster::start_all() {
    for (std::size_t i = 1; i <= ports_.size(); ++i) start(i);
}

void local_cluster::stop_all() {
    std::vector<node_id> ids;
    for (auto& [id, n] : nodes_) ids.push_back(id);
    for (auto id : ids) stop(id);
}

bool local_cluster::wait_until(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);   // polling a condition, not synchronising on time
    }
    return condition();
}

node_id local_cluster::wait_for_leader(node_id excluded) {
    node_id found = no_node;
    wait_until([&] {
        node_id leader = no_node;
        for (auto& [id, n] : nodes_) {
            if (id == excluded) continue;
            auto s = n->status();
            if (s.leader == no_node || s.leader == excluded || (leader != no_node && s.leader != leader))
                return false;
            leader = s.leader;
        }
        found = leader;
        return leader != no_node && nodes_.count(leader) && nodes_.at(leader)->status().role == role::leader;
    });
    return found;
}

bool local_cluster::wait_delivered(node_id id, std::size_t count) {
    return wait_until([&] {
        std::lock_guard<std::mutex> lock(mutex_);
        return delivered_[id].size() >= count;
    });
}

local_cluster::deliveries local_cluster::delivered(node_id id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_[id];
}

} // namespace raftlite::test
