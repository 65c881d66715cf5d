// raftlite — private: the outbound connection to one peer. Connects, sends the
// handshake, then drains a bounded queue of encoded frames with gather
// writes; reconnects with capped exponential backoff.
//
// Each connection attempt gets a fresh peer_stream (plain or TLS), held by
// the handlers of its operations: completions of an old connection can never
// touch the next one. With TLS, the server's certificate must name the peer
// this link is for before the raftlite handshake is sent.
#ifndef RAFTLITE_SRC_DETAIL_PEER_LINK_HPP
#define RAFTLITE_SRC_DETAIL_PEER_LINK_HPP

#include "peer_stream.hpp"
#include "transport_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace raftlite::detail {

class peer_link : public std::enable_shared_from_this<peer_link> {
public:
    peer_link(transport_state& state, node_id peer, endpoint_address address);

    /// Starts connecting. Needs `mu`.
    void start();
    /// Closes the connection and cancels timers; queued frames are dropped
    /// (counted as dropped_stopped). Needs `mu`.
    void close();
    /// Uses `address` from the next connection attempt on; drops the current
    /// connection. Needs `mu`.
    void set_address(endpoint_address address);

    /// Queues one encoded frame. Any thread, without `mu`. Drops the oldest
    /// queued frames when the queue's bounds would be exceeded.
    void enqueue(std::vector<char> frame);
    std::size_t queued() const;

private:
    using clock = std::chrono::steady_clock;

    void do_resolve();
    void on_resolve(std::uint64_t gen, const boost::system::error_code& ec,
                    const boost::asio::ip::tcp::resolver::results_type& results);
    void on_connect(std::uint64_t gen, const boost::system::error_code& ec);
    void on_connect_timeout(std::uint64_t gen, const boost::system::error_code& ec);
    void on_tls_handshake(std::uint64_t gen, const boost::system::error_code& ec);
    void send_handshake();  // needs `mu`
    void on_handshake_written(std::uint64_t gen, const boost::system::error_code& ec);
    void do_write();        // needs `mu`
    void on_write_posted();
    void on_write(std::uint64_t gen, const boost::system::error_code& ec, std::size_t n);
    void do_watch();        // needs `mu`
    void on_watch(std::uint64_t gen, const boost::system::error_code& ec);
    void on_backoff(std::uint64_t gen, const boost::system::error_code& ec);
    /// Ends the current connection (or attempt) and schedules the next one. Needs `mu`.
    void fail(const char* what, const boost::system::error_code& ec);
    /// Closes the socket and puts the in-flight batch back at the head of the
    /// queue (a new connection starts a new stream, so it is sent whole again). Needs `mu`.
    void reset_connection();
    void post_write();

    transport_state& state_;
    const node_id peer_;
    endpoint_address address_;                 ///< guarded by `mu`

    // strand + `mu`
    boost::asio::ip::tcp::resolver resolver_;
    std::shared_ptr<peer_stream> stream_;      ///< the current attempt's; null between attempts
    boost::asio::steady_timer connect_timer_;  ///< bounds connect + handshake
    boost::asio::steady_timer backoff_timer_;
    std::uint64_t gen_ = 0;                    ///< connection attempt; stale completions are ignored
    bool connected_ = false;                   ///< handshake written on the current socket
    bool failed_logged_ = false;               ///< a failure was logged since the last success
    std::chrono::milliseconds backoff_;
    clock::time_point connected_at_{};
    std::vector<char> handshake_frame_;
    std::vector<std::vector<char>> writing_;   ///< the batch being written
    bool write_in_flight_ = false;
    char watch_byte_ = 0;

    // queue: guarded by qmu_
    mutable std::mutex qmu_;
    std::deque<std::vector<char>> queue_;
    std::size_t queued_bytes_ = 0;
    bool writable_ = false;                    ///< connected: enqueue() may start a write
    bool kick_pending_ = false;                ///< a do_write is posted or a write is in flight
    bool drop_logged_ = false;                 ///< a queue-full drop was logged since the last write
};

} // namespace raftlite::detail

#endif
