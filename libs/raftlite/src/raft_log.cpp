// raftlite — the core's in-memory log.
#include <raftlite/raft_log.hpp>

#include <stdexcept>

namespace raftlite {

raft_log::raft_log(index_t start, term_t prefix_term, std::vector<log_entry> entries)
    : start_(start == 0 ? 1 : start), prefix_term_(prefix_term),
      entries_(std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end())) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].index != start_ + i)
            throw std::invalid_argument("raft_log: restored entries are not contiguous");
    }
}

term_t raft_log::term_at(index_t index) const noexcept {
    if (index == 0) return 0;
    if (index == start_ - 1) return prefix_term_;
    if (!holds(index)) return 0;
    return entries_[index - start_].term;
}

void raft_log::append(log_entry e) {
    if (e.index != length() + 1)
        throw std::logic_error("raft_log: append out of order");
    entries_.push_back(std::move(e));
}

void raft_log::truncate_suffix(index_t from) {
    if (from <= start_) {
        entries_.clear();
        return;
    }
    if (from > length()) return;
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(from - start_), entries_.end());
}

void raft_log::remove_prefix(index_t upto) {
    if (upto <= start_) return;
    const index_t last = length();
    if (upto > last + 1) upto = last + 1;
    prefix_term_ = term_at(upto - 1);
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(upto - start_));
    start_ = upto;
}

void raft_log::reset(index_t start, term_t prefix_term) {
    entries_.clear();
    start_ = start == 0 ? 1 : start;
    prefix_term_ = prefix_term;
}

index_t raft_log::first_index_of_term_run(index_t index) const noexcept {
    // Terms never decrease along a log, so the run is found by binary search.
    const term_t t = term_at(index);
    index_t lo = start_, hi = index;
    while (lo < hi) {
        const index_t mid = lo + (hi - lo) / 2;
        if (term_at(mid) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
}

} // namespace raftlite
