// raftlite simulator — the replicated key-value map the workload drives.
//
// Commands travel as broadcast payloads ("p key value", "g key",
// "c key expected value", "d key") and are applied on delivery, in log order.
// The result of every applied entry is kept by index, so that a client whose
// broadcast committed at index i reads its result from the node that applied it.
#ifndef RAFTLITE_SIM_KV_MACHINE_HPP
#define RAFTLITE_SIM_KV_MACHINE_HPP

#include "linearizability.hpp"

#include <raftlite/types.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite::sim {

struct kv_command {
    kv_kind kind = kv_kind::get;
    std::string key;
    std::int64_t value = kv_absent;
    std::int64_t expected = kv_absent;
};

std::string encode(const kv_command& c);
std::optional<kv_command> decode(std::string_view payload);

struct kv_result {
    std::int64_t observed = kv_absent;   ///< get: the value read
    bool succeeded = false;              ///< cas: whether it swapped
};

class kv_machine {
public:
    /// Applies one delivered entry (noops and undecodable payloads apply as nothing).
    void apply(const log_entry& e);
    /// The result of the entry at `index` (1-based); requires
    /// has_result(index): applied here, not restored from a snapshot.
    const kv_result& result(index_t index) const { return results_.at(index - base_ - 1); }
    bool has_result(index_t index) const noexcept { return index > base_ && index <= applied(); }
    index_t applied() const noexcept { return base_ + results_.size(); }
    /// The map as of applied(), as bytes (a snapshot's data).
    std::string snapshot() const;
    /// Replaces the state by a snapshot of entries 1..index; false (and no
    /// change) when the bytes are not a snapshot.
    bool restore(std::string_view bytes, index_t index);
    /// A digest of the map (equal maps, equal digests).
    std::uint64_t digest() const;
    /// The current value of `key` (for the stale-read demonstration only:
    /// reads must go through the log).
    std::int64_t value(const std::string& key) const {
        auto it = data_.find(key);
        return it == data_.end() ? kv_absent : it->second;
    }
    /// A crash loses the in-memory map; the core delivers the log again from index 1.
    void reset() { data_.clear(); results_.clear(); base_ = 0; }

private:
    std::map<std::string, std::int64_t> data_;
    index_t base_ = 0;                   ///< entries up to here came with a snapshot
    std::vector<kv_result> results_;     ///< of entries base_+1 ...
};

} // namespace raftlite::sim

#endif
