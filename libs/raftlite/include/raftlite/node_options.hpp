// raftlite — how a node runs: the protocol's parameters, the transport's, and
// the timers'.
#ifndef RAFTLITE_NODE_OPTIONS_HPP
#define RAFTLITE_NODE_OPTIONS_HPP

#include <raftlite/core.hpp>
#include <raftlite/transport_options.hpp>
#include <raftlite/types.hpp>

#include <chrono>
#include <cstdint>

namespace raftlite {

/// How a node runs. Defaults suit a LAN or loopback cluster: the heartbeat
/// (50 ms) is well below the minimum election timeout (300 ms), so a healthy
/// leader is never suspected; timeouts are drawn uniformly from
/// [election_timeout_min, election_timeout_max) so that one node usually
/// times out first (Raft §5.2).
struct node_options {
    core_config core;                                       ///< self, members, batching and queue limits
    transport_options transport;                            ///< listen address, peers, frame and queue limits
    std::chrono::milliseconds election_timeout_min{300};
    std::chrono::milliseconds election_timeout_max{600};
    std::chrono::milliseconds heartbeat_interval{50};
    std::chrono::milliseconds broadcast_timeout{10000};     ///< a broadcast or read without outcome by then completes with errc::timed_out
    /// Lease reads (Raft thesis §6.4.1): a leader serves async_read_index
    /// without a heartbeat round while a majority answered one begun less
    /// than election_timeout_min × (1 − d) / (1 + d) ago, d = max_clock_drift.
    /// Safe only if every peer's clock rate stays within d of true time
    /// (timers included); off, every read costs a round trip to a majority.
    bool lease_reads = false;
    double max_clock_drift = 0.1;                           ///< the drift bound d of lease reads, in [0, 1)
    index_t applied_index = 0;                              ///< entries up to here were applied before a restart: not delivered again
    index_t snapshot_entries = 0;                           ///< ask for a snapshot after this many applied entries (0: not by count; needs node::on_snapshot)
    std::uint64_t snapshot_bytes = 0;                       ///< ... or this many applied payload bytes (0: not by size)
    std::size_t max_deliveries_per_turn = 1024;             ///< committed entries delivered per strand turn (timers and messages run in between)
    std::size_t completions_per_drain = 0;                  ///< replicate what completion handlers broadcast after every this many completions (0: once per strand turn); 16 suits wide-area links
    std::uint64_t seed = 0;                                 ///< election-timer randomness; 0: from std::random_device
};

} // namespace raftlite

#endif
