// raftlite — private: accepts inbound connections and starts their sessions.
// open() runs in transport::start(), before anything else can use the
// acceptor; everything else on the transport's strand.
#ifndef RAFTLITE_SRC_DETAIL_LISTENER_HPP
#define RAFTLITE_SRC_DETAIL_LISTENER_HPP

#include "transport_state.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace raftlite::detail {

class listener : public std::enable_shared_from_this<listener> {
public:
    explicit listener(transport_state& state);

    /// Binds and listens on options.listen; throws system_error with the
    /// address in the message.
    void open();
    /// Starts the accept loop.
    void start();
    /// Closes the acceptor (pending accepts complete with operation_aborted).
    void close();

    std::uint16_t port() const noexcept { return port_; }
    /// The listening socket, once open.
    int native_handle() { return acceptor_.native_handle(); }

    // For strand_handler: the acceptor has one life, ended by stop().
    struct ticket_type {};
    transport_state& state() const noexcept { return state_; }
    ticket_type ticket() const noexcept { return {}; }
    bool current(ticket_type) const noexcept { return !state_.stopped.load(std::memory_order_relaxed); }

private:
    void do_accept();
    void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
    void on_retry(const boost::system::error_code& ec);

    transport_state& state_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;   ///< pause after accept errors such as EMFILE
    std::uint16_t port_ = 0;
};

} // namespace raftlite::detail

#endif
