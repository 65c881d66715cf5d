// raftlite-kv — the space guard (see kv_space.hpp).
#include "kv_space.hpp"

#include "kv_levels.hpp"
#include "kv_store.hpp"
#include "kv_txn.hpp"

#include <sys/statvfs.h>

#include <algorithm>

namespace raftlite::kv {
namespace {

const std::string& alarms_prefix() {
    static const std::string prefix = system_keys_begin() + "kv/alarm/no_space/";
    return prefix;
}

// Every alarm key: built once, as every growing write looks it up.
const kv_range_query& alarm_keys() {
    static const kv_range_query q = [] {
        kv_range_query r;
        r.from = alarms_prefix();
        r.to = prefix_end(r.from);
        return r;
    }();
    return q;
}

// What one branch of a txn may add: each put's bytes beyond what its key
// holds now. A branch that puts one key twice counts it twice: an upper
// bound is enough to decide a refusal.
std::uint64_t branch_growth(const std::vector<txn_op>& ops, const kv_store& store) {
    std::uint64_t added = 0, removed = 0;
    for (const txn_op& op : ops) {
        if (op.what != txn_op::kind::put) continue;
        added += op.key.size() + op.value.size();
        removed += store.entry_bytes(op.key);
    }
    return added > removed ? added - removed : 0;
}

kv_result no_space(std::string why) {
    kv_result r;
    r.status = kv_status::no_space;
    r.error = std::move(why);
    return r;
}

} // namespace

std::string no_space_alarm_key(std::uint64_t node) { return alarms_prefix() + std::to_string(node); }

std::string no_space_alarms_prefix() { return alarms_prefix(); }

std::uint64_t growth(const kv_command& c, const kv_store& store) {
    switch (c.op) {
    case kv_op::put:
    case kv_op::cas: {
        const std::uint64_t now = store.entry_bytes(c.key);
        const std::uint64_t after = c.key.size() + c.value.size();
        return after > now ? after - now : 0;
    }
    case kv_op::txn: {
        kv_txn t;
        try {
            t = decode_txn(c.value);
        } catch (const bad_command&) {
            return 0;   // refused as bad_command further on, never applied
        }
        return std::max(branch_growth(t.success, store), branch_growth(t.failure, store));
    }
    default: return 0;
    }
}

bool disk_low(std::uint64_t free_bytes, std::uint64_t state_bytes, const kv_space_options& o) noexcept {
    return o.reserve_bytes != 0 && free_bytes < o.reserve_bytes + state_bytes;
}

bool disk_recovered(std::uint64_t free_bytes, std::uint64_t state_bytes, const kv_space_options& o) noexcept {
    return o.reserve_bytes == 0 || free_bytes >= o.reserve_bytes + o.reserve_bytes / 2 + state_bytes;
}

std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
    return std::uint64_t(st.f_bavail) * st.f_frsize;
}

std::optional<kv_result> space_refusal(const kv_command& c, const kv_store& store, const kv_space_options& o,
                                       std::optional<std::uint64_t> local_free) {
    const std::uint64_t added = growth(c, store);
    if (added == 0) return std::nullopt;
    const std::uint64_t state = store.bytes();
    if (o.quota_bytes != 0 && state + added > o.quota_bytes)
        return no_space("the state would hold " + std::to_string(state + added) + " bytes, over [kv] quota_bytes (" +
                        std::to_string(o.quota_bytes) + "); delete keys to make room");
    if (local_free && disk_low(*local_free, state + added, o))
        return no_space("this peer's disk has " + std::to_string(*local_free) + " bytes free, below [kv] reserve_bytes (" +
                        std::to_string(o.reserve_bytes) + ") beyond the state's " + std::to_string(state + added) +
                        "; delete keys or free disk space");
    if (store.count(alarm_keys()) != 0) {
        std::string ids;
        for (std::uint64_t id : store.servers_under(alarms_prefix())) ids += (ids.empty() ? "n" : ", n") + std::to_string(id);
        return no_space("a member's disk is short of space (no_space alarm of " + ids +
                        "); delete keys or free disk space there");
    }
    return std::nullopt;
}

} // namespace raftlite::kv
