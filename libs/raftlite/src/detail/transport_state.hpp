// raftlite — private: the state shared by the transport's parts.
//
// Concurrency model: one strand, no mutex. Every socket, acceptor and timer
// is bound to the transport's strand, and every piece of connection state
// (the listener, the sessions, each peer_link's queue and connection) is
// touched only by code running on that strand: completion handlers, and what
// the public methods hand to it. So nothing needs a lock, and a close can
// never race an operation in progress on an I/O object (an async_write issues
// its next write_some from whichever io thread runs the strand).
//
// What other threads may touch:
// - send() encodes on the calling thread, then dispatches the frame to the
//   strand (inline when already on it, e.g. from on_message), which queues it.
// - stop() sets `stopped` and releases the listen port at once (see
//   release_listen_port), then dispatches the closing of every connection to
//   the strand. Handlers that run before that close see `stopped` and do
//   nothing.
// - Counters are atomics, written on the strand (or in send()) and read by
//   stats() from any thread.
// - The set of peers (peers_, with their peer_links) changes under
//   peers_mutex_: add_peer, remove_peer and set_peers change it on the
//   calling thread, then post reconcile() to the strand, which makes the
//   connections follow (see transport_peers.cpp). Any thread looks a peer up
//   under the shared lock. No handler and no I/O ever runs under the lock:
//   under it the maps change, new links are made (not started) and
//   reconcile() is posted, so that reconciles run in the order of the changes.
//
// Removal. A removed link is marked `removed` at once (under the lock):
// enqueue() and deliver() check the mark on the strand, so nothing more is
// queued for it or delivered from it. reconcile() then closes it and its
// inbound sessions and folds its counters into retired_ (under the exclusive
// lock), so totals never go back; until then stats() sums it from retiring_.
// Code that counts on a link from another thread (send()) does so with
// count_on(), under the shared lock, so that no count lands in a link whose
// counters were already folded.
//
// Stale completions. Every handler is made by strand_handler(), which
// checks, before the part's code runs, that the transport is not stopped and
// that the operation belongs to the part's current connection. A part's code
// therefore never sees a completion from a connection it has already reset.
//
// Ownership. transport_state owns the listener and the peer_links; sessions
// are owned by their pending handlers (the state keeps weak references to
// close them). The parts refer back to the state by reference, and every
// handler holds a shared_ptr to the state as well as to its part, so the
// state outlives every handler and there are no reference cycles.
#ifndef RAFTLITE_SRC_DETAIL_TRANSPORT_STATE_HPP
#define RAFTLITE_SRC_DETAIL_TRANSPORT_STATE_HPP

#include <raftlite/codec.hpp>
#include <raftlite/transport.hpp>

#include <raftlite/log.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <utility>
#include <vector>

namespace boost::asio::ssl { class context; }

// One record per event on the "net" channel, tagged with this transport's
// node id (several nodes may share a process and a thread: tests, tools).
// Use as a statement: RAFTLITE_NET_LOG(state, warning) << ...;
#define RAFTLITE_NET_LOG(state, sev)                                                  \
    if (::raftlite::log_node_scope raftlite_net_log_scope_{(state).opts.self}; false) \
        ;                                                                             \
    else                                                                              \
        RAFTLITE_LOG_NET(sev)

namespace raftlite::detail {

class listener;
class inbound_session;
class peer_link;

/// The transport's strand (make_strand_executor): every socket, timer and
/// handler of the transport runs on it.
using strand_type = boost::asio::any_io_executor;

/// Socket options for every peer connection: no Nagle delay, and dead peers
/// detected by the kernel (keepalive probes on idle connections, a bound on
/// unacknowledged data) so that a peer that vanished without closing its
/// connection does not hold an inbound slot or a stalled outbound link forever.
void tune_peer_socket(boost::asio::ip::tcp::socket& s);

using counter = std::atomic<std::uint64_t>;

inline void count(counter& c, std::uint64_t n = 1) noexcept { c.fetch_add(n, std::memory_order_relaxed); }

/// The counters of transport_stats that belong to no peer.
struct transport_counters {
    counter dropped_unknown_peer{0};
    counter inbound_accepted{0};
    counter inbound_rejected{0};
    counter inbound_connections{0};   ///< open now
    counter handshakes_rejected{0};
    counter bad_frames{0};
    counter tls_handshakes_failed{0};
    counter dropped_peer_removed{0};
    counter received_from_removed{0};
    counter peers_added{0};
    counter peers_removed{0};
};

/// One peer's counters (peer_transport_stats); owned by its peer_link. Also
/// the sum of removed peers' (transport_state::retired_) and of senders that
/// are no peers (transport_state::unknown).
struct peer_counters {
    counter messages_sent{0};
    counter bytes_sent{0};
    counter dropped_queue_full{0};
    counter dropped_too_large{0};
    counter dropped_stopped{0};
    counter connects{0};
    counter connect_failures{0};
    counter ack_timeouts{0};
    counter queued_messages{0};       ///< now
    counter queued_bytes{0};          ///< now
    std::atomic<bool> connected{false};
    counter messages_received{0};
    counter bytes_received{0};
    counter inbound_connections{0};   ///< authenticated, open now
};

/// Adds the cumulative counters of `from` (not what is open or queued now) to `to`.
void fold_counters(const peer_counters& from, peer_counters& to) noexcept;

class transport_state : public std::enable_shared_from_this<transport_state> {
public:
    transport_state(boost::asio::any_io_executor ex, transport_options options,
                    transport::message_handler on_message);
    ~transport_state();

    // ---- any thread ----
    void start();
    void stop();
    void send(envelope env);
    void add_peer(node_id id, endpoint_address address);
    void remove_peer(node_id id);
    void set_peers(const std::map<node_id, endpoint_address>& peers);
    std::map<node_id, endpoint_address> peers() const;
    transport_stats stats() const;
    /// The current link to `id`, or null when `id` is not a peer.
    std::shared_ptr<peer_link> find_link(node_id id) const;
    /// What a handshake naming `id` finds: the link when `id` is a peer, and
    /// whether `id` was removed (and not added again).
    struct sender_lookup {
        std::shared_ptr<peer_link> link;
        bool removed = false;
    };
    sender_lookup lookup_sender(node_id id) const;
    /// Counts `n` on `link`'s counter `c`, or on retired_ once the link's
    /// counters were folded there.
    void count_on(peer_link& link, counter peer_counters::*c, std::uint64_t n = 1);
    /// The encoding of a log_request's entries, shared by every follower the
    /// same batch goes to (see send).
    std::shared_ptr<const encoded_entries> shared_entries(const std::vector<log_entry>& suffix);

    // ---- on the strand ----
    void add_session(const std::shared_ptr<inbound_session>& s);
    void remove_session(inbound_session* s);
    /// Records that `s` is now the connection from `peer`; closes an older
    /// connection from the same peer (it is dead or about to be: the peer
    /// only keeps one outbound connection to us).
    void session_authenticated(node_id peer, const std::shared_ptr<inbound_session>& s);
    std::size_t session_count() const noexcept { return sessions_.size(); }
    /// Hands a message of `frame_bytes` from the connection `s` to the
    /// application, unless stopped or the sender was removed.
    void deliver(envelope env, inbound_session& s, std::size_t frame_bytes);

    strand_type strand;
    const transport_options opts;
    const transport::message_handler on_message;
    /// What every accepted connection is answered with (handshake_ack naming
    /// this node); read-only, shared by the sessions' writes.
    const std::vector<char> handshake_ack_frame;

    /// Set once, by stop(); read anywhere.
    std::atomic<bool> stopped{false};
    std::atomic<std::uint16_t> bound_port{0};
    /// The TLS context when opts.tls.enabled, loaded by start() before
    /// anything connects; null otherwise. Read-only once set.
    std::unique_ptr<boost::asio::ssl::context> tls;
    transport_counters counters;
    /// Inbound from senders that are not peers (accept_unknown_peers).
    peer_counters unknown;

private:
    struct peer_entry {
        endpoint_address address;
        std::shared_ptr<peer_link> link;
    };

    /// On the strand: starts accepting and connecting, unless stopped.
    void run(std::shared_ptr<listener> l);
    /// With peers_mutex_ held exclusively: the changes of add_peer and
    /// remove_peer; true when the set changed.
    bool add_locked(node_id id, endpoint_address address);
    bool remove_locked(node_id id);
    /// Posts reconcile() to the strand (never runs it inline: it takes the
    /// lock). Called with the lock held, so reconciles run in the order of
    /// the changes.
    void post_reconcile();
    /// On the strand: makes links, sessions and counters follow peers_ (see
    /// transport_peers.cpp). Idempotent.
    void reconcile();
    /// On the strand: closes a removed link and the sessions authenticated
    /// through it.
    void retire(const std::shared_ptr<peer_link>& link);
    /// On the strand: closes the listener, every session and every link.
    void close_all();
    /// Any thread, once: makes the listening socket stop listening with
    /// shutdown(2), which on Linux frees the port for a new bind (with
    /// SO_REUSEADDR, as the listener sets it) and fails the pending accept.
    /// It is a system call on the descriptor, not a use of the acceptor
    /// object, so it cannot race the strand; the acceptor itself is closed
    /// there, by close_all.
    void release_listen_port() noexcept;

    std::atomic<bool> started_{false};
    /// The listening socket's descriptor from start() until stop() releases it.
    std::atomic<int> listen_fd_{-1};
    // guarded by peers_mutex_
    mutable std::shared_mutex peers_mutex_;
    std::map<node_id, peer_entry> peers_;
    std::set<node_id> removed_ids_;                        ///< removed and not added again
    std::vector<std::shared_ptr<peer_link>> retiring_;    ///< removed, counters not yet folded
    peer_counters retired_;                                ///< folded counters of removed peers (atomics: see count_on)

    // The batches encoded last, for the next followers' log_requests (a
    // leader sends one batch to each follower in turn). A batch is named by
    // its first and last entries' index and term, which fix every entry
    // between them in one leader's log (Log Matching, §5.3); the payloads
    // of those two are compared as well and kept alive, so a pointer is
    // never compared with a freed one's.
    struct recent_batch {
        index_t first = 0, last = 0;
        term_t first_term = 0, last_term = 0;
        shared_bytes first_payload, last_payload;
        std::shared_ptr<const encoded_entries> entries;
    };
    std::mutex recent_mutex_;
    std::array<recent_batch, 4> recent_;
    std::size_t recent_next_ = 0;

    // strand only
    bool running_ = false;                                 ///< run() has started the listener
    bool reconciled_ = false;                              ///< reconcile() has started the first links
    std::map<node_id, std::shared_ptr<peer_link>> active_; ///< the links reconcile() knows of
    std::shared_ptr<listener> listener_;
    std::map<inbound_session*, std::weak_ptr<inbound_session>> sessions_;
    std::map<node_id, std::weak_ptr<inbound_session>> by_peer_;
};

/// The completion handler for an operation that `part` (a listener,
/// inbound_session or peer_link) starts on the strand. It keeps the part and
/// the transport state alive until it runs, and calls `f(*part, args...)`
/// only if `part->current(ticket)` still holds, where the ticket is what
/// part->ticket() said when the operation started: the transport is not
/// stopped and the operation belongs to the part's current connection.
/// Completions that fail the check (operation_aborted after a close, late
/// results of a connection already reset) end here.
template <class Part, class F>
auto strand_handler(const std::shared_ptr<Part>& part, F f) {
    return [part, keep = part->state().shared_from_this(), ticket = part->ticket(),
            f = std::move(f)](auto&&... args) mutable {
        if (part->current(ticket))
            std::invoke(f, *part, std::forward<decltype(args)>(args)...);
    };
}

} // namespace raftlite::detail

#endif
