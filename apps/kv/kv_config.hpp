// raftlite-kv — a kv peer's config file: the library's sections and [kv],
// the HTTP front end for clients (see conf/template.ini for every key).
//
//   [kv] listen              required: HTTP address for clients, host:port,
//                            not the same as [node] listen
//        body_limit_bytes, header_limit_bytes, idle_timeout_ms,
//        max_connections     optional: http_server_options' limits
//        tls_cert, tls_key   optional, together: HTTPS with this certificate
//        client_ca           optional, needs tls_cert: clients must present
//                            a certificate this CA signed
//        session_expiry_s, max_sessions, session_tick_ms
//                            optional: client sessions (kv_session_options)
//        read_mode           optional: log, read_index (default) or lease
//                            (kv_read_mode; lease turns on [raft] lease_reads)
//        watch_history_bytes optional: the recent changes kept for watches
//                            (change_history.hpp; default 8 MiB, 0: no watches)
//        max_level           optional: the highest feature level this peer
//                            reports (kv_levels.hpp; default: all it applies)
//        quota_bytes, reserve_bytes
//                            optional: the space guard (kv_space.hpp; 2 GiB
//                            and 64 MiB by default, 0 turns either off)
// Defaults are those of http_server_options and kv_session_options. Paths are resolved against the
// config file's directory, and must exist.
//
// Snapshots: the library takes none unless asked, but a kv peer's log would
// then grow without bound (and a restart replay all of it). So when the file
// sets neither [raft] snapshot_entries nor snapshot_bytes, a kv peer takes a
// snapshot every default_snapshot_entries applied entries; either key in the
// file replaces this default.
#ifndef RAFTLITE_KV_CONFIG_HPP
#define RAFTLITE_KV_CONFIG_HPP

#include "http_server.hpp"
#include "kv_levels.hpp"
#include "kv_space.hpp"

#include <raftlite/client_sessions.hpp>
#include <raftlite/config.hpp>
#include <raftlite/transport_options.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace raftlite::kv {

/// [raft] snapshot_entries of a kv peer whose file sets neither
/// snapshot_entries nor snapshot_bytes.
inline constexpr index_t default_snapshot_entries = 100000;

/// Applies the rule above to options read from a file (0 means unset: the
/// file cannot hold a 0).
void apply_kv_defaults(node_options& options);

/// Client sessions (Raft thesis §6.3; kv_store.hpp, kv_main.cpp). Every peer
/// of a cluster must have the same limits: they decide which sessions expire.
struct kv_session_options {
    /// [kv] session_expiry_s (default 3600) and max_sessions (default 100000).
    session_limits limits;
    /// [kv] session_tick_ms: how often the leader writes its clock to the log
    /// while sessions are open; less than the expiry.
    std::chrono::milliseconds tick{1000};
};

/// How GET /kv/<key> is served (Raft thesis §6.4). Every mode is
/// linearizable; they differ in what a read costs.
enum class kv_read_mode {
    log,          ///< a get is a log entry: a disk write and a replication round per read
    read_index,   ///< node::async_read_index: one heartbeat round a majority answers (shared), nothing written
    lease,        ///< read_index under the leader's lease: no round while it holds; safe only under bounded clock drift
};
const char* read_mode_name(kv_read_mode m) noexcept;

/// What the [kv] section holds.
/// [kv] watch_history_bytes when the file does not set it.
inline constexpr std::size_t default_watch_history_bytes = 8u << 20;

struct kv_settings {
    http_server_options http;
    kv_session_options sessions;
    kv_read_mode read_mode = kv_read_mode::read_index;
    std::size_t watch_history_bytes = default_watch_history_bytes;
    unsigned max_level = supported_level;
    kv_space_options space;
};

/// A kv peer's configuration.
struct kv_config {
    raft_config peer;               ///< the library's sections
    http_server_options http;       ///< [kv]
    kv_session_options sessions;    ///< [kv]
    kv_read_mode read_mode = kv_read_mode::read_index;   ///< [kv] read_mode
    std::size_t watch_history_bytes = default_watch_history_bytes;   ///< [kv] watch_history_bytes
    /// [kv] max_level: the highest feature level this peer reports
    /// (kv_levels.hpp). Below what it applies, it holds new kinds of
    /// command off the whole cluster, so that a rollback to the previous
    /// version stays possible until the operator raises it.
    unsigned max_level = supported_level;
    /// [kv] quota_bytes and reserve_bytes: the space guard (kv_space.hpp).
    kv_space_options space;
};

/// The [kv] section for load_config: when the file has it, `out` receives
/// it. With `required`, a file without [kv] is an error.
app_section kv_section(std::optional<kv_settings>& out, bool required);

/// Reads a kv peer's config file; [kv] is required. Throws config_error.
kv_config load_kv_config(const std::filesystem::path& path);

/// Parses config text as if read from `path` (see parse_config).
kv_config parse_kv_config(std::string_view text, const std::filesystem::path& path);

/// One peer of a cluster directory, as a client sees it.
struct kv_cluster_peer {
    node_id id = 0;
    http_server_options http;             ///< its [kv] section: where it serves clients
    std::filesystem::path data_dir;       ///< its [node] data_dir (resolved against the file)
};

/// Reads every *.ini of a cluster directory (e.g. conf/local) that has a [kv]
/// section, in id order: what a client needs to reach every peer. Throws
/// config_error for a bad file, std::runtime_error when `dir` is not a
/// directory or holds no such file.
std::vector<kv_cluster_peer> load_kv_cluster(const std::filesystem::path& dir);

/// Where the server listens, as written in [kv] listen.
inline endpoint_address listen_address(const http_server_options& o) { return {o.address, o.port}; }

/// The server speaks HTTPS ([kv] tls_cert is set).
inline bool serves_https(const http_server_options& o) { return !o.tls_cert_file.empty(); }

} // namespace raftlite::kv

#endif
