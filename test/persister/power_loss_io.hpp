// raftlite — a model of the disk under file_persister, for power-loss tests.
//
// power_loss_io passes every call through to the operating system, so the
// files are real and a "process crash" is simply dropping the persister: the
// page cache (the real files) keeps every write. Besides, it remembers what
// a power loss would keep:
//   - a file's contents as of its last fdatasync/fsync, plus the writes
//     (pwritev, ftruncate, O_TRUNC) since then, in order;
//   - a directory's entries (creations, renames, removals) as of its last
//     fsync. A file whose entry was never synced is lost with everything in
//     it, and so is a directory (and all below it).
// power_loss() then rewrites the real tree under the root to that state.
//
// It models only what happens under `root`, a directory that already
// exists; everything in it when the model is made counts as durable.
#ifndef RAFTLITE_TEST_PERSISTER_POWER_LOSS_IO_HPP
#define RAFTLITE_TEST_PERSISTER_POWER_LOSS_IO_HPP

#include <raftlite/detail/file_io.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace persister_test {

class power_loss_io final : public raftlite::detail::posix_file_io {
public:
    explicit power_loss_io(std::string root);

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

    /// Power goes: every file and directory under the root goes back to its
    /// durable state. No descriptor may be open (drop the persister first).
    void power_loss();
    /// The same, but a disk may persist unsynced writes anyway, in any order:
    /// keep(path, i, size) says how many of the `size` bytes of the i-th
    /// unsynced write to `path` (counting from 0 since its last sync) reached
    /// the disk anyway: 0 none, `size` all, less a torn write. A truncation
    /// has size 1 (kept or not).
    using keep_function = std::function<std::size_t(const std::string& path, std::size_t i, std::size_t size)>;
    void power_loss(const keep_function& keep);

    /// What a power loss now would change, one line each (empty: nothing).
    std::vector<std::string> unsynced() const;
    /// Unsynced writes to `path` (a full path) since its last sync.
    std::size_t unsynced_writes(const std::string& path) const;
    /// fdatasync/fsync calls on files and on directories so far.
    std::size_t file_syncs() const noexcept { return file_syncs_; }
    std::size_t directory_syncs() const noexcept { return dir_syncs_; }

    /// The next fsync of a directory fails with EIO, doing nothing (the
    /// process "dies" just before it).
    void fail_next_directory_fsync() noexcept { fail_dir_fsync_ = true; }

    const std::string& root() const noexcept { return root_; }

private:
    struct write_op {
        bool truncate = false;
        std::uint64_t offset = 0;   ///< truncate: the new size
        std::string bytes;
    };
    struct node {
        bool is_dir = false;
        std::string synced;              ///< a file's contents at its last sync
        std::vector<write_op> pending;   ///< a file's writes since then
    };
    using node_ptr = std::shared_ptr<node>;

    bool tracked(const std::string& path) const;
    static std::string parent_of(const std::string& path);
    std::string at(int dir_fd, const char* name) const;
    void record_open(int fd, const std::string& path, bool existed, int flags);
    static void apply(std::string& content, const write_op& op, std::size_t keep_bytes);

    std::string root_;
    std::map<std::string, node_ptr> current_;   ///< every path under the root now
    std::map<std::string, node_ptr> durable_;   ///< what each directory's last fsync recorded
    std::map<int, node_ptr> files_;             ///< open descriptors of tracked files
    std::map<int, std::string> dirs_;           ///< open descriptors of tracked directories
    std::size_t file_syncs_ = 0;
    std::size_t dir_syncs_ = 0;
    bool fail_dir_fsync_ = false;
};

} // namespace persister_test

#endif
