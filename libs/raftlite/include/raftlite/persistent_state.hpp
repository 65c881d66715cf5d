// raftlite — what a node restarts from: its hard state and its log.
#ifndef RAFTLITE_PERSISTENT_STATE_HPP
#define RAFTLITE_PERSISTENT_STATE_HPP

#include <raftlite/types.hpp>

#include <optional>
#include <vector>

namespace raftlite {

/// Everything a node needs to restart: its hard state, its newest snapshot
/// and its log. The log holds entries log_start .. last_index(); entries
/// before `log_start` were removed (compacted) and `prefix_term` is the term
/// of the entry at log_start - 1 (0 when log_start == 1). With a snapshot the
/// log continues it: log_start <= snapshot->index + 1, and when the log holds
/// entry snapshot->index its term is snapshot->term (load() discards a log
/// that does not match the snapshot, Raft §7).
struct persistent_state {
    hard_state hard;
    std::optional<snapshot_meta> snapshot;
    index_t log_start = 1;
    term_t prefix_term = 0;
    std::vector<log_entry> entries;   ///< indexes log_start, log_start+1, ...

    index_t last_index() const noexcept { return log_start + entries.size() - 1; }
};

} // namespace raftlite

#endif
