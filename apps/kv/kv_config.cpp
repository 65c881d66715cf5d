// raftlite-kv — reading the [kv] section of a peer's config file.
#include "kv_config.hpp"

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

} // namespace raftlite::kv
