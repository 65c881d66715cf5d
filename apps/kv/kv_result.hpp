// raftlite kv — what applying a command gives, and its encoding.
//
// A client session (raftlite/client_sessions.hpp) saves the result of its
// latest command as bytes, so that a retry of that command is answered with
// the original result instead of being applied again (Raft thesis §6.3).
// Those bytes are part of the replicated state and of snapshots, so the
// encoding is fixed and strict.
//
// Encoding (version 1), integers little-endian:
//   u8  version (1)
//   u8  status (kv_status)
//   u8  flags (bit 0: a value follows; bit 1: a count follows; other bits 0)
//   u64 client id (open_session; 0 otherwise)
//   u64 count, above 0                (flag bit 1 only: delete_range's keys deleted)
//   u32 value length, value bytes    (flag bit 0 only)
//   u32 error length, error bytes
// and nothing after.
#ifndef RAFTLITE_KV_RESULT_HPP
#define RAFTLITE_KV_RESULT_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace raftlite::kv {

enum class kv_status {
    ok,               ///< done; get: `value` holds the value; open_session: `client_id` is the session
    not_found,        ///< get or delete of an absent key
    cas_failed,       ///< cas: the key did not hold the expected value; `value` holds what it holds
    bad_command,      ///< committed bytes that do not decode; `error` says why
    session_expired,  ///< the command's session is not open (never, closed or expired): open a new one
    stale_request,    ///< the session applied a later command already: this one's result is gone
    level_too_low,    ///< the command needs a higher cluster level (kv_levels.hpp); nothing changed
    unsupported_level,///< the entry raises the cluster level above what this peer applies: it must stop
    /// A client write refused before it was broadcast, as it would grow the
    /// state past the space guard (kv_space.hpp); nothing changed. Never
    /// applied, so never in a session's record (try_decode_result refuses it).
    no_space,
};

/// "ok", "not_found", "cas_failed", "bad_command", "session_expired",
/// "stale_request", "level_too_low", "unsupported_level", "no_space".
const char* status_name(kv_status s) noexcept;

struct kv_result {
    kv_status status = kv_status::ok;
    /// get (ok): the value. cas_failed: the current value (nullopt: key absent).
    std::optional<std::string> value;
    std::string error;            ///< bad_command, session_expired, stale_request, level_too_low: why
    std::uint64_t client_id = 0;  ///< open_session: the new session's id
    std::uint64_t count = 0;      ///< delete_range: how many keys it deleted

    friend bool operator==(const kv_result&, const kv_result&) = default;
};

/// The bytes a session saves (see the top of this file).
std::string encode_result(const kv_result& r);

/// Decodes strictly; nullopt and `error` set when the bytes are not an
/// encoded result.
std::optional<kv_result> try_decode_result(std::string_view bytes, std::string& error);

} // namespace raftlite::kv

#endif
