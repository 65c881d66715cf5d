// raftlite — private: the byte stream under one peer connection: a TCP
// socket, or TLS over that socket.
//
// One object per connection. The TLS layer refers to the socket, so the
// object never moves; owners keep it alive (by shared_ptr or as a member of
// an object their handlers hold) until every operation on it has completed.
// With TLS off, every operation goes straight to the socket: one branch, no
// allocation, no copy.
//
// It is an AsyncReadStream / AsyncWriteStream for asio::async_read and
// asio::async_write, with plain completion handlers (not arbitrary tokens).
#ifndef RAFTLITE_SRC_DETAIL_PEER_STREAM_HPP
#define RAFTLITE_SRC_DETAIL_PEER_STREAM_HPP

#include <raftlite/transport_options.hpp>
#include <raftlite/types.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace raftlite::detail {

class peer_stream {
public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;
    using handshake_type = boost::asio::ssl::stream_base::handshake_type;

    /// Over an accepted socket. `tls` not null: TLS, its handshake still to do.
    peer_stream(socket_type socket, boost::asio::ssl::context* tls)
        : socket_(std::move(socket)) {
        if (tls)
            tls_.emplace(socket_, *tls);
    }
    /// Over a new, unopened socket (for connecting).
    peer_stream(const executor_type& ex, boost::asio::ssl::context* tls) : socket_(ex) {
        if (tls)
            tls_.emplace(socket_, *tls);
    }
    peer_stream(const peer_stream&) = delete;   // tls_ refers to socket_
    peer_stream& operator=(const peer_stream&) = delete;

    socket_type& socket() noexcept { return socket_; }
    executor_type get_executor() noexcept { return socket_.get_executor(); }
    bool is_tls() const noexcept { return tls_.has_value(); }
    /// The OpenSSL connection, or null without TLS.
    SSL* native_handle() noexcept { return tls_ ? tls_->native_handle() : nullptr; }

    /// Only with TLS.
    template <class Handler>
    void async_handshake(handshake_type type, Handler&& handler) {
        tls_->async_handshake(type, std::forward<Handler>(handler));
    }

    template <class MutableBuffers, class Handler>
    void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        on_stream([&](auto& s) { s.async_read_some(buffers, std::forward<Handler>(handler)); });
    }

    template <class ConstBuffers, class Handler>
    void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        on_stream([&](auto& s) { s.async_write_some(buffers, std::forward<Handler>(handler)); });
    }

    /// Scratch for a writer that gathers frames into one buffer (TLS), and
    /// for a reader of one small frame (the handshake_ack). They belong to
    /// the connection, so an operation still pending on a dead connection
    /// never sees them reused by the next one.
    std::vector<char> write_buffer;
    std::vector<char> read_buffer;

    /// Closes the socket; pending operations complete with operation_aborted.
    /// No TLS close_notify: frames are self-delimiting, so a truncated stream
    /// is noticed anyway, and a dead peer must not delay the close.
    void close() noexcept {
        boost::system::error_code ignored;
        socket_.shutdown(socket_type::shutdown_both, ignored);
        socket_.close(ignored);
    }

private:
    /// Calls `op` with the TLS stream, or with the socket without TLS.
    template <class Op>
    void on_stream(Op&& op) {
        if (tls_)
            op(*tls_);
        else
            op(socket_);
    }

    socket_type socket_;
    std::optional<boost::asio::ssl::stream<socket_type&>> tls_;
};

/// The TLS settings of a transport, loaded once: TLS 1.2+, peer certificates
/// required and verified against the CA in both directions, no session
/// resumption. Throws boost::system::system_error naming the file at fault.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const tls_options& o);

/// Whether the peer's verified certificate names node `id` (tls_node_name).
/// `names` receives what it does name (for the logs).
bool peer_certificate_names(peer_stream& s, node_id id, std::string& names);

/// " (certificate: <why>)" when verifying the peer's certificate failed, else "".
std::string tls_verify_detail(peer_stream& s);

/// A TLS failure for the logs: the error and tls_verify_detail.
inline std::string describe_tls_failure(peer_stream& s, const boost::system::error_code& ec) {
    return ec.message() + tls_verify_detail(s);
}

} // namespace raftlite::detail

#endif
