// raftlite — durable storage in a data directory (the real node's persister).
//
// Files (docs/storage-format.md has the byte layout and the recovery rules):
//   LOCK                    flock()ed while a file_persister has the directory
//   hard_state              term, vote and commit; replaced atomically (temp, fsync, rename, fsync dir)
//   log_meta                log start and prefix term after compaction; replaced atomically
//   log-<first index>.seg   append-only segments of checksummed log records
//   snapshot-<index>-<term>.snap   snapshots: data, voters, checksummed footer
//                                  (written as .tmp, synced, renamed)
//
// Error reporting: every operation returns a boost::system::error_code;
// last_error_message() then says in words what went wrong (file, offset,
// cause). Nothing throws except std::bad_alloc.
#ifndef RAFTLITE_FILE_PERSISTER_HPP
#define RAFTLITE_FILE_PERSISTER_HPP

#include <raftlite/persister.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace raftlite {

namespace detail {
class file_io;
}

struct file_persister_options {
    /// A segment is closed and a new one started once appending the next
    /// record would make it larger than this (a segment always takes at
    /// least one record, however large).
    std::uint64_t segment_size = 64ull << 20;
    /// Largest entry payload accepted by append() and believed by load();
    /// a larger length read from disk is corruption, never an allocation.
    std::uint32_t max_payload = 64u << 20;
    /// Receives recovery warnings (a torn tail cut off, leftovers removed).
    /// Empty: they go to Boost.Log, channel "disk", severity warning.
    std::function<void(const std::string&)> on_warning;
    /// The file system calls that write or sync (<raftlite/detail/file_io.hpp>).
    /// Empty: the operating system's. Tests put a model of the disk here.
    std::shared_ptr<detail::file_io> io;
};

class file_persister final : public persister {
public:
    /// Does no I/O: the directory is created, locked and read by load().
    explicit file_persister(std::string directory, file_persister_options options = {});
    ~file_persister() override;   ///< closes the files and releases the lock (no sync)

    file_persister(const file_persister&) = delete;
    file_persister& operator=(const file_persister&) = delete;

    /// Creates the directory if needed (durably: its parent is fsynced),
    /// locks it (errc::already_locked when another process or another
    /// file_persister holds it), reads the hard state and the log and cuts
    /// off a torn tail in the last segment. Damage anywhere else is
    /// errc::corrupt_data and leaves the files untouched. Before returning,
    /// it syncs every file it returns data from and the directory, so that
    /// what a crashed process left unsynced in the page cache is durable
    /// before the node acts on it (persister::load() says why).
    /// Must succeed before any write is accepted.
    boost::system::error_code load(persistent_state& out) override;

    boost::system::error_code save_hard_state(const hard_state& hs) override;
    boost::system::error_code append(const std::vector<log_entry>& entries) override;
    /// Durable when it returns (unlike append): the cut is synced before a
    /// later append can write over the bytes it removed.
    boost::system::error_code truncate_suffix(index_t from) override;
    boost::system::error_code remove_prefix(index_t upto, term_t prefix_term) override;
    boost::system::error_code sync() override;
    std::size_t max_entry_bytes() const noexcept override;

    /// The writer touches only its own file and directory descriptor: it may
    /// run on any thread, beside the log writes, and outlive the persister.
    /// Its failures are described by snapshot_error_message(), not
    /// last_error_message(), and do not fail the persister.
    boost::system::error_code begin_snapshot(index_t index, term_t term, membership members,
                                             std::unique_ptr<snapshot_writer>& out) override;
    /// Makes the finished snapshot `meta` current and removes the older
    /// snapshot files (the directory entry changes are synced by the next
    /// sync()). Refused, with nothing changed, when its file is missing or
    /// does not hold `meta`. After a crash, load() starts from the newest
    /// finished snapshot file, used or not: a finished snapshot is durable
    /// and complete, and load() reconciles the log with it.
    boost::system::error_code use_snapshot(const snapshot_meta& meta) override;
    std::optional<snapshot_meta> current_snapshot() const override;
    /// Thread-safe: each call reads with a descriptor of its own.
    boost::system::error_code read_snapshot(const snapshot_meta& meta, std::uint64_t offset, std::size_t max,
                                            std::string& out) const override;

    /// What the last failing snapshot writer, begin_snapshot or read_snapshot
    /// went wrong on (they may run on other threads, hence a copy).
    std::string snapshot_error_message() const;

    /// What the last failing call went wrong on, in words (empty if none failed).
    const std::string& last_error_message() const noexcept;
    /// True after a write or sync failed: every later write fails with errc::storage_failed.
    bool failed() const noexcept;
    const std::string& directory() const noexcept;

    /// Last index held (log_start - 1 when the log is empty); for tools and tests.
    index_t last_index() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace raftlite

#endif
