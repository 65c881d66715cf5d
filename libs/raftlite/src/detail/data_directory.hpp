// raftlite — the data directory: created durably, opened, locked, synced.
#ifndef RAFTLITE_SRC_DETAIL_DATA_DIRECTORY_HPP
#define RAFTLITE_SRC_DETAIL_DATA_DIRECTORY_HPP

#include "file_util.hpp"

#include <string>

namespace raftlite::detail {

class data_directory {
public:
    data_directory(file_io& io, std::string path) : io_(&io), path_(std::move(path)) {}

    /// Creates the directory (and missing parents) if needed, so that its
    /// entry is durable, opens it and takes the LOCK file's flock.
    /// errc::already_locked when another process or another persister in
    /// this one holds it. On failure `msg` says what went wrong.
    error_code open_and_lock(std::string& msg);

    /// fsyncs the directory: entries created, renamed or removed in it
    /// before this call survive a power loss after it.
    error_code sync(std::string& msg);

    /// fdatasyncs the file `name` in the directory: its contents and size
    /// survive a power loss after this call.
    error_code sync_file(const std::string& name, std::string& msg);

    /// Closes the directory and releases the lock.
    void close() noexcept;

    file_io& io() const noexcept { return *io_; }
    int fd() const noexcept { return dir_fd_.get(); }
    const std::string& path() const noexcept { return path_; }
    /// The path of a file in the directory, for messages.
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    error_code create_durably(std::string& msg);
    error_code sync_directory(const std::string& dir, std::string& msg);

    file_io* io_;
    std::string path_;
    unique_fd dir_fd_;
    unique_fd lock_fd_;
};

} // namespace raftlite::detail

#endif
