// raftlite — a Raft peer on an Asio io_context: the core driven by timers,
// the network and the application, with a persister underneath.
#ifndef RAFTLITE_NODE_HPP
#define RAFTLITE_NODE_HPP

#include <raftlite/core.hpp>
#include <raftlite/error.hpp>
#include <raftlite/metrics.hpp>
#include <raftlite/node_options.hpp>
#include <raftlite/snapshot.hpp>
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
    index_t snapshot_index = 0;               ///< the last entry the current snapshot covers (0: none)
    index_t log_start = 1;                    ///< the first entry held in the log
    std::uint64_t snapshots_taken = 0;        ///< by this node, since it started
    std::uint64_t snapshots_installed = 0;    ///< received from a leader, since it started
    std::map<node_id, index_t> match_index;   ///< leader only: per follower (learners included)
    membership members;                       ///< the configuration in force (thesis §4.1: the latest in the log)
    index_t configuration_index = 0;          ///< the entry that holds it (0: the bootstrap configuration)
    bool running = false;
    bool storage_failed = false;
    boost::system::error_code stop_reason;    ///< once stopped: errc::stopped, storage_failed, delivery_failed, internal_error
    core_stats core;                          ///< the protocol's counters
    transport_stats transport;                ///< connections, frames and bytes
};

/// One Raft peer. All of its work runs on one strand of the executor the
/// caller gives; the application may call the node from any thread.
///
/// Asynchronous operations follow Asio's conventions, as its own composed
/// operations do: any completion token (a callback, use_future,
/// use_awaitable, deferred, ...); the handler runs on its associated executor
/// (the node's strand if it has none), never inline, and that executor is
/// kept busy (outstanding work) until it has run; the handler's associated
/// allocator is used for the completion; its associated cancellation slot
/// cancels the operation.
class node {
public:
    /// Called on the node's strand for each committed application entry, in
    /// index order, exactly once per index per run of the process. If it
    /// throws, the node stops (fail-stop, errc::delivery_failed): it never
    /// goes on with half-applied state.
    using delivery_handler = std::function<void(index_t index, const shared_bytes& payload)>;
    /// Called once when the node stops, with the reason (errc::stopped for
    /// stop(), or storage_failed, delivery_failed, internal_error).
    using stop_handler = std::function<void(boost::system::error_code reason)>;
    using broadcast_signature = void(boost::system::error_code, index_t);
    using receive_signature = void(boost::system::error_code, index_t, shared_bytes);
    using stop_signature = void(boost::system::error_code);
    using snapshot_signature = void(boost::system::error_code, index_t);
    using read_signature = void(boost::system::error_code, index_t);
    using membership_signature = void(boost::system::error_code, index_t);
    using transfer_signature = void(boost::system::error_code);
    /// Takes a snapshot of the application's state as of sink.index() (the
    /// entry just delivered): capture the state now, write it to the sink on
    /// any thread, then sink.finish() (see snapshot.hpp). Runs where
    /// deliveries run (the strand, or the delivery executor), in order.
    using snapshot_handler = std::function<void(snapshot_sink sink)>;
    /// Replaces the application's state by a snapshot's, at start and when
    /// the leader sends one; entries after source.meta().index follow. Runs
    /// where deliveries run. If it throws, the node stops (delivery_failed).
    using restore_handler = std::function<void(snapshot_source& source)>;

    /// `executor` runs the node: its strand, timers and sockets are made on it.
    node(boost::asio::any_io_executor executor, node_options options, std::unique_ptr<persister> storage);
    node(boost::asio::io_context& ioc, node_options options, std::unique_ptr<persister> storage);
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Set before start(). The handler runs on the node's strand; it must not
    /// block (it holds up the protocol), and it may call into the node.
    /// Without a delivery handler, committed entries wait for async_receive.
    void on_deliver(delivery_handler handler);
    /// As above, but each call is posted to `executor` (in index order when the
    /// executor runs handlers in order, e.g. a strand or a one-thread io_context),
    /// so a slow application does not hold up the protocol.
    void on_deliver(boost::asio::any_io_executor executor, delivery_handler handler);
    /// Set before start(); runs on the node's strand.
    void on_stop(stop_handler handler);
    /// Set before start(), together: without them the node never takes a
    /// snapshot, and a node whose storage holds one cannot start.
    void on_snapshot(snapshot_handler take, restore_handler restore);

    /// Loads the persisted state, starts listening, connecting and the timers.
    /// Fails (and does nothing) when the storage cannot be loaded or the
    /// listen address cannot be bound.
    boost::system::error_code start();

    /// Broadcasts `payload` through the log, from any peer. Completes with
    /// (error_code{}, index) once the entry is committed, or with an error:
    /// errc::not_leader, superseded, busy, timed_out, stopped, storage_failed,
    /// delivery_failed, internal_error; errc::payload_too_large at once for a
    /// payload larger than a frame, the decoder's max_payload_bytes or the
    /// storage take. Cancellation (any type): a broadcast
    /// that never left this node completes with operation_aborted and will
    /// never commit; one that did completes with errc::outcome_unknown.
    template <class CompletionToken>
    auto async_broadcast(shared_bytes payload, CompletionToken&& token) {
        return initiate<broadcast_signature>(&node::do_broadcast, token, std::move(payload));
    }
    template <class CompletionToken>
    auto async_broadcast(std::string payload, CompletionToken&& token) {
        return async_broadcast(make_bytes(std::move(payload)), std::forward<CompletionToken>(token));
    }

    /// A linearizable read (Raft thesis §6.4, ReadIndex), from any peer:
    /// completes with (error_code{}, index) once this node knows that `index`
    /// (the leader's commit index when the read began, confirmed by a
    /// heartbeat round a majority answered, or under the leader's lease with
    /// node_options::lease_reads) covers every write completed before the
    /// read began, and its deliveries have reached it. A read served from
    /// the application's state in the handler (or after it) is therefore
    /// linearizable, and nothing is written to the log. With a delivery
    /// executor the handler runs after the deliveries up to `index` ran
    /// there. Errors: errc::not_leader (no leader within hold_elections
    /// election timeouts), busy (max_pending_reads), timed_out
    /// (broadcast_timeout), stopped, storage_failed. Cancellation (any
    /// type): completes with operation_aborted.
    template <class CompletionToken>
    auto async_read_index(CompletionToken&& token) {
        return initiate<read_signature>(&node::do_read_index, token);
    }

    /// A single-server membership change (Raft thesis §4.1), asked of the
    /// leader (a follower completes with errc::not_leader; ask the leader
    /// node_status names). Completes with (error_code{}, index) once the
    /// configuration entry holding the change is committed (at once when the
    /// change is in force already: asking again is safe), or with an error:
    /// errc::busy (another change is under way: one at a time),
    /// change_rejected (an id taken, no such learner, the last voter),
    /// not_caught_up (a learner that did not catch up within
    /// core_config::promote_rounds election timeouts), outcome_unknown
    /// (leadership was lost after the entry was appended: look at
    /// node_status::members), timed_out (broadcast_timeout; the change may
    /// still happen), stopped, storage_failed. The configuration is in force
    /// from the moment its entry is in the log, before it commits.
    /// Cancellation (any type): completes with operation_aborted; the change
    /// may still happen.
    template <class CompletionToken>
    auto async_change_membership(membership_change change, CompletionToken&& token) {
        return initiate<membership_signature>(&node::do_change_membership, token, std::move(change));
    }
    /// Adds a server as a learner (thesis §4.2.1): it receives the log (a
    /// snapshot first, if needed) but does not vote. `server.address` is
    /// where the others reach it; `server.info` is the application's.
    template <class CompletionToken>
    auto async_add_learner(member server, CompletionToken&& token) {
        server.voter = false;
        return async_change_membership(membership_change{membership_change::action::add_learner, std::move(server)},
                                       std::forward<CompletionToken>(token));
    }
    /// Makes a learner a voter, once it is within a round of the leader's log.
    template <class CompletionToken>
    auto async_promote(node_id id, CompletionToken&& token) {
        return async_change_membership(membership_change{membership_change::action::promote, member{id, true, {}, {}}},
                                       std::forward<CompletionToken>(token));
    }
    /// Makes a voter a learner.
    template <class CompletionToken>
    auto async_demote(node_id id, CompletionToken&& token) {
        return async_change_membership(membership_change{membership_change::action::demote, member{id, true, {}, {}}},
                                       std::forward<CompletionToken>(token));
    }
    /// Removes a server; removing the leader itself is allowed (it steps
    /// down once the configuration without it commits, thesis §4.2.2).
    template <class CompletionToken>
    auto async_remove(node_id id, CompletionToken&& token) {
        return async_change_membership(membership_change{membership_change::action::remove, member{id, true, {}, {}}},
                                       std::forward<CompletionToken>(token));
    }

    /// Hands this node's leadership to voter `target` (Raft thesis §3.10):
    /// the leader brings the target's log up to date, then tells it to
    /// start an election at once, which voters do not disregard for leader
    /// stickiness. Meanwhile this leader refuses new broadcasts with
    /// errc::busy (reads go on). Completes with error_code{} once this node
    /// saw a higher term and stepped down (normally: the target won), or
    /// with errc::not_leader (this node does not lead, or stopped leading
    /// otherwise), transfer_rejected (the target is this node or not a
    /// voter), transfer_timed_out (no takeover within an election timeout;
    /// this node leads and serves again), busy (a transfer is in progress),
    /// timed_out (broadcast_timeout), stopped, storage_failed. Cancellation
    /// (any type): completes with operation_aborted, and the leader serves
    /// again (a target already told to stand may still take over).
    template <class CompletionToken>
    auto async_transfer_leadership(node_id target, CompletionToken&& token) {
        return initiate<transfer_signature>(&node::do_transfer, token, target);
    }

    /// Pull-style delivery (when no delivery handler is set): completes with
    /// the next committed application entry, in index order, each once. A
    /// consumer that stops pulling slows delivery down (the node keeps a
    /// bounded queue and then holds entries back), never loses one. One
    /// receive at a time; after a stop it completes with the stop reason.
    template <class CompletionToken>
    auto async_receive(CompletionToken&& token) {
        return initiate<receive_signature>(&node::do_receive, token);
    }

    /// Takes a snapshot now (beyond node_options::snapshot_entries) and
    /// completes once it is durable and the log prefix it covers may go, with
    /// the snapshot's index; or at once with the current snapshot's index
    /// when nothing was applied since. Needs on_snapshot.
    template <class CompletionToken>
    auto async_snapshot(CompletionToken&& token) {
        return initiate<snapshot_signature>(&node::do_snapshot, token);
    }

    /// Stops the node (as stop()) and completes once it has stopped, with
    /// the reason it stopped (errc::stopped unless it had failed before).
    template <class CompletionToken>
    auto async_stop(CompletionToken&& token) {
        return initiate<stop_signature>(&node::do_stop, token);
    }

    /// Thread-safe.
    node_status status() const;

    /// Counters, gauges and histograms for monitoring (raftlite/metrics.hpp).
    /// Thread-safe.
    node_metrics metrics() const;

    /// The port the node listens on (useful with port 0).
    std::uint16_t listen_port() const;

    /// Clean shutdown: timers cancelled, connections closed, storage synced,
    /// pending operations completed with errc::stopped. Callable from any
    /// thread, also from a delivery or completion handler.
    void stop();

private:
    // async_initiate with the handler type-erased, so that each operation's
    // work is compiled once, in node.cpp: `start` receives the handler and
    // the operation's arguments.
    template <class Signature, class CompletionToken, class... Args>
    auto initiate(void (node::*start)(boost::asio::any_completion_handler<Signature>, Args...),
                  CompletionToken& token, Args... args) {
        return boost::asio::async_initiate<CompletionToken, Signature>(
            [this, start](auto handler, Args... a) {
                (this->*start)(boost::asio::any_completion_handler<Signature>(std::move(handler)), std::move(a)...);
            },
            token, std::move(args)...);
    }

    void do_broadcast(boost::asio::any_completion_handler<broadcast_signature> handler, shared_bytes payload);
    void do_receive(boost::asio::any_completion_handler<receive_signature> handler);
    void do_stop(boost::asio::any_completion_handler<stop_signature> handler);
    void do_snapshot(boost::asio::any_completion_handler<snapshot_signature> handler);
    void do_read_index(boost::asio::any_completion_handler<read_signature> handler);
    void do_change_membership(boost::asio::any_completion_handler<membership_signature> handler,
                              membership_change change);
    void do_transfer(boost::asio::any_completion_handler<transfer_signature> handler, node_id target);

    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace raftlite

#endif
