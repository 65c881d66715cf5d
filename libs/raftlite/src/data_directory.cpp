// raftlite — the data directory of a file_persister: creation, lock, fsync.
#include "detail/data_directory.hpp"

#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <cerrno>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

namespace raftlite::detail {

namespace {

// The directory holding `path` ("." for a bare name), with trailing slashes ignored.
std::string parent_of(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

} // namespace

error_code data_directory::sync_directory(const std::string& dir, std::string& msg) {
    unique_fd fd(*io_, io_->open(dir.c_str(), O_RDONLY | O_DIRECTORY, 0));
    if (!fd) {
        const auto ec = os_error(errno);
        msg = describe("cannot open directory " + dir + " to sync it", ec);
        return ec;
    }
    if (io_->fsync(fd.get()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("fsync directory " + dir, ec);
        return ec;
    }
    return {};
}

// A directory's entry lives in its parent: a directory that mkdir created is
// durable only once the parent is fsynced, and files synced inside a
// directory that a power loss takes away are lost with it. So each level
// created here is followed by an fsync of its parent. The data directory's
// own parent is fsynced on every open, not only when it was created now: a
// previous run may have died between its mkdir and that fsync.
error_code data_directory::create_durably(std::string& msg) {
    std::vector<std::string> missing;   // deepest first
    for (std::string p = path_; !exists(p); p = parent_of(p)) {
        missing.push_back(p);
        if (parent_of(p) == p) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (io_->mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
            const auto ec = os_error(errno);
            msg = describe("cannot create data directory " + path_ + " (creating " + *it + ")", ec);
            return ec;
        }
        if (*it != path_) {
            if (auto ec = sync_directory(parent_of(*it), msg)) return ec;
        }
    }
    return sync_directory(parent_of(path_), msg);
}

error_code data_directory::open_and_lock(std::string& msg) {
    if (auto ec = create_durably(msg)) return ec;
    dir_fd_ = unique_fd(*io_, io_->open(path_.c_str(), O_RDONLY | O_DIRECTORY, 0));
    if (!dir_fd_) {
        const auto ec = os_error(errno);
        msg = describe("cannot open data directory " + path_, ec);
        return ec;
    }
    lock_fd_ = unique_fd(*io_, io_->openat(dir_fd_.get(), lock_file, O_RDWR | O_CREAT, 0644));
    if (!lock_fd_) {
        const auto ec = os_error(errno);
        msg = describe("cannot open " + file(lock_file), ec);
        return ec;
    }
    // flock, not fcntl: its lock belongs to the open file, so a second
    // file_persister in the same process is refused too, and closing an
    // unrelated descriptor of LOCK cannot drop it.
    int rc;
    do rc = ::flock(lock_fd_.get(), LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EWOULDBLOCK) {
            msg = "data directory " + path_ + " is in use: " + file(lock_file) +
                  " is locked by another process (or another persister in this one)";
            return raftlite::errc::already_locked;
        }
        const auto ec = os_error(errno);
        msg = describe("cannot lock " + file(lock_file), ec);
        return ec;
    }
    return {};
}

error_code data_directory::sync(std::string& msg) {
    if (io_->fsync(dir_fd_.get()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("fsync directory " + path_, ec);
        return ec;
    }
    return {};
}

error_code data_directory::sync_file(const std::string& name, std::string& msg) {
    unique_fd fd(*io_, io_->openat(dir_fd_.get(), name.c_str(), O_RDONLY, 0));
    if (!fd) {
        const auto ec = os_error(errno);
        msg = describe("cannot open " + file(name) + " to sync it", ec);
        return ec;
    }
    if (io_->fdatasync(fd.get()) != 0) {
        const auto ec = os_error(errno);
        msg = describe("fdatasync " + file(name), ec);
        return ec;
    }
    return {};
}

void data_directory::close() noexcept {
    lock_fd_.reset();
    dir_fd_.reset();
}

} // namespace raftlite::detail
