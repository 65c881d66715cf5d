// raftlite-kv — reading the [kv] section of a peer's config file.
#include "kv_config.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace raftlite::kv {

namespace {

http_server_options read_kv(const config_section& s, const raft_config& cfg) {
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

app_section kv_section(std::optional<http_server_options>& out, bool required) {
    return {"kv", required, "listen = host:port for clients",
            [&out](const config_section& s, const raft_config& cfg) { out = read_kv(s, cfg); }};
}

kv_config parse_kv_config(std::string_view text, const std::filesystem::path& path) {
    std::optional<http_server_options> http;
    auto peer = parse_config(text, path, {kv_section(http, true)});
    apply_kv_defaults(peer.node);
    return {std::move(peer), std::move(*http)};
}

kv_config load_kv_config(const std::filesystem::path& path) {
    std::optional<http_server_options> http;
    auto peer = load_config(path, {kv_section(http, true)});
    apply_kv_defaults(peer.node);
    return {std::move(peer), std::move(*http)};
}

std::vector<kv_cluster_peer> load_kv_cluster(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    std::vector<kv_cluster_peer> peers;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (f.path().extension() != ".ini") continue;
        std::optional<http_server_options> http;
        const auto cfg = load_config(f.path(), {kv_section(http, false)});
        if (!http) continue;
        peers.push_back({cfg.node.core.self, std::move(*http), cfg.data_dir});
    }
    if (peers.empty()) throw std::runtime_error(dir.string() + ": no peer config with a [kv] section");
    std::sort(peers.begin(), peers.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return peers;
}

} // namespace raftlite::kv
