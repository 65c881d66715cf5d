// raftlite — the POSIX file calls behind detail::file_io, and complete writes.
#include <raftlite/detail/file_io.hpp>

#include "detail/file_util.hpp"

#include <cerrno>
#include <climits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace raftlite::detail {

namespace {

template <class F>
auto retry_eintr(F f) {
    decltype(f()) rc;
    do rc = f();
    while (rc < 0 && errno == EINTR);
    return rc;
}

} // namespace

int posix_file_io::open(const char* path, int flags, mode_t mode) {
    return retry_eintr([&] { return ::open(path, flags | O_CLOEXEC, mode); });
}
int posix_file_io::openat(int dir_fd, const char* name, int flags, mode_t mode) {
    return retry_eintr([&] { return ::openat(dir_fd, name, flags | O_CLOEXEC, mode); });
}
// Not retried: on Linux the descriptor is gone even when close reports EINTR.
int posix_file_io::close(int fd) { return ::close(fd); }
int posix_file_io::mkdir(const char* path, mode_t mode) { return ::mkdir(path, mode); }
ssize_t posix_file_io::pwritev(int fd, const iovec* iov, int count, off_t offset) {
    return retry_eintr([&] { return ::pwritev(fd, iov, count, offset); });
}
int posix_file_io::ftruncate(int fd, off_t size) {
    return retry_eintr([&] { return ::ftruncate(fd, size); });
}
int posix_file_io::fdatasync(int fd) {
    return retry_eintr([&] { return ::fdatasync(fd); });
}
int posix_file_io::fsync(int fd) {
    return retry_eintr([&] { return ::fsync(fd); });
}
int posix_file_io::renameat(int old_dir, const char* old_name, int new_dir, const char* new_name) {
    return ::renameat(old_dir, old_name, new_dir, new_name);
}
int posix_file_io::unlinkat(int dir_fd, const char* name, int flags) {
    return ::unlinkat(dir_fd, name, flags);
}

std::shared_ptr<file_io> default_file_io() {
    static const std::shared_ptr<file_io> io = std::make_shared<posix_file_io>();
    return io;
}

error_code write_all(file_io& io, int fd, iovec* iov, std::size_t count, std::uint64_t offset) {
    while (count > 0) {
        const int n_iov = static_cast<int>(std::min<std::size_t>(count, IOV_MAX));
        const ssize_t n = io.pwritev(fd, iov, n_iov, static_cast<off_t>(offset));
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

error_code write_all(file_io& io, int fd, const void* data, std::size_t size, std::uint64_t offset) {
    iovec v{const_cast<void*>(data), size};
    return write_all(io, fd, &v, size ? 1 : 0, offset);
}

} // namespace raftlite::detail
