// raftlite — the outbound link to one peer.
//
// States: resolving/connecting (bounded by handshake_timeout) -> writing the
// handshake -> connected (draining the queue) -> on any error: backoff timer
// -> connecting again. Every completion carries the generation of the attempt
// that started it; resetting a connection bumps the generation, so completions
// of a dead connection (operation_aborted, late errors) are ignored instead of
// failing the next connection.
#include "detail/peer_link.hpp"

#include <raftlite/codec.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <string>

namespace raftlite::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// One gather write takes at most this much from the queue: large enough to
// amortise the system call, small enough that a batch lost with a connection
// is cheap to resend.
constexpr std::size_t max_batch_frames = 64;
constexpr std::size_t max_batch_bytes = std::size_t(4) << 20;
} // namespace

peer_link::peer_link(transport_state& state, node_id peer, endpoint_address address)
    : state_(state), peer_(peer), address_(std::move(address)), resolver_(state.strand),
      connect_timer_(state.strand), backoff_timer_(state.strand),
      backoff_(std::max(state.opts.reconnect_min, std::chrono::milliseconds(1))) {
    encode_handshake(handshake{state.opts.cluster_id, state.opts.self, protocol_version}, handshake_frame_);
}

void peer_link::start() { do_resolve(); }

void peer_link::close() {
    reset_connection();
    backoff_timer_.cancel();
    std::lock_guard q(qmu_);
    atomic_stats::add(state_.stats.dropped_stopped, queue_.size());
    queue_.clear();
    queued_bytes_ = 0;
}

void peer_link::set_address(endpoint_address address) {
    if (address == address_)
        return; // keep a working connection
    address_ = std::move(address);
    if (!state_.stopped.load() && (connected_ || gen_ != 0)) {
        // Started: reconnect now, to the new address, without waiting for a backoff.
        reset_connection();
        backoff_timer_.cancel();
        backoff_ = std::max(state_.opts.reconnect_min, std::chrono::milliseconds(1));
        failed_logged_ = false;
        do_resolve();
    }
}

std::size_t peer_link::queued() const {
    std::lock_guard q(qmu_);
    return queue_.size();
}

// ---- connecting ---------------------------------------------------------------

void peer_link::do_resolve() {
    ++gen_;
    const auto gen = gen_;
    stream_ = std::make_shared<peer_stream>(state_.strand, state_.tls.get());
    connect_timer_.expires_after(state_.opts.handshake_timeout);
    connect_timer_.async_wait([self = shared_from_this(), keep = state_.shared_from_this(),
                               gen](const boost::system::error_code& ec) { self->on_connect_timeout(gen, ec); });

    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(address_.host, ec);
    if (!ec) {
        // A literal address (the usual case): no resolver thread needed.
        stream_->socket().async_connect(tcp::endpoint(addr, address_.port),
                                        [self = shared_from_this(), keep = state_.shared_from_this(), conn = stream_,
                                         gen](const boost::system::error_code& e) { self->on_connect(gen, e); });
        return;
    }
    resolver_.async_resolve(address_.host, std::to_string(address_.port),
                            [self = shared_from_this(), keep = state_.shared_from_this(),
                             gen](const boost::system::error_code& e, tcp::resolver::results_type results) {
                                self->on_resolve(gen, e, results);
                            });
}

void peer_link::on_resolve(std::uint64_t gen, const boost::system::error_code& ec,
                           const tcp::resolver::results_type& results) {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load() || gen != gen_)
        return;
    if (ec) {
        fail("cannot resolve the address", ec);
        return;
    }
    asio::async_connect(stream_->socket(), results,
                        [self = shared_from_this(), keep = state_.shared_from_this(), conn = stream_,
                         gen](const boost::system::error_code& e, const tcp::endpoint&) { self->on_connect(gen, e); });
}

void peer_link::on_connect(std::uint64_t gen, const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load() || gen != gen_)
        return;
    if (ec) {
        fail("cannot connect", ec);
        return;
    }
    tune_peer_socket(stream_->socket());
    if (stream_->is_tls()) {
        stream_->async_handshake(peer_stream::handshake_type::client,
                                 [self = shared_from_this(), keep = state_.shared_from_this(), conn = stream_,
                                  gen](const boost::system::error_code& e) { self->on_tls_handshake(gen, e); });
        return;
    }
    send_handshake();
}

void peer_link::on_tls_handshake(std::uint64_t gen, const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load() || gen != gen_)
        return;
    if (ec) {
        fail(("TLS handshake failed" + tls_verify_detail(*stream_)).c_str(), ec); // fail() adds ec
        return;
    }
    // The CA vouches for the certificate; that it is the peer we meant to
    // reach (and not another member answering at this address) is ours to check.
    if (std::string names; !peer_certificate_names(*stream_, peer_, names)) {
        const std::string what = "the server's certificate names " + names + ", not " + tls_node_name(peer_);
        fail(what.c_str(), asio::error::access_denied);
        return;
    }
    send_handshake();
}

void peer_link::send_handshake() {
    asio::async_write(*stream_, asio::buffer(handshake_frame_),
                      [self = shared_from_this(), keep = state_.shared_from_this(), conn = stream_,
                       gen = gen_](const boost::system::error_code& e, std::size_t) { self->on_handshake_written(gen, e); });
}

void peer_link::on_connect_timeout(std::uint64_t gen, const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (ec || state_.stopped.load() || gen != gen_ || connected_)
        return;
    fail("no connection within handshake_timeout", asio::error::timed_out);
}

void peer_link::on_handshake_written(std::uint64_t gen, const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load() || gen != gen_)
        return;
    if (ec) {
        fail("cannot send the handshake", ec);
        return;
    }
    connect_timer_.cancel();
    connected_ = true;
    connected_at_ = clock::now();
    failed_logged_ = false;
    atomic_stats::add(state_.stats.connects);
    RAFTLITE_NET_LOG(state_, info) << "connected to n" << peer_ << " at " << address_.host << ":" << address_.port;
    do_watch();
    {
        std::lock_guard q(qmu_);
        writable_ = true;
    }
    do_write();
}

// ---- writing ------------------------------------------------------------------

void peer_link::enqueue(std::vector<char> frame) {
    const auto& o = state_.opts;
    bool kick = false;
    {
        std::lock_guard q(qmu_);
        if (state_.stopped.load()) {
            atomic_stats::add(state_.stats.dropped_stopped);
            return;
        }
        const std::size_t size = frame.size();
        if (size > o.max_queue_bytes || o.max_queue_messages == 0) {
            atomic_stats::add(state_.stats.dropped_too_large);
            return;
        }
        // Drop the oldest: see transport.hpp for why.
        std::size_t dropped = 0;
        while (!queue_.empty() &&
               (queued_bytes_ + size > o.max_queue_bytes || queue_.size() + 1 > o.max_queue_messages)) {
            queued_bytes_ -= queue_.front().size();
            queue_.pop_front();
            ++dropped;
        }
        if (dropped != 0) {
            atomic_stats::add(state_.stats.dropped_queue_full, dropped);
            if (!drop_logged_) {
                drop_logged_ = true;
                RAFTLITE_NET_LOG(state_, warning) << "queue for n" << peer_ << " is full ("
                                                  << queue_.size() + 1 << " messages, " << queued_bytes_ + size
                                                  << " bytes); dropping the oldest messages";
            }
        }
        queued_bytes_ += size;
        queue_.push_back(std::move(frame));
        if (writable_ && !kick_pending_) {
            kick_pending_ = true;
            kick = true;
        }
    }
    if (kick)
        post_write();
}

void peer_link::post_write() {
    asio::post(state_.strand,
               [self = shared_from_this(), keep = state_.shared_from_this()] { self->on_write_posted(); });
}

void peer_link::on_write_posted() {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load())
        return;
    do_write();
}

void peer_link::do_write() {
    // A posted do_write may arrive for a connection that is gone, or while a
    // write is in flight: only one write at a time, on a live connection.
    if (!connected_ || write_in_flight_)
        return;
    {
        std::lock_guard q(qmu_);
        std::size_t bytes = 0;
        while (!queue_.empty() && writing_.size() < max_batch_frames &&
               (writing_.empty() || bytes + queue_.front().size() <= max_batch_bytes)) {
            bytes += queue_.front().size();
            queued_bytes_ -= queue_.front().size();
            writing_.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        // Cleared under the same lock enqueue() checks it: no wake-up is lost.
        kick_pending_ = !writing_.empty();
        if (writing_.empty())
            return;
    }
    std::vector<asio::const_buffer> buffers;
    if (stream_->is_tls()) {
        // TLS encrypts one buffer per write_some: a gather write of many
        // small frames would become one record and one system call each.
        auto& out = stream_->write_buffer;
        if (out.capacity() > max_batch_bytes * 2)
            std::vector<char>().swap(out); // grown for one huge frame: not kept for small ones
        out.clear();
        for (const auto& f : writing_)
            out.insert(out.end(), f.begin(), f.end());
        buffers.emplace_back(asio::buffer(out));
    } else {
        buffers.reserve(writing_.size());
        for (const auto& f : writing_)
            buffers.emplace_back(asio::buffer(f));
    }
    write_in_flight_ = true;
    asio::async_write(*stream_, buffers,
                      [self = shared_from_this(), keep = state_.shared_from_this(), conn = stream_,
                       gen = gen_](const boost::system::error_code& ec, std::size_t n) { self->on_write(gen, ec, n); });
}

void peer_link::on_write(std::uint64_t gen, const boost::system::error_code& ec, std::size_t n) {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load() || gen != gen_)
        return;
    write_in_flight_ = false;
    if (ec) {
        fail("write failed", ec);
        return;
    }
    atomic_stats::add(state_.stats.messages_sent, writing_.size());
    atomic_stats::add(state_.stats.bytes_sent, n);
    writing_.clear();
    {
        std::lock_guard q(qmu_);
        drop_logged_ = false;
    }
    do_write();
}

// The peer never writes on our outbound connection; a pending one-byte read
// notices at once when it closes the connection (for instance because it
// refused our handshake) instead of at the next write.
void peer_link::do_watch() {
    stream_->async_read_some(asio::buffer(&watch_byte_, 1),
                            [self = shared_from_this(), keep = state_.shared_from_this(), conn = stream_,
                             gen = gen_](const boost::system::error_code& ec, std::size_t) { self->on_watch(gen, ec); });
}

void peer_link::on_watch(std::uint64_t gen, const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (state_.stopped.load() || gen != gen_)
        return;
    if (!ec)
        fail("peer sent unexpected data", asio::error::invalid_argument);
    else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        fail("connection closed by the peer", ec);
    else
        fail("connection lost", ec);
}

// ---- failure and backoff --------------------------------------------------------

void peer_link::reset_connection() {
    ++gen_; // completions of the old socket are stale from now on
    if (stream_) {
        stream_->close();   // its pending operations still hold it until they complete
        stream_.reset();
    }
    resolver_.cancel();
    connect_timer_.cancel();
    connected_ = false;
    write_in_flight_ = false;
    std::lock_guard q(qmu_);
    writable_ = false;
    kick_pending_ = false;
    if (!writing_.empty()) {
        // Unknown how much of the batch arrived: send it all again on the next
        // connection (Raft messages are idempotent), ahead of newer messages.
        for (auto it = writing_.rbegin(); it != writing_.rend(); ++it) {
            queued_bytes_ += it->size();
            queue_.push_front(std::move(*it));
        }
        writing_.clear();
        // Keep the bounds: the oldest go first, as in enqueue().
        const auto& o = state_.opts;
        std::size_t dropped = 0;
        while (!queue_.empty() && (queued_bytes_ > o.max_queue_bytes || queue_.size() > o.max_queue_messages)) {
            queued_bytes_ -= queue_.front().size();
            queue_.pop_front();
            ++dropped;
        }
        atomic_stats::add(state_.stats.dropped_queue_full, dropped);
    }
}

void peer_link::fail(const char* what, const boost::system::error_code& ec) {
    atomic_stats::add(state_.stats.connect_failures);
    const bool was_connected = connected_;
    const auto& o = state_.opts;
    if (was_connected) {
        RAFTLITE_NET_LOG(state_, warning) << "connection to n" << peer_ << " lost: " << what << ": " << ec.message();
        // A connection that lived long enough was healthy: start over from the
        // minimum. One that dies at once (e.g. the peer refuses our handshake)
        // keeps backing off.
        if (clock::now() - connected_at_ >= o.reconnect_max)
            backoff_ = std::max(o.reconnect_min, std::chrono::milliseconds(1));
    } else if (!failed_logged_) {
        failed_logged_ = true;
        RAFTLITE_NET_LOG(state_, warning) << "n" << peer_ << " at " << address_.host << ":" << address_.port
                                          << ": " << what << ": " << ec.message() << "; retrying with backoff";
    } else {
        RAFTLITE_NET_LOG(state_, debug) << "n" << peer_ << ": " << what << ": " << ec.message();
    }
    reset_connection();
    const auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, std::max(o.reconnect_max, o.reconnect_min));
    backoff_timer_.expires_after(delay);
    backoff_timer_.async_wait([self = shared_from_this(), keep = state_.shared_from_this(),
                               gen = gen_](const boost::system::error_code& e) { self->on_backoff(gen, e); });
}

void peer_link::on_backoff(std::uint64_t gen, const boost::system::error_code& ec) {
    std::lock_guard lock(state_.mu);
    if (ec || state_.stopped.load() || gen != gen_)
        return;
    do_resolve();
}

} // namespace raftlite::detail
