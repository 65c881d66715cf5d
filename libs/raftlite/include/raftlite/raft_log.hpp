// raftlite — the core's in-memory view of the replicated log.
#ifndef RAFTLITE_RAFT_LOG_HPP
#define RAFTLITE_RAFT_LOG_HPP

#include <raftlite/types.hpp>

#include <deque>
#include <vector>

namespace raftlite {

/// Entries start() .. length(), indexes 1-based. Entries before start() were
/// compacted away; the term of entry start()-1 is remembered so that the
/// Log Matching check (Raft §5.3) still works at the boundary.
class raft_log {
public:
    raft_log() = default;
    raft_log(index_t start, term_t prefix_term, std::vector<log_entry> entries);

    /// Index of the first entry held (1 when nothing was ever compacted).
    index_t start() const noexcept { return start_; }
    /// Kleppmann's log.length: the index of the last entry (0 when empty).
    index_t length() const noexcept { return start_ + entries_.size() - 1; }
    /// Term of the last entry, or of the compacted prefix, or 0.
    term_t last_term() const noexcept { return term_at(length()); }

    /// True when `index` is held in memory (start() <= index <= length()).
    bool holds(index_t index) const noexcept {
        return index >= start_ && index <= length();
    }
    /// Term of entry `index`; for index start()-1 the compacted prefix term;
    /// 0 for index 0. Precondition: start()-1 <= index <= length().
    term_t term_at(index_t index) const noexcept;
    const log_entry& at(index_t index) const noexcept { return entries_[index - start_]; }

    /// Appends one entry; its index must be length()+1.
    void append(log_entry e);
    /// Removes entries with index >= from.
    void truncate_suffix(index_t from);
    /// Removes entries with index < upto (compaction).
    void remove_prefix(index_t upto);
    /// Empties the log: it starts at `start`, entry start-1 having term
    /// `prefix_term` (a follower that installs a snapshot it had no match for).
    void reset(index_t start, term_t prefix_term);

    /// First index of the run of entries with the same term as entry `index`
    /// (used for the conflict hint). Precondition: holds(index).
    index_t first_index_of_term_run(index_t index) const noexcept;

private:
    index_t start_ = 1;
    term_t prefix_term_ = 0;
    std::deque<log_entry> entries_;
};

} // namespace raftlite

#endif
