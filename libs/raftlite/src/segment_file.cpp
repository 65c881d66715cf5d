// raftlite — log segment files: scan (recovery), append, cut, sync.
#include "detail/segment_file.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <cerrno>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace raftlite::detail {

namespace {

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

// A descriptor for reading only: closed directly, since reading changes
// nothing file_io has to know about.
struct read_fd {
    int fd;
    ~read_fd() {
        if (fd >= 0) ::close(fd);
    }
};

} // namespace

error_code scan_segment(const data_directory& dir, index_t first, bool is_last, std::uint32_t max_payload,
                        index_t collect_from, std::vector<log_entry>* out, segment_scan& r,
                        std::string& msg) {
    const std::string name = segment_file_name(first);
    read_fd fd{::openat(dir.fd(), name.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) {
        const auto ec = os_error(errno);
        msg = describe("cannot open " + dir.file(name), ec);
        return ec;
    }
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0) {
        const auto ec = os_error(errno);
        msg = describe("cannot stat " + dir.file(name), ec);
        return ec;
    }
    r = segment_scan{};
    r.file_size = static_cast<std::uint64_t>(st.st_size);
    r.next_index = first;
    const std::uint64_t size = r.file_size;
    mapped_file map;
    if (auto ec = map.map(fd.fd, size)) {
        msg = describe("cannot map " + dir.file(name), ec);
        return ec;
    }
    const unsigned char* p = map.data();

    auto corrupt = [&](std::uint64_t offset, const std::string& why) -> error_code {
        msg = dir.file(name) + " at offset " + std::to_string(offset) + ": " + why;
        return raftlite::errc::corrupt_data;
    };

    // The header. A crash while a segment is being created can leave it
    // short or (after power loss) zero-filled; only the last segment may be.
    if (size < segment_header_size || all_zero(p, size)) {
        if (!is_last)
            return corrupt(0, "segment header is missing or zero (file has " + std::to_string(size) +
                                  " bytes)");
        r.header_torn = true;
        r.torn = true;
        r.torn_why = "segment header not completely written";
        return {};
    }
    index_t header_first = 0;
    std::string why;
    if (!decode_segment_header(p, header_first, why)) return corrupt(0, why);
    if (header_first != first)
        return corrupt(0, "segment header says first index " + std::to_string(header_first) +
                              " but the file name says " + std::to_string(first));

    std::uint64_t off = segment_header_size;
    auto torn_at = [&](const std::string& what) -> error_code {
        if (!is_last) return corrupt(off, what + " (not in the last segment)");
        r.torn = true;
        r.torn_why = what;
        r.valid_end = off;   // everything before this record is kept
        return {};
    };
    while (off < size) {
        const std::uint64_t rem = size - off;
        if (rem < record_header_size) return torn_at("record header cut short");
        record_header h;
        switch (decode_record_header(p + off, h, why)) {
        case header_check::ok: break;
        case header_check::bad_checksum:
            // A zero-filled tail is what a crash leaves when the file size
            // reached the disk before the data did.
            if (all_zero(p + off, rem)) return torn_at("zero-filled tail");
            return corrupt(off, why);
        case header_check::bad_field: return corrupt(off, why);
        }
        if (h.index != r.next_index)
            return corrupt(off, "expected index " + std::to_string(r.next_index) + ", found " +
                                    std::to_string(h.index));
        if (h.payload_size > max_payload)
            return corrupt(off, "payload length " + std::to_string(h.payload_size) +
                                    " exceeds the bound " + std::to_string(max_payload));
        if (h.payload_size > rem - record_header_size) return torn_at("record payload cut short");
        const unsigned char* payload = p + off + record_header_size;
        const std::uint64_t end = off + record_header_size + h.payload_size;
        if (crc32c(payload, h.payload_size) != h.payload_crc) {
            if (end == size) return torn_at("payload checksum mismatch in the last record");
            return corrupt(off, "payload checksum mismatch (record " + std::to_string(h.index) + ")");
        }
        if (out && h.index >= collect_from) {
            log_entry e;
            e.term = h.term;
            e.index = h.index;
            e.kind = h.kind;
            e.origin = h.origin;
            e.payload = make_bytes(std::string(reinterpret_cast<const char*>(payload), h.payload_size));
            out->push_back(std::move(e));
        }
        r.offsets.push_back(off);
        ++r.next_index;
        off = end;
    }
    r.valid_end = off;
    return {};
}

error_code remove_segment(data_directory& dir, index_t first, std::string& msg) {
    const std::string name = segment_file_name(first);
    if (dir.io().unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
        const auto ec = os_error(errno);
        msg = describe("cannot remove " + dir.file(name), ec);
        return ec;
    }
    return {};
}

std::string open_segment::name() const { return dir_->file(segment_file_name(first_)); }

error_code open_segment::create(index_t first, std::string& msg) {
    close();
    file_io& io = dir_->io();
    const std::string file = segment_file_name(first);
    unique_fd fd(io, io.openat(dir_->fd(), file.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644));
    if (!fd) {
        const auto ec = os_error(errno);
        msg = describe("cannot create segment " + dir_->file(file), ec);
        return ec;
    }
    fd_ = std::move(fd);
    first_ = first;
    end_ = 0;
    offsets_.clear();
    dirty_ = true;
    unsigned char header[segment_header_size];
    encode_segment_header(header, first);
    if (auto ec = write_all(io, fd_.get(), header, sizeof header, 0)) {
        msg = describe("cannot write segment header of " + dir_->file(file), ec);
        return ec;
    }
    end_ = sizeof header;
    return {};
}

error_code open_segment::open(index_t first, std::uint64_t end, std::vector<std::uint64_t> offsets,
                              std::string& msg) {
    close();
    file_io& io = dir_->io();
    const std::string file = segment_file_name(first);
    unique_fd fd(io, io.openat(dir_->fd(), file.c_str(), O_WRONLY, 0));
    if (!fd) {
        const auto ec = os_error(errno);
        msg = describe("cannot open " + dir_->file(file), ec);
        return ec;
    }
    fd_ = std::move(fd);
    first_ = first;
    end_ = end;
    offsets_ = std::move(offsets);
    dirty_ = false;
    return {};
}

void open_segment::close() noexcept {
    fd_.reset();
    offsets_.clear();
    dirty_ = false;
}

bool open_segment::fits(const log_entry& e, std::uint64_t segment_size) const noexcept {
    return offsets_.empty() || end_ + record_header_size + e.size() <= segment_size;
}

error_code open_segment::append(const std::vector<log_entry>& entries, std::size_t from,
                                std::uint64_t segment_size, std::size_t& next, std::string& msg) {
    const std::size_t n = entries.size();
    if (header_buf_.size() < (n - from) * record_header_size)
        header_buf_.resize((n - from) * record_header_size);
    iov_.clear();
    std::uint64_t offset = end_;
    const std::size_t had = offsets_.size();
    std::size_t j = from;
    for (; j < n; ++j) {
        const log_entry& e = entries[j];
        if (offsets_.size() > 0 && offset + record_header_size + e.size() > segment_size) break;
        record_header h;
        h.payload_size = static_cast<std::uint32_t>(e.size());
        h.kind = e.kind;
        h.term = e.term;
        h.index = e.index;
        h.origin = e.origin;
        h.payload_crc = crc32c(e.data().data(), e.size());
        unsigned char* hb = header_buf_.data() + (j - from) * record_header_size;
        encode_record_header(hb, h);
        iov_.push_back({hb, record_header_size});
        if (e.size() > 0) iov_.push_back({const_cast<char*>(e.data().data()), e.size()});
        offsets_.push_back(offset);
        offset += record_header_size + e.size();
    }
    dirty_ = true;
    if (auto ec = write_all(dir_->io(), fd_.get(), iov_.data(), iov_.size(), end_)) {
        offsets_.resize(had);
        msg = describe("cannot append to " + name() + " at offset " + std::to_string(end_), ec);
        return ec;
    }
    end_ = offset;
    next = j;
    return {};
}

// The cut is made durable before anything is written after it. An append
// after a truncation writes its records over the bytes that were cut off;
// if the cut itself were not yet on disk, a power loss could keep the new
// records and the old bytes beyond them (or a torn mix of both). Recovery
// cannot tell such a tail from damage to synced records and would refuse to
// start. With the cut synced first, the bytes after the last kept record are
// gone from the disk, and what follows it after a power loss is only new
// records, a torn record or zeros: a torn tail like any other. The extra
// fdatasync is paid per truncation (a conflict in a follower's log), never
// per entry.
error_code open_segment::cut(std::size_t k, std::string& msg) {
    const std::uint64_t at = offsets_[k];
    file_io& io = dir_->io();
    if (io.ftruncate(fd_.get(), static_cast<off_t>(at)) != 0) {
        const auto ec = os_error(errno);
        msg = describe("cannot truncate " + name(), ec);
        return ec;
    }
    dirty_ = true;
    offsets_.resize(k);
    end_ = at;
    if (io.fdatasync(fd_.get()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("fdatasync " + name() + " after truncating it", ec);
        return ec;
    }
    dirty_ = false;
    return {};
}

error_code open_segment::sync(std::string& msg) {
    if (!fd_ || !dirty_) return {};
    if (dir_->io().fdatasync(fd_.get()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("fdatasync " + name(), ec);
        return ec;
    }
    dirty_ = false;
    return {};
}

} // namespace raftlite::detail
