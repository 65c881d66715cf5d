// raftlite — power_loss_io: the disk model behind the power-loss tests.
#include "persister/power_loss_io.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>

namespace persister_test {

namespace fs = std::filesystem;

namespace {

std::string read_whole(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

power_loss_io::power_loss_io(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    for (auto& e : fs::recursive_directory_iterator(root_)) {
        auto n = std::make_shared<node>();
        n->is_dir = e.is_directory();
        if (!n->is_dir) n->synced = read_whole(e.path());
        current_[e.path().string()] = n;
    }
    durable_ = current_;
}

bool power_loss_io::tracked(const std::string& path) const {
    return path == root_ || path.rfind(root_ + "/", 0) == 0;
}

std::string power_loss_io::parent_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string power_loss_io::at(int dir_fd, const char* name) const {
    auto it = dirs_.find(dir_fd);
    return it == dirs_.end() ? std::string() : it->second + "/" + name;
}

void power_loss_io::record_open(int fd, const std::string& path, bool existed, int flags) {
    if (fd < 0 || path.empty() || !tracked(path)) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        dirs_[fd] = path;
        return;
    }
    node_ptr& n = current_[path];
    if (!existed || !n) n = std::make_shared<node>();   // created by this open
    if (existed && (flags & O_TRUNC)) n->pending.push_back({true, 0, {}});
    files_[fd] = n;
}

int power_loss_io::open(const char* path, int flags, mode_t mode) {
    const bool existed = current_.count(path) > 0;
    const int fd = posix_file_io::open(path, flags, mode);
    record_open(fd, path, existed, flags);
    return fd;
}

int power_loss_io::openat(int dir_fd, const char* name, int flags, mode_t mode) {
    const std::string path = at(dir_fd, name);
    const bool existed = current_.count(path) > 0;
    const int fd = posix_file_io::openat(dir_fd, name, flags, mode);
    record_open(fd, path, existed, flags);
    return fd;
}

int power_loss_io::close(int fd) {
    files_.erase(fd);
    dirs_.erase(fd);
    return posix_file_io::close(fd);
}

int power_loss_io::mkdir(const char* path, mode_t mode) {
    const int rc = posix_file_io::mkdir(path, mode);
    if (rc == 0 && tracked(path)) {
        auto n = std::make_shared<node>();
        n->is_dir = true;
        current_[path] = n;
    }
    return rc;
}

ssize_t power_loss_io::pwritev(int fd, const iovec* iov, int count, off_t offset) {
    const ssize_t n = posix_file_io::pwritev(fd, iov, count, offset);
    auto it = files_.find(fd);
    if (n > 0 && it != files_.end()) {
        write_op op;
        op.offset = static_cast<std::uint64_t>(offset);
        std::size_t left = static_cast<std::size_t>(n);
        for (int i = 0; i < count && left > 0; ++i) {
            const std::size_t take = std::min(left, iov[i].iov_len);
            op.bytes.append(static_cast<const char*>(iov[i].iov_base), take);
            left -= take;
        }
        it->second->pending.push_back(std::move(op));
    }
    return n;
}

int power_loss_io::ftruncate(int fd, off_t size) {
    const int rc = posix_file_io::ftruncate(fd, size);
    auto it = files_.find(fd);
    if (rc == 0 && it != files_.end())
        it->second->pending.push_back({true, static_cast<std::uint64_t>(size), {}});
    return rc;
}

int power_loss_io::fdatasync(int fd) { return fsync(fd); }

int power_loss_io::fsync(int fd) {
    if (auto d = dirs_.find(fd); d != dirs_.end()) {
        if (fail_dir_fsync_) {
            fail_dir_fsync_ = false;
            errno = EIO;
            return -1;
        }
        const int rc = posix_file_io::fsync(fd);
        if (rc != 0) return rc;
        ++dir_syncs_;
        // The directory's entries as they are now become the durable ones.
        const std::string& dir = d->second;
        for (auto it = durable_.begin(); it != durable_.end();) {
            if (parent_of(it->first) == dir && !current_.count(it->first))
                it = durable_.erase(it);
            else
                ++it;
        }
        for (auto& [path, n] : current_)
            if (parent_of(path) == dir) durable_[path] = n;
        return 0;
    }
    const int rc = posix_file_io::fsync(fd);
    if (rc != 0) return rc;
    ++file_syncs_;
    if (auto f = files_.find(fd); f != files_.end()) {
        node& n = *f->second;
        for (const auto& op : n.pending) apply(n.synced, op, op.truncate ? 1 : op.bytes.size());
        n.pending.clear();
    }
    return 0;
}

int power_loss_io::renameat(int old_dir, const char* old_name, int new_dir, const char* new_name) {
    const std::string from = at(old_dir, old_name), to = at(new_dir, new_name);
    const int rc = posix_file_io::renameat(old_dir, old_name, new_dir, new_name);
    if (rc == 0 && tracked(from) && tracked(to)) {
        current_[to] = current_[from];
        current_.erase(from);
    }
    return rc;
}

int power_loss_io::unlinkat(int dir_fd, const char* name, int flags) {
    const std::string path = at(dir_fd, name);
    const int rc = posix_file_io::unlinkat(dir_fd, name, flags);
    if (rc == 0 && tracked(path)) current_.erase(path);
    return rc;
}

void power_loss_io::apply(std::string& content, const write_op& op, std::size_t keep_bytes) {
    if (keep_bytes == 0) return;
    if (op.truncate) {
        content.resize(op.offset, '\0');
        return;
    }
    const std::size_t n = std::min(keep_bytes, op.bytes.size());
    if (content.size() < op.offset + n) content.resize(op.offset + n, '\0');
    std::copy(op.bytes.begin(), op.bytes.begin() + static_cast<std::ptrdiff_t>(n),
              content.begin() + static_cast<std::ptrdiff_t>(op.offset));
}

void power_loss_io::power_loss() {
    power_loss([](const std::string&, std::size_t, std::size_t) -> std::size_t { return 0; });
}

void power_loss_io::power_loss(const keep_function& keep) {
    if (!files_.empty() || !dirs_.empty())
        throw std::logic_error("power_loss_io: descriptors still open (drop the persister first)");
    // What survives: durable entries whose directory survives too.
    std::map<std::string, std::string> files;   // path -> contents
    std::vector<std::string> dirs;
    for (const auto& [path, n] : durable_) {   // sorted: a parent comes before its children
        const std::string parent = parent_of(path);
        if (parent != root_) {
            auto p = durable_.find(parent);
            if (p == durable_.end() || !p->second->is_dir ||
                std::find(dirs.begin(), dirs.end(), parent) == dirs.end())
                continue;
        }
        if (n->is_dir) {
            dirs.push_back(path);
            continue;
        }
        std::string content = n->synced;
        for (std::size_t i = 0; i < n->pending.size(); ++i) {
            const auto& op = n->pending[i];
            apply(content, op, keep(path, i, op.truncate ? 1 : op.bytes.size()));
        }
        files[path] = std::move(content);
    }
    for (auto& e : fs::directory_iterator(root_)) fs::remove_all(e.path());
    current_.clear();
    for (const auto& d : dirs) {
        fs::create_directory(d);
        auto n = std::make_shared<node>();
        n->is_dir = true;
        current_[d] = n;
    }
    for (const auto& [path, content] : files) {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out) throw std::runtime_error("power_loss_io: cannot rewrite " + path);
        auto n = std::make_shared<node>();
        n->synced = content;
        current_[path] = n;
    }
    durable_ = current_;
}

std::vector<std::string> power_loss_io::unsynced() const {
    std::vector<std::string> v;
    for (const auto& [path, n] : current_) {
        auto d = durable_.find(path);
        if (d == durable_.end() || d->second != n) v.push_back(path + ": entry not synced");
        if (!n->pending.empty())
            v.push_back(path + ": " + std::to_string(n->pending.size()) + " unsynced writes");
    }
    for (const auto& [path, n] : durable_)
        if (!current_.count(path)) v.push_back(path + ": removal not synced");
    return v;
}

std::size_t power_loss_io::unsynced_writes(const std::string& path) const {
    auto it = current_.find(path);
    return it == current_.end() ? 0 : it->second->pending.size();
}

} // namespace persister_test
