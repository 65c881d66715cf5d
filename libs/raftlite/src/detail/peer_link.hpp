// raftlite — private: the outbound connection to one peer. Connects, sends the
// handshake, waits for the peer's handshake_ack, then drains a bounded queue
// of encoded frames with gather writes (a frame's shared entries and large
// payloads are not copied); reconnects with capped exponential backoff.
//
// Everything here runs on the transport's strand (see transport_state.hpp);
// only `counters` is read from other threads.
//
// Each connection attempt gets a fresh peer_stream (plain or TLS), held by
// the handlers of its operations: completions of an old connection can never
// touch the next one. With TLS, the server's certificate must name the peer
// this link is for before the raftlite handshake is sent.
//
// A link lives as long as its peer is a member: a peer removed and added
// again gets a new link (and new counters). Once `removed` is set (by
// remove_peer, on any thread) the link does nothing more: no completion of
// its operations runs, nothing is queued; reconcile() then retires it.
#ifndef RAFTLITE_SRC_DETAIL_PEER_LINK_HPP
#define RAFTLITE_SRC_DETAIL_PEER_LINK_HPP

#include "peer_stream.hpp"
#include "transport_state.hpp"

#include <raftlite/detail/connect_failure_log.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace raftlite::detail {

/// One frame to send: its own bytes and, for a log_request with entries,
/// the entries' encoding it shares with the other followers' frames of the
/// same batch (codec.hpp, encoded_entries); held until written.
struct outgoing_frame {
    std::vector<char> head;
    std::shared_ptr<const encoded_entries> entries;
    std::size_t entries_size = 0;   ///< entries->wire_size()

    std::size_t size() const noexcept { return head.size() + entries_size; }
    /// Appends the buffers that send the frame, in order, without copying.
    void buffers(std::vector<boost::asio::const_buffer>& out) const;
};

class peer_link : public std::enable_shared_from_this<peer_link> {
public:
    peer_link(transport_state& state, node_id peer, endpoint_address address);

    /// Starts connecting (once: later calls do nothing).
    void start();
    /// Closes the connection and cancels timers; queued frames are dropped
    /// (counted as dropped_stopped).
    void close();
    /// close() for a removed peer: queued frames are counted in the
    /// transport's dropped_peer_removed.
    void retire();
    /// Uses `address` from now on: a different one drops the current
    /// connection and connects to it at once.
    void set_address(endpoint_address address);
    /// Queues one encoded frame (at most max_queue_bytes), dropping the oldest
    /// queued frames when the queue's bounds would be exceeded.
    void enqueue(outgoing_frame frame);

    node_id peer() const noexcept { return peer_; }
    const endpoint_address& address() const noexcept { return address_; }
    peer_counters counters;
    /// Set once, when the peer is removed (under the transport's peers lock).
    std::atomic<bool> removed{false};

    // For strand_handler: an operation belongs to one connection attempt.
    struct ticket_type {
        std::uint64_t gen;
        std::shared_ptr<peer_stream> stream;   ///< kept alive until the operation completes
    };
    transport_state& state() const noexcept { return state_; }
    ticket_type ticket() const { return {gen_, stream_}; }
    bool current(const ticket_type& t) const noexcept {
        return t.gen == gen_ && !state_.stopped.load(std::memory_order_relaxed) &&
               !removed.load(std::memory_order_relaxed);
    }

private:
    using clock = std::chrono::steady_clock;

    void do_resolve();
    void on_resolve(const boost::system::error_code& ec,
                    const boost::asio::ip::tcp::resolver::results_type& results);
    void on_connect(const boost::system::error_code& ec);
    void on_connect_timeout(const boost::system::error_code& ec);
    void on_tls_handshake(const boost::system::error_code& ec);
    void send_handshake();
    void on_handshake_written(const boost::system::error_code& ec, std::size_t n);
    void on_ack_header(const boost::system::error_code& ec, std::size_t n);
    void on_ack(const boost::system::error_code& ec, std::size_t n);
    /// An acknowledgement's read failed: the peer refused the handshake
    /// (closed), or the connection broke.
    void ack_read_failed(const boost::system::error_code& ec);
    /// The acknowledgement arrived: the connection is up.
    void on_acknowledged();
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t n);
    void do_watch();
    void on_watch(const boost::system::error_code& ec, std::size_t n);
    void on_backoff(const boost::system::error_code& ec);
    /// Ends the current connection (or attempt) and schedules the next one.
    void fail(const char* what, const boost::system::error_code& ec);
    /// Closes the socket and puts the in-flight batch back at the head of the
    /// queue (a new connection starts a new stream, so it is sent whole again).
    void reset_connection();
    /// Drops the oldest queued frames until `incoming` more bytes in one more
    /// frame (none when `incoming` is 0) fit within max_queue_bytes and
    /// max_queue_messages; counts and logs the drops.
    void make_room(std::size_t incoming);
    /// Publishes the queue's size in `counters`.
    void queue_changed() noexcept;
    /// Ends the connection and empties the queue, counting its frames in `dropped`.
    void close_dropping(counter& dropped);
    /// "n2 at 127.0.0.1:7002", for log lines.
    std::string target() const;

    transport_state& state_;
    const node_id peer_;
    endpoint_address address_;

    boost::asio::ip::tcp::resolver resolver_;
    std::shared_ptr<peer_stream> stream_;      ///< the current attempt's; null between attempts
    boost::asio::steady_timer connect_timer_;  ///< bounds connect + handshake
    boost::asio::steady_timer backoff_timer_;
    std::uint64_t gen_ = 0;                    ///< connection attempt; stale completions are ignored
    bool started_ = false;
    bool handshake_sent_ = false;              ///< handshake written on the current socket, awaiting its acknowledgement
    bool connected_ = false;                   ///< handshake acknowledged on the current socket
    connect_failure_log failures_;             ///< which failed attempts are worth a line
    std::chrono::milliseconds backoff_;
    clock::time_point connected_at_{};
    std::vector<char> handshake_frame_;
    std::vector<outgoing_frame> writing_;      ///< the batch being written
    bool write_in_flight_ = false;
    bool write_posted_ = false;                ///< a do_write is posted: enqueue() need not post another
    char watch_byte_ = 0;

    std::deque<outgoing_frame> queue_;
    std::size_t queued_bytes_ = 0;
    bool drop_logged_ = false;                 ///< a queue-full drop was logged since the last write
};

} // namespace raftlite::detail

#endif
