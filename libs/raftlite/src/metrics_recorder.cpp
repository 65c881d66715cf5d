// raftlite — a node's metrics (see detail/metrics_recorder.hpp).
#include "detail/metrics_recorder.hpp"

#include <raftlite/error.hpp>

namespace raftlite {

// Broadcasts take a round trip to a quorum and a sync: from well under a
// millisecond on one machine to the broadcast timeout (seconds).
std::vector<double> broadcast_latency_bounds() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// fdatasync: tens of microseconds on a cache with power-loss protection, tens
// of milliseconds on a spinning disk, seconds when the device struggles.
std::vector<double> disk_round_latency_bounds() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

// 0: a round that saved only the term or vote.
std::vector<double> disk_round_entries_bounds() {
    return {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
}

namespace detail {

metrics_recorder::metrics_recorder()
    : broadcast_latency_(broadcast_latency_bounds()),
      disk_round_latency_(disk_round_latency_bounds()),
      disk_round_entries_(disk_round_entries_bounds()) {}

void metrics_recorder::broadcast_started(std::uint64_t request) {
    std::lock_guard<std::mutex> lock(mutex_);
    started_[request] = clock::now();
}

void metrics_recorder::broadcast_finished(std::uint64_t request, boost::system::error_code ec) {
    const auto now = clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = started_.find(request);
    if (it == started_.end()) return;
    count_outcome(ec, std::chrono::duration<double>(now - it->second).count());
    started_.erase(it);
}

void metrics_recorder::broadcast_refused(boost::system::error_code ec) {
    std::lock_guard<std::mutex> lock(mutex_);
    count_outcome(ec, 0.0);
}

void metrics_recorder::count_outcome(boost::system::error_code ec, double seconds) {
    broadcast_latency_.observe(seconds);
    if (!ec) {
        ++outcomes_.committed;
        return;
    }
    if (ec.category() != raftlite_category()) {
        ++outcomes_.other;
        return;
    }
    switch (static_cast<errc>(ec.value())) {
    case errc::not_leader: ++outcomes_.not_leader; break;
    case errc::superseded: ++outcomes_.superseded; break;
    case errc::busy: ++outcomes_.busy; break;
    case errc::timed_out: ++outcomes_.timed_out; break;
    case errc::stopped: ++outcomes_.stopped; break;
    case errc::storage_failed: ++outcomes_.storage_failed; break;
    default: ++outcomes_.other; break;
    }
}

void metrics_recorder::leader_seen(term_t term, node_id leader) {
    if (leader == no_node) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (term == leader_term_ && leader == leader_) return;
    leader_term_ = term;
    leader_ = leader;
    ++leader_changes_;
    const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    leaders_.push_back({term, leader, static_cast<std::int64_t>(unix_ms)});
    if (leaders_.size() > leader_history) leaders_.pop_front();
}

void metrics_recorder::disk_round(clock::duration took, std::size_t entries) {
    std::lock_guard<std::mutex> lock(mutex_);
    disk_round_latency_.observe(std::chrono::duration<double>(took).count());
    disk_round_entries_.observe(static_cast<double>(entries));
}

node_metrics metrics_recorder::snapshot(const node_status& s) const {
    node_metrics m;
    m.id = s.id;
    m.term = s.term;
    m.role = role_name(s.role);
    m.leader = s.leader;
    m.commit_index = s.commit_index;
    m.applied_index = s.applied_index;
    m.last_log_index = s.last_log_index;
    m.running = s.running;
    m.elections_started = s.core.elections_started;
    m.terms_as_leader = s.core.terms_as_leader;
    m.handshakes_rejected = s.transport.handshakes_rejected;
    m.tls_handshakes_failed = s.transport.tls_handshakes_failed;
    m.bad_frames = s.transport.bad_frames;
    m.inbound_rejected = s.transport.inbound_rejected;
    for (const peer_transport_stats& p : s.transport.peers) {
        if (p.id == s.id) continue;
        peer_metrics pm;
        pm.id = p.id;
        pm.frames_sent = p.messages_sent;
        pm.bytes_sent = p.bytes_sent;
        pm.frames_dropped = p.messages_dropped;
        pm.frames_received = p.messages_received;
        pm.bytes_received = p.bytes_received;
        pm.connected = p.connected;
        pm.connects = p.connects;
        pm.connect_failures = p.connect_failures;
        pm.handshake_ack_timeouts = p.ack_timeouts;
        if (auto it = s.match_index.find(p.id); it != s.match_index.end()) {
            pm.has_match = true;
            pm.match_index = it->second;
            pm.match_lag = s.last_log_index > it->second ? s.last_log_index - it->second : 0;
        }
        m.peers.push_back(pm);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    m.leader_changes = leader_changes_;
    m.broadcasts = outcomes_;
    m.broadcast_latency = broadcast_latency_;
    m.disk_round_latency = disk_round_latency_;
    m.disk_round_entries = disk_round_entries_;
    m.recent_leader_changes.assign(leaders_.begin(), leaders_.end());
    return m;
}

} // namespace detail
} // namespace raftlite
