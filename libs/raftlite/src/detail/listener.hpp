// raftlite — private: accepts inbound connections and starts their sessions.
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
    /// address in the message. Needs `mu`.
    void open();
    /// Starts the accept loop. Needs `mu`.
    void start();
    /// Closes the acceptor (pending accepts complete with operation_aborted). Needs `mu`.
    void close();

    std::uint16_t port() const noexcept { return port_; }

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
