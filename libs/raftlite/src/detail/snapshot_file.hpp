// raftlite — snapshot files of a file_persister: writing one (beside the
// log, on any thread), checking one at load, reading its data.
//
// A snapshot is `snapshot-<index>-<term>.snap`: the application's data, then
// the voters and a checksummed footer (storage_format.hpp has the bytes,
// docs/storage-format.md the rules). It is written as `<name>.tmp`, synced,
// renamed into place and the directory synced: a file under its final name
// is always complete (Raft §7: a snapshot replaces the log prefix it covers,
// so it must be durable and whole before that prefix is dropped).
#ifndef RAFTLITE_SRC_DETAIL_SNAPSHOT_FILE_HPP
#define RAFTLITE_SRC_DETAIL_SNAPSHOT_FILE_HPP

#include "file_util.hpp"

#include <raftlite/persister.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace raftlite::detail {

/// The last error of snapshot work done on other threads than the log's, in
/// words; shared by the persister and its writers.
class shared_message {
public:
    void set(std::string m) {
        std::lock_guard lock(mutex_);
        text_ = std::move(m);
    }
    std::string get() const {
        std::lock_guard lock(mutex_);
        return text_;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
};

/// Starts writing snapshot (index, term, members) in directory `dir`: creates
/// `<name>.tmp` there. The writer opens the directory itself, so it depends
/// on nothing of the persister's and may outlive it or run on another thread.
error_code begin_snapshot_file(std::shared_ptr<file_io> io, const std::string& dir, index_t index, term_t term,
                               membership members, std::shared_ptr<shared_message> errors,
                               std::unique_ptr<snapshot_writer>& out, std::string& msg);

/// The snapshot files and leftover temporary files of a directory.
struct snapshot_listing {
    std::vector<std::pair<index_t, term_t>> files;   ///< ascending (index, term)
    std::vector<std::string> temps;
};
error_code list_snapshot_files(const std::string& dir, snapshot_listing& out, std::string& msg);

/// Checks snapshot file (index, term) in the directory open as `dir_fd`
/// (`dir` is its path, for messages): its trailer, and with `check_data` the
/// checksum of all of its data (a whole read). Damage is errc::corrupt_data
/// with `msg` naming the file; a missing file errc::snapshot_gone. Reads only.
error_code check_snapshot_file(int dir_fd, const std::string& dir, index_t index, term_t term, bool check_data,
                               snapshot_meta& meta, std::string& msg);

/// Reads up to `max` bytes of the data of snapshot `meta` from `offset`,
/// with a descriptor of its own (safe on any thread). A missing file, or one
/// that now holds another snapshot of the same name, is errc::snapshot_gone.
error_code read_snapshot_file(int dir_fd, const std::string& dir, const snapshot_meta& meta, std::uint64_t offset,
                              std::size_t max, std::string& out, std::string& msg);

} // namespace raftlite::detail

#endif
