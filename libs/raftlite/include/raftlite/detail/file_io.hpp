// raftlite — the file system calls file_persister makes, behind an interface.
//
// Every call that changes what is on disk, or makes it durable, goes through
// file_io: open (it may create), mkdir, pwritev, ftruncate, fdatasync, fsync
// (of files and of directories), rename, unlink, close. That lets a test
// stand in for the operating system and model what a power loss keeps: the
// contents of a file as of its last fdatasync/fsync, and the entries of a
// directory as of its last fsync. Reads (fstat, mmap, read, listing a
// directory) use the descriptors directly: they change nothing that a power
// loss could take back.
//
// The calls mean what their POSIX namesakes mean and report errors the same
// way: -1 (or a negative count) with errno set. posix_file_io retries EINTR.
#ifndef RAFTLITE_DETAIL_FILE_IO_HPP
#define RAFTLITE_DETAIL_FILE_IO_HPP

#include <memory>

#include <sys/types.h>
#include <sys/uio.h>

namespace raftlite::detail {

class file_io {
public:
    virtual ~file_io() = default;

    virtual int open(const char* path, int flags, mode_t mode) = 0;
    virtual int openat(int dir_fd, const char* name, int flags, mode_t mode) = 0;
    virtual int close(int fd) = 0;
    virtual int mkdir(const char* path, mode_t mode) = 0;
    virtual ssize_t pwritev(int fd, const iovec* iov, int count, off_t offset) = 0;
    virtual int ftruncate(int fd, off_t size) = 0;
    virtual int fdatasync(int fd) = 0;
    virtual int fsync(int fd) = 0;
    virtual int renameat(int old_dir, const char* old_name, int new_dir, const char* new_name) = 0;
    virtual int unlinkat(int dir_fd, const char* name, int flags) = 0;
};

/// The operating system's calls. Tests derive from it to watch them.
class posix_file_io : public file_io {
public:
    int open(const char* path, int flags, mode_t mode) override;
    int openat(int dir_fd, const char* name, int flags, mode_t mode) override;
    int close(int fd) override;
    int mkdir(const char* path, mode_t mode) override;
    ssize_t pwritev(int fd, const iovec* iov, int count, off_t offset) override;
    int ftruncate(int fd, off_t size) override;
    int fdatasync(int fd) override;
    int fsync(int fd) override;
    int renameat(int old_dir, const char* old_name, int new_dir, const char* new_name) override;
    int unlinkat(int dir_fd, const char* name, int flags) override;
};

/// A process-wide posix_file_io: what file_persister uses unless told otherwise.
std::shared_ptr<file_io> default_file_io();

} // namespace raftlite::detail

#endif
