// raftlite — recovery of a data directory (file_persister::load()).
//
// Three phases: read and check everything, changing nothing, so that
// corruption is reported on untouched files; finish what a crash interrupted;
// make everything that will be returned durable.
#include "detail/recovery.hpp"

#include "detail/atomic_file.hpp"
#include "detail/segment_file.hpp"
#include "detail/snapshot_file.hpp"

#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fcntl.h>

namespace raftlite::detail {

error_code recover(data_directory& dir, std::uint32_t max_payload,
                   const std::function<void(const std::string&)>& warn, recovered_log& out,
                   std::string& msg) {
    // ---- phase 1: read and check --------------------------------------------
    persistent_state st;
    bool hard_exists = false, meta_exists = false;
    if (auto ec = read_hard_state(dir, st.hard, hard_exists, msg)) return ec;
    std::uint64_t meta_start = 1, meta_term = 0;
    if (auto ec = read_small_file(dir, log_meta_file, log_meta_magic, meta_start, meta_term, meta_exists, msg))
        return ec;
    if (meta_exists && meta_start == 0) {
        msg = dir.file(log_meta_file) + ": log start is 0";
        return raftlite::errc::corrupt_data;
    }
    st.log_start = meta_start;
    st.prefix_term = meta_term;
    const index_t start = st.log_start;

    std::vector<index_t> found;
    {
        std::error_code fec;
        for (std::filesystem::directory_iterator it(dir.path(), fec), end; !fec && it != end;
             it.increment(fec)) {
            if (auto first = parse_segment_file_name(it->path().filename().string()))
                found.push_back(*first);
        }
        if (fec) {
            const auto ec = os_error(fec.value());
            msg = describe("cannot list data directory " + dir.path(), ec);
            return ec;
        }
    }
    std::sort(found.begin(), found.end());

    // Segments wholly before the log start are leftovers of a remove_prefix
    // that crashed after recording the new start.
    std::size_t s = 0;   // first segment that may hold log_start
    while (s + 1 < found.size() && found[s + 1] <= start) ++s;
    if (!found.empty() && found[s] > start) {
        msg = "log starts at index " + std::to_string(start) + " but the first segment, " +
              dir.file(segment_file_name(found[s])) + ", starts at " + std::to_string(found[s]) +
              ": a segment is missing";
        return raftlite::errc::corrupt_data;
    }
    std::vector<index_t> leftovers(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(s));
    std::vector<index_t> kept;
    segment_scan last_scan;
    index_t next = 0;
    for (std::size_t i = s; i < found.size(); ++i) {
        if (i > s && found[i] != next) {
            msg = "segment " + dir.file(segment_file_name(found[i])) + " starts at " +
                  std::to_string(found[i]) + " but the log before it ends at " + std::to_string(next - 1) +
                  ": a segment is missing or damaged";
            return raftlite::errc::corrupt_data;
        }
        const bool is_last = i + 1 == found.size();
        segment_scan r;
        if (auto ec = scan_segment(dir, found[i], is_last, max_payload, start, &st.entries, r, msg))
            return ec;
        next = r.next_index;
        kept.push_back(found[i]);
        if (is_last) last_scan = std::move(r);
    }

    // The newest snapshot is the one a restart goes on from (a finished
    // snapshot file is always whole: it got its name only after its contents
    // were synced). Its data is checked in full, once: a damaged snapshot is
    // never used, whatever it costs to find out. Older ones are superseded.
    snapshot_listing snaps;
    if (auto ec = list_snapshot_files(dir.path(), snaps, msg)) return ec;
    if (!snaps.files.empty()) {
        snapshot_meta m;
        const auto [index, term] = snaps.files.back();
        if (auto ec = check_snapshot_file(dir.fd(), dir.path(), index, term, true, m, msg)) {
            if (ec == raftlite::errc::snapshot_gone) ec = raftlite::errc::corrupt_data;   // vanished while we looked
            return ec;
        }
        st.snapshot = std::move(m);
    }
    // The log must continue the snapshot (Raft §7): no entry may be missing
    // between them, and if the log holds the snapshot's last entry it must be
    // that very entry. A log that does not hold it, or holds another one, is
    // discarded: the snapshot is committed state, so any entry of ours that
    // disagrees with it was never committed (Log Matching, §5.3).
    bool discard = false;
    if (st.snapshot) {
        const index_t si = st.snapshot->index;
        const index_t last_held = start + st.entries.size() - 1;
        if (si == 0 || si == UINT64_MAX) {
            // begin_snapshot refuses index 0; the largest index leaves no room for a log after it.
            msg = dir.file(snapshot_file_name(si, st.snapshot->term)) + ": snapshot index " + std::to_string(si) +
                  " is out of range";
            return raftlite::errc::corrupt_data;
        }
        if (start > si + 1) {
            msg = "log starts at index " + std::to_string(start) + " but the snapshot " +
                  dir.file(snapshot_file_name(si, st.snapshot->term)) + " ends at index " + std::to_string(si) +
                  ": the entries between them are missing";
            return raftlite::errc::corrupt_data;
        }
        if (start == si + 1)
            discard = st.prefix_term != st.snapshot->term;
        else
            discard = si > last_held || st.entries[si - start].term != st.snapshot->term;
    }

    // ---- phase 2: the log is sound; finish what a crash interrupted ---------
    file_io& io = dir.io();
    if (!kept.empty() && last_scan.torn) {
        const std::string name = segment_file_name(kept.back());
        if (last_scan.header_torn) {
            warn("torn segment " + dir.file(name) + " (" + last_scan.torn_why + ", " +
                 std::to_string(last_scan.file_size) + " bytes): removing it");
            if (auto ec = remove_segment(dir, kept.back(), msg)) return ec;
            kept.pop_back();
            // The segment before it is the tail now; its records are all
            // there (it was complete when this one was created).
            last_scan = segment_scan{};
            if (!kept.empty()) {
                if (auto ec = scan_segment(dir, kept.back(), true, max_payload, start, nullptr, last_scan, msg))
                    return ec;
            }
        } else {
            warn("torn tail in " + dir.file(name) + " at offset " + std::to_string(last_scan.valid_end) +
                 " (" + last_scan.torn_why + "): cutting " +
                 std::to_string(last_scan.file_size - last_scan.valid_end) +
                 " bytes; the log now ends at index " + std::to_string(next - 1));
            unique_fd fd(io, io.openat(dir.fd(), name.c_str(), O_WRONLY, 0));
            if (!fd) {
                const auto ec = os_error(errno);
                msg = describe("cannot open " + dir.file(name), ec);
                return ec;
            }
            // Made durable in phase 3, with every other segment.
            if (io.ftruncate(fd.get(), static_cast<off_t>(last_scan.valid_end)) != 0) {
                const auto ec = os_error(errno);
                msg = describe("cannot truncate " + dir.file(name), ec);
                return ec;
            }
            last_scan.file_size = last_scan.valid_end;
        }
    }
    // A last segment ending before log_start - 1 holds only compacted
    // entries; appending at log_start after it would leave a gap.
    if (kept.size() == 1 && next < start) {
        leftovers.push_back(kept.back());
        kept.clear();
    }
    for (index_t first : leftovers) {
        warn("removing " + dir.file(segment_file_name(first)) +
             ": it holds only entries before the log start " + std::to_string(start) +
             " (left by an interrupted remove_prefix)");
        if (auto ec = remove_segment(dir, first, msg)) return ec;
    }
    for (const char* name : {hard_state_file, log_meta_file}) remove_leftover_temp(dir, name);
    // Snapshot leftovers: unfinished writes (nothing else runs before load()
    // returns, so no writer is in progress) and snapshots superseded by the
    // newest one, whose use_snapshot() crashed before it removed them.
    for (const std::string& name : snaps.temps) io.unlinkat(dir.fd(), name.c_str(), 0);
    for (std::size_t i = 0; i + 1 < snaps.files.size(); ++i) {
        const std::string name = snapshot_file_name(snaps.files[i].first, snaps.files[i].second);
        if (io.unlinkat(dir.fd(), name.c_str(), 0) != 0 && errno != ENOENT) {
            const auto ec = os_error(errno);
            msg = describe("cannot remove the superseded snapshot " + dir.file(name), ec);
            return ec;
        }
    }
    if (discard) {
        const snapshot_meta& snap = *st.snapshot;
        warn("the log (" + std::to_string(st.log_start) + ".." + std::to_string(st.log_start + st.entries.size() - 1) +
             ") does not hold entry " + std::to_string(snap.index) + " of term " + std::to_string(snap.term) +
             " that ends the snapshot " + dir.file(snapshot_file_name(snap.index, snap.term)) +
             ": discarding it; the log now starts at " + std::to_string(snap.index + 1));
        // Newest segment first, then the new start: a crash part-way leaves
        // a prefix of the old log, which the next load discards again, and
        // never a log start beyond entries that disagree with the snapshot.
        for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
            if (auto ec = remove_segment(dir, *it, msg)) return ec;
        }
        kept.clear();
        last_scan = segment_scan{};
        if (auto ec = dir.sync(msg)) return ec;
        if (auto ec = replace_file(dir, log_meta_file, encode_small_file(log_meta_magic, snap.index + 1, snap.term),
                                   msg))
            return ec;
        meta_exists = true;
        st.log_start = snap.index + 1;
        st.prefix_term = snap.term;
        st.entries.clear();
    }

    // ---- phase 3: make durable everything that is returned ------------------
    // A vote or an acknowledgement leaves the node only after what it
    // promises is durable. The node is about to act on what we return: repeat
    // the vote in the hard state, acknowledge the entries. But a process that
    // crashed (SIGKILL, abort) leaves its unsynced writes in the page cache,
    // where this load reads them like any others, and a power loss after the
    // restart could still take them back. So every file whose contents are
    // returned is synced here, whether or not its writer synced it: the tail
    // segment (appends since the last sync), hard_state and log_meta (a crash
    // between their rename and the directory fsync), and the other segments
    // too. Those were synced when the next segment was started, but a
    // directory copied or restored by an operator may never have been:
    // syncing each costs one fdatasync per segment at startup, which is
    // nothing next to the promise it keeps. Last, the directory itself: its
    // entries (new segments, renamed small files, the removals above) must
    // be as durable as the contents. Its own entry in its parent was synced
    // when the directory was opened.
    for (index_t first : kept) {
        if (auto ec = dir.sync_file(segment_file_name(first), msg)) return ec;
    }
    if (hard_exists) {
        if (auto ec = dir.sync_file(hard_state_file, msg)) return ec;
    }
    if (meta_exists) {
        if (auto ec = dir.sync_file(log_meta_file, msg)) return ec;
    }
    if (st.snapshot) {
        if (auto ec = dir.sync_file(snapshot_file_name(st.snapshot->index, st.snapshot->term), msg)) return ec;
    }
    if (auto ec = dir.sync(msg)) return ec;

    out.state = std::move(st);
    out.segments = std::move(kept);
    out.last = out.segments.empty() ? out.state.log_start - 1 : next - 1;
    out.tail_end = last_scan.valid_end;
    out.tail_offsets = std::move(last_scan.offsets);
    return {};
}

} // namespace raftlite::detail
