// raftlite — the outbound link to one peer.
//
// States: resolving/connecting -> (TLS handshake) -> writing the handshake ->
// reading the peer's handshake_ack (all of it bounded by handshake_timeout)
// -> connected (draining the queue, one read posted to notice a close) -> on
// any error: backoff timer -> connecting again. Every completion carries the
// generation of the attempt that started it; resetting a connection bumps the
// generation, so completions of a dead connection (operation_aborted, late
// errors) are ignored instead of failing the next connection (strand_handler
// checks it).
//
// Frames queued before the acknowledgement are written only once it is in,
// not pipelined behind the handshake: a batch written into a connection that
// nobody answers would count as sent and be lost, while held back it goes
// whole to the next connection. The cost is one round trip per connection.
#include "detail/peer_link.hpp"

#include <raftlite/codec.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <sstream>
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

void outgoing_frame::buffers(std::vector<asio::const_buffer>& out) const {
    out.emplace_back(asio::buffer(head));
    if (!entries)
        return;
    // The entries' bytes, with each referenced payload spliced in at its offset.
    const std::vector<char>& b = entries->bytes;
    std::size_t at = 0;
    for (const auto& [offset, payload] : entries->payloads) {
        if (offset > at)
            out.emplace_back(asio::buffer(b.data() + at, offset - at));
        out.emplace_back(asio::buffer(*payload));
        at = offset;
    }
    if (b.size() > at)
        out.emplace_back(asio::buffer(b.data() + at, b.size() - at));
}

peer_link::peer_link(transport_state& state, node_id peer, endpoint_address address)
    : state_(state), peer_(peer), address_(std::move(address)), resolver_(state.strand),
      connect_timer_(state.strand), backoff_timer_(state.strand),
      backoff_(std::max(state.opts.reconnect_min, std::chrono::milliseconds(1))) {
    encode_handshake(handshake{state.opts.cluster_id, state.opts.self, protocol_version}, handshake_frame_);
}

void peer_link::start() {
    if (started_)
        return;
    started_ = true;
    do_resolve();
}

void peer_link::close() { close_dropping(counters.dropped_stopped); }

void peer_link::retire() { close_dropping(state_.counters.dropped_peer_removed); }

void peer_link::close_dropping(counter& dropped) {
    reset_connection();
    backoff_timer_.cancel();
    count(dropped, queue_.size());
    queue_.clear();
    queued_bytes_ = 0;
    queue_changed();
}

void peer_link::set_address(endpoint_address address) {
    if (address == address_)
        return; // keep a working connection
    address_ = std::move(address);
    if (!state_.stopped.load() && started_) {
        RAFTLITE_NET_LOG(state_, info) << "n" << peer_ << " is now at " << address_ << ": reconnecting";
        // Started: reconnect now, to the new address, without waiting for a backoff.
        reset_connection();
        backoff_timer_.cancel();
        backoff_ = std::max(state_.opts.reconnect_min, std::chrono::milliseconds(1));
        failures_.reset();
        do_resolve();
    }
}

// ---- connecting ---------------------------------------------------------------

void peer_link::do_resolve() {
    ++gen_;
    stream_ = std::make_shared<peer_stream>(state_.strand, state_.tls.get());
    const auto self = shared_from_this();
    connect_timer_.expires_after(state_.opts.handshake_timeout);
    connect_timer_.async_wait(strand_handler(self, &peer_link::on_connect_timeout));

    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(address_.host, ec);
    if (!ec) {
        // A literal address (the usual case): no resolver thread needed.
        stream_->socket().async_connect(tcp::endpoint(addr, address_.port),
                                        strand_handler(self, &peer_link::on_connect));
        return;
    }
    resolver_.async_resolve(address_.host, std::to_string(address_.port),
                            strand_handler(self, &peer_link::on_resolve));
}

void peer_link::on_resolve(const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
    if (ec) {
        fail("cannot resolve the address", ec);
        return;
    }
    asio::async_connect(stream_->socket(), results,
                        strand_handler(shared_from_this(), [](peer_link& l, const boost::system::error_code& e,
                                                              const tcp::endpoint&) { l.on_connect(e); }));
}

void peer_link::on_connect(const boost::system::error_code& ec) {
    if (ec) {
        fail("cannot connect", ec);
        return;
    }
    tune_peer_socket(stream_->socket());
    if (stream_->is_tls()) {
        stream_->async_handshake(peer_stream::handshake_type::client,
                                 strand_handler(shared_from_this(), &peer_link::on_tls_handshake));
        return;
    }
    send_handshake();
}

void peer_link::on_tls_handshake(const boost::system::error_code& ec) {
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
                      strand_handler(shared_from_this(), &peer_link::on_handshake_written));
}

void peer_link::on_connect_timeout(const boost::system::error_code& ec) {
    if (ec || connected_)
        return;
    if (handshake_sent_) {
        // Something accepted the connection and never answered: a proxy whose
        // onward leg is dead, a half-open path, a peer that hangs.
        count(counters.ack_timeouts);
        const std::string what = "no handshake acknowledgement from n" + std::to_string(peer_) +
                                 " within handshake_timeout";
        fail(what.c_str(), asio::error::timed_out);
        return;
    }
    fail("no connection within handshake_timeout", asio::error::timed_out);
}

void peer_link::on_handshake_written(const boost::system::error_code& ec, std::size_t) {
    if (ec) {
        fail("cannot send the handshake", ec);
        return;
    }
    handshake_sent_ = true;
    auto& buf = stream_->read_buffer;
    buf.resize(frame_header_size);
    asio::async_read(*stream_, asio::buffer(buf), strand_handler(shared_from_this(), &peer_link::on_ack_header));
}

void peer_link::on_ack_header(const boost::system::error_code& ec, std::size_t) {
    if (ec) {
        ack_read_failed(ec);
        return;
    }
    auto& buf = stream_->read_buffer;
    frame_header h;
    const char* why = nullptr;
    if (parse_frame_header(buf.data(), h, max_handshake_frame_bytes(state_.opts.limits), &why)) {
        count(state_.counters.bad_frames);
        fail(("bad handshake acknowledgement: " + std::string(why)).c_str(), asio::error::invalid_argument);
        return;
    }
    buf.resize(frame_header_size + h.payload_size);
    asio::async_read(*stream_, asio::buffer(buf.data() + frame_header_size, h.payload_size),
                     strand_handler(shared_from_this(), &peer_link::on_ack));
}

void peer_link::on_ack(const boost::system::error_code& ec, std::size_t) {
    if (ec) {
        ack_read_failed(ec);
        return;
    }
    const auto& buf = stream_->read_buffer;
    const auto& o = state_.opts;
    handshake h;
    const char* why = nullptr;
    if (decode_handshake_frame(buf.data(), buf.size(), frame_kind::handshake_ack, h, o.limits, &why)) {
        count(state_.counters.bad_frames);
        fail(("bad handshake acknowledgement: " + std::string(why ? why : "?")).c_str(),
             asio::error::invalid_argument);
        return;
    }
    // The acknowledgement must come from the node this link is for: an
    // address that leads to another node (or cluster) is a misconfiguration
    // that would deliver this peer's messages elsewhere.
    std::ostringstream os;
    if (h.cluster_id != o.cluster_id)
        os << "acknowledged by cluster '" << h.cluster_id << "' (this is '" << o.cluster_id << "')";
    else if (h.sender != peer_)
        os << "acknowledged by n" << h.sender << ", not n" << peer_;
    else if (h.protocol_version != protocol_version)
        os << "acknowledged with protocol version " << h.protocol_version << " (this node speaks "
           << protocol_version << ")";
    if (!os.str().empty()) {
        fail(os.str().c_str(), asio::error::access_denied);
        return;
    }
    on_acknowledged();
}

void peer_link::ack_read_failed(const boost::system::error_code& ec) {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        fail("connection closed before the handshake was acknowledged (refused by the peer?)", ec);
    else
        fail("no handshake acknowledgement", ec);
}

void peer_link::on_acknowledged() {
    std::vector<char>().swap(stream_->read_buffer);
    connect_timer_.cancel();
    connected_ = true;
    connected_at_ = clock::now();
    count(counters.connects);
    counters.connected.store(true, std::memory_order_relaxed);
    if (auto r = failures_.connected(connected_at_))
        RAFTLITE_NET_LOG(state_, info) << connect_failure_log::describe(*r, target());
    else
        RAFTLITE_NET_LOG(state_, info) << "connected to " << target();
    do_watch();
    do_write();
}

// ---- writing ------------------------------------------------------------------

void peer_link::enqueue(outgoing_frame frame) {
    if (removed.load(std::memory_order_relaxed)) {
        // Checked first: a removed link's counters may already be folded.
        count(state_.counters.dropped_peer_removed);
        return;
    }
    if (state_.stopped.load(std::memory_order_relaxed)) {
        count(counters.dropped_stopped);
        return;
    }
    make_room(frame.size());
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    queue_changed();
    // Posted, not written at once: frames sent together (a leader's
    // AppendEntries to every peer, a burst from several threads) are already
    // queued on the strand and go out in the same batch.
    if (connected_ && !write_in_flight_ && !write_posted_) {
        write_posted_ = true;
        asio::post(state_.strand, strand_handler(shared_from_this(), &peer_link::do_write));
    }
}

void peer_link::make_room(std::size_t incoming) {
    // Drop the oldest: see transport.hpp for why.
    const auto& o = state_.opts;
    const std::size_t frames = incoming != 0 ? 1 : 0;
    std::size_t dropped = 0;
    while (!queue_.empty() &&
           (queued_bytes_ + incoming > o.max_queue_bytes || queue_.size() + frames > o.max_queue_messages)) {
        queued_bytes_ -= queue_.front().size();
        queue_.pop_front();
        ++dropped;
    }
    if (dropped == 0)
        return;
    count(counters.dropped_queue_full, dropped);
    if (!drop_logged_) {
        drop_logged_ = true;
        RAFTLITE_NET_LOG(state_, warning) << "queue for n" << peer_ << " is full (" << queue_.size() + frames
                                          << " messages, " << queued_bytes_ + incoming
                                          << " bytes); dropping the oldest messages";
    }
}

void peer_link::queue_changed() noexcept {
    counters.queued_messages.store(queue_.size(), std::memory_order_relaxed);
    counters.queued_bytes.store(queued_bytes_, std::memory_order_relaxed);
}

void peer_link::do_write() {
    write_posted_ = false;
    // Only one write at a time, on a live connection.
    if (!connected_ || write_in_flight_ || queue_.empty())
        return;
    std::size_t bytes = 0;
    while (!queue_.empty() && writing_.size() < max_batch_frames &&
           (writing_.empty() || bytes + queue_.front().size() <= max_batch_bytes)) {
        bytes += queue_.front().size();
        writing_.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    queued_bytes_ -= bytes;
    queue_changed();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(writing_.size() + 1);
    for (const auto& f : writing_)
        f.buffers(buffers);
    if (stream_->is_tls()) {
        // TLS encrypts one buffer per write_some: a gather write of many
        // small frames would become one record and one system call each.
        auto& out = stream_->write_buffer;
        if (out.capacity() > max_batch_bytes * 2)
            std::vector<char>().swap(out); // grown for one huge frame: not kept for small ones
        out.clear();
        for (const auto& b : buffers)
            out.insert(out.end(), static_cast<const char*>(b.data()), static_cast<const char*>(b.data()) + b.size());
        buffers.assign(1, asio::buffer(out));
    }
    write_in_flight_ = true;
    asio::async_write(*stream_, buffers, strand_handler(shared_from_this(), &peer_link::on_write));
}

void peer_link::on_write(const boost::system::error_code& ec, std::size_t n) {
    write_in_flight_ = false;
    if (ec) {
        fail("write failed", ec);
        return;
    }
    count(counters.messages_sent, writing_.size());
    count(counters.bytes_sent, n);
    writing_.clear();
    drop_logged_ = false;
    do_write();
}

// After its acknowledgement the peer never writes on our outbound connection;
// a pending one-byte read notices at once when it closes the connection
// instead of at the next write, and anything it does write is a protocol
// error.
void peer_link::do_watch() {
    stream_->async_read_some(asio::buffer(&watch_byte_, 1), strand_handler(shared_from_this(), &peer_link::on_watch));
}

void peer_link::on_watch(const boost::system::error_code& ec, std::size_t) {
    if (!ec) {
        count(state_.counters.bad_frames);
        fail("peer sent unexpected data", asio::error::invalid_argument);
    } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        fail("connection closed by the peer", ec);
    } else {
        fail("connection lost", ec);
    }
}

// ---- failure and backoff --------------------------------------------------------

std::string peer_link::target() const {
    return "n" + std::to_string(peer_) + " at " + address_.host + ":" + std::to_string(address_.port);
}

void peer_link::reset_connection() {
    ++gen_; // completions of the old socket are stale from now on
    if (stream_) {
        stream_->close();   // its pending operations still hold it until they complete
        stream_.reset();
    }
    resolver_.cancel();
    connect_timer_.cancel();
    handshake_sent_ = false;
    connected_ = false;
    counters.connected.store(false, std::memory_order_relaxed);
    write_in_flight_ = false;
    write_posted_ = false;
    if (!writing_.empty()) {
        // Unknown how much of the batch arrived: send it all again on the next
        // connection (Raft messages are idempotent), ahead of newer messages.
        for (auto it = writing_.rbegin(); it != writing_.rend(); ++it) {
            queued_bytes_ += it->size();
            queue_.push_front(std::move(*it));
        }
        writing_.clear();
        make_room(0);
        queue_changed();
    }
}

void peer_link::fail(const char* what, const boost::system::error_code& ec) {
    count(counters.connect_failures);
    const bool was_connected = connected_;
    const auto& o = state_.opts;
    if (was_connected) {
        RAFTLITE_NET_LOG(state_, warning) << "connection to n" << peer_ << " lost: " << what << ": " << ec.message();
        // A connection that lived long enough was healthy: start over from the
        // minimum. One that dies at once (e.g. the peer refuses our handshake)
        // keeps backing off.
        if (clock::now() - connected_at_ >= o.reconnect_max)
            backoff_ = std::max(o.reconnect_min, std::chrono::milliseconds(1));
    } else {
        // While a peer starts (or stays down) every retry fails the same way:
        // the first failure is logged, repeats only now and then as a count.
        const std::string error = std::string(what) + ": " + ec.message();
        if (auto r = failures_.failed(clock::now(), error))
            RAFTLITE_NET_LOG(state_, warning) << connect_failure_log::describe(*r, target());
        else
            RAFTLITE_NET_LOG(state_, debug) << target() << ": " << error;
    }
    reset_connection();
    const auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, std::max(o.reconnect_max, o.reconnect_min));
    backoff_timer_.expires_after(delay);
    backoff_timer_.async_wait(strand_handler(shared_from_this(), &peer_link::on_backoff));
}

void peer_link::on_backoff(const boost::system::error_code& ec) {
    if (ec)
        return;
    do_resolve();
}

} // namespace raftlite::detail
