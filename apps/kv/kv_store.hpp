// raftlite kv — the replicated state machine: a map of strings.
//
// Deterministic: the same commands applied in the same order give the same
// state and the same results on every peer (no clocks, no randomness, no
// iteration over unordered containers). Not thread-safe: the node applies
// committed entries from one strand. A kv_image taken by snapshot() is
// immutable and may be read from any thread while the store goes on.
//
// Why shards: a snapshot must capture the state at the delivered index
// without holding up deliveries. Copying a std::map of 1M small keys on the
// delivery path stalls it for the whole copy. So the map is split into
// shards, std::maps of consecutive key ranges, each behind a shared_ptr: a
// shard over max_shard_entries splits in two, an empty one goes. snapshot()
// copies the shard pointers (and bounds) only; a write to a shard that a live
// image still shares copies that one shard first (copy-on-write, at most
// max_shard_entries entries). Images live only while the snapshot thread
// writes them out, so only the writes in that window copy anything, one
// small shard each, instead of one long stop. The shards being key ranges,
// a range read starts in one shard and walks on in key order.
//
// Measured with 1M keys ("keyN" -> "value-M", 30 MB encoded), -O2, on a
// shared 2-core machine under load, when the shards were 4096 by a hash of
// the key: a std::map copy 580 ms; snapshot() 0.24 ms; the 4096 shard copies
// that 100000 writes right after a snapshot caused 650 ms in all (0.16 ms
// each; 100000 writes without copies: 107 ms); encoding 300 ms and decoding
// 700 ms, both off the delivery path. Hashed shards made a range read a
// merge of every shard (a lower_bound in each of the 4096: 1 ms a range at
// 1M keys), hence key-range shards (docs/performance.md, "Range reads").
//
// Client sessions (Raft thesis §6.3): the store keeps a
// raftlite::client_sessions table beside the map. A command with a session
// (client id, seq) is checked against it before it is applied: a fresh one is
// applied and its encoded result saved; a retry of the latest one (the client
// did not hear the answer) gets the saved result and changes nothing; an older
// one, or one of a session that is not open, changes nothing and gets
// stale_request or session_expired. Cluster time for expiry comes from clock
// commands (the leader's unix ms, kv_main.cpp) and, while no session is open,
// from open_session commands (see apply()); never from this process's clock.
// The table is copied by snapshot() (it is bounded by max_sessions), so it
// is part of every image and snapshot, and of the digest.
#ifndef RAFTLITE_KV_STORE_HPP
#define RAFTLITE_KV_STORE_HPP

#include "kv_command.hpp"
#include "kv_result.hpp"

#include <raftlite/client_sessions.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite::kv {

/// The most entries a shard holds before it splits. Part of no format: a
/// snapshot lists entries, not shards, so this may change between versions.
inline constexpr std::size_t max_shard_entries = 512;

/// The keys a range read lists (kv_store::range), in byte order: from
/// `from` on (after it, when `from_exclusive`), and before `to` when it is
/// set. At most `limit` entries and, past the first entry, at most about
/// `max_bytes` of keys and values: a range with anything in it always lists
/// at least one entry, so a client paging through it makes progress.
struct kv_range_query {
    std::string from;
    bool from_exclusive = false;
    std::optional<std::string> to;
    std::size_t limit = 1000;
    std::size_t max_bytes = 4u << 20;
    bool keys_only = false;   ///< values are left empty
    friend bool operator==(const kv_range_query&, const kv_range_query&) = default;
};

/// What a range read found: the entries in key order, and whether the range
/// holds more after the last one (the next page starts after its key).
struct kv_range {
    std::vector<std::pair<std::string, std::string>> entries;
    bool more = false;
};

/// Whether `key` is in the range `q` describes (from, from_exclusive, to;
/// its limits play no part).
bool in_range(const kv_range_query& q, std::string_view key);

/// The end of the keys that start with `prefix`: the least string above all
/// of them (the prefix with its last byte below 0xff incremented and the
/// bytes after it dropped); nullopt when no string is (an empty prefix, or
/// one of 0xff bytes only), so the range runs to the last key.
std::optional<std::string> prefix_end(std::string_view prefix);

/// A value and its entry's hash (entry_hash of key and value): an overwrite
/// takes the old entry out of the digest without hashing the old value again
/// (about a microsecond for 256 bytes, on every peer, per write).
struct kv_entry {
    std::string value;
    std::uint64_t hash = 0;
};

/// std::less<>: found by a key that points into a committed entry's bytes
/// (kv_command_view), without copying it first.
using kv_shard = std::map<std::string, kv_entry, std::less<>>;

/// The state frozen at one point: safe to read from any thread, and it stays
/// as it was while the store it came from changes.
class kv_image {
public:
    std::size_t size() const noexcept { return size_; }
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::uint64_t applied() const noexcept { return applied_; }
    /// kv_store::digest() and entries_digest() of the state frozen.
    std::uint64_t digest() const noexcept { return digest_ + sessions_->digest(); }
    std::uint64_t entries_digest() const noexcept { return digest_; }
    /// The client sessions as they were.
    const client_sessions& sessions() const noexcept { return *sessions_; }
    /// Every entry, in key order (the same order for the same state on
    /// every peer).
    void for_each(const std::function<void(const std::string&, const std::string&)>& f) const;

private:
    friend class kv_store;
    std::vector<std::shared_ptr<const kv_shard>> shards_;
    std::vector<std::string> bounds_;
    std::shared_ptr<const client_sessions> sessions_ = std::make_shared<const client_sessions>();
    std::size_t size_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t applied_ = 0;
    std::uint64_t digest_ = 0;
};

class kv_store {
public:
    /// `limits` must be the same on every peer (they decide expiry).
    explicit kv_store(session_limits limits = {});

    /// Applies the command committed at log index `index` and returns its
    /// result. The index is the id of a session that open_session registers.
    /// An open_session while no session is open first moves cluster time to
    /// its clock_ms: ticks stop while there are no sessions (kv_main.cpp),
    /// and the new session must not count the quiet time as idle.
    kv_result apply(const kv_command& c, index_t index);
    /// The same, from a decoded view (what the delivery path applies).
    kv_result apply(const kv_command_view& c, index_t index);

    /// Decodes committed bytes and applies them. Bytes that do not decode
    /// change nothing and give bad_command, the same verdict on every peer.
    kv_result apply_encoded(std::string_view bytes, index_t index);

    /// The value of `key` in the local state (no command, nothing counted).
    std::optional<std::string> get(const std::string& key) const;

    /// The entries of the local state in `query`'s range (no command,
    /// nothing counted): a lower_bound in the shard holding `from`, then a
    /// walk in key order.
    kv_range range(const kv_range_query& query) const;

    /// How many keys the local state holds in `query`'s range (its limits
    /// play no part): whole shards count by their size.
    std::size_t count(const kv_range_query& query) const;

    /// The state now, frozen, in O(shards): see the top of this file.
    kv_image snapshot() const;

    /// Replaces the whole state by an image's (a restored snapshot).
    void restore(const kv_image& image);

    /// Adds an entry while loading a snapshot (kv_snapshot.cpp): false, and
    /// nothing changes, when the key is already there.
    bool load_entry(std::string key, std::string value);
    void set_applied(std::uint64_t n) noexcept { applied_ = n; }
    /// Replaces the session table (loading a snapshot).
    void set_sessions(client_sessions sessions) { sessions_ = std::move(sessions); }

    /// Called with every change a command makes to the map, as it is made:
    /// the index of the entry applied, the key, and its new value (null: the
    /// key was deleted). Not for a retry a session answers from its record,
    /// a failed cas or delete, nor a restore or load_entry. Must not call
    /// back into the store.
    using change_observer = std::function<void(index_t index, std::string_view key, const std::string* value)>;
    void on_change(change_observer observer) { on_change_ = std::move(observer); }

    /// The cluster level applied (kv_levels.hpp): the level the cluster
    /// level key holds, base_level while it holds none (or no level).
    unsigned level() const;
    /// The level member `node` reported, if it has.
    std::optional<unsigned> reported_level(std::uint64_t node) const;
    /// The servers that hold a per-member system key under `prefix`
    /// (member_of_key: level reports, no_space alarms), in key order.
    std::vector<std::uint64_t> servers_under(std::string_view prefix) const;

    /// The bytes `key` and its value take in bytes(); 0 when it is absent.
    std::size_t entry_bytes(std::string_view key) const;

    /// The client sessions (read-only: they change only by applying commands).
    const client_sessions& sessions() const noexcept { return sessions_; }

    /// The whole state as one ordered map, for tests and tools comparing peers.
    std::map<std::string, std::string> contents() const;

    /// A 64-bit digest of the state: the sum (mod 2^64) over the entries of a
    /// hash of (key length, key, value length, value), plus the session
    /// table's digest (client_sessions::digest()). Equal on peers that hold
    /// the same map and sessions, whatever the order of the writes; kept up
    /// to date by each write, so reading it costs nothing.
    std::uint64_t digest() const noexcept { return digest_ + sessions_.digest(); }
    /// The map's part of digest() (what a snapshot checks its entries against).
    std::uint64_t entries_digest() const noexcept { return digest_; }

    std::size_t size() const noexcept { return size_; }
    /// The bytes of every key and value the map holds, system keys included:
    /// the state's size as the space quota counts it (kv_space.hpp). The
    /// same on every peer that applied the same entries.
    std::uint64_t bytes() const noexcept { return bytes_; }
    /// Commands applied so far (bad ones included).
    std::uint64_t applied() const noexcept { return applied_; }

private:
    /// The shard whose key range holds `key`.
    std::size_t shard_index(std::string_view key) const;
    const kv_shard& shard_of(std::string_view key) const;
    /// Shard i, copied first if a kv_image still shares it.
    kv_shard& writable_shard(std::size_t i);
    /// Splits shard i (writable) when it is over max_shard_entries.
    void split_if_full(std::size_t i);
    /// Removes shard i when it is empty (and not the only one).
    void drop_if_empty(std::size_t i);
    /// The value of `key`, or null (valid until the next write).
    const std::string* find(std::string_view key) const;
    void put(std::string_view key, std::string_view value);
    bool erase(std::string_view key);
    /// The data commands (is_data_op), without looking at sessions.
    kv_result apply_data(const kv_command_view& c);
    /// delete_range: the keys in [key, value), system keys never.
    kv_result delete_range(std::string_view from, std::string_view to);
    /// txn: its compares, then one branch (kv_txn.hpp); the result's value
    /// is the encoded kv_txn_result.
    kv_result apply_txn(std::string_view encoded);
    /// A command of a session: applied once, its result saved (see the top).
    kv_result apply_in_session(const kv_command_view& c);
    /// open_session, close_session, clock.
    kv_result apply_control(const kv_command_view& c, index_t index);

    std::vector<std::shared_ptr<kv_shard>> shards_;   // in key order
    std::vector<std::string> bounds_;   // bounds_[i]: the least key shard i may hold; bounds_[0] is ""
    client_sessions sessions_;
    std::size_t size_ = 0;
    std::uint64_t bytes_ = 0;    // bytes(): keys and values
    std::uint64_t applied_ = 0;
    std::uint64_t digest_ = 0;   // of the map's entries
    index_t applying_ = 0;       // the entry apply() is applying (for on_change_)
    change_observer on_change_;
};

/// The hash each entry adds to the digest (exposed for tests).
std::uint64_t entry_hash(std::string_view key, std::string_view value) noexcept;

} // namespace raftlite::kv

#endif
