#include "local_cluster.hpp"

#include "ports/loopback_ports.hpp"

#include <raftlite/file_persister.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <boost/test/unit_test.hpp>

#include <random>

namespace raftlite::test {

using namespace std::chrono_literals;

local_cluster::local_cluster(std::size_t nodes, options_hook hook)
    : hook_(std::move(hook)),
      dir_(std::filesystem::temp_directory_path() /
           ("raftlite-node-test-" + std::to_string(std::random_device{}()))),
      work_(boost::asio::make_work_guard(ioc_)) {
    std::filesystem::create_directories(dir_);
    for (std::size_t i = 0; i < nodes; ++i) ports_.push_back(test_support::free_loopback_port());
    thread_ = std::thread([this] { ioc_.run(); });
}

local_cluster::~local_cluster() {
    stop_all();
    snapshot_pool_.join();
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
        o.core.members.put(member{i + 1, true, {}, {}});
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
        restored_[id] = snapshot_meta{};
    }
    const auto data_dir = data_dirs_.count(id) ? data_dirs_[id] : dir_ / std::to_string(id);
    auto n = std::make_unique<node>(ioc_, o, std::make_unique<file_persister>(data_dir.string()));
    n->on_deliver([this, id](index_t i, const shared_bytes& p) {
        std::lock_guard<std::mutex> lock(mutex_);
        delivered_[id].emplace_back(i, *p);
    });
    if (snapshots_) {
        n->on_snapshot(
            [this, id](snapshot_sink sink) {
                // Captured here, on the delivery path; written elsewhere.
                deliveries state;
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    state = delivered_[id];
                }
                auto shared = std::make_shared<snapshot_sink>(std::move(sink));
                boost::asio::post(snapshot_pool_, [shared, state = std::move(state)] {
                    std::string bytes;
                    for (const auto& [i, p] : state) bytes += std::to_string(i) + '\t' + p + '\n';
                    if (auto ec = shared->write(bytes)) {
                        shared->finish(ec);
                        return;
                    }
                    shared->finish();
                });
            },
            [this, id](snapshot_source& source) {
                std::string bytes;
                if (auto ec = source.read_all(bytes)) throw boost::system::system_error(ec);
                deliveries state;
                std::size_t pos = 0;
                while (pos < bytes.size()) {
                    const auto tab = bytes.find('\t', pos);
                    const auto eol = bytes.find('\n', pos);
                    if (tab == std::string::npos || eol == std::string::npos || tab > eol)
                        throw std::runtime_error("local_cluster: a snapshot that does not parse");
                    state.emplace_back(std::stoull(bytes.substr(pos, tab - pos)), bytes.substr(tab + 1, eol - tab - 1));
                    pos = eol + 1;
                }
                std::lock_guard<std::mutex> lock(mutex_);
                delivered_[id] = std::move(state);
                restored_[id] = source.meta();
            });
    }
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

snapshot_meta local_cluster::restored(node_id id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return restored_[id];
}

local_cluster::deliveries local_cluster::delivered(node_id id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_[id];
}

} // namespace raftlite::test
