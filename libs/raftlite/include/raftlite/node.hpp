// raftlite — a Raft peer on an Asio io_context: the core driven by timers,
// the network and the application, with a persister underneath.
#ifndef RAFTLITE_NODE_HPP
#define RAFTLITE_NODE_HPP

#include <raftlite/core.hpp>
#include <raftlite/error.hpp>
#include <raftlite/metrics.hpp>
#include <raftlite/node_options.hpp>
#include <raftlite/transport.hpp>
#include <raftlite/types.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace boost::asio { class io_context; }

namespace raftlite {

class persister;

/// A snapshot of a node's state, for monitoring.
struct node_status {
    node_id id = no_node;
    term_t term = 0;
    enum role role = role::follower;
    node_id leader = no_node;
    index_t commit_index = 0;
    index_t last_log_index = 0;
    index_t applied_index = 0;
    std::map<node_id, index_t> match_index;   ///< leader only: per follower
    bool running = false;
    bool storage_failed = false;
    core_stats core;                          ///< the protocol's counters
    transport_stats transport;                ///< connections, frames and bytes
};

/// One Raft peer. All of its work runs on one strand of the io_context the
/// caller gives; the application may call async_broadcast, status and stop
/// from any thread.
class node {
public:
    /// Called on the node's strand for each committed application entry, in
    /// index order, exactly once per index per run of the process.
    using delivery_handler = std::function<void(index_t index, const shared_bytes& payload)>;
    using broadcast_signature = void(boost::system::error_code, index_t);

    node(boost::asio::io_context& ioc, node_options options, std::unique_ptr<persister> storage);
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Set before start(). The handler runs on the node's strand; it must not
    /// block (it holds up the protocol), and it may call into the node.
    void on_deliver(delivery_handler handler);
    /// As above, but each call is posted to `executor` (in index order when the
    /// executor runs handlers in order, e.g. a strand or a one-thread io_context),
    /// so a slow application does not hold up the protocol.
    void on_deliver(boost::asio::any_io_executor executor, delivery_handler handler);

    /// Loads the persisted state, starts listening, connecting and the timers.
    /// Fails (and does nothing) when the storage cannot be loaded or the
    /// listen address cannot be bound.
    boost::system::error_code start();

    /// Broadcasts `payload` through the log, from any peer. Completes with
    /// (error_code{}, index) once the entry is committed, or with an error:
    /// errc::not_leader, superseded, busy, timed_out, stopped, storage_failed.
    /// Works with any completion token: a callback, boost::asio::use_future,
    /// boost::asio::use_awaitable, ...
    template <class CompletionToken>
    auto async_broadcast(shared_bytes payload, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, broadcast_signature>(
            [this](auto handler, shared_bytes p) {
                do_broadcast(std::move(p),
                             boost::asio::any_completion_handler<broadcast_signature>(std::move(handler)));
            },
            token, std::move(payload));
    }
    template <class CompletionToken>
    auto async_broadcast(std::string payload, CompletionToken&& token) {
        return async_broadcast(make_bytes(std::move(payload)), std::forward<CompletionToken>(token));
    }

    /// Thread-safe.
    node_status status() const;

    /// Counters, gauges and histograms for monitoring (raftlite/metrics.hpp).
    /// Thread-safe.
    node_metrics metrics() const;

    /// The port the node listens on (useful with port 0).
    std::uint16_t listen_port() const;

    /// Clean shutdown: timers cancelled, connections closed, storage synced,
    /// pending broadcasts completed with errc::stopped. Callable from any
    /// thread, also from a delivery or completion handler.
    void stop();

private:
    void do_broadcast(shared_bytes payload,
                      boost::asio::any_completion_handler<broadcast_signature> handler);

    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace raftlite

#endif
