// raftlite — the transport: wiring of listener, sessions and peer links.
// Changes to the set of peers are in transport_peers.cpp.
#include <raftlite/transport.hpp>

#include "detail/inbound_session.hpp"
#include "detail/listener.hpp"
#include "detail/peer_link.hpp"
#include "detail/peer_stream.hpp"
#include "detail/strand_executor.hpp"
#include "detail/transport_state.hpp"

#include <raftlite/codec.hpp>
#include <raftlite/detail/transport_test_access.hpp>

#include <boost/asio/dispatch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <exception>
#include <utility>
#include <vector>

namespace raftlite {
namespace detail {

namespace {

// Roughly the encoded size of `m`'s own bytes (a log_request's entries are
// encoded apart), so that a frame carrying megabytes of payload is allocated
// once instead of grown (and copied) step by step.
std::size_t estimated_frame_size(const message& m) {
    constexpr std::size_t fixed = frame_header_size + 64;
    if (const auto* f = std::get_if<forward_request>(&m))
        return fixed + (f->payload ? f->payload->size() : 0);
    return fixed;
}

// Payloads at least this large go out from the log's own strings (a gather
// write) instead of being copied into the entries' encoding. Smaller ones are
// cheaper to copy than to send as buffers of their own: a write takes at most
// 64 buffers per system call, and each costs an iovec in the kernel.
constexpr std::size_t reference_payloads_from = 4096;

// Room for a batch's entries and their length fields, as estimated_frame_size.
std::size_t estimated_entries_size(const std::vector<log_entry>& entries) {
    std::size_t n = 0;
    for (const auto& e : entries)
        n += 48 + (e.payload && e.payload->size() < reference_payloads_from ? e.payload->size() : 0);
    return n;
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

transport_state::transport_state(boost::asio::any_io_executor ex, transport_options options,
                                 transport::message_handler handler)
    : strand(make_strand_executor(ex)), opts(std::move(options)),
      on_message(std::move(handler)),
      handshake_ack_frame([this] {
          std::vector<char> f;
          encode_handshake_ack(handshake{opts.cluster_id, opts.self, protocol_version}, f);
          return f;
      }()) {
    for (const auto& [id, address] : opts.peers) {
        if (id == opts.self || id == no_node)
            continue; // self's own entry is listed in shared configs; it is not a peer
        peers_.emplace(id, peer_entry{address, std::make_shared<peer_link>(*this, id, address)});
    }
}

transport_state::~transport_state() = default;

void transport_state::start() {
    if (stopped.load() || started_.exchange(true))
        return;
    std::shared_ptr<listener> l;
    try {
        if (opts.tls.enabled && !tls)
            tls = make_tls_context(opts.tls);
        l = std::make_shared<listener>(*this);
        l->open();
    } catch (...) {
        started_ = false; // nothing has started: start() may be tried again
        throw;
    }
    bound_port.store(l->port());
    listen_fd_.store(l->native_handle());
    if (stopped.load())
        release_listen_port(); // stop() ran meanwhile, before it could see the descriptor
    std::size_t peer_count = 0;
    {
        std::shared_lock lock(peers_mutex_);
        peer_count = peers_.size();
    }
    RAFTLITE_NET_LOG(*this, info) << "listening on " << opts.listen.host << ":" << l->port() << ", "
                                  << peer_count << " peer(s), cluster '" << opts.cluster_id << "'"
                                  << (tls ? ", TLS as " + tls_node_name(opts.self) : std::string(", plain TCP"));
    boost::asio::dispatch(strand, [self = shared_from_this(), l = std::move(l)]() mutable { self->run(std::move(l)); });
}

void transport_state::run(std::shared_ptr<listener> l) {
    // Kept even when stopped meanwhile: the acceptor is closed by close_all
    // if that is still to run, else with the state. Never here: close_all is
    // queued only after stop() has shut the descriptor down, so that
    // shutdown(2) can never hit a descriptor already closed (and reused).
    listener_ = std::move(l);
    if (stopped.load())
        return;
    listener_->start();
    running_ = true;
    reconcile(); // starts every peer's link
}

void transport_state::stop() {
    if (stopped.exchange(true))
        return;
    release_listen_port();
    // Connections are closed on the strand: Asio's composed operations (an
    // async_write in progress issues its next write_some from an io thread)
    // must never race a close from the caller's thread. Until it runs, the
    // stopped flag keeps every handler from doing anything more; a socket
    // whose close never runs because the io_context stopped is closed when
    // it is destroyed.
    boost::asio::dispatch(strand, [self = shared_from_this()] { self->close_all(); });
    if (started_.load()) {
        RAFTLITE_NET_LOG(*this, info) << "transport stopped";
    }
}

void transport_state::release_listen_port() noexcept {
    if (const int fd = listen_fd_.exchange(-1); fd >= 0)
        ::shutdown(fd, SHUT_RDWR);
}

void transport_state::close_all() {
    if (listener_) {
        listener_->close();
        listener_.reset();
    }
    // close_quietly() removes the session from sessions_: iterate over what was there.
    const auto sessions = std::move(sessions_);
    sessions_.clear();
    for (auto& [raw, weak] : sessions)
        if (auto s = weak.lock())
            s->close_quietly();
    by_peer_.clear();
    // Every link: those reconcile() has seen, and any added since (stop()
    // makes later changes do nothing, so the set is final).
    std::vector<std::shared_ptr<peer_link>> links;
    {
        std::shared_lock lock(peers_mutex_);
        for (const auto& [id, e] : peers_)
            links.push_back(e.link);
        links.insert(links.end(), retiring_.begin(), retiring_.end());
    }
    for (const auto& [id, link] : active_)
        links.push_back(link);
    for (const auto& link : links)
        link->close(); // a second close() of a link finds nothing left to do
    active_.clear();
}

void transport_state::send(envelope env) {
    auto link = find_link(env.to);
    if (!link) {
        count(counters.dropped_unknown_peer);
        return;
    }
    if (stopped.load(std::memory_order_relaxed)) {
        count_on(*link, &peer_counters::dropped_stopped);
        return;
    }
    outgoing_frame frame;
    try {
        frame.head.reserve(estimated_frame_size(env.msg));
        const auto* r = std::get_if<log_request>(&env.msg);
        if (r && !r->suffix.empty()) {
            frame.entries = shared_entries(r->suffix);
            frame.entries_size = frame.entries->wire_size();
            encode_log_request_head(*r, frame.entries_size, frame.head);
        } else {
            encode_message(env.msg, frame.head);
        }
    } catch (const std::exception& e) {
        count_on(*link, &peer_counters::dropped_too_large);
        RAFTLITE_NET_LOG(*this, error) << "to n" << env.to << ": cannot encode " << message_name(env.msg)
                                       << ": " << e.what();
        return;
    }
    if (frame.size() > opts.max_frame_bytes) {
        // The peer would close the connection on it, losing everything queued
        // behind it too. The core bounds its batches, so this is a misconfiguration.
        count_on(*link, &peer_counters::dropped_too_large);
        RAFTLITE_NET_LOG(*this, error) << "to n" << env.to << ": " << message_name(env.msg) << " of "
                                       << frame.size() << " bytes exceeds max_frame_bytes ("
                                       << opts.max_frame_bytes << "); dropped";
        return;
    }
    if (frame.size() > opts.max_queue_bytes || opts.max_queue_messages == 0) {
        count_on(*link, &peer_counters::dropped_too_large); // it could never be queued
        return;
    }
    // enqueue() drops the frame if the peer was removed meanwhile.
    boost::asio::dispatch(strand, [link = std::move(link), keep = shared_from_this(),
                                   frame = std::move(frame)]() mutable { link->enqueue(std::move(frame)); });
}

std::shared_ptr<const encoded_entries> transport_state::shared_entries(const std::vector<log_entry>& suffix) {
    // A leader's replication round sends the same batch to every follower
    // that is caught up: encode it once (the head before it, which names the
    // follower's prefix, commit and read round, is encoded per follower).
    const log_entry& first = suffix.front();
    const log_entry& last = suffix.back();
    {
        std::lock_guard lock(recent_mutex_);
        for (const recent_batch& b : recent_)
            if (b.entries && b.first == first.index && b.first_term == first.term && b.last == last.index &&
                b.last_term == last.term && b.first_payload == first.payload && b.last_payload == last.payload)
                return b.entries;
    }
    auto e = std::make_shared<encoded_entries>();
    e->bytes.reserve(estimated_entries_size(suffix));
    encode_entries(suffix, reference_payloads_from, *e);
    std::lock_guard lock(recent_mutex_);
    recent_[recent_next_] = {first.index, last.index, first.term, last.term, first.payload, last.payload, e};
    recent_next_ = (recent_next_ + 1) % recent_.size();
    return e;
}

transport_stats transport_state::stats() const {
    auto get = [](const counter& c) { return c.load(std::memory_order_relaxed); };
    transport_stats s;
    s.dropped_unknown_peer = get(counters.dropped_unknown_peer);
    s.dropped_peer_removed = get(counters.dropped_peer_removed);
    s.inbound_accepted = get(counters.inbound_accepted);
    s.inbound_rejected = get(counters.inbound_rejected);
    s.inbound_connections = get(counters.inbound_connections);
    s.handshakes_rejected = get(counters.handshakes_rejected);
    s.bad_frames = get(counters.bad_frames);
    s.tls_handshakes_failed = get(counters.tls_handshakes_failed);
    s.received_from_removed = get(counters.received_from_removed);
    s.peers_added = get(counters.peers_added);
    s.peers_removed = get(counters.peers_removed);

    // Adds one set of counters to the totals.
    auto add_totals = [&](const peer_counters& c) {
        s.messages_sent += get(c.messages_sent);
        s.bytes_sent += get(c.bytes_sent);
        s.dropped_queue_full += get(c.dropped_queue_full);
        s.dropped_too_large += get(c.dropped_too_large);
        s.dropped_stopped += get(c.dropped_stopped);
        s.connects += get(c.connects);
        s.connect_failures += get(c.connect_failures);
        s.ack_timeouts += get(c.ack_timeouts);
        s.outbound_connections += c.connected.load(std::memory_order_relaxed) ? 1 : 0;
        s.messages_received += get(c.messages_received);
        s.bytes_received += get(c.bytes_received);
    };
    s.unknown_messages_received = get(unknown.messages_received);
    s.unknown_connections = get(unknown.inbound_connections);
    add_totals(unknown);

    std::shared_lock lock(peers_mutex_);
    add_totals(retired_);
    for (const auto& link : retiring_)
        add_totals(link->counters);
    s.peers.reserve(peers_.size());
    for (const auto& [id, e] : peers_) {
        const peer_counters& c = e.link->counters;
        peer_transport_stats p;
        p.id = id;
        p.messages_sent = get(c.messages_sent);
        p.bytes_sent = get(c.bytes_sent);
        const auto queue_full = get(c.dropped_queue_full);
        const auto too_large = get(c.dropped_too_large);
        const auto at_stop = get(c.dropped_stopped);
        p.messages_dropped = queue_full + too_large + at_stop;
        p.connects = get(c.connects);
        p.connect_failures = get(c.connect_failures);
        p.ack_timeouts = get(c.ack_timeouts);
        p.queued_messages = get(c.queued_messages);
        p.queued_bytes = get(c.queued_bytes);
        p.connected = c.connected.load(std::memory_order_relaxed);
        p.messages_received = get(c.messages_received);
        p.bytes_received = get(c.bytes_received);
        p.inbound_connections = get(c.inbound_connections);

        // The totals from the same reads, so that with one peer they equal its numbers.
        s.messages_sent += p.messages_sent;
        s.bytes_sent += p.bytes_sent;
        s.dropped_queue_full += queue_full;
        s.dropped_too_large += too_large;
        s.dropped_stopped += at_stop;
        s.connects += p.connects;
        s.connect_failures += p.connect_failures;
        s.ack_timeouts += p.ack_timeouts;
        s.outbound_connections += p.connected ? 1 : 0;
        s.messages_received += p.messages_received;
        s.bytes_received += p.bytes_received;
        s.peers.push_back(p);
    }
    return s;
}

void transport_state::add_session(const std::shared_ptr<inbound_session>& s) {
    sessions_.emplace(s.get(), s);
    counters.inbound_connections.store(sessions_.size(), std::memory_order_relaxed);
}

void transport_state::remove_session(inbound_session* s) {
    sessions_.erase(s);
    counters.inbound_connections.store(sessions_.size(), std::memory_order_relaxed);
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

void transport_state::deliver(envelope env, inbound_session& s, std::size_t frame_bytes) {
    if (stopped.load())
        return;
    // A removed peer's sessions are closed by reconcile(); until then (and
    // for what was already read) nothing of theirs is delivered.
    const bool removed = s.link() ? s.link()->removed.load(std::memory_order_relaxed)
                                  : lookup_sender(s.peer()).removed;
    if (removed) {
        count(counters.received_from_removed);
        return;
    }
    peer_counters& from = s.counters();
    count(from.messages_received);
    count(from.bytes_received, frame_bytes);
    if (on_message)
        on_message(std::move(env));
}

} // namespace detail

std::size_t detail::transport_test_access::queued_messages(const transport& t, node_id peer) {
    const auto link = t.state_->find_link(peer);
    return link ? link->counters.queued_messages.load() : 0;
}

transport::transport(boost::asio::any_io_executor ex, transport_options options, message_handler on_message)
    : state_(std::make_shared<detail::transport_state>(std::move(ex), std::move(options), std::move(on_message))) {}

transport::transport(boost::asio::io_context& ioc, transport_options options, message_handler on_message)
    : transport(ioc.get_executor(), std::move(options), std::move(on_message)) {}

transport::~transport() {
    // Handlers still queued in the io_context hold the state; closing here
    // makes them complete (or be destroyed) without touching the application.
    state_->stop();
}

void transport::start() { state_->start(); }

void transport::send(envelope env) { state_->send(std::move(env)); }

void transport::stop() { state_->stop(); }

void transport::add_peer(node_id id, endpoint_address address) { state_->add_peer(id, std::move(address)); }

void transport::remove_peer(node_id id) { state_->remove_peer(id); }

void transport::set_peers(const std::map<node_id, endpoint_address>& peers) { state_->set_peers(peers); }

std::map<node_id, endpoint_address> transport::peers() const { return state_->peers(); }

std::uint16_t transport::listen_port() const noexcept { return state_->bound_port.load(); }

transport_stats transport::stats() const { return state_->stats(); }

const transport_options& transport::options() const noexcept { return state_->opts; }

} // namespace raftlite
