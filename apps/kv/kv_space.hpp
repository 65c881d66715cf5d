// raftlite-kv — the space guard: client writes that would grow the state are
// refused (no_space, HTTP 507) before they are broadcast, so that clients
// cannot fill the disk, on which every peer would stop at once (a storage
// error stops a node: design.md), nor the memory that holds the state.
//
// Three limits, checked where a client's write arrives (kv_main.cpp submit):
// - [kv] quota_bytes: the state's bytes (kv_store::bytes(): every key and
//   value) may not pass it (etcd's --quota-backend-bytes). Each peer counts
//   the same state, so each refuses alike.
// - This peer's disk: the data directory's filesystem must keep [kv]
//   reserve_bytes free beyond the state's bytes, the room the next snapshot
//   needs before the old one is removed.
// - Every other peer's disk, through alarms (etcd's NOSPACE alarm): a member
//   whose disk falls below that puts a system key of its own
//   (no_space_alarm_key) and deletes it once its disk has room again (half a
//   reserve more than it needed, so that it does not flap); while any such
//   key is in the state, every peer refuses growing writes, as a write taken
//   anywhere is written on every member's disk. The leader deletes the alarms
//   of servers no longer in the configuration.
//
// A write grows the state when it adds bytes: a put or cas of a longer value
// or a new key, a txn whose larger branch does (its compares are not
// evaluated here). Deletes, delete ranges, cas_delete and reads are never
// refused: they are how an operator makes room. The check is made on this
// peer's applied state, so writes already in flight may take the state a
// little past a limit (at most what [raft] max_uncommitted holds); the reserve
// covers that. Refused writes change nothing and are not in the log: a
// session's retry of one is simply a new attempt.
#ifndef RAFTLITE_KV_SPACE_HPP
#define RAFTLITE_KV_SPACE_HPP

#include "kv_command.hpp"
#include "kv_result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace raftlite::kv {

class kv_store;

/// [kv] quota_bytes when the file does not set it (etcd's default too).
inline constexpr std::uint64_t default_quota_bytes = std::uint64_t(2) << 30;
/// [kv] reserve_bytes when the file does not set it.
inline constexpr std::uint64_t default_reserve_bytes = std::uint64_t(64) << 20;

struct kv_space_options {
    /// The most bytes of keys and values the state may hold; 0: no quota.
    std::uint64_t quota_bytes = default_quota_bytes;
    /// Free disk a peer keeps beyond the state's bytes; 0: the disks are not
    /// watched (no alarms).
    std::uint64_t reserve_bytes = default_reserve_bytes;
};

/// Where member `node` raises its no_space alarm.
std::string no_space_alarm_key(std::uint64_t node);
/// The prefix every alarm key starts with.
std::string no_space_alarms_prefix();

/// The bytes applying `c` may add to `store`'s state (0 when it adds none).
std::uint64_t growth(const kv_command& c, const kv_store& store);

/// Whether a disk with `free_bytes` available is short of room for a state of
/// `state_bytes` (the alarm's threshold), and whether it has room again.
bool disk_low(std::uint64_t free_bytes, std::uint64_t state_bytes, const kv_space_options& o) noexcept;
bool disk_recovered(std::uint64_t free_bytes, std::uint64_t state_bytes, const kv_space_options& o) noexcept;

/// Bytes available to this process on the filesystem holding `dir`; nullopt
/// when it cannot be read.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir);

/// The no_space result for client command `c` on this peer, or nullopt when
/// it may be broadcast. `local_free`: this peer's free disk, if known.
std::optional<kv_result> space_refusal(const kv_command& c, const kv_store& store, const kv_space_options& o,
                                       std::optional<std::uint64_t> local_free);

} // namespace raftlite::kv

#endif
