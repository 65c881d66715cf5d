// raftlite — private: the state shared by the transport's parts.
//
// Concurrency model. Every socket, acceptor and timer is bound to one strand,
// so completion handlers never run concurrently. stop() and
// set_peer_address() may still be called from any thread, and Asio I/O
// objects must not be used from two threads at once: so every use of an I/O
// object (in handlers and in stop()) happens under `mu`. Handlers are already
// serialised by the strand, so `mu` is uncontended except during stop(); in
// exchange stop() is synchronous (the port is free when it returns) and works
// even when nobody runs the io_context any more.
//
// send() never takes `mu`: it only touches a peer_link's queue, which has its
// own mutex (lock order: mu, then a queue mutex).
//
// Ownership. transport_state owns the listener and the peer_links; sessions
// are owned by their pending handlers (the state keeps weak references to
// close them). The parts refer back to the state by reference, and every
// handler holds a shared_ptr to the state as well as to its part, so the
// state outlives every handler and there are no reference cycles.
#ifndef RAFTLITE_SRC_DETAIL_TRANSPORT_STATE_HPP
#define RAFTLITE_SRC_DETAIL_TRANSPORT_STATE_HPP

#include <raftlite/transport.hpp>

#include <raftlite/log.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

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

using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

/// Socket options for every peer connection: no Nagle delay, and dead peers
/// detected by the kernel (keepalive probes on idle connections, a bound on
/// unacknowledged data) so that a peer that vanished without closing its
/// connection does not hold an inbound slot or a stalled outbound link forever.
void tune_peer_socket(boost::asio::ip::tcp::socket& s);

/// transport_stats, as atomics.
struct atomic_stats {
    std::atomic<std::uint64_t> messages_sent{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> dropped_queue_full{0};
    std::atomic<std::uint64_t> dropped_too_large{0};
    std::atomic<std::uint64_t> dropped_unknown_peer{0};
    std::atomic<std::uint64_t> dropped_stopped{0};
    std::atomic<std::uint64_t> connects{0};
    std::atomic<std::uint64_t> connect_failures{0};
    std::atomic<std::uint64_t> messages_received{0};
    std::atomic<std::uint64_t> inbound_accepted{0};
    std::atomic<std::uint64_t> inbound_rejected{0};
    std::atomic<std::uint64_t> handshakes_rejected{0};
    std::atomic<std::uint64_t> bad_frames{0};
    std::atomic<std::uint64_t> tls_handshakes_failed{0};

    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.fetch_add(n, std::memory_order_relaxed);
    }
    transport_stats snapshot() const noexcept;
};

class transport_state : public std::enable_shared_from_this<transport_state> {
public:
    transport_state(boost::asio::io_context& ioc, transport_options options,
                    transport::message_handler on_message);
    ~transport_state();

    void start();
    void stop();
    void send(envelope env);
    void set_peer_address(node_id id, endpoint_address address);

    // ---- used by the parts (all of these need `mu` held) ----
    void add_session(const std::shared_ptr<inbound_session>& s);
    void remove_session(inbound_session* s);
    /// Records that `s` is now the connection from `peer`; closes an older
    /// connection from the same peer (it is dead or about to be: the peer
    /// only keeps one outbound connection to us).
    void session_authenticated(node_id peer, const std::shared_ptr<inbound_session>& s);
    std::size_t session_count() const noexcept { return sessions_.size(); }

    /// Hands a message to the application, unless stopped. Call without `mu`.
    void deliver(envelope env);

    boost::asio::io_context& ioc;
    strand_type strand;
    const transport_options opts;
    const transport::message_handler on_message;

    std::mutex mu;
    /// Written under `mu`; read without it as a hint (e.g. by send()).
    std::atomic<bool> stopped{false};
    std::atomic<std::uint16_t> bound_port{0};
    /// The TLS context when opts.tls.enabled, loaded by start() before
    /// anything connects; null otherwise. Read-only once set.
    std::unique_ptr<boost::asio::ssl::context> tls;
    atomic_stats stats;

    /// One per peer, created in the constructor and never changed afterwards,
    /// so send() can look links up without a lock.
    std::map<node_id, std::shared_ptr<peer_link>> links;

private:
    bool started_ = false;
    std::shared_ptr<listener> listener_;
    std::map<inbound_session*, std::weak_ptr<inbound_session>> sessions_;
    std::map<node_id, std::weak_ptr<inbound_session>> by_peer_;
};

} // namespace raftlite::detail

#endif
