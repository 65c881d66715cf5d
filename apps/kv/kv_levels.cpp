// raftlite kv — feature levels (see kv_levels.hpp).
#include "kv_levels.hpp"

#include <algorithm>
#include <charconv>

namespace raftlite::kv {
namespace {

// The part after system_key_byte; the level keys share it.
constexpr std::string_view level_keys = "kv/level/";
constexpr unsigned max_level_value = 999;

} // namespace

bool is_system_key(std::string_view key) noexcept { return !key.empty() && key.front() == system_key_byte; }

std::string system_keys_begin() { return std::string(1, system_key_byte); }

std::string level_reports_prefix() { return system_keys_begin() + std::string(level_keys) + "member/"; }

std::string level_report_key(std::uint64_t node) { return level_reports_prefix() + std::to_string(node); }

std::optional<std::uint64_t> member_of_key(std::string_view key, std::string_view prefix) {
    if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) return std::nullopt;
    const std::string_view digits = key.substr(prefix.size());
    std::uint64_t id = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || p != digits.data() + digits.size() || digits.front() == '0') return std::nullopt;
    return id;
}

std::string cluster_level_key() { return system_keys_begin() + std::string(level_keys) + "cluster"; }

std::optional<unsigned> parse_level(std::string_view value) {
    unsigned level = 0;
    const char* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, level);
    if (value.empty() || ec != std::errc() || p != end || value.front() == '0' || level > max_level_value)
        return std::nullopt;
    return level;
}

std::string format_level(unsigned level) { return std::to_string(level); }

unsigned required_level(kv_op op) noexcept {
    switch (op) {
    case kv_op::delete_range:
    case kv_op::cas_delete:
    case kv_op::txn:
        return 2;
    default:
        return base_level;
    }
}

kv_result level_too_low(kv_op op, unsigned needed, unsigned cluster) {
    kv_result r;
    r.status = kv_status::level_too_low;
    r.error = std::string(op_name(op)) + " needs cluster level " + std::to_string(needed) +
              "; the cluster is at level " + std::to_string(cluster) +
              " until every member runs a raftlite-kv that applies it and reports it ([kv] max_level)";
    return r;
}

std::optional<unsigned> level_to_raise(unsigned cluster, const std::vector<std::optional<unsigned>>& reports) {
    if (reports.empty()) return std::nullopt;
    unsigned lowest = max_level_value;
    for (const auto& r : reports) {
        if (!r) return std::nullopt;
        lowest = std::min(lowest, *r);
    }
    if (lowest <= cluster) return std::nullopt;
    return lowest;
}

} // namespace raftlite::kv
