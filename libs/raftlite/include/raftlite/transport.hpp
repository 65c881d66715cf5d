// raftlite — the peer-to-peer transport: TCP connections carrying framed
// messages (codec.hpp) between the members of one cluster.
//
// Every node keeps one outbound connection per peer (a peer_link) and accepts
// one inbound connection from each peer: messages travel on the sender's
// outbound connection only. The first frame on every connection is a
// handshake naming the cluster, the sender and the protocol version; the
// receiver attributes every message of that connection to the handshake's
// sender (envelope::from) and never to anything a payload says.
//
// A connection is one-way after its handshake, except for one frame: the
// receiver answers an accepted handshake with a handshake_ack naming itself
// (a refused one gets none: the connection is closed). The sender counts the
// connection as up, and writes messages on it, only once that acknowledgement
// arrives, from the node it meant to reach; handshake_timeout bounds connect,
// TLS, handshake and acknowledgement together. Without it, a connection that
// some proxy, load balancer or half-open TCP path accepts and never delivers
// would take the sender's messages into a kernel buffer until TCP gives up
// (many minutes). After the acknowledgement the sender keeps a read posted:
// the peer closing the connection is noticed at once, anything it writes is
// a protocol error; either way the link reconnects.
//
// Failure containment: a bad handshake, a frame over max_frame_bytes or a
// frame that fails to decode closes that one connection, with a logged
// reason. Outbound connections are re-established with capped exponential
// backoff; messages for a disconnected peer wait in a bounded per-peer queue.
// Raft tolerates lost messages, so when the queue is full the OLDEST queued
// message is dropped (and counted): newer messages carry newer terms and
// commit indexes and are worth more than stale ones.
//
// Peers change while the transport runs (cluster membership changes):
// add_peer, remove_peer and set_peers change the set at once for send(),
// stats() and peers(), and the connections follow on the transport's strand.
// A removed peer's outbound link is closed and its queued messages dropped
// (counted), every inbound connection authenticated as it is closed, and from
// then on its handshakes are refused and nothing more it sent is delivered,
// until it is added again. Who may connect is decided by the handshake alone:
// a current peer, or with options.accept_unknown_peers any id of the cluster
// that was not removed. What a handshake proves is the same for every sender
// (the id it names, bound to the certificate with TLS on).
//
// TLS (options.tls.enabled): every connection, inbound and outbound, is TLS
// 1.2 or later with certificates verified in both directions against the
// cluster CA. The server side (inbound) checks, once the raftlite handshake
// is read, that the client's certificate names the node id the handshake
// claims (tls_node_name: DNS subjectAltName "node-<id>"); the client side
// (outbound) checks that the server's certificate names the peer it meant to
// reach. A certificate from another CA, a certificate naming another node,
// or plaintext sent to a TLS port closes the connection with a logged reason
// (handshakes_rejected). With TLS off nothing of it is on the data path.
//
// No Asio headers here (the implementation is behind a pointer); the
// io_context is only forward-declared.
#ifndef RAFTLITE_TRANSPORT_HPP
#define RAFTLITE_TRANSPORT_HPP

#include <raftlite/messages.hpp>
#include <raftlite/transport_options.hpp>
#include <raftlite/types.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace boost::asio { class io_context; }

namespace raftlite {

namespace detail {
class transport_state;
struct transport_test_access;   // raftlite/detail/transport_test_access.hpp
} // namespace detail

/// One peer's share of transport_stats: the outbound link to it and the
/// inbound connection from it. The counters start at zero when the peer is
/// added (at construction or later, again after a removal).
struct peer_transport_stats {
    node_id id = no_node;
    // outbound
    std::uint64_t messages_sent = 0;          ///< message frames written to a socket
    std::uint64_t bytes_sent = 0;             ///< bytes of those frames
    std::uint64_t messages_dropped = 0;       ///< never written: queue full, too large or stopped
    std::uint64_t connects = 0;               ///< outbound connections established (handshake acknowledged)
    std::uint64_t connect_failures = 0;       ///< failed connection attempts and lost connections
    std::uint64_t ack_timeouts = 0;           ///< attempts whose handshake got no acknowledgement within handshake_timeout; also in connect_failures
    std::uint64_t queued_messages = 0;        ///< waiting in the queue now
    std::uint64_t queued_bytes = 0;           ///< bytes of those
    bool connected = false;                   ///< the outbound connection is up now
    // inbound
    std::uint64_t messages_received = 0;      ///< messages from this peer handed to on_message
    std::uint64_t bytes_received = 0;         ///< bytes of those frames
    std::uint64_t inbound_connections = 0;    ///< authenticated connections from this peer open now
};

/// Counters since construction, and what is open now. Readable from any
/// thread at any time; each counter is read atomically, not all of them at
/// one instant. The totals include what removed peers counted.
struct transport_stats {
    // outbound
    std::uint64_t messages_sent = 0;          ///< message frames written to a socket
    std::uint64_t bytes_sent = 0;             ///< bytes of those frames
    std::uint64_t dropped_queue_full = 0;     ///< oldest queued messages dropped to make room
    std::uint64_t dropped_too_large = 0;      ///< encoded message over max_frame_bytes or max_queue_bytes
    std::uint64_t dropped_unknown_peer = 0;   ///< sent to an id not a current peer (or to self)
    std::uint64_t dropped_peer_removed = 0;   ///< queued for a peer when it was removed, or sent to it during its removal
    std::uint64_t dropped_stopped = 0;        ///< sent after stop(), or still queued at stop()
    std::uint64_t connects = 0;               ///< outbound connections established (handshake acknowledged)
    std::uint64_t connect_failures = 0;       ///< failed connection attempts and lost connections
    std::uint64_t ack_timeouts = 0;           ///< attempts whose handshake got no acknowledgement within handshake_timeout (a proxy or half-open connection that never delivers); also in connect_failures
    std::uint64_t outbound_connections = 0;   ///< outbound connections up now
    // inbound
    std::uint64_t messages_received = 0;      ///< messages handed to on_message
    std::uint64_t bytes_received = 0;         ///< bytes of those frames
    std::uint64_t inbound_accepted = 0;       ///< connections accepted
    std::uint64_t inbound_rejected = 0;       ///< refused: max_inbound_connections reached
    std::uint64_t inbound_connections = 0;    ///< accepted connections open now (with or without handshake)
    std::uint64_t handshakes_rejected = 0;    ///< wrong cluster / sender / version, malformed, timed out, TLS refused
    std::uint64_t tls_handshakes_failed = 0;  ///< inbound TLS handshakes that failed (untrusted or no certificate, plaintext); also in handshakes_rejected
    std::uint64_t bad_frames = 0;             ///< oversized or undecodable frames, or a bad acknowledgement or unexpected bytes on an outbound connection (connection closed)
    std::uint64_t received_from_removed = 0;  ///< messages read from a removed peer's connection and not delivered
    std::uint64_t unknown_messages_received = 0; ///< from senders not among the peers (accept_unknown_peers); also in messages_received
    std::uint64_t unknown_connections = 0;    ///< authenticated connections open now from senders not among the peers
    // membership
    std::uint64_t peers_added = 0;            ///< ids made peers after construction (add_peer, set_peers)
    std::uint64_t peers_removed = 0;          ///< peers removed (remove_peer, set_peers)
    /// One entry per current peer, by ascending id.
    std::vector<peer_transport_stats> peers;
};

class transport {
public:
    /// Called with every message received, on the transport's internal strand
    /// (never concurrently with itself). `from` is the authenticated sender of
    /// the connection, `to` is this node.
    using message_handler = std::function<void(envelope)>;

    /// Nothing happens on the network until start(). `ioc` must outlive this
    /// object; it may be run by any number of threads.
    /// Every socket and handler of the transport runs on a strand of `executor`.
    transport(boost::asio::any_io_executor executor, transport_options options, message_handler on_message);
    transport(boost::asio::io_context& ioc, transport_options options, message_handler on_message);

    /// Stops (see stop()). Safe whether or not the io_context is running or
    /// has been stopped: handlers still queued in it keep what they need alive
    /// and never call on_message.
    ~transport();

    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// Loads the TLS files (when options.tls.enabled), binds and listens on
    /// options.listen (synchronously: listen_port() is valid on return) and
    /// starts connecting to every current peer.
    /// Throws boost::system::system_error if the address cannot be bound or a
    /// TLS file cannot be used (what() names the file).
    /// Calling it twice, or after stop(), does nothing.
    void start();

    /// Queues `env.msg` for peer `env.to` (env.from is ignored: the receiver
    /// learns the sender from the handshake); a message for an id that is not
    /// a current peer is dropped and counted (dropped_unknown_peer), also one
    /// for a sender let in by accept_unknown_peers: answering needs its
    /// address, from add_peer or set_peers. Never blocks on the network: the
    /// message is encoded on the calling thread and handed to the transport's
    /// strand, which puts it in the peer's bounded queue. Thread-safe; may be
    /// called before start() (the message waits for the connection). Messages
    /// from one thread to one peer are sent in the order of send().
    void send(envelope env);

    // ---- the set of peers (cluster membership) ----
    // Thread-safe, callable from on_message too, before start() and while
    // running; they do nothing after stop(). The set changes at once (send(),
    // stats() and peers() see it when the call returns); connections follow
    // on the transport's strand. `self` and no_node are never peers: entries
    // for them are ignored.

    /// Makes `id` a peer reached at `address` and connects to it (once
    /// started). For a current peer with another address, the link is pointed
    /// at the new address: its connection is closed and a new one made at
    /// once; queued messages are kept. The same address changes nothing.
    /// Lifts an earlier remove_peer(id).
    void add_peer(node_id id, endpoint_address address);

    /// Makes `id` no longer a peer: closes the outbound link and drops its
    /// queued messages (stats: dropped_peer_removed), closes every inbound
    /// connection authenticated as `id`, and from then on refuses `id`'s
    /// handshakes (handshakes_rejected; even with accept_unknown_peers) and
    /// delivers nothing more from it, not even a message already read
    /// (received_from_removed), until add_peer(id) or set_peers names it
    /// again. A delivery already running on another thread may finish.
    /// Later send()s to `id` count as dropped_unknown_peer. An id that is not
    /// a peer is still refused from then on (and its connections, let in by
    /// accept_unknown_peers, closed). Removed ids are remembered until they
    /// are added again.
    void remove_peer(node_id id);

    /// Makes the peers exactly `peers` in one step, as add_peer for every
    /// entry and remove_peer for every current peer not in it. A node calls
    /// it with its configuration's addresses whenever the configuration
    /// changes; calling it with the current set changes nothing.
    void set_peers(const std::map<node_id, endpoint_address>& peers);

    /// The current peers and their addresses (options().peers is the set at
    /// construction). set_peers(peers()) changes nothing.
    std::map<node_id, endpoint_address> peers() const;

    /// Closes the listener and every connection and cancels timers. After
    /// stop() returns the listen port is released and on_message is not
    /// called again (an invocation already running on another thread may
    /// finish). Connections are closed on the transport's strand: at once
    /// when stop() is called there (from on_message), otherwise when the
    /// io_context next runs it (or when it is destroyed). Thread-safe and
    /// idempotent.
    void stop();

    /// The port actually bound (differs from options.listen.port when that is
    /// 0); 0 before start().
    std::uint16_t listen_port() const noexcept;

    /// Thread-safe: the counters are atomics, the set of peers is read under
    /// a lock.
    transport_stats stats() const;

    const transport_options& options() const noexcept;

private:
    friend struct detail::transport_test_access;
    std::shared_ptr<detail::transport_state> state_;
};

} // namespace raftlite

#endif
