// raftlite — an inbound session: handshake, then a stream of message frames.
#include "detail/inbound_session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>

#include <algorithm>
#include <sstream>

namespace raftlite::detail {

namespace asio = boost::asio;

namespace {

// Before the handshake the peer is a stranger: allow only a frame the size of
// a handshake, so that up to max_inbound_connections strangers cannot make
// the node allocate max_frame_bytes each.
std::size_t handshake_frame_limit(const transport_options& o) {
    return std::min(o.max_frame_bytes, frame_header_size + 64 + o.limits.max_cluster_id_bytes);
}

// A body buffer that grew for one large frame is not kept for small ones.
constexpr std::size_t keep_body_capacity = std::size_t(1) << 20;

} // namespace

inbound_session::inbound_session(transport_state& state, asio::ip::tcp::socket socket)
    : state_(state), socket_(std::move(socket)), handshake_timer_(state.strand) {
    boost::system::error_code ec;
    const auto ep = socket_.remote_endpoint(ec);
    std::ostringstream os;
    if (ec)
        os << "(unknown peer)";
    else
        os << ep;
    remote_ = os.str();
}

void inbound_session::start() {
    handshake_timer_.expires_after(state_.opts.handshake_timeout);
    handshake_timer_.async_wait([self = shared_from_this(), keep = state_.shared_from_this()](
                                    const boost::system::error_code& ec) { self->on_handshake_timeout(ec); });
    do_read_header();
}

void inbound_session::close(const char* reason) {
    if (closed_)
        return;
    if (reason) {
        if (peer_ != no_node) {
            RAFTLITE_NET_LOG(state_, warning) << "closing connection from n" << peer_ << " (" << remote_
                                              << "): " << reason;
        } else {
            RAFTLITE_NET_LOG(state_, warning) << "closing connection from " << remote_ << ": " << reason;
        }
    }
    close_quietly();
}

void inbound_session::close_quietly() {
    if (closed_)
        return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    handshake_timer_.cancel();
    state_.remove_session(this);
}

void inbound_session::do_read_header() {
    asio::async_read(socket_, asio::buffer(header_),
                     [self = shared_from_this(), keep = state_.shared_from_this()](
                         const boost::system::error_code& ec, std::size_t n) { self->on_read_header(ec, n); });
}

void inbound_session::on_read_header(const boost::system::error_code& ec, std::size_t) {
    std::lock_guard lock(state_.mu);
    if (closed_ || state_.stopped.load())
        return;
    if (ec) {
        if (ec == asio::error::eof || ec == asio::error::connection_reset) {
            RAFTLITE_NET_LOG(state_, debug) << "connection from " << remote_ << " closed by the peer";
            close(nullptr);
        } else {
            close(("read failed: " + ec.message()).c_str());
        }
        return;
    }
    const bool authenticated = peer_ != no_node;
    const std::size_t limit = authenticated ? state_.opts.max_frame_bytes : handshake_frame_limit(state_.opts);
    const char* why = nullptr;
    if (parse_frame_header(header_.data(), frame_, limit, &why)) {
        atomic_stats::add(state_.stats.bad_frames);
        if (!authenticated)
            atomic_stats::add(state_.stats.handshakes_rejected);
        std::ostringstream os;
        os << "bad frame header: " << why;
        if (frame_header_size + std::uint64_t(frame_.payload_size) > limit)
            os << " (" << frame_header_size + std::uint64_t(frame_.payload_size) << " > " << limit << " bytes)";
        close(os.str().c_str());
        return;
    }
    if (authenticated && frame_.kind != frame_kind::message) {
        atomic_stats::add(state_.stats.bad_frames);
        close("unexpected handshake frame after the handshake");
        return;
    }
    if (!authenticated && frame_.kind != frame_kind::handshake) {
        atomic_stats::add(state_.stats.handshakes_rejected);
        close("first frame is not a handshake");
        return;
    }
    do_read_body();
}

void inbound_session::do_read_body() {
    if (body_.capacity() > keep_body_capacity && frame_.payload_size <= keep_body_capacity) {
        body_.clear();
        body_.shrink_to_fit();
    }
    body_.resize(frame_.payload_size);
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this(), keep = state_.shared_from_this()](
                         const boost::system::error_code& ec, std::size_t n) { self->on_read_body(ec, n); });
}

void inbound_session::on_read_body(const boost::system::error_code& ec, std::size_t) {
    envelope env;
    {
        std::lock_guard lock(state_.mu);
        if (closed_ || state_.stopped.load())
            return;
        if (ec) {
            close(ec == asio::error::eof ? "connection closed in the middle of a frame"
                                         : ("read failed: " + ec.message()).c_str());
            return;
        }
        if (peer_ == no_node) {
            if (accept_handshake())
                do_read_header();
            return;
        }
        const char* why = nullptr;
        if (decode_message(body_.data(), body_.size(), env.msg, state_.opts.limits, &why)) {
            atomic_stats::add(state_.stats.bad_frames);
            close((std::string("undecodable message: ") + (why ? why : "?")).c_str());
            return;
        }
        env.from = peer_;
        env.to = state_.opts.self;
    }
    // The application runs without `mu`: it may call send() or even stop().
    state_.deliver(std::move(env));
    std::lock_guard lock(state_.mu);
    if (closed_ || state_.stopped.load())
        return;
    do_read_header();
}

bool inbound_session::accept_handshake() {
    handshake h;
    const char* why = nullptr;
    if (decode_handshake(body_.data(), body_.size(), h, state_.opts.limits, &why)) {
        reject(std::string("malformed handshake: ") + (why ? why : "?"));
        return false;
    }
    const auto& o = state_.opts;
    std::ostringstream os;
    if (h.cluster_id != o.cluster_id)
        os << "wrong cluster id '" << h.cluster_id << "' (this is '" << o.cluster_id << "')";
    else if (h.protocol_version != protocol_version)
        os << "unsupported protocol version " << h.protocol_version << " (this node speaks "
           << protocol_version << ")";
    else if (h.sender == o.self)
        os << "sender claims to be this node (n" << h.sender << ")";
    else if (!state_.links.contains(h.sender))
        os << "unknown node id n" << h.sender << " (not a configured peer)";
    if (!os.str().empty()) {
        reject(os.str());
        return false;
    }
    peer_ = h.sender;
    handshake_timer_.cancel();
    RAFTLITE_NET_LOG(state_, info) << "accepted connection from n" << peer_ << " (" << remote_ << ")";
    state_.session_authenticated(peer_, shared_from_this());
    return true;
}

void inbound_session::reject(const std::string& why) {
    atomic_stats::add(state_.stats.handshakes_rejected);
    close(("handshake refused: " + why).c_str());
}

void inbound_session::on_handshake_timeout(const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (ec || closed_ || state_.stopped.load() || peer_ != no_node)
        return;
    atomic_stats::add(state_.stats.handshakes_rejected);
    close("no handshake within handshake_timeout");
}

} // namespace raftlite::detail
