// raftlite — memory_persister: the persister contract without a disk.
#include <raftlite/memory_persister.hpp>

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/error.hpp>

#include <algorithm>
#include <functional>

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
    case op::kind::use_snapshot:
        s.snapshot = o.snap;
        break;
    }
}

// The log must continue the snapshot (Raft §7), the rule file_persister's
// load() enforces: no gap between them (damage: refused), and a log that does
// not hold the snapshot's last entry with its term is discarded (its entries
// disagree with committed state, so none of them was committed).
error_code memory_persister::reconcile(state& s) {
    if (!s.snapshot) return {};
    const snapshot_meta& snap = *s.snapshot;
    if (s.log_start > snap.index + 1) return errc::corrupt_data;
    bool holds;
    if (s.log_start == snap.index + 1)
        holds = s.prefix_term == snap.term;
    else
        holds = snap.index <= s.last_index() && s.entries[snap.index - s.log_start].term == snap.term;
    if (!holds) {
        s.entries.clear();
        s.log_start = snap.index + 1;
        s.prefix_term = snap.term;
    }
    return {};
}

// A snapshot older than the durable current one can never be current again.
void memory_persister::prune_snapshots() {
    if (!durable_.snapshot) return;
    const std::pair<index_t, term_t> keep{durable_.snapshot->index, durable_.snapshot->term};
    std::lock_guard lock(snapshots_->mutex);
    auto& files = snapshots_->files;
    files.erase(files.begin(), files.lower_bound(keep));
}

namespace {

class memory_snapshot_writer final : public snapshot_writer {
public:
    memory_snapshot_writer(snapshot_meta meta, std::function<void(snapshot_meta, std::string)> store)
        : meta_(std::move(meta)), store_(std::move(store)) {}

    error_code write(std::string_view data) override {
        if (done_) return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
        meta_.crc = detail::crc32c_extend(meta_.crc, data.data(), data.size());
        meta_.size += data.size();
        data_.append(data);
        return {};
    }
    error_code finish(snapshot_meta& out, const snapshot_meta* expected) override {
        if (done_) return boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted);
        done_ = true;
        if (expected && (expected->size != meta_.size || expected->crc != meta_.crc ||
                         expected->index != meta_.index || expected->term != meta_.term)) {
            data_.clear();
            return errc::corrupt_data;
        }
        store_(meta_, std::move(data_));
        out = meta_;
        return {};
    }
    void abandon() noexcept override {
        done_ = true;
        data_.clear();
    }

private:
    snapshot_meta meta_;
    std::function<void(snapshot_meta, std::string)> store_;
    std::string data_;
    bool done_ = false;
};

} // namespace

error_code memory_persister::begin_snapshot(index_t index, term_t term, membership members,
                                            std::unique_ptr<snapshot_writer>& out) {
    if (index == 0) return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    snapshot_meta meta;
    meta.index = index;
    meta.term = term;
    meta.members = std::move(members);
    // The writer holds the store, not the persister: it may outlive either.
    std::weak_ptr<snapshot_store> weak = snapshots_.shared();
    out = std::make_unique<memory_snapshot_writer>(std::move(meta), [weak](snapshot_meta m, std::string data) {
        if (auto st = weak.lock()) {
            std::lock_guard lock(st->mutex);
            const std::pair<index_t, term_t> key{m.index, m.term};
            st->files[key] = snapshot_store::stored{std::move(m), std::make_shared<const std::string>(std::move(data))};
        }
    });
    return {};
}

error_code memory_persister::use_snapshot(const snapshot_meta& meta) {
    if (failed_) return errc::storage_failed;
    {
        std::lock_guard lock(snapshots_->mutex);
        auto it = snapshots_->files.find({meta.index, meta.term});
        if (it == snapshots_->files.end() || !(it->second.meta == meta)) return errc::snapshot_gone;
    }
    if (current_.snapshot && meta.index < current_.snapshot->index)
        return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    op o;
    o.what = op::kind::use_snapshot;
    o.snap = meta;
    return record(std::move(o));
}

error_code memory_persister::read_snapshot(const snapshot_meta& meta, std::uint64_t offset, std::size_t max,
                                           std::string& out) const {
    std::shared_ptr<const std::string> data;
    {
        std::lock_guard lock(snapshots_->mutex);
        auto it = snapshots_->files.find({meta.index, meta.term});
        if (it == snapshots_->files.end() || it->second.meta.size != meta.size || it->second.meta.crc != meta.crc)
            return errc::snapshot_gone;
        data = it->second.data;
    }
    if (offset > data->size()) return boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    out.assign(*data, static_cast<std::size_t>(offset), max);
    return {};
}

std::size_t memory_persister::stored_snapshots() const {
    std::lock_guard lock(snapshots_->mutex);
    return snapshots_->files.size();
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
    // Both images are the same now; the log is reconciled with the snapshot
    // in each, durably (as file_persister's load() does).
    if (auto ec = reconcile(current_)) return ec;
    reconcile(durable_);
    prune_snapshots();
    out = current_.to_state();
    return {};
}

persistent_state memory_persister::image::to_state() const {
    persistent_state s;
    s.hard = hard;
    s.snapshot = snapshot;
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
    prune_snapshots();
    return {};
}

void memory_persister::crash_keeping(std::size_t ops) {
    ops = std::min(ops, pending_.size());
    for (std::size_t i = 0; i < ops; ++i) apply(durable_, pending_[i]);
    pending_.clear();
    current_ = durable_;
    prune_snapshots();
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
