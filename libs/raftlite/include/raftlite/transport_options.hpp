// raftlite — what the peer-to-peer transport needs to know. Kept apart from
// transport.hpp (which the node includes only in its .cpp) so that node.hpp
// and config code can fill these in without pulling in the transport.
// Every default of the transport's limits is written here once.
#ifndef RAFTLITE_TRANSPORT_OPTIONS_HPP
#define RAFTLITE_TRANSPORT_OPTIONS_HPP

#include <raftlite/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace raftlite {

/// A host and port, as written in config files: "127.0.0.1:7101", or with an
/// IPv6 host in brackets, "[::1]:7101". The host is kept as written: names
/// are resolved by whoever connects.
struct endpoint_address {
    std::string host;
    std::uint16_t port = 0;

    /// Back to "host:port" ("[host]:port" when the host contains ':').
    std::string to_string() const;
    /// Parses "host:port": a non-empty host without spaces, slashes or
    /// brackets, and a port in 1..65535. An IPv6 host must be bracketed.
    /// nullopt when the text is not such an address.
    static std::optional<endpoint_address> parse(std::string_view text);

    friend bool operator==(const endpoint_address&, const endpoint_address&) = default;
};

/// Writes to_string().
std::ostream& operator<<(std::ostream& os, const endpoint_address& a);

/// Default bound on a whole frame (header + payload).
inline constexpr std::size_t default_max_frame_bytes = std::size_t(16) << 20;

/// Bounds applied while decoding a frame's payload, on top of the frame's own
/// size (see codec.hpp).
struct decode_limits {
    std::size_t max_entries = 65536;                       ///< entries in one log_request
    std::size_t max_payload_bytes = std::size_t(16) << 20; ///< one entry or forward payload
    std::size_t max_cluster_id_bytes = 256;                ///< handshake cluster id
    std::size_t max_members = 1024;                        ///< servers (voters and learners) in a snapshot's configuration
    std::size_t max_snapshot_chunk_bytes = std::size_t(16) << 20; ///< one install_snapshot chunk
};

/// Mutually authenticated TLS on every peer connection (see transport.hpp).
/// Files are PEM. Node n is named by its certificate's DNS subjectAltName
/// "node-<n>" (see tls_node_name); a certificate without DNS names may carry
/// it as its subject CN instead. Wildcards never match.
struct tls_options {
    bool enabled = false;       ///< off: plain TCP, as before
    std::string ca_file;        ///< the cluster CA: peers must present a certificate it signed
    std::string cert_file;      ///< this node's certificate (chain), naming node-<self>
    std::string key_file;       ///< its private key (unencrypted)
};

/// The name a certificate must carry to speak for node `id`: "node-<id>".
inline std::string tls_node_name(node_id id) { return "node-" + std::to_string(id); }

struct transport_options {
    std::string cluster_id;                          ///< connections naming another cluster are refused
    node_id self = no_node;
    endpoint_address listen;                         ///< port 0: an ephemeral port (see transport::listen_port)
    /// The peers at start: every member; self's entry is ignored. The set may
    /// change while the transport runs (transport::add_peer, remove_peer,
    /// set_peers); this field stays what it was at construction.
    std::map<node_id, endpoint_address> peers;
    /// Off (the default): a handshake from a sender that is not a current peer
    /// is refused. On: any sender id of the same cluster is let in (a node
    /// that joins a cluster hears from a leader it does not know yet), except
    /// ids removed by remove_peer/set_peers and not added again. Either way
    /// the handshake binds the connection to the id it names, and with TLS on
    /// the certificate must name that id exactly as for a known peer; this
    /// only widens WHICH ids may connect. Messages from such a sender carry
    /// its id in envelope::from like any other.
    bool accept_unknown_peers = false;
    std::size_t max_frame_bytes = default_max_frame_bytes; ///< larger frames close the connection
    decode_limits limits;
    std::size_t max_queue_bytes = 64 << 20;          ///< per peer: queued, unsent frames
    std::size_t max_queue_messages = 65536;          ///< per peer
    std::size_t max_inbound_connections = 64;
    std::chrono::milliseconds reconnect_min{50};     ///< backoff after a failed connect, doubling...
    std::chrono::milliseconds reconnect_max{2000};   ///< ... up to this
    std::chrono::milliseconds handshake_timeout{5000}; ///< bounds connect + TLS + raftlite handshake + its acknowledgement
    tls_options tls;
};

} // namespace raftlite

#endif
