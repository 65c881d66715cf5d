// raftlite — a node's metrics for operators: counters, gauges and histograms
// (node::metrics()). Plain values with no Asio, so that exporters (such as
// raftlite-kv's Prometheus endpoint) can include this header cheaply.
#ifndef RAFTLITE_METRICS_HPP
#define RAFTLITE_METRICS_HPP

#include <raftlite/types.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace raftlite {

/// A histogram with fixed upper bucket bounds, in the Prometheus shape:
/// `counts[i]` is the number of observations <= bounds[i] (cumulative), and
/// the implicit last bucket (+Inf) is `count`. Not thread-safe by itself:
/// the node records under its own lock and hands out copies.
struct histogram {
    std::vector<double> bounds;          ///< ascending upper bounds, +Inf left implicit
    std::vector<std::uint64_t> counts;   ///< cumulative, one per bound
    double sum = 0;                      ///< of every observed value
    std::uint64_t count = 0;             ///< observations (the +Inf bucket)

    histogram() = default;
    explicit histogram(std::vector<double> upper_bounds)
        : bounds(std::move(upper_bounds)), counts(bounds.size(), 0) {}

    void observe(double value) {
        // Cumulative: a value counts in its own bucket and every larger one.
        for (std::size_t i = bounds.size(); i-- > 0 && value <= bounds[i];) ++counts[i];
        sum += value;
        ++count;
    }
};

/// How the application's broadcasts (node::async_broadcast) ended, one
/// counter per outcome.
struct broadcast_outcomes {
    std::uint64_t committed = 0;
    std::uint64_t not_leader = 0;
    std::uint64_t superseded = 0;
    std::uint64_t busy = 0;
    std::uint64_t timed_out = 0;
    std::uint64_t stopped = 0;
    std::uint64_t storage_failed = 0;
    std::uint64_t other = 0;   ///< any error not named above

    std::uint64_t total() const noexcept {
        return committed + not_leader + superseded + busy + timed_out + stopped + storage_failed + other;
    }
};

/// How the application's linearizable reads (node::async_read_index) ended,
/// one counter per outcome.
struct read_outcomes {
    std::uint64_t ready = 0;        ///< the node gave a read index its state covers
    std::uint64_t not_leader = 0;   ///< no leader known or reachable
    std::uint64_t busy = 0;         ///< the leader had too many reads waiting
    std::uint64_t timed_out = 0;
    std::uint64_t stopped = 0;
    std::uint64_t other = 0;        ///< any error not named above (a cancelled read, storage failed)

    std::uint64_t total() const noexcept { return ready + not_leader + busy + timed_out + stopped + other; }
};

/// The transport's counters for one configured peer, and its replication lag.
struct peer_metrics {
    node_id id = no_node;
    std::uint64_t frames_sent = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t frames_dropped = 0;   ///< never written: queue full, too large or stopped
    std::uint64_t frames_received = 0;
    std::uint64_t bytes_received = 0;
    bool connected = false;             ///< the outbound connection is up now
    std::uint64_t connects = 0;         ///< outbound connections established (handshake acknowledged)
    std::uint64_t connect_failures = 0; ///< failed connection attempts and lost connections
    /// Attempts whose handshake got no acknowledgement in time: something
    /// accepted the connection and never delivered it (a proxy or a
    /// half-open path). Also in connect_failures.
    std::uint64_t handshake_ack_timeouts = 0;
    /// Leader only (has_match false otherwise): the follower's acknowledged
    /// log length and how far it trails this node's last index.
    bool has_match = false;
    index_t match_index = 0;
    index_t match_lag = 0;
};

/// A leader this node learned of, for "recent leader changes".
struct leader_change {
    term_t term = 0;
    node_id leader = no_node;
    std::int64_t unix_ms = 0;   ///< wall-clock time it was learned, milliseconds since 1970
};

/// Bucket bounds the node uses (exposed so that exporters and tests agree).
std::vector<double> broadcast_latency_bounds();   ///< seconds
std::vector<double> read_latency_bounds();        ///< seconds
std::vector<double> disk_round_latency_bounds();  ///< seconds
std::vector<double> disk_round_entries_bounds();  ///< entries

/// A snapshot of a node's metrics. Counters count since the node object was
/// made; gauges are values now.
struct node_metrics {
    node_id id = no_node;
    // gauges
    term_t term = 0;
    std::string role;            ///< "follower", "candidate" or "leader"
    node_id leader = no_node;    ///< no_node: none known
    index_t commit_index = 0;
    index_t applied_index = 0;
    index_t last_log_index = 0;
    bool running = false;
    // counters
    std::uint64_t elections_started = 0;
    std::uint64_t terms_as_leader = 0;
    /// Times this node learned of a leader for a term it had no leader for
    /// (each new (term, leader) pair; its own elections included).
    std::uint64_t leader_changes = 0;
    broadcast_outcomes broadcasts;
    /// Seconds from the node taking a broadcast to its outcome, one
    /// observation per outcome counted in `broadcasts`.
    histogram broadcast_latency;
    /// Linearizable reads (Raft thesis §6.4), by outcome, and the seconds
    /// from the node taking each to its outcome (one observation per read
    /// counted in `reads`).
    read_outcomes reads;
    histogram read_latency;
    /// Leader: heartbeat rounds begun early because reads waited for one (the
    /// periodic heartbeat's rounds, which confirm reads too, are not counted:
    /// reads over rounds is how many reads one round served), and reads
    /// served under the leader's lease without one (node_options::lease_reads).
    std::uint64_t read_rounds = 0;
    std::uint64_t lease_reads = 0;
    /// Seconds to write and sync one disk round on the disk thread (storage
    /// that blocks, e.g. file_persister; rounds with writes only).
    histogram disk_round_latency;
    /// Log entries written per disk round (group commit: many appends, one sync).
    histogram disk_round_entries;
    /// Inbound connections the transport refused or closed: handshakes
    /// refused (wrong cluster, sender or version, malformed, timed out, TLS
    /// refused), of which TLS handshakes that failed, frames too large or
    /// undecodable, and connections over max_inbound_connections.
    std::uint64_t handshakes_rejected = 0;
    std::uint64_t tls_handshakes_failed = 0;
    std::uint64_t bad_frames = 0;
    std::uint64_t inbound_rejected = 0;
    /// One per configured peer other than this node, by ascending id.
    std::vector<peer_metrics> peers;
    /// The last few leaders learned of, oldest first.
    std::vector<leader_change> recent_leader_changes;
};

} // namespace raftlite

#endif
