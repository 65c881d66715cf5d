// raftlite kv — feature levels: which commands every member can apply.
//
// During a rolling upgrade old and new raftlite-kv peers apply the same log.
// A command of a kind an old peer cannot decode would change the new peers'
// state and leave the old ones' as it was: the replicas would diverge. So a
// command kind added after the first release needs a level, and the cluster
// has one level, raised only when every member can apply it (etcd's cluster
// version, CockroachDB's cluster version gate):
//
// - Each peer reports the highest level it applies ([kv] max_level, by
//   default supported_level) by writing it to its report key, when the
//   store does not hold that report yet (at start, after a snapshot).
// - The leader drops the reports of servers no longer in the configuration,
//   so that a server added later under the same id reports afresh.
// - The leader raises the cluster level to the lowest level every member of
//   the configuration (voters and learners: all apply the log) has reported,
//   when that is above the current one. It writes the level with a cas from
//   the level it read, so the level never goes down.
// - A command that needs level L is proposed only once the peer that takes
//   it has applied a cluster level of L or more, and applying one below that
//   level changes nothing (level_too_low), the same verdict on every peer.
//
// Why that is enough: the entry raising the level to L is committed after
// every member's report of L, and a command needing L is proposed after a
// peer applied that entry, so it comes later in the log, and every peer that
// applies it runs code that knows it. Reports and the level are ordinary puts
// and cas of system keys, commands every raftlite-kv applies alike, so they
// change the same state on old and new peers and need no new snapshot
// format. Not covered, as in etcd: a member downgraded below the cluster
// level, or a member running older code added after the level was raised.
// A peer that applies a level above what it supports stops instead of
// applying entries it may not understand (kv_status::unsupported_level).
//
// System keys: keys that begin with the byte 0xff belong to raftlite-kv.
// Clients may read them (GET, or a range that starts there); they may not
// write them, and ranges without an explicit start there end before them.
#ifndef RAFTLITE_KV_LEVELS_HPP
#define RAFTLITE_KV_LEVELS_HPP

#include "kv_command.hpp"
#include "kv_result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite::kv {

/// What every raftlite-kv applies: put, get, delete, cas, sessions, clock.
inline constexpr unsigned base_level = 1;
/// What this build applies: level 2 adds delete_range, cas_delete and txn.
inline constexpr unsigned supported_level = 2;

/// The first byte of every system key.
inline constexpr char system_key_byte = '\xff';

/// Whether `key` is a system key (its first byte is 0xff).
bool is_system_key(std::string_view key) noexcept;

/// The least system key ("\xff"): where the clients' keys end.
std::string system_keys_begin();

/// Where member `node` reports the highest level it applies.
std::string level_report_key(std::uint64_t node);

/// The member a per-member system key (`prefix` then the member's id in
/// decimal, as level reports and no_space alarms are) belongs to; nullopt
/// for a key that is not `prefix` and such an id.
std::optional<std::uint64_t> member_of_key(std::string_view key, std::string_view prefix);

/// The prefix every report key starts with.
std::string level_reports_prefix();

/// Where the cluster level is kept (absent: base_level).
std::string cluster_level_key();

/// A level as a value holds it: decimal, 1..999, nothing else.
std::optional<unsigned> parse_level(std::string_view value);
std::string format_level(unsigned level);

/// The cluster level a command of this kind needs.
unsigned required_level(kv_op op) noexcept;

/// What a command of kind `op`, needing level `needed`, gets while the
/// cluster is at level `cluster`: level_too_low, saying why.
kv_result level_too_low(kv_op op, unsigned needed, unsigned cluster);

/// The level the leader raises the cluster to: the lowest level reported
/// by the members (nullopt: a member has not reported), when above
/// `cluster`; nullopt when there is nothing to raise.
std::optional<unsigned> level_to_raise(unsigned cluster, const std::vector<std::optional<unsigned>>& reports);

} // namespace raftlite::kv

#endif
