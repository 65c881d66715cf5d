// raftlite — from a peer's config file to the options of its node.
#include <raftlite/config.hpp>
#include <raftlite/node.hpp>

namespace raftlite {

namespace {
endpoint_address to_endpoint(const host_port& hp) { return {hp.host, hp.port}; }
}

node_options make_node_options(const raft_config& cfg) {
    node_options o;
    o.core.self = cfg.self;
    o.core.members = cfg.members();
    o.core.max_batch_entries = cfg.raft.max_batch_entries;
    o.core.max_batch_bytes = cfg.raft.max_batch_bytes;
    o.core.max_inflight = cfg.raft.max_inflight;
    o.core.max_pending = cfg.raft.max_pending;
    o.election_timeout_min = cfg.raft.election_timeout_min;
    o.election_timeout_max = cfg.raft.election_timeout_max;
    o.heartbeat_interval = cfg.raft.heartbeat;

    o.transport.cluster_id = cfg.cluster_id;
    o.transport.self = cfg.self;
    o.transport.listen = to_endpoint(cfg.listen);
    for (const auto& [id, hp] : cfg.peers) o.transport.peers[id] = to_endpoint(hp);
    o.transport.max_frame_bytes = cfg.transport.max_frame_bytes;
    o.transport.max_queue_bytes = cfg.transport.peer_queue_bytes;
    o.transport.max_inbound_connections = cfg.transport.max_inbound_connections;
    o.transport.tls.enabled = cfg.tls.enabled;
    o.transport.tls.ca_file = cfg.tls.ca.string();
    o.transport.tls.cert_file = cfg.tls.cert.string();
    o.transport.tls.key_file = cfg.tls.key.string();
    return o;
}

} // namespace raftlite
