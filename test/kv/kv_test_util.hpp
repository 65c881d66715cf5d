// Helpers shared by the kv suites.
#ifndef RAFTLITE_TEST_KV_TEST_UTIL_HPP
#define RAFTLITE_TEST_KV_TEST_UTIL_HPP

#include "kv_store.hpp"

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <string_view>

namespace raftlite::kv::testing {

/// Applies `c` as if committed at the next log index, counting every command
/// applied so far as one entry (the index matters only to open_session, whose
/// session id it is).
inline kv_result apply_next(kv_store& s, const kv_command& c) { return s.apply(c, s.applied() + 1); }
inline kv_result apply_encoded_next(kv_store& s, std::string_view bytes) {
    return s.apply_encoded(bytes, s.applied() + 1);
}

/// A command of `op` on `key` with `value` (the other fields as a
/// default-constructed command has them).
inline kv_command make_command(kv_op op, std::string key = {}, std::string value = {}) {
    kv_command c;
    c.op = op;
    c.key = std::move(key);
    c.value = std::move(value);
    return c;
}

/// A randomized test's seed: RAFTLITE_TEST_SEED when set (a replay), else a
/// fresh one; printed with the test's name either way.
inline std::uint64_t test_seed(std::string_view test) {
    const char* fixed = std::getenv("RAFTLITE_TEST_SEED");
    const std::uint64_t seed = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
    std::cout << test << " seed " << seed << " (replay with RAFTLITE_TEST_SEED=" << seed << ")" << std::endl;
    return seed;
}

} // namespace raftlite::kv::testing

#endif
