// raftlite kv — the recent changes of the store, for watches.
//
// A watch (GET /kv?prefix=P&watch=1&since=I) asks for the changes to a key
// range made by log entries after index I: every peer applies the same
// entries in the same order, so a change has the same index everywhere, and
// a client that read a range at index I (its answer says which) and then
// watches from I misses nothing, on whichever peers it asks. Like etcd's
// watch history, the changes are kept in memory for a while only: up to a
// byte budget, oldest dropped first. A watch from before what is kept gets
// "gone" and must read the range again. A restart, or a snapshot installed
// from the leader, replaces the state without its changes: the history then
// starts over at the state's index.
//
// Pure: no clocks, no I/O, no threads (the peer calls it on its strand).
#ifndef RAFTLITE_KV_CHANGE_HISTORY_HPP
#define RAFTLITE_KV_CHANGE_HISTORY_HPP

#include "kv_store.hpp"

#include <raftlite/types.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite::kv {

/// One change: the key the entry at `index` set to `value`, or deleted.
/// (A command changes one key at most, so an index names one change.)
struct kv_event {
    index_t index = 0;
    std::string key;
    bool deleted = false;
    std::string value;   ///< empty when deleted, and in a keys_only answer
    friend bool operator==(const kv_event&, const kv_event&) = default;
};

class change_history {
public:
    /// Keeps changes up to about `max_bytes` (keys, values and a fixed cost
    /// per change); the state starts at index `start`.
    explicit change_history(std::size_t max_bytes, index_t start = 0);

    /// The entry at `index` (not below any index recorded or reset to
    /// before) set `key` to `*value`, or deleted it (`value` null).
    void record(index_t index, std::string_view key, const std::string* value);

    /// The state jumped to `index` without its changes (a snapshot was
    /// restored): every change kept is dropped.
    void reset(index_t index);

    /// The least `since` a watch can be answered from: every change after it
    /// is kept.
    index_t horizon() const noexcept { return horizon_; }
    /// The index of the last change recorded (or of the last reset).
    index_t latest() const noexcept { return latest_; }

    /// The changes after `since` to keys in `range`, oldest first, at most
    /// range.limit of them and, past the first, about range.max_bytes of
    /// keys and values (values left out with range.keys_only); nullopt when
    /// some of them are no longer kept (since < horizon()).
    std::optional<std::vector<kv_event>> after(index_t since, const kv_range_query& range) const;

    std::size_t size() const noexcept { return events_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    static std::size_t cost(const kv_event& e) noexcept;

    std::size_t max_bytes_;
    std::deque<kv_event> events_;   // by index
    std::size_t bytes_ = 0;
    index_t horizon_;
    index_t latest_;
};

} // namespace raftlite::kv

#endif
