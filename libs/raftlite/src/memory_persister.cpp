// raftlite — memory_persister: the persister contract without a disk.
#include <raftlite/memory_persister.hpp>

#include <raftlite/error.hpp>

#include <algorithm>

namespace raftlite {

using boost::system::error_code;

// The same rules as file_persister, so that a test passing on one holds for the other.
void memory_persister::apply(state& s, const op& o) {
    switch (o.what) {
    case op::kind::hard:
        s.hard = o.hs;
        break;
    case op::kind::append:
        s.entries.insert(s.entries.end(), o.entries.begin(), o.entries.end());
        break;
    case op::kind::truncate: {
        const index_t from = std::max(o.index, s.log_start);
        if (from <= s.last_index())
            s.entries.erase(s.entries.begin() + static_cast<std::ptrdiff_t>(from - s.log_start),
                            s.entries.end());
        break;
    }
    case op::kind::remove:
        if (o.index <= s.log_start) break;
        if (o.index > s.last_index()) {
            s.entries.clear();
        } else {
            s.entries.erase(s.entries.begin(),
                            s.entries.begin() + static_cast<std::ptrdiff_t>(o.index - s.log_start));
        }
        s.log_start = o.index;
        s.prefix_term = o.term;
        break;
    }
}

error_code memory_persister::check_fault() {
    if (failed_) return errc::storage_failed;
    if (fault_armed_) {
        if (fault_countdown_ == 0) {
            fault_armed_ = false;
            failed_ = true;
            return fault_;
        }
        --fault_countdown_;
    }
    return {};
}

error_code memory_persister::record(op o) {
    if (auto ec = check_fault()) return ec;
    apply(current_, o);
    pending_.push_back(std::move(o));
    return {};
}

error_code memory_persister::load(persistent_state& out) {
    // The file persister fsyncs what it read before returning it, because a
    // vote or acknowledgement may leave the node only after what it promises
    // is durable. The model does the same: after a process crash, pending
    // writes are readable, and a restarted node will act on them.
    // (Not a sync(): it neither counts in sync_count() nor consumes a fault.)
    for (const op& o : pending_) apply(durable_, o);
    pending_.clear();
    out = current_.to_state();
    return {};
}

persistent_state memory_persister::image::to_state() const {
    persistent_state s;
    s.hard = hard;
    s.log_start = log_start;
    s.prefix_term = prefix_term;
    s.entries.assign(entries.begin(), entries.end());
    return s;
}

error_code memory_persister::save_hard_state(const hard_state& hs) {
    op o;
    o.what = op::kind::hard;
    o.hs = hs;
    return record(std::move(o));
}

error_code memory_persister::append(const std::vector<log_entry>& entries) {
    if (failed_) return errc::storage_failed;
    const index_t next = current_.last_index() + 1;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].index != next + i)
            return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    }
    if (entries.empty()) return {};
    op o;
    o.what = op::kind::append;
    o.entries = entries;
    return record(std::move(o));
}

error_code memory_persister::truncate_suffix(index_t from) {
    op o;
    o.what = op::kind::truncate;
    o.index = from;
    return record(std::move(o));
}

error_code memory_persister::remove_prefix(index_t upto, term_t prefix_term) {
    op o;
    o.what = op::kind::remove;
    o.index = upto;
    o.term = prefix_term;
    return record(std::move(o));
}

error_code memory_persister::sync() {
    if (auto ec = check_fault()) return ec;
    for (const op& o : pending_) apply(durable_, o);
    pending_.clear();
    ++syncs_;
    return {};
}

void memory_persister::crash_keeping(std::size_t ops) {
    ops = std::min(ops, pending_.size());
    for (std::size_t i = 0; i < ops; ++i) apply(durable_, pending_[i]);
    pending_.clear();
    current_ = durable_;
    failed_ = false;
    fault_armed_ = false;
}

void memory_persister::process_crash() {
    // current_ and pending_ stay: the page cache holds them, the disk may not.
    failed_ = false;
    fault_armed_ = false;
}

void memory_persister::fail_after(std::size_t ops, error_code ec) {
    fault_armed_ = true;
    fault_countdown_ = ops;
    fault_ = ec;
}

} // namespace raftlite
