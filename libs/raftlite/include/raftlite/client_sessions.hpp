// raftlite — a table of client sessions for exactly-once commands (Raft
// thesis §6.3, "Implementing linearizable semantics"), for a replicated state
// machine to keep as part of its state.
//
// A client that retries a command whose outcome it does not know (a timeout,
// a lost connection, a leader that crashed) would otherwise have it applied
// twice: a cas or a delete that committed and is sent again then reports a
// failure for an operation that succeeded. So a client opens a session (an
// entry in the log; the session's id is that entry's index, the same on every
// replica), numbers its commands 1, 2, 3, ... and sends a retry with the same
// (id, seq). The state machine asks check() before applying a command:
//   fresh            seq is above every seq applied: apply it, then record()
//                    its response
//   duplicate        seq is the highest applied: answer with saved(), do not
//                    apply it again
//   stale            seq is below the highest applied: its response is no
//                    longer kept (the client has moved on; only the latest
//                    response is saved)
//   unknown_session  never opened, closed or expired: the client must open a
//                    new session (its commands may or may not have applied)
//
// Pure and deterministic: no clocks, no I/O, no randomness, no iteration over
// unordered containers. Every replica that applies the same entries reaches
// the same table and the same verdicts, and a simulator can run the class
// unchanged. Time is *cluster time*, taken from the log (advance_time(), fed
// with a timestamp some committed entry carries), never from a local clock; it
// only moves forward. A session idle (no open() nor record()) for longer than
// `expiry_ms` of cluster time expires; when the table is full, open() expires
// the least recently active session first (ties: the lowest id).
//
// Responses are opaque bytes, so any state machine can save its own encoding.
// Not thread-safe.
#ifndef RAFTLITE_CLIENT_SESSIONS_HPP
#define RAFTLITE_CLIENT_SESSIONS_HPP

#include <raftlite/types.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace raftlite {

/// Bounds of a session table. Every replica must use the same values (they
/// decide which sessions expire, which is part of the replicated state).
struct session_limits {
    std::uint64_t expiry_ms = 3600000;    ///< idle cluster time after which a session expires
    std::size_t max_sessions = 100000;    ///< open() beyond this expires the least recently active
};

/// Bytes that are not an encoded session table; what() says what is wrong.
class bad_client_sessions : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class client_sessions {
public:
    enum class verdict { fresh, duplicate, stale, unknown_session };

    /// One session as the table keeps it.
    struct session {
        std::uint64_t last_active_ms = 0;   ///< cluster time of its open() or last record()
        std::uint64_t last_seq = 0;         ///< highest seq recorded; 0: none yet
        std::string response;               ///< the response recorded for last_seq
    };

    explicit client_sessions(session_limits limits = {}) : limits_(limits) {}

    /// Opens the session registered by the log entry at `index` (its id) at
    /// cluster time `now_ms` (advance_time(now_ms) first). When the table is
    /// full, the least recently active sessions expire to make room. An id
    /// already open starts over. Throws std::invalid_argument for index 0
    /// (no entry has it).
    std::uint64_t open(index_t index, std::uint64_t now_ms);

    /// Ends a session. False when it is not open (never, closed or expired).
    bool close(std::uint64_t id);

    /// What to do with command `seq` of session `id` (see the top of this file).
    verdict check(std::uint64_t id, std::uint64_t seq) const;

    /// Saves the response of command `seq` (a fresh one: above last_seq) and
    /// marks the session active now. False, and nothing changes, when the
    /// session is not open or `seq` is not above its last_seq.
    bool record(std::uint64_t id, std::uint64_t seq, std::string response);

    /// The response saved for the session's highest seq; null when the
    /// session is not open or has recorded nothing.
    const std::string* saved(std::uint64_t id) const;

    /// Cluster time moves to max(now, now_ms); sessions idle for longer than
    /// expiry_ms (now - last_active > expiry_ms) expire.
    void advance_time(std::uint64_t now_ms);

    /// Cluster time: the largest time seen (0 before any).
    std::uint64_t now_ms() const noexcept { return now_ms_; }
    std::size_t count() const noexcept { return sessions_.size(); }
    bool empty() const noexcept { return sessions_.empty(); }
    const session_limits& limits() const noexcept { return limits_; }
    /// Sessions removed by expiry or eviction so far (not by close(); not
    /// part of the encoding: a restarted replica counts from 0).
    std::uint64_t expired() const noexcept { return expired_; }

    /// A 64-bit digest of the table (time, ids, seqs, activity, responses),
    /// kept up to date by every change: equal on replicas with equal tables.
    std::uint64_t digest() const noexcept;

    /// Every session in id order.
    void for_each(const std::function<void(std::uint64_t id, const session&)>& f) const;

    /// Appends the table's encoding to `out`. Little-endian:
    ///   u8  version (1)
    ///   u64 cluster time (ms)
    ///   u64 session count N
    ///   N times, ids strictly increasing:
    ///     u64 id (> 0), u64 last active (ms, <= cluster time), u64 last seq,
    ///     u32 response length, response bytes (length 0 when last seq is 0)
    /// and nothing after. The same table gives the same bytes on every replica.
    void encode(std::string& out) const;

    /// Decodes strictly (every rule above; a length is checked against what
    /// is left before anything is allocated); throws bad_client_sessions.
    /// A table with more sessions than `limits` allows is kept as it is; the
    /// next open() evicts down to the limit.
    static client_sessions decode(std::string_view bytes, session_limits limits);

    friend bool operator==(const client_sessions& a, const client_sessions& b) {
        return a.now_ms_ == b.now_ms_ && a.sessions_ == b.sessions_;
    }

private:
    struct entry {
        session s;
        std::uint64_t hash = 0;   // this session's share of the digest
        friend bool operator==(const entry& a, const entry& b) {
            return a.s.last_active_ms == b.s.last_active_ms && a.s.last_seq == b.s.last_seq &&
                   a.s.response == b.s.response;
        }
    };
    using sessions_map = std::map<std::uint64_t, entry>;

    void insert(std::uint64_t id, session s);
    void erase(sessions_map::iterator it);
    void touch(sessions_map::iterator it);
    void rehash(sessions_map::iterator it);
    void evict_oldest();

    session_limits limits_;
    std::uint64_t now_ms_ = 0;
    sessions_map sessions_;
    /// (last_active_ms, id) of every session: the least recently active first.
    std::set<std::pair<std::uint64_t, std::uint64_t>> by_activity_;
    std::uint64_t sessions_hash_ = 0;   // sum of the entries' hashes
    std::uint64_t expired_ = 0;
};

} // namespace raftlite

#endif
