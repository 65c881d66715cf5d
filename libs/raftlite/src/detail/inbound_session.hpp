// raftlite — private: one accepted connection. Reads frames; the first must be
// a valid handshake, which fixes the sender of every later message.
//
// Once the handshake is accepted the session writes one handshake_ack frame
// (transport_state::handshake_ack_frame), its only write; a refused handshake
// gets none.
//
// Reads are buffered: each read takes whatever the socket has (up to the
// buffer's free space, at least what the current frame still needs), and
// every complete frame in the buffer is handled before the next read. A
// stream of small messages then costs one system call per buffer, not two
// per message.
//
// With TLS the session first completes the TLS handshake (the client's
// certificate verified against the cluster CA), then reads the raftlite
// handshake as usual and also requires the certificate to name the node the
// handshake claims. handshake_timeout bounds both handshakes together.
//
// Everything here runs on the transport's strand (see transport_state.hpp).
#ifndef RAFTLITE_SRC_DETAIL_INBOUND_SESSION_HPP
#define RAFTLITE_SRC_DETAIL_INBOUND_SESSION_HPP

#include "peer_stream.hpp"
#include "transport_state.hpp"

#include <raftlite/codec.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>

namespace raftlite::detail {

class inbound_session : public std::enable_shared_from_this<inbound_session> {
public:
    inbound_session(transport_state& state, boost::asio::ip::tcp::socket socket);

    /// Arms the handshake timer, then starts the TLS handshake or the first read.
    void start();
    /// Closes the connection, logging `reason` (if not null) at `warning`.
    /// Idempotent.
    void close(const char* reason);
    void close_quietly();

    node_id peer() const noexcept { return peer_; }
    /// The link of the peer this connection is authenticated as; null before
    /// the handshake and for a sender that is not a peer (accept_unknown_peers).
    const std::shared_ptr<peer_link>& link() const noexcept { return link_; }
    /// Where this connection's messages are counted: link()'s counters, or
    /// the transport's `unknown` ones.
    peer_counters& counters() const noexcept { return *from_; }
    /// On the strand: the sender, let in as unknown, is now the peer of
    /// `link`: count on it from now on.
    void attach(std::shared_ptr<peer_link> link);

    // For strand_handler: every operation belongs to the one connection.
    struct ticket_type {};
    transport_state& state() const noexcept { return state_; }
    ticket_type ticket() const noexcept { return {}; }
    bool current(ticket_type) const noexcept {
        return !closed_ && !state_.stopped.load(std::memory_order_relaxed);
    }

private:
    /// Handles every complete frame in the buffer, then starts the read for
    /// the rest of the next one. Delivers messages: the application may stop
    /// the transport (closing this session) from any of them.
    void process();
    /// Reads until at least `need` unread bytes are buffered, then process().
    void do_read(std::size_t need);
    void on_read(const boost::system::error_code& ec, std::size_t n);
    /// Validates the frame header at the read position; closes the connection
    /// and returns false on a bad one.
    bool check_header();
    void on_read_error(const boost::system::error_code& ec);
    void on_handshake_timeout(const boost::system::error_code& ec);
    void on_tls_handshake(const boost::system::error_code& ec);
    /// Validates a handshake payload; closes the connection and returns
    /// false when it is refused.
    bool accept_handshake(const char* data, std::size_t n);
    void on_ack_written(const boost::system::error_code& ec, std::size_t n);
    void reject(const std::string& why);

    std::size_t buffered() const noexcept { return end_ - begin_; }

    transport_state& state_;
    peer_stream stream_;
    boost::asio::steady_timer handshake_timer_;
    std::string remote_;                       ///< "address:port", for the logs
    // read buffer: unread bytes are [begin_, end_) of buf_[0, capacity_)
    std::unique_ptr<char[]> buf_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    bool have_header_ = false;                 ///< frame_ holds the current frame's header
    frame_header frame_;
    node_id peer_ = no_node;                   ///< set by the handshake
    std::shared_ptr<peer_link> link_;          ///< see link()
    peer_counters* from_ = nullptr;            ///< see counters(); set with peer_
    bool closed_ = false;
};

} // namespace raftlite::detail

#endif
