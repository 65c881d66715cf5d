// raftlite — the storage interface the node drives.
#ifndef RAFTLITE_PERSISTER_HPP
#define RAFTLITE_PERSISTER_HPP

#include <raftlite/persistent_state.hpp>
#include <raftlite/types.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite {

/// Writes one snapshot's data (persister::begin_snapshot). It touches only a
/// file of its own, so the application can fill it on any thread while the
/// node goes on writing its log: taking a snapshot never blocks the log.
class snapshot_writer {
public:
    virtual ~snapshot_writer() = default;
    /// Appends application data (buffered; nothing is durable before finish()).
    virtual boost::system::error_code write(std::string_view data) = 0;
    /// Seals the snapshot: its data, checksum and metadata are made durable
    /// under its final name (temp file, fsync, rename, directory fsync). A
    /// received snapshot passes what the leader announced as `expected`: a
    /// different size or checksum is errc::corrupt_data and nothing is kept.
    /// On success `out` is the snapshot's metadata. The snapshot is durable
    /// but not yet the current one: persister::use_snapshot makes it so.
    virtual boost::system::error_code finish(snapshot_meta& out, const snapshot_meta* expected = nullptr) = 0;
    /// Gives up: the partial file is removed (also done by the destructor of
    /// an unfinished writer).
    virtual void abandon() noexcept = 0;
};

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

    /// Removes entries with index < upto; `prefix_term` is the term of entry
    /// upto-1. `upto` may lie beyond the last entry (a follower that installs
    /// a snapshot ahead of its log): the log is then empty and starts at upto.
    virtual boost::system::error_code remove_prefix(index_t upto, term_t prefix_term) = 0;

    // ---- snapshots (Raft §7; thesis §5) ----------------------------------
    /// Starts a snapshot covering entries 1..index. Safe to call from any
    /// thread; the writer may be used on any one thread.
    virtual boost::system::error_code begin_snapshot(index_t index, term_t term, membership members,
                                                     std::unique_ptr<snapshot_writer>& out) = 0;
    /// Makes a finished snapshot the current one (a write, durable with the
    /// next sync()): the next load() starts from it, and older snapshot files
    /// are removed. Write it before the remove_prefix it allows: the log
    /// prefix is dropped only once a durable snapshot covers it.
    virtual boost::system::error_code use_snapshot(const snapshot_meta& meta) = 0;
    /// The current snapshot, if any.
    virtual std::optional<snapshot_meta> current_snapshot() const = 0;
    /// Reads up to `max` bytes of snapshot `meta`'s application data from
    /// `offset` (fewer only at its end). Safe from any thread. A snapshot no
    /// longer stored (replaced by a newer one) is errc::snapshot_gone; a damaged
    /// one errc::corrupt_data naming its file.
    virtual boost::system::error_code read_snapshot(const snapshot_meta& meta, std::uint64_t offset, std::size_t max,
                                                    std::string& out) const = 0;

    /// Makes every write so far durable (fsync/fdatasync as needed).
    virtual boost::system::error_code sync() = 0;

    /// True when writes and sync() may block on I/O: the node then runs them
    /// on a thread of their own. In-memory storage says false and is written
    /// inline, saving two thread hand-offs per batch.
    virtual bool blocks() const noexcept { return true; }
    /// The largest entry payload the storage takes (append fails beyond it).
    virtual std::size_t max_entry_bytes() const noexcept { return static_cast<std::size_t>(-1); }
};

} // namespace raftlite

#endif
