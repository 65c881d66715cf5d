// Helpers shared by the kv suites.
#ifndef RAFTLITE_TEST_KV_TEST_UTIL_HPP
#define RAFTLITE_TEST_KV_TEST_UTIL_HPP

#include "kv_store.hpp"

#include <string_view>

namespace raftlite::kv::testing {

/// Applies `c` as if committed at the next log index, counting every command
/// applied so far as one entry (the index matters only to open_session, whose
/// session id it is).
inline kv_result apply_next(kv_store& s, const kv_command& c) { return s.apply(c, s.applied() + 1); }
inline kv_result apply_encoded_next(kv_store& s, std::string_view bytes) {
    return s.apply_encoded(bytes, s.applied() + 1);
}

} // namespace raftlite::kv::testing

#endif
