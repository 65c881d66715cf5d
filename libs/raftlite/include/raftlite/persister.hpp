// raftlite — the storage interface the node drives.
#ifndef RAFTLITE_PERSISTER_HPP
#define RAFTLITE_PERSISTER_HPP

#include <raftlite/persistent_state.hpp>
#include <raftlite/types.hpp>

#include <boost/system/error_code.hpp>

#include <vector>

namespace raftlite {

/// Durable storage for one node. Not thread-safe: one owner drives it.
///
/// Writes (save_hard_state, append, truncate_suffix, remove_prefix) may be
/// buffered; nothing is promised durable until sync() returns success. That
/// lets many appends share one fsync (group commit). After any error the
/// persister is "failed": every later write returns an error too, so the node
/// stops taking writes instead of acknowledging what it could not store.
class persister {
public:
    virtual ~persister() = default;

    /// Reads everything back and makes it durable. Called once, before any write.
    ///
    /// Everything load() returns must be durable when it returns, whether or
    /// not the run that wrote it ever synced it. The rule behind this: a vote
    /// or an acknowledgement leaves the node only after what it promises is
    /// durable. A restarted node acts on what load() returned: it repeats the
    /// vote in its hard state and acknowledges the entries in its log. After a
    /// process crash the operating system's page cache still holds writes
    /// that were never synced, so load() reads them back; if they were not
    /// made durable first, a power loss after the restart could take back a
    /// vote or an entry the node has already promised to others.
    virtual boost::system::error_code load(persistent_state& out) = 0;

    /// Replaces term and vote (atomically: a crash leaves old or new, never a mix).
    virtual boost::system::error_code save_hard_state(const hard_state& hs) = 0;

    /// Appends entries; their indexes must continue the log exactly.
    virtual boost::system::error_code append(const std::vector<log_entry>& entries) = 0;

    /// Removes entries with index >= from (a conflicting suffix).
    virtual boost::system::error_code truncate_suffix(index_t from) = 0;

    /// Removes entries with index < upto; `prefix_term` is the term of entry upto-1.
    virtual boost::system::error_code remove_prefix(index_t upto, term_t prefix_term) = 0;

    /// Makes every write so far durable (fsync/fdatasync as needed).
    virtual boost::system::error_code sync() = 0;

    /// True when writes and sync() may block on I/O: the node then runs them
    /// on a thread of their own. In-memory storage says false and is written
    /// inline, saving two thread hand-offs per batch.
    virtual bool blocks() const noexcept { return true; }
};

} // namespace raftlite

#endif
