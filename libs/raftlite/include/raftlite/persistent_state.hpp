// raftlite — what a node restarts from: its hard state and its log.
#ifndef RAFTLITE_PERSISTENT_STATE_HPP
#define RAFTLITE_PERSISTENT_STATE_HPP

#include <raftlite/types.hpp>

#include <vector>

namespace raftlite {

/// Everything a node needs to restart: its hard state and its log.
/// The log holds entries first_index() .. last_index(); entries before
/// `log_start` were removed (compacted) and `prefix_term` is the term of the
/// entry at log_start - 1 (0 when log_start == 1).
struct persistent_state {
    hard_state hard;
    index_t log_start = 1;
    term_t prefix_term = 0;
    std::vector<log_entry> entries;   ///< indexes log_start, log_start+1, ...

    index_t last_index() const noexcept { return log_start + entries.size() - 1; }
};

} // namespace raftlite

#endif
