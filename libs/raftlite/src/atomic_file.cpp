// raftlite — small atomically replaced files (hard_state, log_meta).
#include "detail/atomic_file.hpp"

#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

namespace raftlite::detail {

error_code replace_file(data_directory& dir, const std::string& name, const std::string& bytes,
                        std::string& msg) {
    file_io& io = dir.io();
    const std::string tmp = name + ".tmp";
    unique_fd fd(io, io.openat(dir.fd(), tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    if (!fd) {
        const auto ec = os_error(errno);
        msg = describe("cannot create " + dir.file(tmp), ec);
        return ec;
    }
    if (auto ec = write_all(io, fd.get(), bytes.data(), bytes.size(), 0)) {
        msg = describe("cannot write " + dir.file(tmp), ec);
        return ec;
    }
    // The contents first: a rename that reached the disk before them would
    // leave an empty or partial file under the final name.
    if (io.fsync(fd.get()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("fsync " + dir.file(tmp), ec);
        return ec;
    }
    fd.reset();
    if (io.renameat(dir.fd(), tmp.c_str(), dir.fd(), name.c_str()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("cannot rename " + dir.file(tmp) + " to " + name, ec);
        return ec;
    }
    return dir.sync(msg);
}

namespace {

// Reads all of the small file `name`, up to `limit` bytes and one more (so
// that a longer file is noticed); `exists` false, no error, when absent.
error_code read_bytes(const data_directory& dir, const std::string& name, std::size_t limit, std::string& bytes,
                      bool& exists, std::string& msg) {
    exists = false;
    // Reading changes nothing on disk: the descriptor is the OS's, not file_io's.
    const int raw = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) {
        if (errno == ENOENT) return {};
        const auto ec = os_error(errno);
        msg = describe("cannot open " + dir.file(name), ec);
        return ec;
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } guard{raw};
    exists = true;
    bytes.assign(limit + 1, '\0');
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(raw, bytes.data() + got, bytes.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            const auto ec = os_error(errno);
            msg = describe("cannot read " + dir.file(name), ec);
            return ec;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    return {};
}

} // namespace

error_code read_small_file(const data_directory& dir, const std::string& name, std::string_view magic,
                           std::uint64_t& a, std::uint64_t& b, bool& exists, std::string& msg) {
    std::string bytes;
    if (auto ec = read_bytes(dir, name, small_file_size, bytes, exists, msg)) return ec;
    if (!exists) return {};
    std::string why;
    if (!decode_small_file(bytes, magic, a, b, why)) {
        msg = dir.file(name) + ": " + why;
        return raftlite::errc::corrupt_data;
    }
    return {};
}

error_code read_hard_state(const data_directory& dir, hard_state& hs, bool& exists, std::string& msg) {
    std::string bytes;
    if (auto ec = read_bytes(dir, hard_state_file, hard_state_file_size, bytes, exists, msg)) return ec;
    if (!exists) return {};
    std::string why;
    if (!decode_hard_state(bytes, hs, why)) {
        msg = dir.file(hard_state_file) + ": " + why;
        return raftlite::errc::corrupt_data;
    }
    return {};
}

bool remove_leftover_temp(data_directory& dir, const std::string& name) {
    const std::string tmp = name + ".tmp";
    return dir.io().unlinkat(dir.fd(), tmp.c_str(), 0) == 0;
}

} // namespace raftlite::detail
