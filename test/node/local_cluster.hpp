// A cluster of raftlite::node objects in one process: real TCP on 127.0.0.1,
// file persisters in a fresh temporary directory, one io_context thread.
#ifndef RAFTLITE_TEST_LOCAL_CLUSTER_HPP
#define RAFTLITE_TEST_LOCAL_CLUSTER_HPP

#include <raftlite/node.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace raftlite::test {

class local_cluster {
public:
    using deliveries = std::vector<std::pair<index_t, std::string>>;

    /// Adjusts a node's options before it is created (e.g. TLS, test/tls).
    using options_hook = std::function<void(node_id, node_options&)>;

    explicit local_cluster(std::size_t nodes, options_hook hook = {});
    ~local_cluster();

    /// From the next start() on, nodes take snapshots (node::on_snapshot):
    /// the application state is the list of deliveries, written on a thread
    /// of the cluster's own; a restore replaces the list.
    void enable_snapshots(bool on = true) { snapshots_ = on; }
    /// The last snapshot node `id` restored since it started (index 0: none).
    snapshot_meta restored(node_id id);

    void start(node_id id);     ///< (re)creates node `id` from its data directory
    /// Puts node `id`'s data directory at `dir` from its next start() on
    /// (default: a directory in the cluster's temporary directory). The
    /// caller owns `dir`: it is not removed (e.g. a small tmpfs, disk_full_tests).
    void set_data_dir(node_id id, std::filesystem::path dir) { data_dirs_[id] = std::move(dir); }
    void stop(node_id id);      ///< stops and destroys node `id`
    void start_all();
    void stop_all();
    node& at(node_id id) { return *nodes_.at(id); }
    /// The loopback port node `id`'s transport listens on.
    std::uint16_t port(node_id id) const { return ports_.at(id - 1); }

    /// Waits (up to a generous deadline) until every running node other than
    /// `excluded` agrees on one leader; returns it, or no_node.
    node_id wait_for_leader(node_id excluded = no_node);
    /// Waits until node `id` delivered at least `count` entries since it started.
    bool wait_delivered(node_id id, std::size_t count);
    bool wait_until(const std::function<bool()>& condition);
    deliveries delivered(node_id id);

private:
    options_hook hook_;
    std::filesystem::path dir_;
    std::vector<std::uint16_t> ports_;
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
    std::map<node_id, std::unique_ptr<node>> nodes_;
    std::mutex mutex_;
    std::map<node_id, deliveries> delivered_;
    std::map<node_id, std::filesystem::path> data_dirs_;
    bool snapshots_ = false;
    std::map<node_id, snapshot_meta> restored_;
    boost::asio::thread_pool snapshot_pool_{1};   // writes the snapshots off the strand
};

} // namespace raftlite::test

#endif
