// raftlite — snapshot files: written beside the log, checked at load, read
// by the leader to send them (Raft §7; thesis §5).
#include "detail/snapshot_file.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace raftlite::detail {

namespace {

// Writes reach the file in pieces this large: few system calls however
// small the application's writes are, and a bounded amount of memory however
// large the snapshot is.
constexpr std::size_t write_buffer_size = 1u << 20;

// Reading a snapshot changes nothing on disk: the descriptors are the OS's,
// not file_io's (as for every other read of file_persister).
class read_fd {
public:
    explicit read_fd(int fd) noexcept : fd_(fd) {}
    ~read_fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    read_fd(const read_fd&) = delete;
    read_fd& operator=(const read_fd&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

// Reads exactly `size` bytes at `offset`; a file ending first is damage.
error_code pread_all(int fd, void* buf, std::size_t size, std::uint64_t offset, const std::string& path,
                     std::string& msg) {
    auto* p = static_cast<char*>(buf);
    while (size > 0) {
        const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            const auto ec = os_error(errno);
            msg = describe("cannot read " + path, ec);
            return ec;
        }
        if (n == 0) {
            msg = path + ": file ends at offset " + std::to_string(offset) + ", before its expected end";
            return raftlite::errc::corrupt_data;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return {};
}

// Opens snapshot (index, term) for reading; a missing one is snapshot_gone.
error_code open_snapshot(int dir_fd, const std::string& path, const std::string& name, int& fd, std::string& msg) {
    fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return {};
    if (errno == ENOENT) {
        msg = path + ": no such snapshot (a newer one replaced it)";
        return raftlite::errc::snapshot_gone;
    }
    const auto ec = os_error(errno);
    msg = describe("cannot open " + path, ec);
    return ec;
}

// Reads and checks the trailer of an open snapshot file named for (index, term).
error_code read_trailer(int fd, const std::string& path, index_t index, term_t term, snapshot_meta& meta,
                        std::string& msg) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const auto ec = os_error(errno);
        msg = describe("cannot stat " + path, ec);
        return ec;
    }
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    if (file_size < snapshot_footer_size) {
        msg = path + ": " + std::to_string(file_size) + " bytes, shorter than a snapshot footer (truncated)";
        return raftlite::errc::corrupt_data;
    }
    unsigned char footer[snapshot_footer_size];
    if (auto ec = pread_all(fd, footer, sizeof footer, file_size - sizeof footer, path, msg)) return ec;
    std::uint32_t configuration_bytes = 0;
    std::string why;
    if (!decode_snapshot_footer(footer, file_size, configuration_bytes, why)) {
        msg = path + ": " + why;
        return raftlite::errc::corrupt_data;
    }
    const std::size_t trailer_size = std::size_t{configuration_bytes} + snapshot_footer_size;
    std::string trailer(trailer_size, '\0');
    if (auto ec = pread_all(fd, trailer.data(), trailer_size, file_size - trailer_size, path, msg)) return ec;
    if (!decode_snapshot_trailer(trailer, file_size, meta, why)) {
        msg = path + ": " + why;
        return raftlite::errc::corrupt_data;
    }
    if (meta.index != index || meta.term != term) {
        msg = path + ": holds snapshot index " + std::to_string(meta.index) + " term " + std::to_string(meta.term) +
              ", not what its name says";
        return raftlite::errc::corrupt_data;
    }
    return {};
}

class file_snapshot_writer final : public snapshot_writer {
public:
    file_snapshot_writer(std::shared_ptr<file_io> io, std::string dir, snapshot_meta meta,
                         std::shared_ptr<shared_message> errors)
        : io_(std::move(io)), dir_(std::move(dir)), errors_(std::move(errors)), meta_(std::move(meta)),
          final_(snapshot_file_name(meta_.index, meta_.term)), tmp_(final_ + ".tmp") {}

    ~file_snapshot_writer() override { abandon(); }

    error_code start(std::string& msg) {
        dir_fd_ = unique_fd(*io_, io_->open(dir_.c_str(), O_RDONLY | O_DIRECTORY, 0));
        if (!dir_fd_) {
            const auto ec = os_error(errno);
            msg = describe("cannot open data directory " + dir_, ec);
            return ec;
        }
        // O_EXCL: two writers of the same snapshot at once would write over
        // each other; the second is refused instead. A .tmp left by a crash
        // is removed by load() before any writer can start.
        fd_ = unique_fd(*io_, io_->openat(dir_fd_.get(), tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644));
        if (!fd_) {
            const auto ec = os_error(errno);
            msg = describe("cannot create " + path(tmp_), ec);
            return ec;
        }
        buf_.reserve(write_buffer_size);
        return {};
    }

    error_code write(std::string_view data) override {
        if (auto ec = check_open()) return ec;
        meta_.crc = crc32c_extend(meta_.crc, data.data(), data.size());
        meta_.size += data.size();
        if (buf_.size() + data.size() <= write_buffer_size) {
            buf_.append(data);
            return {};
        }
        if (auto ec = flush()) return ec;
        if (data.size() >= write_buffer_size) {
            // Large pieces go straight to the file rather than through the buffer.
            if (auto ec = write_at(data.data(), data.size())) return ec;
        } else {
            buf_.append(data);
        }
        return {};
    }

    error_code finish(snapshot_meta& out, const snapshot_meta* expected) override {
        if (auto ec = check_open()) return ec;
        if (auto ec = flush()) return ec;
        // A snapshot received from the leader must be exactly what it
        // announced: anything else was damaged on the way (or by us), and a
        // damaged snapshot must never replace a log prefix.
        if (expected && (expected->size != meta_.size || expected->crc != meta_.crc ||
                         expected->index != meta_.index || expected->term != meta_.term)) {
            std::string m = path(tmp_) + ": snapshot data does not match what was announced (" +
                            std::to_string(meta_.size) + " bytes, crc " + std::to_string(meta_.crc) + "; expected " +
                            std::to_string(expected->size) + " bytes, crc " + std::to_string(expected->crc) +
                            "); removed";
            abandon();
            errors_->set(m);
            return raftlite::errc::corrupt_data;
        }
        const std::string trailer = encode_snapshot_trailer(meta_);
        if (auto ec = write_at(trailer.data(), trailer.size())) return ec;
        // Contents before the rename: a rename that reached the disk first
        // would leave a partial file under the final name.
        if (io_->fdatasync(fd_.get()) != 0) return fail(os_error(errno), "fdatasync " + path(tmp_));
        fd_.reset();
        if (io_->renameat(dir_fd_.get(), tmp_.c_str(), dir_fd_.get(), final_.c_str()) != 0)
            return fail(os_error(errno), "cannot rename " + path(tmp_) + " to " + final_);
        renamed_ = true;
        // The new name durable before finish() returns: the caller may drop
        // the log prefix this snapshot covers once it is used.
        if (io_->fsync(dir_fd_.get()) != 0) return fail(os_error(errno), "fsync directory " + dir_);
        done_ = true;
        dir_fd_.reset();
        out = meta_;
        return {};
    }

    void abandon() noexcept override {
        if (done_) return;
        done_ = true;
        fd_.reset();
        if (dir_fd_ && !renamed_) io_->unlinkat(dir_fd_.get(), tmp_.c_str(), 0);
        dir_fd_.reset();
        buf_.clear();
        buf_.shrink_to_fit();
    }

private:
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

    error_code check_open() {
        if (!done_ && !failed_) return {};
        errors_->set(path(tmp_) + ": the snapshot writer is finished, abandoned or failed");
        return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
    }

    error_code fail(error_code ec, const std::string& what) {
        failed_ = true;
        errors_->set(describe(what, ec));
        abandon();
        return ec;
    }

    error_code write_at(const char* data, std::size_t size) {
        if (auto ec = write_all(*io_, fd_.get(), data, size, written_)) return fail(ec, "cannot write " + path(tmp_));
        written_ += size;
        return {};
    }

    error_code flush() {
        if (buf_.empty()) return {};
        if (auto ec = write_at(buf_.data(), buf_.size())) return ec;
        buf_.clear();
        return {};
    }

    std::shared_ptr<file_io> io_;   // first: the descriptors below close through it
    std::string dir_;
    std::shared_ptr<shared_message> errors_;
    snapshot_meta meta_;            // size and crc grow with each write
    std::string final_, tmp_;
    unique_fd dir_fd_, fd_;
    std::string buf_;
    std::uint64_t written_ = 0;
    bool done_ = false, failed_ = false, renamed_ = false;
};

} // namespace

error_code begin_snapshot_file(std::shared_ptr<file_io> io, const std::string& dir, index_t index, term_t term,
                               membership members, std::shared_ptr<shared_message> errors,
                               std::unique_ptr<snapshot_writer>& out, std::string& msg) {
    if (members.size() > snapshot_max_members) {
        msg = "snapshot " + std::to_string(index) + ": " + std::to_string(members.size()) + " members, more than " +
              std::to_string(snapshot_max_members);
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }
    snapshot_meta meta;
    meta.index = index;
    meta.term = term;
    meta.members = std::move(members);
    auto w = std::make_unique<file_snapshot_writer>(std::move(io), dir, std::move(meta), std::move(errors));
    if (auto ec = w->start(msg)) return ec;
    out = std::move(w);
    return {};
}

error_code list_snapshot_files(const std::string& dir, snapshot_listing& out, std::string& msg) {
    out = {};
    std::error_code fec;
    for (std::filesystem::directory_iterator it(dir, fec), end; !fec && it != end; it.increment(fec)) {
        const std::string name = it->path().filename().string();
        if (auto it_term = parse_snapshot_file_name(name))
            out.files.push_back(*it_term);
        else if (is_snapshot_temp_name(name))
            out.temps.push_back(name);
    }
    if (fec) {
        const auto ec = os_error(fec.value());
        msg = describe("cannot list data directory " + dir, ec);
        return ec;
    }
    std::sort(out.files.begin(), out.files.end());
    return {};
}

error_code check_snapshot_file(int dir_fd, const std::string& dir, index_t index, term_t term, bool check_data,
                               snapshot_meta& meta, std::string& msg) {
    const std::string name = snapshot_file_name(index, term);
    const std::string path = dir + "/" + name;
    int raw = -1;
    if (auto ec = open_snapshot(dir_fd, path, name, raw, msg)) return ec;
    read_fd fd(raw);
    if (auto ec = read_trailer(fd.get(), path, index, term, meta, msg)) return ec;
    if (!check_data) return {};
    // One sequential read of the whole data: the price of never starting
    // from a damaged snapshot (docs/storage-format.md has the figure).
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::string buf(std::min<std::uint64_t>(meta.size, write_buffer_size), '\0');
    std::uint32_t crc = 0;
    for (std::uint64_t off = 0; off < meta.size;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), meta.size - off));
        if (auto ec = pread_all(fd.get(), buf.data(), n, off, path, msg)) return ec;
        crc = crc32c_extend(crc, buf.data(), n);
        off += n;
    }
    if (crc != meta.crc) {
        msg = path + ": snapshot data checksum mismatch (the data is damaged)";
        return raftlite::errc::corrupt_data;
    }
    return {};
}

error_code read_snapshot_file(int dir_fd, const std::string& dir, const snapshot_meta& meta, std::uint64_t offset,
                              std::size_t max, std::string& out, std::string& msg) {
    const std::string name = snapshot_file_name(meta.index, meta.term);
    const std::string path = dir + "/" + name;
    int raw = -1;
    if (auto ec = open_snapshot(dir_fd, path, name, raw, msg)) return ec;
    read_fd fd(raw);
    snapshot_meta on_disk;
    if (auto ec = read_trailer(fd.get(), path, meta.index, meta.term, on_disk, msg)) return ec;
    if (on_disk.size != meta.size || on_disk.crc != meta.crc) {
        msg = path + ": now holds another snapshot of the same index and term";
        return raftlite::errc::snapshot_gone;
    }
    if (offset > meta.size) {
        msg = path + ": read at offset " + std::to_string(offset) + " beyond the snapshot's " +
              std::to_string(meta.size) + " bytes";
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(max, meta.size - offset));
    out.resize(n);
    return pread_all(fd.get(), out.data(), n, offset, path, msg);
}

} // namespace raftlite::detail
