// raftlite-kv — reading the [kv] section of a peer's config file.
#include "kv_config.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace raftlite::kv {

namespace {

kv_session_options read_sessions(const config_section& s) {
    kv_session_options o;
    // Up to ten years; a session open that long is a leak, not a client.
    const std::uint64_t expiry_s = s.integer("session_expiry_s", o.limits.expiry_ms / 1000, 1, 315360000);
    o.limits.expiry_ms = expiry_s * 1000;
    s.get("max_sessions", o.limits.max_sessions);
    s.get("session_tick_ms", o.tick);
    // Between two ticks cluster time stands still: a tick as long as the
    // expiry would expire a session the moment it was last used.
    if (static_cast<std::uint64_t>(o.tick.count()) >= o.limits.expiry_ms)
        s.fail({"session_tick_ms", "session_expiry_s"},
               "[kv] session_tick_ms: " + std::to_string(o.tick.count()) +
                   " ms; expected less than session_expiry_s (" + std::to_string(expiry_s) + " s)");
    return o;
}

kv_read_mode read_read_mode(const config_section& s, const raft_config& cfg) {
    const auto v = s.value("read_mode");
    if (!v) return kv_read_mode::read_index;
    if (*v == "log") return kv_read_mode::log;
    if (*v == "read_index") return kv_read_mode::read_index;
    if (*v != "lease") s.bad_value("read_mode", "log, read_index or lease", *v);
    // A lease holds only while the followers that confirmed it elect nobody
    // else (thesis §6.4.1).
    if (!cfg.node.core.check_quorum || !cfg.node.core.leader_stickiness)
        s.fail({"read_mode"}, "[kv] read_mode = lease needs [raft] check_quorum = true and leader_stickiness = true");
    return kv_read_mode::lease;
}

http_server_options read_http(const config_section& s, const raft_config& cfg) {
    http_server_options o;
    const auto listen = s.address("listen");
    o.address = listen.host;
    o.port = listen.port;
    s.get("body_limit_bytes", o.body_limit);
    s.get("header_limit_bytes", o.header_limit);
    s.get("idle_timeout_ms", o.idle_timeout);
    s.get("max_connections", o.max_connections);
    if (s.value("tls_cert") || s.value("tls_key")) {
        s.require_all({"tls_cert", "tls_key"}, "HTTPS needs both tls_cert and tls_key");
        o.tls_cert_file =
            s.existing_file("tls_cert", "a PEM file with the HTTPS server certificate").string();
        o.tls_key_file = s.existing_file("tls_key", "a PEM file with its private key").string();
    }
    if (s.value("client_ca")) {
        if (!serves_https(o))
            s.fail({"client_ca"}, "[kv] client_ca: client certificates need HTTPS; expected "
                                  "tls_cert and tls_key too");
        o.client_ca_file =
            s.existing_file("client_ca", "a PEM file with the CA of client certificates").string();
    }
    if (listen == cfg.node.transport.listen)
        s.fail({"listen"}, "[kv] listen: " + listen.to_string() +
                               " is also [node] listen; expected a separate address for HTTP "
                               "clients");
    return o;
}

} // namespace

void apply_kv_defaults(node_options& options) {
    if (options.snapshot_entries == 0 && options.snapshot_bytes == 0)
        options.snapshot_entries = default_snapshot_entries;
}

app_section kv_section(std::optional<kv_settings>& out, bool required) {
    return {"kv", required, "listen = host:port for clients",
            [&out](const config_section& s, const raft_config& cfg) {
                // 0 turns watches off; up to 64 GiB.
                const auto history = static_cast<std::size_t>(
                    s.integer("watch_history_bytes", default_watch_history_bytes, 0, std::uint64_t(1) << 36));
                const auto max_level = static_cast<unsigned>(
                    s.integer("max_level", supported_level, base_level, supported_level));
                // Up to 2^48 bytes of state, and of reserve: far beyond any
                // disk, small enough that sums of them cannot wrap.
                const kv_space_options space{s.integer("quota_bytes", default_quota_bytes, 0, std::uint64_t(1) << 48),
                                             s.integer("reserve_bytes", default_reserve_bytes, 0, std::uint64_t(1) << 48)};
                out = kv_settings{read_http(s, cfg), read_sessions(s), read_read_mode(s, cfg), history, max_level, space};
            }};
}

const char* read_mode_name(kv_read_mode m) noexcept {
    switch (m) {
    case kv_read_mode::log: return "log";
    case kv_read_mode::read_index: return "read_index";
    case kv_read_mode::lease: return "lease";
    }
    return "unknown";
}

namespace {

kv_config make_kv_config(raft_config peer, kv_settings kv) {
    apply_kv_defaults(peer.node);
    if (kv.read_mode == kv_read_mode::lease) peer.node.lease_reads = true;
    return {std::move(peer), std::move(kv.http), kv.sessions, kv.read_mode, kv.watch_history_bytes, kv.max_level, kv.space};
}

} // namespace

kv_config parse_kv_config(std::string_view text, const std::filesystem::path& path) {
    std::optional<kv_settings> kv;
    auto peer = parse_config(text, path, {kv_section(kv, true)});
    return make_kv_config(std::move(peer), std::move(*kv));
}

kv_config load_kv_config(const std::filesystem::path& path) {
    std::optional<kv_settings> kv;
    auto peer = load_config(path, {kv_section(kv, true)});
    return make_kv_config(std::move(peer), std::move(*kv));
}

std::vector<kv_cluster_peer> load_kv_cluster(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    std::vector<kv_cluster_peer> peers;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (f.path().extension() != ".ini") continue;
        std::optional<kv_settings> kv;
        const auto cfg = load_config(f.path(), {kv_section(kv, false)});
        if (!kv) continue;
        peers.push_back({cfg.node.core.self, std::move(kv->http), cfg.data_dir});
    }
    if (peers.empty()) throw std::runtime_error(dir.string() + ": no peer config with a [kv] section");
    std::sort(peers.begin(), peers.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return peers;
}

} // namespace raftlite::kv
