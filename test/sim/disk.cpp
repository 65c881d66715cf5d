// raftlite simulator — the simulated disk.
#include "disk.hpp"

#include <stdexcept>

namespace raftlite::sim {

void sim_disk::apply(persistent_state& s, const op& o) {
    switch (o.what) {
    case op::kind::hard: s.hard = o.hs; break;
    case op::kind::truncate:
        if (o.from <= s.log_start) s.entries.clear();
        else if (o.from <= s.last_index()) s.entries.resize(o.from - s.log_start);
        break;
    case op::kind::append:
        // The persister contract: indexes continue the log exactly.
        if (o.entry.index != s.last_index() + 1)
            throw std::logic_error("sim_disk: append of index " + std::to_string(o.entry.index) +
                                   " after " + std::to_string(s.last_index()));
        s.entries.push_back(o.entry);
        break;
    }
}

void sim_disk::save_hard_state(const hard_state& hs) {
    op o{op::kind::hard, hs, 0, {}};
    apply(current_, o);
    pending_.push_back(std::move(o));
}

void sim_disk::truncate_suffix(index_t from) {
    op o{op::kind::truncate, {}, from, {}};
    apply(current_, o);
    pending_.push_back(std::move(o));
}

void sim_disk::append(const log_entry& e) {
    op o{op::kind::append, {}, 0, e};
    apply(current_, o);
    pending_.push_back(std::move(o));
}

void sim_disk::sync(std::size_t mark) {
    if (mark <= synced_) return;
    const std::size_t n = std::min(mark - synced_, pending_.size());
    for (std::size_t i = 0; i < n; ++i) apply(durable_, pending_[i]);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    synced_ += n;
}

std::size_t sim_disk::crash(prng& rng) {
    return crash_keeping(pending_.empty() ? 0 : rng.uniform(0, pending_.size()));
}

std::size_t sim_disk::crash_keeping(std::size_t keep) {
    sync(synced_ + keep);
    const std::size_t lost = pending_.size();
    synced_ += lost;
    pending_.clear();
    current_ = durable_;
    return lost;
}

} // namespace raftlite::sim
