// raftlite kv — a node's metrics in the Prometheus text exposition format
// (version 0.0.4), served at GET /metrics. The metric names are listed in
// README.md ("Metrics").
#ifndef RAFTLITE_KV_PROMETHEUS_HPP
#define RAFTLITE_KV_PROMETHEUS_HPP

#include <raftlite/metrics.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace raftlite::kv {

/// The Content-Type of format_prometheus's text.
inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Snapshot and log compaction figures (from node_status, which node_metrics
/// does not carry).
struct snapshot_gauges {
    index_t snapshot_index = 0;          ///< the last entry the current snapshot covers (0: none)
    index_t log_start = 1;               ///< the first entry held in the log
    std::uint64_t log_entries = 0;       ///< entries held: last_log_index - log_start + 1
    std::uint64_t snapshots_taken = 0;
    std::uint64_t snapshots_installed = 0;
};

/// A kv peer's watches (change_history.hpp).
struct watch_gauges {
    std::uint64_t watches = 0;           ///< waiting for a change now
    std::uint64_t history_changes = 0;   ///< changes kept
    std::uint64_t history_bytes = 0;     ///< what they take, as the budget counts it
    index_t horizon = 0;                 ///< the least since a watch can start from
};

/// A kv peer's feature levels (kv_levels.hpp).
struct level_gauges {
    unsigned cluster = 1;     ///< the cluster's level, as this peer applied it
    unsigned reported = 1;    ///< the level this peer reports ([kv] max_level)
    unsigned supported = 1;   ///< the highest this build applies
};

/// A kv peer's space guard (kv_space.hpp).
struct space_gauges {
    std::uint64_t state_bytes = 0;     ///< keys and values the state holds
    std::uint64_t quota_bytes = 0;     ///< [kv] quota_bytes (0: none)
    std::optional<std::uint64_t> free_bytes;   ///< this peer's data disk, when known
    std::uint64_t reserve_bytes = 0;   ///< [kv] reserve_bytes
    std::uint64_t alarms = 0;          ///< no_space alarms in the state (members short of disk)
};

/// Every metric of `m` (and of `snap`, `watch`, `level` and `space`, when given), each family
/// with its HELP and TYPE lines, names prefixed raftlite_. Peer metrics carry
/// the label peer="<id>"; a follower's match lag is absent (only a leader
/// knows it).
std::string format_prometheus(const node_metrics& m, const std::optional<snapshot_gauges>& snap = std::nullopt,
                              const std::optional<watch_gauges>& watch = std::nullopt,
                              const std::optional<level_gauges>& level = std::nullopt,
                              const std::optional<space_gauges>& space = std::nullopt);

} // namespace raftlite::kv

#endif
