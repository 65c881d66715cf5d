// raftlite — small helpers shared by file_persister's parts: descriptors
// closed through file_io, complete writes, error text.
#ifndef RAFTLITE_SRC_DETAIL_FILE_UTIL_HPP
#define RAFTLITE_SRC_DETAIL_FILE_UTIL_HPP

#include <raftlite/detail/file_io.hpp>

#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <sys/uio.h>

namespace raftlite::detail {

using boost::system::error_code;

inline error_code os_error(int e) { return error_code(e, boost::system::system_category()); }

/// "<what>: <the error in words>", the form of every message about an OS error.
inline std::string describe(const std::string& what, const error_code& ec) {
    return what + ": " + ec.message();
}

/// Owns a file descriptor, closed through the file_io that opened it.
class unique_fd {
public:
    unique_fd() = default;
    unique_fd(file_io& io, int fd) noexcept : io_(&io), fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(unique_fd&& o) noexcept : io_(o.io_), fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            io_ = o.io_;
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset() noexcept {
        if (fd_ >= 0) io_->close(fd_);
        fd_ = -1;
    }

private:
    file_io* io_ = nullptr;
    int fd_ = -1;
};

/// Writes every byte of `iov` at `offset`, resuming after short writes (which
/// a full disk or a file size limit produce before failing outright).
/// Consumes `iov` (its entries are advanced past what was written).
error_code write_all(file_io& io, int fd, iovec* iov, std::size_t count, std::uint64_t offset);
error_code write_all(file_io& io, int fd, const void* data, std::size_t size, std::uint64_t offset);

inline bool all_zero(const unsigned char* p, std::uint64_t n) noexcept {
    return std::all_of(p, p + n, [](unsigned char c) { return c == 0; });
}

} // namespace raftlite::detail

#endif
