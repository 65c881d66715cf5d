// raftlite — a node's metrics (see detail/metrics_recorder.hpp).
#include "detail/metrics_recorder.hpp"

#include <raftlite/error.hpp>

namespace raftlite {

// Broadcasts take a round trip to a quorum and a sync: from well under a
// millisecond on one machine to the broadcast timeout (seconds).
std::vector<double> broadcast_latency_bounds() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// A read index takes a heartbeat round to a quorum (or nothing under a
// lease): tens of microseconds on one machine, a round trip across a network.
std::vector<double> read_latency_bounds() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
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

namespace {

// What an operation's error code says, in the words of the outcome counters.
// The count_outcome tables below list a counter for each, in this order.
enum class outcome { ok, not_leader, superseded, busy, timed_out, stopped, storage_failed, other };
constexpr std::size_t outcome_kinds = static_cast<std::size_t>(outcome::other) + 1;

outcome outcome_of(boost::system::error_code ec) {
    if (!ec) return outcome::ok;
    if (ec.category() != raftlite_category()) return outcome::other;
    switch (static_cast<errc>(ec.value())) {
    case errc::not_leader: return outcome::not_leader;
    case errc::superseded: return outcome::superseded;
    case errc::busy: return outcome::busy;
    case errc::timed_out: return outcome::timed_out;
    case errc::stopped: return outcome::stopped;
    case errc::storage_failed: return outcome::storage_failed;
    default: return outcome::other;
    }
}

} // namespace

void count_outcome(broadcast_outcomes& o, boost::system::error_code ec) {
    std::uint64_t* const counter[outcome_kinds] = {
        &o.committed, &o.not_leader, &o.superseded,     &o.busy,
        &o.timed_out, &o.stopped,    &o.storage_failed, &o.other};
    ++*counter[static_cast<std::size_t>(outcome_of(ec))];
}

// A read cannot be superseded; a storage failure counts as other.
void count_outcome(read_outcomes& o, boost::system::error_code ec) {
    std::uint64_t* const counter[outcome_kinds] = {
        &o.ready,     &o.not_leader, &o.other, &o.busy,
        &o.timed_out, &o.stopped,    &o.other, &o.other};
    ++*counter[static_cast<std::size_t>(outcome_of(ec))];
}

metrics_recorder::metrics_recorder()
    : broadcasts_(broadcast_latency_bounds()),
      reads_(read_latency_bounds()),
      disk_round_latency_(disk_round_latency_bounds()),
      disk_round_entries_(disk_round_entries_bounds()) {}

void metrics_recorder::broadcast_started(std::uint64_t request) {
    std::lock_guard<std::mutex> lock(mutex_);
    broadcasts_.begin(request, clock::now());
}

void metrics_recorder::broadcast_finished(std::uint64_t request, boost::system::error_code ec) {
    const auto now = clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    broadcasts_.end(request, ec, now);
}

void metrics_recorder::broadcast_refused(boost::system::error_code ec) {
    std::lock_guard<std::mutex> lock(mutex_);
    broadcasts_.count(ec, 0.0);
}

void metrics_recorder::read_started(std::uint64_t request) {
    std::lock_guard<std::mutex> lock(mutex_);
    reads_.begin(request, clock::now());
}

void metrics_recorder::read_finished(std::uint64_t request, boost::system::error_code ec) {
    const auto now = clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    reads_.end(request, ec, now);
}

void metrics_recorder::read_refused(boost::system::error_code ec) {
    std::lock_guard<std::mutex> lock(mutex_);
    reads_.count(ec, 0.0);
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
    m.read_rounds = s.core.read_rounds;
    m.lease_reads = s.core.lease_reads;
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
    m.broadcasts = broadcasts_.outcomes;
    m.broadcast_latency = broadcasts_.latency;
    m.reads = reads_.outcomes;
    m.read_latency = reads_.latency;
    m.disk_round_latency = disk_round_latency_;
    m.disk_round_entries = disk_round_entries_;
    m.recent_leader_changes.assign(leaders_.begin(), leaders_.end());
    return m;
}

} // namespace detail
} // namespace raftlite
