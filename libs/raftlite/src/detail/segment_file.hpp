// raftlite — log segment files: scanning one (recovery), and the open
// segment the log is appended to (append, cut, sync).
//
// A segment is `log-<first index>.seg`: a header, then checksummed records of
// consecutive entries (storage_format.hpp has the bytes, docs/storage-format.md
// the rules).
#ifndef RAFTLITE_SRC_DETAIL_SEGMENT_FILE_HPP
#define RAFTLITE_SRC_DETAIL_SEGMENT_FILE_HPP

#include "data_directory.hpp"

#include <raftlite/types.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace raftlite::detail {

/// What scanning one segment file found.
struct segment_scan {
    std::uint64_t file_size = 0;
    std::uint64_t valid_end = 0;         ///< bytes up to here hold the header and whole records
    index_t next_index = 0;              ///< one past the last whole record
    bool torn = false;                   ///< bytes after valid_end are a torn write (last segment only)
    bool header_torn = false;            ///< even the segment header is torn: the file goes
    std::string torn_why;
    std::vector<std::uint64_t> offsets;  ///< file offset of each whole record
};

/// Parses segment `first`. Records must hold indexes first, first+1, ...
/// Entries with index >= collect_from go to *out (if given). A defect in the
/// last record of the last segment (`is_last`) is a torn write, reported in
/// `r` and not an error; any other defect is errc::corrupt_data with `msg`
/// naming file and offset. Changes nothing on disk.
error_code scan_segment(const data_directory& dir, index_t first, bool is_last, std::uint32_t max_payload,
                        index_t collect_from, std::vector<log_entry>* out, segment_scan& r,
                        std::string& msg);

/// Removes segment `first` (a missing file is not an error). The directory is not synced.
error_code remove_segment(data_directory& dir, index_t first, std::string& msg);

/// The segment appends go to. Nothing here syncs unless it says so.
class open_segment {
public:
    explicit open_segment(data_directory& dir) : dir_(&dir) {}

    bool is_open() const noexcept { return static_cast<bool>(fd_); }
    index_t first() const noexcept { return first_; }
    std::uint64_t end() const noexcept { return end_; }
    std::size_t records() const noexcept { return offsets_.size(); }
    /// Written since the last fdatasync.
    bool dirty() const noexcept { return dirty_; }
    std::string name() const;

    /// Creates log-<first>.seg (it must not exist) and writes its header.
    error_code create(index_t first, std::string& msg);
    /// Opens segment `first`, whose records end at `end` and start at `offsets`, for appending.
    error_code open(index_t first, std::uint64_t end, std::vector<std::uint64_t> offsets, std::string& msg);
    void close() noexcept;

    /// True when a record for `e` may go into this segment without making it
    /// larger than `segment_size`. An empty segment takes any record.
    bool fits(const log_entry& e, std::uint64_t segment_size) const noexcept;
    /// Writes entries[from, next) after the last record with one pwritev:
    /// every entry from `from` on that fits (at least entries[from]).
    error_code append(const std::vector<log_entry>& entries, std::size_t from, std::uint64_t segment_size,
                      std::size_t& next, std::string& msg);
    /// Cuts the segment before its k-th record (k < records()), durably.
    error_code cut(std::size_t k, std::string& msg);
    /// fdatasyncs the segment if it was written since the last one.
    error_code sync(std::string& msg);

private:
    data_directory* dir_;
    unique_fd fd_;
    index_t first_ = 0;
    std::uint64_t end_ = 0;
    std::vector<std::uint64_t> offsets_;   ///< offset of each record
    bool dirty_ = false;
    std::vector<unsigned char> header_buf_;   // scratch for append()
    std::vector<iovec> iov_;
};

} // namespace raftlite::detail

#endif
