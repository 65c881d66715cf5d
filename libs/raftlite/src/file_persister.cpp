// raftlite — file_persister: the persister contract over a data directory.
//
// This file holds the state and the order of operations; the parts are:
//   data_directory.cpp  creating (durably), locking and syncing the directory
//   atomic_file.cpp     hard_state and log_meta, replaced atomically
//   segment_file.cpp    log segments: scan, append, cut, sync
//   recovery.cpp        load(): check, repair, make durable
//   snapshot_file.cpp   snapshot files: write (any thread), check, read
// storage_format.cpp has the byte layout; docs/storage-format.md describes
// files and recovery rules: when which byte goes to disk, in which order, and
// what a crash at any point leaves behind.
#include <raftlite/file_persister.hpp>

#include "detail/atomic_file.hpp"
#include "detail/data_directory.hpp"
#include "detail/recovery.hpp"
#include "detail/segment_file.hpp"
#include "detail/snapshot_file.hpp"

#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>
#include <raftlite/log.hpp>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <utility>

namespace raftlite {

using boost::system::error_code;
namespace fmt = detail;

struct file_persister::impl {
    file_persister_options opts;
    std::shared_ptr<detail::file_io> io;
    detail::data_directory dir;
    detail::open_segment seg;             ///< segments.back() when open

    std::atomic<bool> loaded = false;     ///< read by snapshot calls on other threads
    bool failed = false;
    std::string last_error;
    std::string failure;                  ///< what made us fail, for every later refusal

    index_t log_start = 1;
    term_t prefix_term = 0;
    index_t last = 0;                     ///< last index held; log_start - 1 when empty
    std::vector<index_t> segments;        ///< first index of each segment file, ascending
    bool dir_dirty = false;               ///< directory entries changed since the last fsync

    mutable std::mutex snapshot_mutex;    ///< guards `snapshot` (current_snapshot() may be asked anywhere)
    std::optional<snapshot_meta> snapshot;
    std::shared_ptr<detail::shared_message> snapshot_errors = std::make_shared<detail::shared_message>();

    impl(std::string d, file_persister_options o)
        : opts(std::move(o)),
          io(opts.io ? opts.io : detail::default_file_io()),
          dir(*io, std::move(d)),
          seg(dir) {
        if (opts.segment_size < fmt::segment_header_size + fmt::record_header_size)
            opts.segment_size = fmt::segment_header_size + fmt::record_header_size;
    }

    void warn(const std::string& msg) {
        if (opts.on_warning)
            opts.on_warning(msg);
        else
            RAFTLITE_LOG_DISK(warning) << msg;
    }

    // A refusal: nothing was written, the persister stays usable.
    error_code refuse(error_code ec, std::string msg) {
        last_error = std::move(msg);
        return ec;
    }

    // A write or sync went wrong: from now on every write is refused, because
    // we no longer know what is on disk and must not acknowledge anything.
    error_code fail(error_code ec, std::string msg) {
        failed = true;
        last_error = std::move(msg);
        failure = last_error;
        return ec;
    }

    error_code check_writable() {
        if (failed)
            return refuse(errc::storage_failed,
                          "storage failed earlier (" + failure + "); no more writes accepted");
        if (!loaded) return refuse(errc::storage_failed, "load() has not succeeded on " + dir.path());
        return {};
    }

    error_code sync_dir() {
        std::string msg;
        if (auto ec = dir.sync(msg)) return fail(ec, std::move(msg));
        dir_dirty = false;
        return {};
    }

    error_code unlink_segment(index_t first) {
        std::string msg;
        if (auto ec = fmt::remove_segment(dir, first, msg)) return fail(ec, std::move(msg));
        dir_dirty = true;
        return {};
    }

    // Closes the open segment (made durable first: sync() only flushes the
    // open one) and starts a new one whose first record will be `first`.
    error_code start_segment(index_t first) {
        std::string msg;
        if (auto ec = seg.sync(msg)) return fail(ec, std::move(msg));
        seg.close();
        // A segment starting at the log start makes every older one (kept
        // until now because it held the start, then truncated) pure history.
        if (first <= log_start) {
            for (index_t old : segments)
                if (auto ec = unlink_segment(old)) return ec;
            segments.clear();
        }
        segments.push_back(first);
        dir_dirty = true;
        if (auto ec = seg.create(first, msg)) return fail(ec, std::move(msg));
        return {};
    }

    // Opens the closed segment segments.back() for writing, learning its record offsets.
    error_code reopen_last_segment() {
        const index_t first = segments.back();
        detail::segment_scan r;
        std::string msg;
        if (auto ec = fmt::scan_segment(dir, first, false, opts.max_payload, 0, nullptr, r, msg))
            return fail(ec, std::move(msg));
        if (auto ec = seg.open(first, r.valid_end, std::move(r.offsets), msg)) return fail(ec, std::move(msg));
        return {};
    }

    // ---- load ------------------------------------------------------------------
    error_code load(persistent_state& out) {
        if (loaded)
            return refuse(boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted),
                          "load() was already called on " + dir.path());
        failed = false;
        auto ec = load_impl(out);
        if (ec) {
            seg.close();
            dir.close();
        }
        return ec;
    }

    error_code load_impl(persistent_state& out) {
        std::string msg;
        if (auto ec = dir.open_and_lock(msg)) return refuse(ec, std::move(msg));
        detail::recovered_log rec;
        if (auto ec = detail::recover(dir, opts.max_payload, [this](const std::string& m) { warn(m); }, rec, msg))
            return refuse(ec, std::move(msg));
        // Ready to append after the last record.
        segments = std::move(rec.segments);
        last = rec.last;
        if (!segments.empty()) {
            if (auto ec = seg.open(segments.back(), rec.tail_end, std::move(rec.tail_offsets), msg))
                return refuse(ec, std::move(msg));
        }
        {
            std::lock_guard lock(snapshot_mutex);
            snapshot = rec.state.snapshot;
        }
        log_start = rec.state.log_start;
        prefix_term = rec.state.prefix_term;
        dir_dirty = false;
        loaded = true;
        last_error.clear();
        out = std::move(rec.state);
        return {};
    }

    // ---- writes ------------------------------------------------------------------
    error_code append(const std::vector<log_entry>& entries) {
        if (auto ec = check_writable()) return ec;
        const std::size_t n = entries.size();
        for (std::size_t i = 0; i < n; ++i) {
            const log_entry& e = entries[i];
            if (e.index != last + 1 + i)
                return refuse(boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                              "append: entry index " + std::to_string(e.index) +
                                  " does not continue the log (expected " + std::to_string(last + 1 + i) + ")");
            if (e.size() > opts.max_payload)
                return refuse(boost::system::errc::make_error_code(boost::system::errc::message_size),
                              "append: entry " + std::to_string(e.index) + " has " + std::to_string(e.size()) +
                                  " payload bytes, more than the bound " + std::to_string(opts.max_payload));
            if (static_cast<unsigned>(e.kind) > static_cast<unsigned>(entry_kind::configuration))
                return refuse(boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                              "append: entry " + std::to_string(e.index) + " has an unknown kind");
        }
        std::size_t i = 0;
        while (i < n) {
            if (!seg.is_open() || !seg.fits(entries[i], opts.segment_size)) {
                if (auto ec = start_segment(entries[i].index)) return ec;
            }
            // Every record that fits in this segment goes out in one pwritev.
            std::size_t j = i;
            std::string msg;
            if (auto ec = seg.append(entries, i, opts.segment_size, j, msg)) return fail(ec, std::move(msg));
            last = entries[j - 1].index;
            i = j;
        }
        return {};
    }

    error_code truncate_suffix(index_t from) {
        if (auto ec = check_writable()) return ec;
        if (from < log_start) from = log_start;
        if (from > last) return {};
        // Whole segments at or after `from` go first, newest first, and the
        // directory is synced before the cut below: whatever a crash leaves
        // is then a prefix of the old log, never a log with a hole.
        index_t held_to = last;   // last index of segments.back()
        bool unlinked = false;
        while (!segments.empty() && segments.back() >= from) {
            seg.close();
            if (auto ec = unlink_segment(segments.back())) return ec;
            held_to = segments.back() - 1;
            segments.pop_back();
            unlinked = true;
        }
        if (unlinked) {
            if (auto ec = sync_dir()) return ec;
        }
        if (!segments.empty() && held_to >= from) {
            if (!seg.is_open()) {
                if (auto ec = reopen_last_segment()) return ec;
            }
            const index_t k = from - segments.back();
            if (k >= seg.records())
                return fail(errc::corrupt_data,
                            "truncate: " + seg.name() + " holds fewer records than expected");
            // Durable before the next append writes over the cut-off bytes
            // (open_segment::cut says why).
            std::string msg;
            if (auto ec = seg.cut(static_cast<std::size_t>(k), msg)) return fail(ec, std::move(msg));
        }
        last = from - 1;
        return {};
    }

    error_code remove_prefix(index_t upto, term_t pterm) {
        if (auto ec = check_writable()) return ec;
        if (upto <= log_start) return {};
        // The new start is recorded first; segments below it that a crash
        // leaves behind are recognised as leftovers by load().
        std::string msg;
        if (auto ec = fmt::replace_file(dir, fmt::log_meta_file,
                                        fmt::encode_small_file(fmt::log_meta_magic, upto, pterm), msg))
            return fail(ec, std::move(msg));
        dir_dirty = false;
        log_start = upto;
        prefix_term = pterm;
        std::size_t drop = 0;
        while (drop < segments.size()) {
            const index_t seg_last = drop + 1 < segments.size() ? segments[drop + 1] - 1 : last;
            if (seg_last >= upto) break;
            ++drop;
        }
        for (std::size_t i = 0; i < drop; ++i) {
            if (i + 1 == segments.size()) seg.close();
            if (auto ec = unlink_segment(segments[i])) return ec;
        }
        segments.erase(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(drop));
        if (upto > last) last = upto - 1;
        return {};
    }

    error_code save_hard_state(const hard_state& hs) {
        if (auto ec = check_writable()) return ec;
        std::string msg;
        if (auto ec = fmt::replace_file(dir, fmt::hard_state_file,
                                        fmt::encode_hard_state(hs), msg))
            return fail(ec, std::move(msg));
        dir_dirty = false;
        return {};
    }

    // ---- snapshots (Raft §7; thesis §5) ---------------------------------------------
    error_code begin_snapshot(index_t index, term_t term, membership members,
                              std::unique_ptr<snapshot_writer>& out) {
        std::string msg;
        if (!loaded) {
            snapshot_errors->set("begin_snapshot: load() has not succeeded on " + dir.path());
            return errc::storage_failed;
        }
        if (index == 0) {
            snapshot_errors->set("begin_snapshot: a snapshot covers at least entry 1");
            return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
        }
        if (auto ec = detail::begin_snapshot_file(io, dir.path(), index, term, std::move(members), snapshot_errors,
                                                  out, msg)) {
            snapshot_errors->set(std::move(msg));
            return ec;
        }
        return {};
    }

    error_code use_snapshot(const snapshot_meta& meta) {
        if (auto ec = check_writable()) return ec;
        std::string msg;
        {
            std::lock_guard lock(snapshot_mutex);
            if (snapshot && meta.index < snapshot->index)
                return refuse(boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                              "use_snapshot: snapshot " + std::to_string(meta.index) + " is older than the current " +
                                  std::to_string(snapshot->index));
        }
        // Only a finished snapshot that holds exactly `meta` may become
        // current: the log prefix it covers is about to be dropped.
        snapshot_meta on_disk;
        if (auto ec = detail::check_snapshot_file(dir.fd(), dir.path(), meta.index, meta.term, false, on_disk, msg))
            return refuse(ec, "use_snapshot: " + msg);
        if (!(on_disk == meta))
            return refuse(errc::snapshot_gone, "use_snapshot: " +
                                                   dir.file(fmt::snapshot_file_name(meta.index, meta.term)) +
                                                   " holds another snapshot than the one given");
        {
            std::lock_guard lock(snapshot_mutex);
            snapshot = meta;
        }
        // Older snapshots go now. The new one is durable already (finish()
        // synced it and its name), so a crash from here on restarts from it
        // whichever removals reached the disk. Temporary files are left
        // alone: a writer on another thread may own one (load() removes them).
        detail::snapshot_listing files;
        if (auto ec = detail::list_snapshot_files(dir.path(), files, msg)) return fail(ec, std::move(msg));
        for (const auto& [index, term] : files.files) {
            if (index > meta.index || (index == meta.index && term >= meta.term)) continue;
            const std::string name = fmt::snapshot_file_name(index, term);
            if (io->unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
                const auto ec = detail::os_error(errno);
                return fail(ec, detail::describe("cannot remove the replaced snapshot " + dir.file(name), ec));
            }
            dir_dirty = true;
        }
        return {};
    }

    std::optional<snapshot_meta> current_snapshot() const {
        std::lock_guard lock(snapshot_mutex);
        return snapshot;
    }

    error_code read_snapshot(const snapshot_meta& meta, std::uint64_t offset, std::size_t max,
                             std::string& out) const {
        if (!loaded) {
            snapshot_errors->set("read_snapshot: load() has not succeeded on " + dir.path());
            return errc::storage_failed;
        }
        std::string msg;
        if (auto ec = detail::read_snapshot_file(dir.fd(), dir.path(), meta, offset, max, out, msg)) {
            snapshot_errors->set(std::move(msg));
            return ec;
        }
        return {};
    }

    // One fdatasync of the open segment (the only one that can hold unsynced
    // records) and, when entries changed, one fsync of the directory.
    error_code sync() {
        if (auto ec = check_writable()) return ec;
        std::string msg;
        if (auto ec = seg.sync(msg)) return fail(ec, std::move(msg));
        if (dir_dirty) return sync_dir();
        return {};
    }
};

file_persister::file_persister(std::string directory, file_persister_options options)
    : impl_(std::make_unique<impl>(std::move(directory), std::move(options))) {}

file_persister::~file_persister() = default;

boost::system::error_code file_persister::load(persistent_state& out) { return impl_->load(out); }
boost::system::error_code file_persister::save_hard_state(const hard_state& hs) {
    return impl_->save_hard_state(hs);
}
boost::system::error_code file_persister::append(const std::vector<log_entry>& entries) {
    return impl_->append(entries);
}
boost::system::error_code file_persister::truncate_suffix(index_t from) {
    return impl_->truncate_suffix(from);
}
std::size_t file_persister::max_entry_bytes() const noexcept { return impl_->opts.max_payload; }

boost::system::error_code file_persister::remove_prefix(index_t upto, term_t prefix_term) {
    return impl_->remove_prefix(upto, prefix_term);
}
boost::system::error_code file_persister::sync() { return impl_->sync(); }
boost::system::error_code file_persister::begin_snapshot(index_t index, term_t term, membership members,
                                                         std::unique_ptr<snapshot_writer>& out) {
    return impl_->begin_snapshot(index, term, std::move(members), out);
}
boost::system::error_code file_persister::use_snapshot(const snapshot_meta& meta) {
    return impl_->use_snapshot(meta);
}
std::optional<snapshot_meta> file_persister::current_snapshot() const { return impl_->current_snapshot(); }
boost::system::error_code file_persister::read_snapshot(const snapshot_meta& meta, std::uint64_t offset,
                                                        std::size_t max, std::string& out) const {
    return impl_->read_snapshot(meta, offset, max, out);
}
std::string file_persister::snapshot_error_message() const { return impl_->snapshot_errors->get(); }

const std::string& file_persister::last_error_message() const noexcept { return impl_->last_error; }
bool file_persister::failed() const noexcept { return impl_->failed; }
const std::string& file_persister::directory() const noexcept { return impl_->dir.path(); }
index_t file_persister::last_index() const noexcept { return impl_->last; }

} // namespace raftlite
