// raftlite — an inbound session: handshake, then a stream of message frames.
#include "detail/inbound_session.hpp"

#include "detail/peer_link.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <sstream>

namespace raftlite::detail {

namespace asio = boost::asio;

namespace {

// Before the handshake the peer is a stranger: allow only a frame the size of
// a handshake, so that up to max_inbound_connections strangers cannot make
// the node allocate max_frame_bytes each.
std::size_t handshake_frame_limit(const transport_options& o) {
    return std::min(o.max_frame_bytes, max_handshake_frame_bytes(o.limits));
}

// Read buffer: the usual size, and the size beyond which a buffer that grew
// for one large frame is given back.
constexpr std::size_t read_chunk = std::size_t(64) << 10;
constexpr std::size_t keep_capacity = std::size_t(1) << 20;

} // namespace

inbound_session::inbound_session(transport_state& state, asio::ip::tcp::socket socket)
    : state_(state), stream_(std::move(socket), state.tls.get()), handshake_timer_(state.strand) {
    boost::system::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    std::ostringstream os;
    if (ec)
        os << "(unknown peer)";
    else
        os << ep;
    remote_ = os.str();
}

void inbound_session::start() {
    tune_peer_socket(stream_.socket());
    const auto self = shared_from_this();
    handshake_timer_.expires_after(state_.opts.handshake_timeout);
    handshake_timer_.async_wait(strand_handler(self, &inbound_session::on_handshake_timeout));
    if (stream_.is_tls()) {
        stream_.async_handshake(peer_stream::handshake_type::server,
                                strand_handler(self, &inbound_session::on_tls_handshake));
        return;
    }
    process(); // nothing buffered yet: starts the first read
}

void inbound_session::on_tls_handshake(const boost::system::error_code& ec) {
    if (ec) {
        // An untrusted or missing client certificate, an old protocol
        // version, or not TLS at all (a plaintext peer, a port scanner).
        count(state_.counters.tls_handshakes_failed);
        count(state_.counters.handshakes_rejected);
        close(("TLS handshake failed: " + describe_tls_failure(stream_, ec)).c_str());
        return;
    }
    process();
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
    stream_.close();
    handshake_timer_.cancel();
    if (from_)
        from_->inbound_connections.fetch_sub(1, std::memory_order_relaxed);
    state_.remove_session(this);
}

void inbound_session::process() {
    while (current({})) {
        if (!have_header_) {
            if (buffered() < frame_header_size) {
                do_read(frame_header_size);
                return;
            }
            if (!check_header())
                return;
            begin_ += frame_header_size;
            have_header_ = true;
        }
        if (buffered() < frame_.payload_size) {
            do_read(frame_.payload_size);
            return;
        }
        const char* body = buf_.get() + begin_;
        const std::size_t n = frame_.payload_size;
        begin_ += n;
        have_header_ = false;
        if (peer_ == no_node) {
            if (!accept_handshake(body, n))
                return;
            continue;
        }
        envelope env;
        const char* why = nullptr;
        if (decode_message(body, n, env.msg, state_.opts.limits, &why)) {
            count(state_.counters.bad_frames);
            close((std::string("undecodable message: ") + (why ? why : "?")).c_str());
            return;
        }
        env.from = peer_;
        env.to = state_.opts.self;
        // The application may call send(), remove_peer() or even stop()
        // (which closes this session: the loop condition notices).
        state_.deliver(std::move(env), *this, frame_header_size + n);
    }
}

void inbound_session::do_read(std::size_t need) {
    // Room for the whole frame and some read-ahead; a buffer that grew for one
    // large frame is not kept for small ones.
    const std::size_t want = std::max(read_chunk, need);
    const std::size_t unread = buffered();
    if (capacity_ < want || (capacity_ > keep_capacity && want < capacity_)) {
        auto bigger = std::make_unique_for_overwrite<char[]>(want);
        if (unread != 0)
            std::memcpy(bigger.get(), buf_.get() + begin_, unread);
        buf_ = std::move(bigger);
        capacity_ = want;
    } else if (begin_ != 0) {
        if (unread != 0)
            std::memmove(buf_.get(), buf_.get() + begin_, unread);
    }
    begin_ = 0;
    end_ = unread;
    asio::async_read(stream_, asio::buffer(buf_.get() + end_, capacity_ - end_),
                     asio::transfer_at_least(need - unread), strand_handler(shared_from_this(), &inbound_session::on_read));
}

void inbound_session::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (ec) {
        on_read_error(ec);
        return;
    }
    end_ += n;
    process();
}

void inbound_session::on_read_error(const boost::system::error_code& ec) {
    const bool between_frames = !have_header_ && buffered() == 0;
    // Peers close without a TLS close_notify (see peer_stream::close), which
    // TLS reports as stream_truncated: for us that is an ordinary close.
    const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (between_frames && (closed || ec == asio::error::connection_reset)) {
        RAFTLITE_NET_LOG(state_, debug) << "connection from " << remote_ << " closed by the peer";
        close(nullptr);
    } else if (closed) {
        close("connection closed in the middle of a frame");
    } else {
        close(("read failed: " + ec.message()).c_str());
    }
}

bool inbound_session::check_header() {
    const bool authenticated = peer_ != no_node;
    const std::size_t limit = authenticated ? state_.opts.max_frame_bytes : handshake_frame_limit(state_.opts);
    const char* why = nullptr;
    if (parse_frame_header(buf_.get() + begin_, frame_, limit, &why)) {
        count(state_.counters.bad_frames);
        if (!authenticated)
            count(state_.counters.handshakes_rejected);
        std::ostringstream os;
        os << "bad frame header: " << why;
        if (frame_header_size + std::uint64_t(frame_.payload_size) > limit)
            os << " (" << frame_header_size + std::uint64_t(frame_.payload_size) << " > " << limit << " bytes)";
        close(os.str().c_str());
        return false;
    }
    if (authenticated && frame_.kind != frame_kind::message) {
        count(state_.counters.bad_frames);
        close("unexpected handshake frame after the handshake");
        return false;
    }
    if (!authenticated && frame_.kind != frame_kind::handshake) {
        count(state_.counters.handshakes_rejected);
        close("first frame is not a handshake");
        return false;
    }
    return true;
}

bool inbound_session::accept_handshake(const char* data, std::size_t n) {
    handshake h;
    const char* why = nullptr;
    if (decode_handshake(data, n, h, state_.opts.limits, &why)) {
        reject(std::string("malformed handshake: ") + (why ? why : "?"));
        return false;
    }
    const auto& o = state_.opts;
    // Which ids may connect: a current peer; another one only when
    // accept_unknown_peers says so and it was not removed. What the handshake
    // proves is the same for every sender: with TLS the CA vouches for the
    // certificate, the certificate for the id, so one node's key never lets
    // it speak for another.
    transport_state::sender_lookup sender;
    std::ostringstream os;
    if (h.cluster_id != o.cluster_id)
        os << "wrong cluster id '" << h.cluster_id << "' (this is '" << o.cluster_id << "')";
    else if (h.protocol_version != protocol_version)
        os << "unsupported protocol version " << h.protocol_version << " (this node speaks "
           << protocol_version << ")";
    else if (h.sender == o.self)
        os << "sender claims to be this node (n" << h.sender << ")";
    else if (h.sender == no_node)
        os << "no sender id";
    else if (sender = state_.lookup_sender(h.sender); !sender.link && sender.removed)
        os << "n" << h.sender << " was removed from the peers";
    else if (!sender.link && !o.accept_unknown_peers)
        os << "unknown node id n" << h.sender << " (not a peer)";
    else if (std::string names; stream_.is_tls() && !peer_certificate_names(stream_, h.sender, names))
        os << "claims to be n" << h.sender << " but its certificate names " << names << " (expected "
           << tls_node_name(h.sender) << ")";
    if (!os.str().empty()) {
        reject(os.str());
        return false;
    }
    peer_ = h.sender;
    link_ = std::move(sender.link);
    from_ = link_ ? &link_->counters : &state_.unknown;
    from_->inbound_connections.fetch_add(1, std::memory_order_relaxed);
    handshake_timer_.cancel();
    RAFTLITE_NET_LOG(state_, info) << "accepted connection from n" << peer_ << " (" << remote_ << ")"
                                   << (link_ ? "" : ", not a peer (accept_unknown_peers)");
    // The one frame this side ever writes: the sender counts the connection
    // as up only when it arrives (see transport.hpp). A read may be pending
    // meanwhile: one read and one write at a time is what a stream allows.
    asio::async_write(stream_, asio::buffer(state_.handshake_ack_frame),
                      strand_handler(shared_from_this(), &inbound_session::on_ack_written));
    state_.session_authenticated(peer_, shared_from_this());
    return true;
}

void inbound_session::on_ack_written(const boost::system::error_code& ec, std::size_t) {
    // The pending read sees the same failure; closing here only says why.
    if (ec)
        close(("cannot acknowledge the handshake: " + ec.message()).c_str());
}

void inbound_session::attach(std::shared_ptr<peer_link> link) {
    if (closed_ || link_ || !from_)
        return;
    link_ = std::move(link);
    from_->inbound_connections.fetch_sub(1, std::memory_order_relaxed);
    from_ = &link_->counters;
    from_->inbound_connections.fetch_add(1, std::memory_order_relaxed);
}

void inbound_session::reject(const std::string& why) {
    count(state_.counters.handshakes_rejected);
    close(("handshake refused: " + why).c_str());
}

void inbound_session::on_handshake_timeout(const boost::system::error_code& ec) {
    if (ec || peer_ != no_node)
        return;
    count(state_.counters.handshakes_rejected);
    close("no handshake within handshake_timeout");
}

} // namespace raftlite::detail
