// raftlite — the listener: accepts connections, bounded in number.
#include "detail/listener.hpp"

#include "detail/inbound_session.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <string>

namespace raftlite::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

listener::listener(transport_state& state)
    : state_(state), acceptor_(state.strand), retry_timer_(state.strand) {}

void listener::open() {
    const auto& where = state_.opts.listen;
    const std::string what = "raftlite transport: cannot listen on '" + where.host + ":" +
                             std::to_string(where.port) + "'";
    tcp::endpoint ep;
    boost::system::error_code ec;
    if (where.host.empty()) {
        ep = tcp::endpoint(tcp::v4(), where.port);
    } else if (auto addr = asio::ip::make_address(where.host, ec); !ec) {
        ep = tcp::endpoint(addr, where.port);
    } else {
        // A host name: resolve it once, now (start() is synchronous by design).
        tcp::resolver resolver(state_.strand);
        auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
        if (ec || results.empty())
            throw boost::system::system_error(ec ? ec : asio::error::host_not_found, what);
        ep = results.begin()->endpoint();
    }
    try {
        acceptor_.open(ep.protocol());
        // A restarted node must be able to bind its port while connections of
        // its previous incarnation linger in TIME_WAIT.
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(asio::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
    } catch (const boost::system::system_error& e) {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        throw boost::system::system_error(e.code(), what);
    }
}

void listener::start() { do_accept(); }

void listener::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

void listener::do_accept() {
    // The new socket is bound to the transport's strand, like everything else.
    acceptor_.async_accept(state_.strand, strand_handler(shared_from_this(), &listener::on_accept));
}

void listener::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted)
        return;
    if (ec) {
        // E.g. out of file descriptors: retrying at once would spin.
        RAFTLITE_NET_LOG(state_, warning) << "accept failed: " << ec.message() << "; retrying in 100 ms";
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait(strand_handler(shared_from_this(), &listener::on_retry));
        return;
    }
    if (state_.session_count() >= state_.opts.max_inbound_connections) {
        count(state_.counters.inbound_rejected);
        boost::system::error_code ignored;
        const auto remote = socket.remote_endpoint(ignored);
        RAFTLITE_NET_LOG(state_, warning) << "refusing connection from " << remote << ": "
                                          << state_.opts.max_inbound_connections
                                          << " inbound connections already open (max_inbound_connections)";
        socket.close(ignored);
    } else {
        count(state_.counters.inbound_accepted);
        auto session = std::make_shared<inbound_session>(state_, std::move(socket));
        state_.add_session(session);
        session->start();
    }
    do_accept();
}

void listener::on_retry(const boost::system::error_code& ec) {
    if (ec)
        return;
    do_accept();
}

} // namespace raftlite::detail
