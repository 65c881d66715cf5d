// raftlite — the transport: wiring of listener, sessions and peer links.
#include <raftlite/transport.hpp>

#include "detail/inbound_session.hpp"
#include "detail/listener.hpp"
#include "detail/peer_link.hpp"
#include "detail/peer_stream.hpp"
#include "detail/transport_state.hpp"

#include <raftlite/codec.hpp>

#include <boost/asio/post.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <exception>
#include <utility>
#include <vector>

namespace raftlite {
namespace detail {

namespace {

// Roughly the encoded size of `m`, so that a frame carrying megabytes of
// payload is allocated once instead of grown (and copied) step by step.
std::size_t estimated_frame_size(const message& m) {
    constexpr std::size_t fixed = frame_header_size + 64;
    if (const auto* r = std::get_if<log_request>(&m)) {
        std::size_t n = fixed;
        for (const auto& e : r->suffix)
            n += e.size() + 48;
        return n;
    }
    if (const auto* f = std::get_if<forward_request>(&m))
        return fixed + (f->payload ? f->payload->size() : 0);
    return fixed;
}

} // namespace

void tune_peer_socket(boost::asio::ip::tcp::socket& s) {
    namespace asio = boost::asio;
    boost::system::error_code ignored; // all best effort: the connection works without them
    s.set_option(asio::ip::tcp::no_delay(true), ignored);
    s.set_option(asio::socket_base::keep_alive(true), ignored);
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    // An idle connection to a dead peer is noticed after about 10 + 3 * 5 s.
    s.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPIDLE>(10), ignored);
    s.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPINTVL>(5), ignored);
    s.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_KEEPCNT>(3), ignored);
#endif
#if defined(TCP_USER_TIMEOUT)
    // Data unacknowledged for 30 s fails the connection (and its pending
    // write), instead of a write to a vanished peer never completing.
    s.set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_USER_TIMEOUT>(30000), ignored);
#endif
}

transport_stats atomic_stats::snapshot() const noexcept {
    transport_stats s;
    auto get = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    s.messages_sent = get(messages_sent);
    s.bytes_sent = get(bytes_sent);
    s.dropped_queue_full = get(dropped_queue_full);
    s.dropped_too_large = get(dropped_too_large);
    s.dropped_unknown_peer = get(dropped_unknown_peer);
    s.dropped_stopped = get(dropped_stopped);
    s.connects = get(connects);
    s.connect_failures = get(connect_failures);
    s.messages_received = get(messages_received);
    s.inbound_accepted = get(inbound_accepted);
    s.inbound_rejected = get(inbound_rejected);
    s.handshakes_rejected = get(handshakes_rejected);
    s.bad_frames = get(bad_frames);
    s.tls_handshakes_failed = get(tls_handshakes_failed);
    return s;
}

transport_state::transport_state(boost::asio::io_context& ctx, transport_options options,
                                 transport::message_handler handler)
    : ioc(ctx), strand(boost::asio::make_strand(ctx)), opts(std::move(options)),
      on_message(std::move(handler)) {
    for (const auto& [id, address] : opts.peers) {
        if (id == opts.self || id == no_node)
            continue; // self's own entry is listed in shared configs; it is not a peer
        links.emplace(id, std::make_shared<peer_link>(*this, id, address));
    }
}

transport_state::~transport_state() = default;

void transport_state::start() {
    std::lock_guard lock(mu);
    if (started_ || stopped.load())
        return;
    if (opts.tls.enabled && !tls)
        tls = make_tls_context(opts.tls); // throws: nothing has started yet
    auto l = std::make_shared<listener>(*this);
    l->open(); // throws: nothing has started yet
    started_ = true;
    listener_ = std::move(l);
    bound_port.store(listener_->port());
    listener_->start();
    for (auto& [id, link] : links)
        link->start();
    RAFTLITE_NET_LOG(*this, info) << "listening on " << opts.listen.host << ":" << listener_->port()
                                  << ", " << links.size() << " peer(s), cluster '" << opts.cluster_id << "'"
                                  << (tls ? ", TLS as " + tls_node_name(opts.self) : std::string(", plain TCP"));
}

void transport_state::stop() {
    std::lock_guard lock(mu);
    if (stopped.exchange(true))
        return;
    if (listener_) {
        listener_->close();
        listener_.reset();
    }
    // Connections are closed on the strand: Asio's composed operations (an
    // async_write in progress issues its next write_some from an io thread)
    // must never race with a close from the caller's thread. From the strand
    // itself that is now; from elsewhere it is posted (the stopped flag
    // already keeps their handlers from doing anything more), and a socket
    // whose close never ran because the io_context stopped is closed when it
    // is destroyed.
    auto close_connections = [this] {
        // close() removes the session from sessions_: iterate over a copy.
        auto sessions = sessions_;
        for (auto& [raw, weak] : sessions)
            if (auto s = weak.lock())
                s->close_quietly();
        sessions_.clear();
        by_peer_.clear();
        for (auto& [id, link] : links)
            link->close();
    };
    if (strand.running_in_this_thread()) {
        close_connections();
    } else {
        boost::asio::post(strand, [self = shared_from_this(), close_connections] {
            std::lock_guard lock(self->mu);
            close_connections();
        });
    }
    if (started_) {
        RAFTLITE_NET_LOG(*this, info) << "transport stopped";
    }
}

void transport_state::send(envelope env) {
    if (stopped.load(std::memory_order_relaxed)) {
        atomic_stats::add(stats.dropped_stopped);
        return;
    }
    auto it = links.find(env.to);
    if (it == links.end()) {
        atomic_stats::add(stats.dropped_unknown_peer);
        return;
    }
    std::vector<char> frame;
    try {
        frame.reserve(estimated_frame_size(env.msg));
        encode_message(env.msg, frame);
    } catch (const std::exception& e) {
        atomic_stats::add(stats.dropped_too_large);
        RAFTLITE_NET_LOG(*this, error) << "to n" << env.to << ": cannot encode " << message_name(env.msg)
                                       << ": " << e.what();
        return;
    }
    if (frame.size() > opts.max_frame_bytes) {
        // The peer would close the connection on it, losing everything queued
        // behind it too. The core bounds its batches, so this is a misconfiguration.
        atomic_stats::add(stats.dropped_too_large);
        RAFTLITE_NET_LOG(*this, error) << "to n" << env.to << ": " << message_name(env.msg) << " of "
                                       << frame.size() << " bytes exceeds max_frame_bytes ("
                                       << opts.max_frame_bytes << "); dropped";
        return;
    }
    it->second->enqueue(std::move(frame));
}

void transport_state::set_peer_address(node_id id, endpoint_address address) {
    auto it = links.find(id);
    if (it == links.end())
        return;
    std::lock_guard lock(mu);
    if (stopped.load())
        return;
    it->second->set_address(std::move(address));
}

void transport_state::add_session(const std::shared_ptr<inbound_session>& s) {
    sessions_.emplace(s.get(), s);
}

void transport_state::remove_session(inbound_session* s) {
    sessions_.erase(s);
    std::erase_if(by_peer_, [s](const auto& kv) {
        auto p = kv.second.lock();
        return !p || p.get() == s;
    });
}

void transport_state::session_authenticated(node_id peer, const std::shared_ptr<inbound_session>& s) {
    if (auto it = by_peer_.find(peer); it != by_peer_.end()) {
        auto old = it->second.lock();
        if (old && old != s)
            old->close("replaced by a newer connection from the same peer"); // erases the entry
    }
    by_peer_[peer] = s;
}

void transport_state::deliver(envelope env) {
    if (stopped.load())
        return;
    atomic_stats::add(stats.messages_received);
    if (on_message)
        on_message(std::move(env));
}

} // namespace detail

transport::transport(boost::asio::io_context& ioc, transport_options options, message_handler on_message)
    : state_(std::make_shared<detail::transport_state>(ioc, std::move(options), std::move(on_message))) {}

transport::~transport() {
    // Handlers still queued in the io_context hold the state; closing here
    // makes them complete (or be destroyed) without touching the application.
    state_->stop();
}

void transport::start() { state_->start(); }

void transport::send(envelope env) { state_->send(std::move(env)); }

void transport::stop() { state_->stop(); }

void transport::set_peer_address(node_id id, endpoint_address address) {
    state_->set_peer_address(id, std::move(address));
}

std::uint16_t transport::listen_port() const noexcept { return state_->bound_port.load(); }

transport_stats transport::stats() const noexcept { return state_->stats.snapshot(); }

std::size_t transport::queued_messages(node_id peer) const {
    auto it = state_->links.find(peer);
    return it == state_->links.end() ? 0 : it->second->queued();
}

const transport_options& transport::options() const noexcept { return state_->opts; }

} // namespace raftlite
