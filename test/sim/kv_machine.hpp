// raftlite simulator — the replicated key-value map the workload drives.
//
// Commands travel as broadcast payloads ("p key value", "g key",
// "c key expected value", "d key") and are applied on delivery, in log order.
// The result of every applied entry is kept by index, so that a client whose
// broadcast committed at index i reads its result from the node that applied it.
//
// Client sessions (Raft thesis §6.3): a command may carry its client's session
// and its number in it, as a prefix "s<session>.<seq> " (e.g. "s2.17 p k1 5").
// A client that does not know whether its command took effect (a timeout, a
// failed or unknown outcome, a crashed node) sends it again with the same
// (session, seq); the machine applies it once and answers every retry with the
// result it saved then. The table is raftlite::client_sessions, the one the
// kv store uses. Sessions are opened implicitly: a machine made with
// kv_options::sessions = C opens sessions 1..C (simulated client c has
// session c + 1) when it is made and whenever it starts over (reset), before
// any entry, so every replica holds the same table at every index without
// "open" entries in the log. They never expire (no cluster clock moves them),
// and the table is part of the snapshot bytes and the digest, so a replica
// restored from a snapshot still recognises retries of commands it never
// applied itself.
#ifndef RAFTLITE_SIM_KV_MACHINE_HPP
#define RAFTLITE_SIM_KV_MACHINE_HPP

#include "linearizability.hpp"

#include <raftlite/client_sessions.hpp>
#include <raftlite/types.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite::sim {

/// A command's place in its client's session; id 0: no session.
struct kv_session {
    std::uint64_t id = 0;
    std::uint64_t seq = 0;   ///< 1, 2, 3, ... (thesis §6.3)
    friend bool operator==(const kv_session&, const kv_session&) = default;
};

struct kv_command {
    kv_kind kind = kv_kind::get;
    std::string key;
    std::int64_t value = kv_absent;
    std::int64_t expected = kv_absent;
    kv_session session;
};

std::string encode(const kv_command& c);
/// Strict: a session prefix needs an id and a seq, both positive decimal
/// numbers and nothing else.
std::optional<kv_command> decode(std::string_view payload);

struct kv_result {
    std::int64_t observed = kv_absent;   ///< get: the value read
    bool succeeded = false;              ///< cas: whether it swapped
    friend bool operator==(const kv_result&, const kv_result&) = default;
};

/// What the session table made of a command (client_sessions::verdict, or
/// none for a command without a session).
enum class kv_verdict : std::uint8_t { none, fresh, duplicate, stale, unknown_session };
const char* kv_verdict_name(kv_verdict v) noexcept;

/// One applied entry: its result and how its session decided it.
struct kv_applied {
    /// fresh or none: what applying it computed; duplicate: the result saved
    /// when the session's command applied first; stale, unknown_session:
    /// nothing (the command was not applied, and no answer is kept for it).
    kv_result result;
    kv_session session;
    kv_verdict verdict = kv_verdict::none;
};

struct kv_options {
    /// Sessions 1..sessions are open from the start (see the top of this file).
    std::size_t sessions = 0;
    /// A deliberately broken machine, to show the exactly-once check at work:
    /// it ignores its session table and applies every command as fresh, so a
    /// retry of a command that took effect takes effect again.
    bool ignore_sessions = false;
};

class kv_machine {
public:
    explicit kv_machine(kv_options options = {});
    /// Applies one delivered entry (noops and undecodable payloads apply as
    /// nothing) and returns what it made of it.
    kv_applied apply(const log_entry& e);
    /// The result of the entry at `index` (1-based); requires
    /// has_result(index): applied here, not restored from a snapshot.
    const kv_result& result(index_t index) const { return outcome(index).result; }
    const kv_applied& outcome(index_t index) const { return results_.at(index - base_ - 1); }
    bool has_result(index_t index) const noexcept { return index > base_ && index <= applied(); }
    index_t applied() const noexcept { return base_ + results_.size(); }
    /// The map (and the session table, when there are sessions) as of
    /// applied(), as bytes (a snapshot's data).
    std::string snapshot() const;
    /// Replaces the state by a snapshot of entries 1..index; false (and no
    /// change) when the bytes are not a snapshot.
    bool restore(std::string_view bytes, index_t index);
    /// A digest of the snapshot bytes (equal states, equal digests).
    std::uint64_t digest() const;
    /// The current value of `key` (for the stale-read demonstration only:
    /// reads must go through the log).
    std::int64_t value(const std::string& key) const {
        auto it = data_.find(key);
        return it == data_.end() ? kv_absent : it->second;
    }
    /// A crash loses the in-memory state; the core delivers the log again
    /// from index 1 (or from a snapshot), and the sessions start over as open.
    void reset();

private:
    kv_result execute(const kv_command& c);
    kv_result apply_in_session(const kv_command& c, kv_verdict& verdict);
    static client_sessions initial_sessions(const kv_options& o);

    kv_options options_;
    std::map<std::string, std::int64_t> data_;
    client_sessions sessions_;
    index_t base_ = 0;                   ///< entries up to here came with a snapshot
    std::vector<kv_applied> results_;    ///< of entries base_+1 ...
};

} // namespace raftlite::sim

#endif
