// raftlite — private: one accepted connection. Reads frames; the first must be
// a valid handshake, which fixes the sender of every later message.
#ifndef RAFTLITE_SRC_DETAIL_INBOUND_SESSION_HPP
#define RAFTLITE_SRC_DETAIL_INBOUND_SESSION_HPP

#include "transport_state.hpp"

#include <raftlite/codec.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace raftlite::detail {

class inbound_session : public std::enable_shared_from_this<inbound_session> {
public:
    inbound_session(transport_state& state, boost::asio::ip::tcp::socket socket);

    /// Arms the handshake timer and reads the first frame header. Needs `mu`.
    void start();
    /// Closes the connection, logging `reason` (if not null) at `warning`.
    /// Idempotent. Needs `mu`.
    void close(const char* reason);
    void close_quietly();

    node_id peer() const noexcept { return peer_; }

private:
    void do_read_header();
    void on_read_header(const boost::system::error_code& ec, std::size_t n);
    void do_read_body();
    void on_read_body(const boost::system::error_code& ec, std::size_t n);
    void on_handshake_timeout(const boost::system::error_code& ec);
    /// Validates the handshake in body_; closes the connection and returns
    /// false when it is refused. Needs `mu`.
    bool accept_handshake();
    void reject(const std::string& why);

    transport_state& state_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer handshake_timer_;
    std::string remote_;                       ///< "address:port", for the logs
    std::array<char, frame_header_size> header_{};
    frame_header frame_;
    std::vector<char> body_;                   ///< reused between frames
    node_id peer_ = no_node;                   ///< set by the handshake
    bool closed_ = false;
};

} // namespace raftlite::detail

#endif
