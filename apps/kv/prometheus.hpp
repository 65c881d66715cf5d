// raftlite kv — a node's metrics in the Prometheus text exposition format
// (version 0.0.4), served at GET /metrics. The metric names are listed in
// README.md ("Metrics").
#ifndef RAFTLITE_KV_PROMETHEUS_HPP
#define RAFTLITE_KV_PROMETHEUS_HPP

#include <raftlite/metrics.hpp>

#include <string>

namespace raftlite::kv {

/// The Content-Type of format_prometheus's text.
inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric of `m`, each family with its HELP and TYPE lines, names
/// prefixed raftlite_. Peer metrics carry the label peer="<id>"; a follower's
/// match lag is absent (only a leader knows it).
std::string format_prometheus(const node_metrics& m);

} // namespace raftlite::kv

#endif
