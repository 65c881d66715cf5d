// raftlite kv — the Prometheus text format (see prometheus.hpp).
#include "prometheus.hpp"

#include <raftlite/version.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace raftlite::kv {

namespace {

// Shortest text that reads back as the same double, in fixed notation (no
// exponent), as Go's strconv.ParseFloat on the Prometheus side accepts.
std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[400];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    if (ec != std::errc()) return "NaN";   // cannot happen: 400 holds any fixed double
    return std::string(buf, end);
}

std::string number(std::uint64_t v) { return std::to_string(v); }

class writer {
public:
    // HELP and TYPE once per family, before its samples (the format requires
    // a family's lines to be together).
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP raftlite_";
        out_ += name;
        out_ += ' ';
        out_ += help;   // plain ASCII without backslashes or newlines: nothing to escape
        out_ += "\n# TYPE raftlite_";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    template <class V>
    void sample(std::string_view name, std::string_view labels, V value) {
        out_ += "raftlite_";
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        out_ += number(value);
        out_ += '\n';
    }

    template <class V>
    void single(std::string_view name, std::string_view type, std::string_view help, V value) {
        family(name, type, help);
        sample(name, {}, value);
    }

    /// A counter family with one sample per outcome (label `outcome`).
    void by_outcome(std::string_view name, std::string_view help,
                    std::initializer_list<std::pair<const char*, std::uint64_t>> outcomes) {
        family(name, "counter", help);
        for (const auto& [outcome, n] : outcomes) sample(name, std::string("outcome=\"") + outcome + "\"", n);
    }

    void hist(std::string_view name, std::string_view help, const histogram& h) {
        family(name, "histogram", help);
        const std::string bucket = std::string(name) + "_bucket";
        for (std::size_t i = 0; i < h.bounds.size() && i < h.counts.size(); ++i)
            sample(bucket, "le=\"" + number(h.bounds[i]) + "\"", h.counts[i]);
        sample(bucket, "le=\"+Inf\"", h.count);
        sample(std::string(name) + "_sum", {}, h.sum);
        sample(std::string(name) + "_count", {}, h.count);
    }

    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string peer_label(node_id id) { return "peer=\"" + std::to_string(id) + "\""; }

} // namespace

std::string format_prometheus(const node_metrics& m, const std::optional<snapshot_gauges>& snap,
                              const std::optional<watch_gauges>& watch,
                              const std::optional<level_gauges>& level,
                              const std::optional<space_gauges>& space) {
    writer w;
    // Prometheus' build_info convention: the version as a label of a sample 1.
    w.family("build_info", "gauge", "1, labelled with the raftlite version this program runs.");
    w.sample("build_info", std::string("version=\"") + raftlite::version() + "\"", std::uint64_t(1));
    w.single("node_id", "gauge", "This node's id.", std::uint64_t(m.id));
    w.single("term", "gauge", "The current Raft term.", std::uint64_t(m.term));
    w.family("role", "gauge", "1 for the role this node has now, 0 for the others.");
    for (const char* r : {"follower", "pre_candidate", "candidate", "leader"})
        w.sample("role", std::string("role=\"") + r + "\"", std::uint64_t(m.role == r ? 1 : 0));
    w.single("leader_id", "gauge", "The leader this node knows of (0: none).", std::uint64_t(m.leader));
    w.single("commit_index", "gauge", "The highest log index known to be committed.",
             std::uint64_t(m.commit_index));
    w.single("applied_index", "gauge", "The highest log index delivered to the application.",
             std::uint64_t(m.applied_index));
    w.single("last_log_index", "gauge", "The index of the last entry in this node's log.",
             std::uint64_t(m.last_log_index));
    if (snap) {
        w.single("snapshot_index", "gauge", "The last log index the current snapshot covers (0: none).",
                 std::uint64_t(snap->snapshot_index));
        w.single("log_start_index", "gauge", "The index of the first entry held in this node's log.",
                 std::uint64_t(snap->log_start));
        w.single("log_entries", "gauge", "Log entries held (those after the snapshot not compacted yet).",
                 snap->log_entries);
        w.single("snapshots_taken_total", "counter", "Snapshots this node took since it started.",
                 snap->snapshots_taken);
        w.single("snapshots_installed_total", "counter", "Snapshots this node installed from a leader since it started.",
                 snap->snapshots_installed);
    }
    if (watch) {
        w.single("watches", "gauge", "Watches waiting on this peer for a change.", watch->watches);
        w.single("watch_history_changes", "gauge", "Recent changes kept for watches.", watch->history_changes);
        w.single("watch_history_bytes", "gauge", "What the recent changes kept for watches take (keys, values, "
                                                 "overhead).",
                 watch->history_bytes);
        w.single("watch_horizon_index", "gauge", "The least log index a watch can start after (since) here.",
                 std::uint64_t(watch->horizon));
    }
    if (level) {
        w.single("kv_cluster_level", "gauge", "The cluster's feature level as this peer applied it.",
                 std::uint64_t(level->cluster));
        w.single("kv_reported_level", "gauge", "The feature level this peer reports ([kv] max_level).",
                 std::uint64_t(level->reported));
        w.single("kv_supported_level", "gauge", "The highest feature level this program applies.",
                 std::uint64_t(level->supported));
    }
    if (space) {
        w.single("kv_state_bytes", "gauge", "Bytes of keys and values the state holds (what the quota counts).",
                 space->state_bytes);
        w.single("kv_quota_bytes", "gauge", "The most bytes the state may hold ([kv] quota_bytes; 0: no quota).",
                 space->quota_bytes);
        if (space->free_bytes)
            w.single("kv_disk_free_bytes", "gauge", "Bytes free for this peer on its data directory's filesystem.",
                     *space->free_bytes);
        w.single("kv_disk_reserve_bytes", "gauge", "Free disk a peer keeps beyond the state ([kv] reserve_bytes).",
                 space->reserve_bytes);
        w.single("kv_no_space_alarms", "gauge", "Members whose disk is short of space: growing writes are refused "
                                                "while any is.",
                 space->alarms);
    }
    w.single("elections_started_total", "counter", "Elections this node started as a candidate.",
             m.elections_started);
    w.single("terms_as_leader_total", "counter", "Terms in which this node became leader.",
             m.terms_as_leader);
    w.single("leader_changes_total", "counter", "Times this node learned of a new leader or term.",
             m.leader_changes);

    const broadcast_outcomes& b = m.broadcasts;
    w.by_outcome("broadcasts_total", "Application broadcasts by outcome.",
                 {{"committed", b.committed}, {"not_leader", b.not_leader}, {"superseded", b.superseded},
                  {"busy", b.busy}, {"timed_out", b.timed_out}, {"stopped", b.stopped},
                  {"storage_failed", b.storage_failed}, {"other", b.other}});
    w.hist("broadcast_duration_seconds", "Seconds from a broadcast being taken to its outcome.",
           m.broadcast_latency);

    const read_outcomes& rd = m.reads;
    w.by_outcome("reads_total", "Linearizable reads (read index, Raft thesis 6.4) by outcome.",
                 {{"ready", rd.ready}, {"not_leader", rd.not_leader}, {"busy", rd.busy},
                  {"timed_out", rd.timed_out}, {"stopped", rd.stopped}, {"other", rd.other}});
    w.hist("read_duration_seconds", "Seconds from a read being taken to its read index or failure.",
           m.read_latency);
    w.single("read_rounds_total", "counter",
             "Heartbeat rounds this node began early, as leader, because read indexes waited for one.", m.read_rounds);
    w.single("lease_reads_total", "counter",
             "Reads this node served as leader under its lease, without a heartbeat round.", m.lease_reads);

    w.hist("disk_round_duration_seconds", "Seconds to write and fsync one disk round.",
           m.disk_round_latency);
    w.hist("disk_round_entries", "Log entries written per disk round (group commit).",
           m.disk_round_entries);

    w.single("handshakes_rejected_total", "counter",
             "Inbound handshakes refused (wrong cluster, sender or version, malformed, timed out, TLS refused).",
             m.handshakes_rejected);
    w.single("tls_handshakes_failed_total", "counter",
             "Inbound TLS handshakes that failed; also in handshakes rejected.", m.tls_handshakes_failed);
    w.single("bad_frames_total", "counter",
             "Frames too large or undecodable, or unexpected bytes; the connection was closed.", m.bad_frames);
    w.single("inbound_connections_rejected_total", "counter",
             "Inbound connections refused because max_inbound_connections were open.", m.inbound_rejected);

    // One family per counter, with a sample for each peer.
    auto per_peer = [&](std::string_view name, std::string_view type, std::string_view help, auto field) {
        w.family(name, type, help);
        for (const peer_metrics& p : m.peers) w.sample(name, peer_label(p.id), field(p));
    };
    per_peer("peer_sent_bytes_total", "counter", "Bytes of message frames written to the peer.",
             [](const peer_metrics& p) { return p.bytes_sent; });
    per_peer("peer_sent_frames_total", "counter", "Message frames written to the peer.",
             [](const peer_metrics& p) { return p.frames_sent; });
    per_peer("peer_dropped_frames_total", "counter",
             "Messages for the peer never written (queue full, too large, stopped).",
             [](const peer_metrics& p) { return p.frames_dropped; });
    per_peer("peer_received_bytes_total", "counter", "Bytes of message frames received from the peer.",
             [](const peer_metrics& p) { return p.bytes_received; });
    per_peer("peer_received_frames_total", "counter", "Message frames received from the peer.",
             [](const peer_metrics& p) { return p.frames_received; });
    per_peer("peer_connected", "gauge", "1 while the outbound connection to the peer is up.",
             [](const peer_metrics& p) { return std::uint64_t(p.connected ? 1 : 0); });
    per_peer("peer_connects_total", "counter",
             "Outbound connections to the peer established (handshake acknowledged).",
             [](const peer_metrics& p) { return p.connects; });
    per_peer("peer_connect_failures_total", "counter",
             "Failed connection attempts to the peer and lost connections.",
             [](const peer_metrics& p) { return p.connect_failures; });
    per_peer("peer_handshake_ack_timeouts_total", "counter",
             "Connections to the peer whose handshake was never acknowledged (a path that accepts "
             "and never delivers); also in connect failures.",
             [](const peer_metrics& p) { return p.handshake_ack_timeouts; });
    w.family("peer_match_lag_entries", "gauge",
             "Leader only: entries the peer's acknowledged log trails this node's last index.");
    for (const peer_metrics& p : m.peers)
        if (p.has_match) w.sample("peer_match_lag_entries", peer_label(p.id), std::uint64_t(p.match_lag));
    return w.take();
}

} // namespace raftlite::kv
