// raftlite kv — the recent changes of the store (see change_history.hpp).
#include "change_history.hpp"

#include <algorithm>

namespace raftlite::kv {

change_history::change_history(std::size_t max_bytes, index_t start)
    : max_bytes_(max_bytes), horizon_(start), latest_(start) {}

std::size_t change_history::cost(const kv_event& e) noexcept {
    // What a change holds besides its bytes: the deque slot and the strings'
    // headers, about.
    constexpr std::size_t overhead = 96;
    return overhead + e.key.size() + e.value.size();
}

void change_history::record(index_t index, std::string_view key, const std::string* value) {
    latest_ = std::max(latest_, index);
    kv_event e{index, std::string(key), value == nullptr, value ? *value : std::string()};
    const std::size_t c = cost(e);
    if (c > max_bytes_) {
        // Too large to keep at all: nothing up to it can be answered.
        events_.clear();
        bytes_ = 0;
        horizon_ = index;
        return;
    }
    bytes_ += c;
    events_.push_back(std::move(e));
    while (bytes_ > max_bytes_) {
        bytes_ -= cost(events_.front());
        // The changes up to this one's index are no longer all kept.
        horizon_ = events_.front().index;
        events_.pop_front();
    }
}

void change_history::reset(index_t index) {
    events_.clear();
    bytes_ = 0;
    horizon_ = index;
    latest_ = index;
}

std::optional<std::vector<kv_event>> change_history::after(index_t since, const kv_range_query& range) const {
    if (since < horizon_)
        return std::nullopt;
    std::vector<kv_event> out;
    auto it = std::upper_bound(events_.begin(), events_.end(), since,
                               [](index_t i, const kv_event& e) { return i < e.index; });
    std::size_t bytes = 0;
    for (; it != events_.end() && out.size() < range.limit; ++it) {
        if (!in_range(range, it->key))
            continue;
        const std::size_t size = it->key.size() + (range.keys_only ? 0 : it->value.size());
        if (!out.empty() && bytes + size > range.max_bytes)
            break;   // the rest in the next answer, which starts after the last one here
        bytes += size;
        out.push_back(*it);
        if (range.keys_only)
            out.back().value.clear();
    }
    return out;
}

} // namespace raftlite::kv
