// raftlite — file_persister: hard state, log segments, recovery, the lock.
//
// The byte layout lives in storage_format.cpp; docs/storage-format.md
// describes files and recovery rules. Here: when which byte goes to disk,
// in which order, and what a crash at any point leaves behind.
#include <raftlite/file_persister.hpp>

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>
#include <raftlite/log.hpp>


#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace raftlite {
namespace {

using boost::system::error_code;
namespace fmt = detail;

error_code os_error(int e) { return error_code(e, boost::system::system_category()); }

// Owns a file descriptor.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// A read-only view of a whole file: recovery parses segments in place.
class mapped_file {
public:
    mapped_file() = default;
    ~mapped_file() {
        if (data_) ::munmap(data_, size_);
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;

    error_code map(int fd, std::uint64_t size) {
        if (size == 0) return {};
        void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) return os_error(errno);
        data_ = p;
        size_ = size;
        return {};
    }
    const unsigned char* data() const noexcept { return static_cast<const unsigned char*>(data_); }

private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

int open_at(int dir_fd, const std::string& name, int flags, mode_t mode = 0644) {
    int fd;
    do fd = ::openat(dir_fd, name.c_str(), flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

// Writes every byte of `iov` at `offset`, resuming after short writes (which a
// full disk or a file size limit produce before failing outright).
error_code write_all(int fd, iovec* iov, std::size_t count, std::uint64_t offset) {
    while (count > 0) {
        const int n_iov = static_cast<int>(std::min<std::size_t>(count, IOV_MAX));
        const ssize_t n = ::pwritev(fd, iov, n_iov, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error(errno);
        }
        if (n == 0) return os_error(EIO);   // no progress and no errno: do not spin
        offset += static_cast<std::uint64_t>(n);
        std::size_t left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (left > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return {};
}

error_code write_all(int fd, const void* data, std::size_t size, std::uint64_t offset) {
    iovec v{const_cast<void*>(data), size};
    return write_all(fd, &v, size ? 1 : 0, offset);
}

error_code retry_eintr(int (*f)(int), int fd) {
    int rc;
    do rc = f(fd);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? os_error(errno) : error_code();
}

bool all_zero(const unsigned char* p, std::uint64_t n) noexcept {
    return std::all_of(p, p + n, [](unsigned char c) { return c == 0; });
}

// What scanning one segment file found.
struct scan_result {
    std::uint64_t file_size = 0;
    std::uint64_t valid_end = 0;         ///< bytes up to here hold the header and whole records
    index_t next_index = 0;              ///< one past the last whole record
    bool torn = false;                   ///< bytes after valid_end are a torn write (last segment only)
    bool header_torn = false;            ///< even the segment header is torn: the file goes
    std::string torn_why;
    std::vector<std::uint64_t> offsets;  ///< file offset of each whole record
};

} // namespace

struct file_persister::impl {
    std::string dir;
    file_persister_options opts;

    unique_fd dir_fd;
    unique_fd lock_fd;
    unique_fd seg_fd;                     ///< the open segment: segments.back(), when valid

    bool loaded = false;
    bool failed = false;
    std::string last_error;
    std::string failure;                  ///< what made us fail, for every later refusal

    index_t log_start = 1;
    term_t prefix_term = 0;
    index_t last = 0;                     ///< last index held; log_start - 1 when empty
    std::vector<index_t> segments;        ///< first index of each segment file, ascending
    std::uint64_t seg_end = 0;            ///< size of the open segment
    std::vector<std::uint64_t> seg_offsets; ///< offset of each record in the open segment
    bool data_dirty = false;              ///< the open segment has writes not yet fdatasync'ed
    bool dir_dirty = false;               ///< directory entries changed since the last fsync

    std::vector<unsigned char> header_buf; // scratch for append()
    std::vector<iovec> iov;

    impl(std::string d, file_persister_options o) : dir(std::move(d)), opts(std::move(o)) {
        if (opts.segment_size < fmt::segment_header_size + fmt::record_header_size)
            opts.segment_size = fmt::segment_header_size + fmt::record_header_size;
    }

    std::string path(const std::string& name) const { return dir + "/" + name; }

    void warn(const std::string& msg) {
        if (opts.on_warning)
            opts.on_warning(msg);
        else
            RAFTLITE_LOG_DISK(warning) << msg;
    }

    // A refusal: nothing was written, the persister stays usable.
    error_code refuse(error_code ec, std::string msg) {
        last_error = std::move(msg);
        return ec;
    }

    // A write or sync went wrong: from now on every write is refused, because
    // we no longer know what is on disk and must not acknowledge anything.
    error_code fail(error_code ec, const std::string& what) {
        failed = true;
        last_error = what + ": " + ec.message();
        failure = last_error;
        return ec;
    }

    error_code check_writable() {
        if (failed)
            return refuse(errc::storage_failed,
                          "storage failed earlier (" + failure + "); no more writes accepted");
        if (!loaded)
            return refuse(errc::storage_failed, "load() has not succeeded on " + dir);
        return {};
    }

    // ---- small atomically replaced files ---------------------------------
    // temp file, fsync, rename over, fsync the directory: a crash leaves the
    // old or the new contents, and the new ones survive once this returns.
    error_code write_small_file(const std::string& name, const std::string& bytes) {
        const std::string tmp = name + ".tmp";
        unique_fd fd(open_at(dir_fd.get(), tmp, O_WRONLY | O_CREAT | O_TRUNC));
        if (!fd) return fail(os_error(errno), "cannot create " + path(tmp));
        if (auto ec = write_all(fd.get(), bytes.data(), bytes.size(), 0))
            return fail(ec, "cannot write " + path(tmp));
        if (auto ec = retry_eintr(::fsync, fd.get())) return fail(ec, "fsync " + path(tmp));
        fd.reset();
        if (::renameat(dir_fd.get(), tmp.c_str(), dir_fd.get(), name.c_str()) != 0)
            return fail(os_error(errno), "cannot rename " + path(tmp) + " to " + name);
        if (auto ec = retry_eintr(::fsync, dir_fd.get())) return fail(ec, "fsync directory " + dir);
        dir_dirty = false;
        return {};
    }

    // Reads a small file; `exists` false (and no error) when it is absent.
    error_code read_small_file(const std::string& name, std::string_view magic,
                               std::uint64_t& a, std::uint64_t& b, bool& exists) {
        exists = false;
        unique_fd fd(open_at(dir_fd.get(), name, O_RDONLY));
        if (!fd) {
            if (errno == ENOENT) return {};
            return refuse(os_error(errno), "cannot open " + path(name));
        }
        exists = true;
        // One byte more than expected, so that a longer file is noticed.
        char buf[fmt::small_file_size + 1];
        std::size_t got = 0;
        while (got < sizeof buf) {
            const ssize_t n = ::read(fd.get(), buf + got, sizeof buf - got);
            if (n < 0) {
                if (errno == EINTR) continue;
                return refuse(os_error(errno), "cannot read " + path(name));
            }
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        std::string why;
        if (!fmt::decode_small_file(std::string_view(buf, got), magic, a, b, why))
            return refuse(errc::corrupt_data, path(name) + ": " + why);
        return {};
    }

    // ---- segments ------------------------------------------------------------
    // Parses segment `first`. Records must hold indexes first, first+1, ...
    // Entries with index >= collect_from go to *out (if given). A defect in
    // the last record of the last segment is a torn write (reported in r, not
    // an error); any other defect is corrupt_data naming file and offset.
    error_code scan_segment(index_t first, bool is_last, index_t collect_from,
                            std::vector<log_entry>* out, scan_result& r) {
        const std::string name = fmt::segment_file_name(first);
        unique_fd fd(open_at(dir_fd.get(), name, O_RDONLY));
        if (!fd) return refuse(os_error(errno), "cannot open " + path(name));
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) return refuse(os_error(errno), "cannot stat " + path(name));
        r = scan_result{};
        r.file_size = static_cast<std::uint64_t>(st.st_size);
        r.next_index = first;
        const std::uint64_t size = r.file_size;
        mapped_file map;
        if (auto ec = map.map(fd.get(), size)) return refuse(ec, "cannot map " + path(name));
        const unsigned char* p = map.data();

        auto corrupt = [&](std::uint64_t offset, const std::string& why) {
            return refuse(errc::corrupt_data,
                          path(name) + " at offset " + std::to_string(offset) + ": " + why);
        };

        // The header. A crash while a segment is being created can leave it
        // short or (after power loss) zero-filled; only the last segment may be.
        if (size < fmt::segment_header_size || all_zero(p, size)) {
            if (!is_last) return corrupt(0, "segment header is missing or zero (file has " +
                                                std::to_string(size) + " bytes)");
            r.header_torn = true;
            r.torn = true;
            r.torn_why = "segment header not completely written";
            return {};
        }
        index_t header_first = 0;
        std::string why;
        if (!fmt::decode_segment_header(p, header_first, why)) return corrupt(0, why);
        if (header_first != first)
            return corrupt(0, "segment header says first index " + std::to_string(header_first) +
                                  " but the file name says " + std::to_string(first));

        std::uint64_t off = fmt::segment_header_size;
        auto torn_at = [&](const std::string& what) -> error_code {
            if (!is_last) return corrupt(off, what + " (not in the last segment)");
            r.torn = true;
            r.torn_why = what;
            r.valid_end = off;   // everything before this record is kept
            return {};
        };
        while (off < size) {
            const std::uint64_t rem = size - off;
            if (rem < fmt::record_header_size) return torn_at("record header cut short");
            fmt::record_header h;
            switch (fmt::decode_record_header(p + off, h, why)) {
            case fmt::header_check::ok: break;
            case fmt::header_check::bad_checksum:
                // A zero-filled tail is what a crash leaves when the file size
                // reached the disk before the data did.
                if (all_zero(p + off, rem)) return torn_at("zero-filled tail");
                return corrupt(off, why);
            case fmt::header_check::bad_field: return corrupt(off, why);
            }
            if (h.index != r.next_index)
                return corrupt(off, "expected index " + std::to_string(r.next_index) +
                                        ", found " + std::to_string(h.index));
            if (h.payload_size > opts.max_payload)
                return corrupt(off, "payload length " + std::to_string(h.payload_size) +
                                        " exceeds the bound " + std::to_string(opts.max_payload));
            if (h.payload_size > rem - fmt::record_header_size)
                return torn_at("record payload cut short");
            const unsigned char* payload = p + off + fmt::record_header_size;
            const std::uint64_t end = off + fmt::record_header_size + h.payload_size;
            if (fmt::crc32c(payload, h.payload_size) != h.payload_crc) {
                if (end == size) return torn_at("payload checksum mismatch in the last record");
                return corrupt(off, "payload checksum mismatch (record " +
                                        std::to_string(h.index) + ")");
            }
            if (out && h.index >= collect_from) {
                log_entry e;
                e.term = h.term;
                e.index = h.index;
                e.kind = h.kind;
                e.origin = h.origin;
                e.payload = make_bytes(std::string(reinterpret_cast<const char*>(payload),
                                                   h.payload_size));
                out->push_back(std::move(e));
            }
            r.offsets.push_back(off);
            ++r.next_index;
            off = end;
        }
        r.valid_end = off;
        return {};
    }

    // Closes the open segment (made durable first: sync() only flushes the
    // open one) and starts a new one whose first record will be `first`.
    error_code start_segment(index_t first) {
        if (seg_fd) {
            if (data_dirty) {
                if (auto ec = retry_eintr(::fdatasync, seg_fd.get()))
                    return fail(ec, "fdatasync " + path(fmt::segment_file_name(segments.back())));
            }
            seg_fd.reset();
        }
        data_dirty = false;
        // A segment starting at the log start makes every older one (kept
        // until now because it held the start, then truncated) pure history.
        if (first <= log_start) {
            for (index_t old : segments)
                if (auto ec = unlink_segment(old)) return ec;
            segments.clear();
        }
        const std::string name = fmt::segment_file_name(first);
        unique_fd fd(open_at(dir_fd.get(), name, O_RDWR | O_CREAT | O_EXCL));
        if (!fd) return fail(os_error(errno), "cannot create segment " + path(name));
        unsigned char header[fmt::segment_header_size];
        fmt::encode_segment_header(header, first);
        segments.push_back(first);
        seg_fd = std::move(fd);
        seg_end = 0;
        seg_offsets.clear();
        data_dirty = dir_dirty = true;
        if (auto ec = write_all(seg_fd.get(), header, sizeof header, 0))
            return fail(ec, "cannot write segment header of " + path(name));
        seg_end = sizeof header;
        return {};
    }

    // Opens the closed segment segments.back() for writing, learning its record offsets.
    error_code reopen_last_segment() {
        const index_t first = segments.back();
        scan_result r;
        if (auto ec = scan_segment(first, false, 0, nullptr, r))
            return fail(ec, last_error);
        const std::string name = fmt::segment_file_name(first);
        unique_fd fd(open_at(dir_fd.get(), name, O_WRONLY));
        if (!fd) return fail(os_error(errno), "cannot open " + path(name));
        seg_fd = std::move(fd);
        seg_end = r.valid_end;
        seg_offsets = std::move(r.offsets);
        data_dirty = false;
        return {};
    }

    error_code unlink_segment(index_t first) {
        const std::string name = fmt::segment_file_name(first);
        if (::unlinkat(dir_fd.get(), name.c_str(), 0) != 0 && errno != ENOENT)
            return fail(os_error(errno), "cannot remove " + path(name));
        dir_dirty = true;
        return {};
    }

    void close_all() noexcept {
        seg_fd.reset();
        lock_fd.reset();
        dir_fd.reset();
    }

    // ---- load ------------------------------------------------------------------
    error_code load(persistent_state& out) {
        if (loaded) return refuse(boost::system::errc::make_error_code(
                                      boost::system::errc::operation_not_permitted),
                                  "load() was already called on " + dir);
        failed = false;
        auto ec = load_impl(out);
        if (ec) close_all();
        return ec;
    }

    error_code lock_directory() {
        std::error_code fec;
        std::filesystem::create_directories(dir, fec);
        if (fec) return refuse(os_error(fec.value()), "cannot create data directory " + dir);
        dir_fd.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir_fd) return refuse(os_error(errno), "cannot open data directory " + dir);
        lock_fd = unique_fd(open_at(dir_fd.get(), fmt::lock_file, O_RDWR | O_CREAT));
        if (!lock_fd) return refuse(os_error(errno), "cannot open " + path(fmt::lock_file));
        // flock, not fcntl: its lock belongs to the open file, so a second
        // file_persister in the same process is refused too, and closing an
        // unrelated descriptor of LOCK cannot drop it.
        int rc;
        do rc = ::flock(lock_fd.get(), LOCK_EX | LOCK_NB);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            if (errno == EWOULDBLOCK)
                return refuse(errc::already_locked,
                              "data directory " + dir + " is in use: " + path(fmt::lock_file) +
                                  " is locked by another process (or another persister in this one)");
            return refuse(os_error(errno), "cannot lock " + path(fmt::lock_file));
        }
        return {};
    }

    error_code load_impl(persistent_state& out) {
        if (auto ec = lock_directory()) return ec;

        // Phase 1: read and check everything, changing nothing on disk, so
        // that corruption is reported on untouched files.
        persistent_state st;
        bool exists = false;
        if (auto ec = read_small_file(fmt::hard_state_file, fmt::hard_state_magic,
                                      st.hard.current_term, st.hard.voted_for, exists))
            return ec;
        std::uint64_t meta_start = 1, meta_term = 0;
        if (auto ec = read_small_file(fmt::log_meta_file, fmt::log_meta_magic, meta_start,
                                      meta_term, exists))
            return ec;
        if (exists && meta_start == 0)
            return refuse(errc::corrupt_data, path(fmt::log_meta_file) + ": log start is 0");
        st.log_start = meta_start;
        st.prefix_term = meta_term;
        const index_t start = st.log_start;

        std::vector<index_t> found;
        {
            std::error_code fec;
            for (std::filesystem::directory_iterator it(dir, fec), end; !fec && it != end;
                 it.increment(fec)) {
                if (auto first = fmt::parse_segment_file_name(it->path().filename().string()))
                    found.push_back(*first);
            }
            if (fec) return refuse(os_error(fec.value()), "cannot list data directory " + dir);
        }
        std::sort(found.begin(), found.end());

        // Segments wholly before the log start are leftovers of a
        // remove_prefix that crashed after recording the new start.
        std::size_t s = 0;   // first segment that may hold log_start
        while (s + 1 < found.size() && found[s + 1] <= start) ++s;
        if (!found.empty() && found[s] > start)
            return refuse(errc::corrupt_data,
                          "log starts at index " + std::to_string(start) +
                              " but the first segment, " + path(fmt::segment_file_name(found[s])) +
                              ", starts at " + std::to_string(found[s]) + ": a segment is missing");
        std::vector<index_t> leftovers(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(s));
        std::vector<index_t> kept;
        scan_result last_scan;
        index_t next = 0;
        for (std::size_t i = s; i < found.size(); ++i) {
            if (i > s && found[i] != next)
                return refuse(errc::corrupt_data,
                              "segment " + path(fmt::segment_file_name(found[i])) + " starts at " +
                                  std::to_string(found[i]) + " but the log before it ends at " +
                                  std::to_string(next - 1) + ": a segment is missing or damaged");
            const bool is_last = i + 1 == found.size();
            scan_result r;
            if (auto ec = scan_segment(found[i], is_last, start, &st.entries, r)) return ec;
            next = r.next_index;
            kept.push_back(found[i]);
            if (is_last) last_scan = std::move(r);
        }

        // Phase 2: the log is sound; finish what a crash interrupted.
        bool dir_changed = false;
        if (!kept.empty() && last_scan.torn) {
            const std::string name = fmt::segment_file_name(kept.back());
            if (last_scan.header_torn) {
                warn("torn segment " + path(name) + " (" + last_scan.torn_why + ", " +
                     std::to_string(last_scan.file_size) + " bytes): removing it");
                if (::unlinkat(dir_fd.get(), name.c_str(), 0) != 0)
                    return refuse(os_error(errno), "cannot remove " + path(name));
                kept.pop_back();
                dir_changed = true;
            } else {
                warn("torn tail in " + path(name) + " at offset " +
                     std::to_string(last_scan.valid_end) + " (" + last_scan.torn_why +
                     "): cutting " + std::to_string(last_scan.file_size - last_scan.valid_end) +
                     " bytes; the log now ends at index " + std::to_string(next - 1));
                unique_fd fd(open_at(dir_fd.get(), name, O_WRONLY));
                if (!fd) return refuse(os_error(errno), "cannot open " + path(name));
                if (::ftruncate(fd.get(), static_cast<off_t>(last_scan.valid_end)) != 0)
                    return refuse(os_error(errno), "cannot truncate " + path(name));
                if (auto ec = retry_eintr(::fdatasync, fd.get()))
                    return refuse(ec, "fdatasync " + path(name));
                last_scan.file_size = last_scan.valid_end;
            }
        }
        // A last segment ending before log_start - 1 holds only compacted
        // entries; appending at log_start after it would leave a gap.
        if (kept.size() == 1 && next < start) {
            leftovers.push_back(kept.back());
            kept.clear();
        }
        for (index_t first : leftovers) {
            const std::string name = fmt::segment_file_name(first);
            warn("removing " + path(name) + ": it holds only entries before the log start " +
                 std::to_string(start) + " (left by an interrupted remove_prefix)");
            if (::unlinkat(dir_fd.get(), name.c_str(), 0) != 0 && errno != ENOENT)
                return refuse(os_error(errno), "cannot remove " + path(name));
            dir_changed = true;
        }
        for (const char* name : {fmt::hard_state_file, fmt::log_meta_file}) {
            const std::string tmp = std::string(name) + ".tmp";
            if (::unlinkat(dir_fd.get(), tmp.c_str(), 0) == 0) dir_changed = true;
        }
        if (dir_changed) {
            if (auto ec = retry_eintr(::fsync, dir_fd.get()))
                return refuse(ec, "fsync directory " + dir);
        }

        // Phase 3: ready to append after the last record.
        segments = kept;
        last = kept.empty() ? start - 1 : next - 1;
        if (!kept.empty()) {
            const std::string name = fmt::segment_file_name(kept.back());
            seg_fd = unique_fd(open_at(dir_fd.get(), name, O_WRONLY));
            if (!seg_fd) return refuse(os_error(errno), "cannot open " + path(name));
            seg_end = last_scan.valid_end;
            seg_offsets = std::move(last_scan.offsets);
        }
        log_start = start;
        prefix_term = st.prefix_term;
        data_dirty = dir_dirty = false;
        loaded = true;
        last_error.clear();
        out = std::move(st);
        return {};
    }

    // ---- writes ------------------------------------------------------------------
    error_code append(const std::vector<log_entry>& entries) {
        if (auto ec = check_writable()) return ec;
        const std::size_t n = entries.size();
        for (std::size_t i = 0; i < n; ++i) {
            const log_entry& e = entries[i];
            if (e.index != last + 1 + i)
                return refuse(boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                              "append: entry index " + std::to_string(e.index) +
                                  " does not continue the log (expected " +
                                  std::to_string(last + 1 + i) + ")");
            if (e.size() > opts.max_payload)
                return refuse(boost::system::errc::make_error_code(boost::system::errc::message_size),
                              "append: entry " + std::to_string(e.index) + " has " +
                                  std::to_string(e.size()) + " payload bytes, more than the bound " +
                                  std::to_string(opts.max_payload));
            if (static_cast<unsigned>(e.kind) > static_cast<unsigned>(entry_kind::noop))
                return refuse(boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                              "append: entry " + std::to_string(e.index) + " has an unknown kind");
        }
        header_buf.resize(n * fmt::record_header_size);
        std::size_t i = 0;
        while (i < n) {
            const auto fits = [&](std::uint64_t offset, std::size_t k) {
                return seg_offsets.empty() ||
                       offset + fmt::record_header_size + entries[k].size() <= opts.segment_size;
            };
            if (!seg_fd || !fits(seg_end, i)) {
                if (auto ec = start_segment(entries[i].index)) return ec;
            }
            // Every record that fits in this segment goes out in one pwritev.
            iov.clear();
            std::uint64_t offset = seg_end;
            std::size_t j = i;
            for (; j < n && fits(offset, j); ++j) {
                const log_entry& e = entries[j];
                fmt::record_header h;
                h.payload_size = static_cast<std::uint32_t>(e.size());
                h.kind = e.kind;
                h.term = e.term;
                h.index = e.index;
                h.origin = e.origin;
                h.payload_crc = fmt::crc32c(e.data().data(), e.size());
                unsigned char* hb = header_buf.data() + j * fmt::record_header_size;
                fmt::encode_record_header(hb, h);
                iov.push_back({hb, fmt::record_header_size});
                if (e.size() > 0) iov.push_back({const_cast<char*>(e.data().data()), e.size()});
                seg_offsets.push_back(offset);
                offset += fmt::record_header_size + e.size();
            }
            data_dirty = true;
            if (auto ec = write_all(seg_fd.get(), iov.data(), iov.size(), seg_end))
                return fail(ec, "cannot append to " + path(fmt::segment_file_name(segments.back())) +
                                    " at offset " + std::to_string(seg_end));
            seg_end = offset;
            last = entries[j - 1].index;
            i = j;
        }
        return {};
    }

    error_code truncate_suffix(index_t from) {
        if (auto ec = check_writable()) return ec;
        if (from < log_start) from = log_start;
        if (from > last) return {};
        // Whole segments at or after `from` go first, newest first, and the
        // directory is synced before the cut below: whatever a crash leaves
        // is then a prefix of the old log, never a log with a hole.
        index_t held_to = last;   // last index of segments.back()
        bool unlinked = false;
        while (!segments.empty() && segments.back() >= from) {
            if (seg_fd) {
                seg_fd.reset();
                data_dirty = false;
            }
            seg_offsets.clear();
            if (auto ec = unlink_segment(segments.back())) return ec;
            held_to = segments.back() - 1;
            segments.pop_back();
            unlinked = true;
        }
        if (unlinked) {
            if (auto ec = retry_eintr(::fsync, dir_fd.get())) return fail(ec, "fsync directory " + dir);
            dir_dirty = false;
        }
        if (!segments.empty() && held_to >= from) {
            if (!seg_fd) {
                if (auto ec = reopen_last_segment()) return ec;
            }
            const index_t k = from - segments.back();
            if (k >= seg_offsets.size())
                return fail(errc::corrupt_data,
                            "truncate: " + path(fmt::segment_file_name(segments.back())) +
                                " holds fewer records than expected");
            const std::uint64_t cut = seg_offsets[k];
            if (::ftruncate(seg_fd.get(), static_cast<off_t>(cut)) != 0)
                return fail(os_error(errno), "cannot truncate " +
                                                 path(fmt::segment_file_name(segments.back())));
            seg_offsets.resize(k);
            seg_end = cut;
            data_dirty = true;
        }
        last = from - 1;
        return {};
    }

    error_code remove_prefix(index_t upto, term_t pterm) {
        if (auto ec = check_writable()) return ec;
        if (upto <= log_start) return {};
        // The new start is recorded first; segments below it that a crash
        // leaves behind are recognised as leftovers by load().
        if (auto ec = write_small_file(fmt::log_meta_file, fmt::encode_small_file(fmt::log_meta_magic, upto, pterm)))
            return ec;
        log_start = upto;
        prefix_term = pterm;
        std::size_t drop = 0;
        while (drop < segments.size()) {
            const index_t seg_last = drop + 1 < segments.size() ? segments[drop + 1] - 1 : last;
            if (seg_last >= upto) break;
            ++drop;
        }
        for (std::size_t i = 0; i < drop; ++i) {
            if (i + 1 == segments.size() && seg_fd) {
                seg_fd.reset();
                data_dirty = false;
                seg_offsets.clear();
            }
            if (auto ec = unlink_segment(segments[i])) return ec;
        }
        segments.erase(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(drop));
        if (upto > last) last = upto - 1;
        return {};
    }

    error_code save_hard_state(const hard_state& hs) {
        if (auto ec = check_writable()) return ec;
        return write_small_file(fmt::hard_state_file,
                                fmt::encode_small_file(fmt::hard_state_magic, hs.current_term, hs.voted_for));
    }

    error_code sync() {
        if (auto ec = check_writable()) return ec;
        if (seg_fd && data_dirty) {
            if (auto ec = retry_eintr(::fdatasync, seg_fd.get()))
                return fail(ec, "fdatasync " + path(fmt::segment_file_name(segments.back())));
        }
        data_dirty = false;
        if (dir_dirty) {
            if (auto ec = retry_eintr(::fsync, dir_fd.get())) return fail(ec, "fsync directory " + dir);
            dir_dirty = false;
        }
        return {};
    }
};

file_persister::file_persister(std::string directory, file_persister_options options)
    : impl_(std::make_unique<impl>(std::move(directory), std::move(options))) {}

file_persister::~file_persister() = default;

boost::system::error_code file_persister::load(persistent_state& out) { return impl_->load(out); }
boost::system::error_code file_persister::save_hard_state(const hard_state& hs) {
    return impl_->save_hard_state(hs);
}
boost::system::error_code file_persister::append(const std::vector<log_entry>& entries) {
    return impl_->append(entries);
}
boost::system::error_code file_persister::truncate_suffix(index_t from) {
    return impl_->truncate_suffix(from);
}
boost::system::error_code file_persister::remove_prefix(index_t upto, term_t prefix_term) {
    return impl_->remove_prefix(upto, prefix_term);
}
boost::system::error_code file_persister::sync() { return impl_->sync(); }

const std::string& file_persister::last_error_message() const noexcept { return impl_->last_error; }
bool file_persister::failed() const noexcept { return impl_->failed; }
const std::string& file_persister::directory() const noexcept { return impl_->dir; }
index_t file_persister::last_index() const noexcept { return impl_->last; }

} // namespace raftlite
