// raftlite — a peer's configuration file.
//
// The file is INI (read with Boost.PropertyTree's ini parser). Every key is
// documented in conf/template.ini. Sections and keys:
//   [cluster] id
//   [node]    id, listen, data_dir
//   [peers]   <node id> = host:port      (one line per voter, this node included)
//   [raft]    election_timeout_min_ms, election_timeout_max_ms, heartbeat_ms,
//             max_batch_entries, max_batch_bytes, max_inflight, max_pending   (all optional)
//   [transport] max_frame_bytes, peer_queue_bytes, max_inbound_connections (all optional)
//   [tls]     enabled, ca, cert, key        (optional section; with enabled = true
//             ca, cert and key are required and must be readable files)
//   [log]     level, file                                                     (all optional)
//   [kv]      listen, body_limit_bytes, header_limit_bytes, idle_timeout_ms,
//             max_connections, tls_cert, tls_key, client_ca
//                                                        (optional section; listen required in it)
// Comments are whole lines starting with ';' or '#'. Unknown sections or keys,
// duplicates, missing keys and bad values are errors (config_error) whose
// message names the file, the line (or the missing key) and what is expected.
// A relative data_dir, log file or certificate path is resolved against the directory holding
// the config file, so a config works from any working directory.
#ifndef RAFTLITE_CONFIG_HPP
#define RAFTLITE_CONFIG_HPP

#include <raftlite/logging.hpp>
#include <raftlite/types.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite {

/// An invalid or unreadable configuration file. what() is the whole message,
/// e.g. "conf/n1.ini:7: [node] id: expected an integer > 0, got 'x'".
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// "host:port" (an IPv6 host is written in brackets: "[::1]:7101").
/// The host is kept as written: names are resolved by whoever connects.
struct host_port {
    std::string host;
    std::uint16_t port = 0;

    /// Back to "host:port" ("[v6]:port" when the host contains ':').
    std::string to_string() const;
    /// Parses "host:port"; port 1..65535, host non-empty. nullopt when invalid.
    static std::optional<host_port> parse(std::string_view text);

    friend bool operator==(const host_port&, const host_port&) = default;
};

/// Writes to_string().
std::ostream& operator<<(std::ostream& os, const host_port& a);

/// [raft]: the algorithm's timing and flow-control parameters.
struct raft_settings {
    std::chrono::milliseconds election_timeout_min{300};
    std::chrono::milliseconds election_timeout_max{600};
    std::chrono::milliseconds heartbeat{50};
    std::size_t max_batch_entries = 512;     ///< entries per append request
    std::size_t max_batch_bytes = 1 << 20;   ///< payload bytes per append request
    std::size_t max_inflight = 8;            ///< pipelined append requests per follower
    std::size_t max_pending = 4096;          ///< this node's broadcasts awaiting an outcome
};

/// [transport]: bounds on what the network may cost this node.
struct transport_settings {
    std::size_t max_frame_bytes = 16u << 20;    ///< larger inbound frames close the connection
    std::size_t peer_queue_bytes = 64u << 20;   ///< outbound bytes queued per peer before dropping
    std::size_t max_inbound_connections = 64;   ///< accepted connections beyond this are closed
};

/// [tls]: mutually authenticated TLS between peers (transport_options::tls).
/// Paths are absolute after loading.
struct tls_settings {
    bool enabled = false;
    std::filesystem::path ca;     ///< the cluster CA certificate(s), PEM
    std::filesystem::path cert;   ///< this node's certificate, naming node-<id> (tls_node_name)
    std::filesystem::path key;    ///< its private key, PEM, unencrypted
};

/// [kv]: the key-value app's HTTP front end (only the kv app reads it).
struct kv_settings {
    host_port listen;                                  ///< required when [kv] is present
    std::size_t body_limit_bytes = 1u << 20;           ///< larger request bodies get 413
    std::size_t header_limit_bytes = 8u << 10;         ///< larger request headers get 431
    std::chrono::milliseconds idle_timeout{30000};     ///< a connection idle or slow this long is closed
    std::size_t max_connections = 256;                 ///< connections beyond this get 503
    /// HTTPS for clients when tls_cert is set (tls_key then required); absolute paths.
    std::filesystem::path tls_cert;                    ///< the server's certificate (chain), PEM
    std::filesystem::path tls_key;                     ///< its private key, PEM
    std::filesystem::path client_ca;                   ///< set: clients must present a certificate this CA signed
    bool tls() const { return !tls_cert.empty(); }
};

/// One peer's whole configuration.
struct raft_config {
    std::string cluster_id;                   ///< [cluster] id; peers of other clusters are refused
    node_id self = no_node;                   ///< [node] id (> 0)
    host_port listen;                         ///< [node] listen: where peers connect to this node
    std::filesystem::path data_dir;           ///< [node] data_dir, absolute after loading
    std::map<node_id, host_port> peers;       ///< [peers], self included
    raft_settings raft;
    transport_settings transport;
    tls_settings tls;                         ///< [tls]; disabled when the section is absent
    log_settings log;                         ///< log.node == self
    std::optional<kv_settings> kv;            ///< present when the file has a [kv] section
    std::filesystem::path source;             ///< the file this was read from

    /// The voters' ids in increasing order (core_config::members).
    std::vector<node_id> members() const;
};

/// Reads and validates a config file. Throws config_error.
raft_config load_config(const std::filesystem::path& path);

/// As above, without throwing: on failure `ec` is errc::bad_config, `message`
/// holds the description and the returned value is default-constructed.
raft_config load_config(const std::filesystem::path& path, boost::system::error_code& ec,
                        std::string& message);

/// Parses config text as if read from `path` (used in messages and to resolve
/// relative paths; the file need not exist). Throws config_error.
raft_config parse_config(std::string_view text, const std::filesystem::path& path);

} // namespace raftlite

#endif
