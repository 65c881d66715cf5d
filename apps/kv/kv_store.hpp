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
// delivery path stalls it for the whole copy. So the map is split by a stable
// hash of the key into `shard_count` std::maps, each behind a shared_ptr.
// snapshot() copies the shard pointers only; a write to a shard that a live
// image still shares copies that one shard first (copy-on-write, ~1/4096 of
// the map). Images live only while the snapshot thread writes them out, so
// only the writes in that window copy anything, one small shard each, instead
// of one long stop.
//
// Measured with 1M keys ("keyN" -> "value-M", 30 MB encoded), -O2, on a
// shared 2-core machine under load: a std::map copy 580 ms; snapshot() 0.24
// ms; the 4096 shard copies that 100000 writes right after a snapshot caused
// 650 ms in all (0.16 ms each; 100000 writes without copies: 107 ms);
// encoding 300 ms and decoding 700 ms, both off the delivery path.
#ifndef RAFTLITE_KV_STORE_HPP
#define RAFTLITE_KV_STORE_HPP

#include "kv_command.hpp"

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

enum class kv_status {
    ok,            ///< done; get: `value` holds the value
    not_found,     ///< get or delete of an absent key
    cas_failed,    ///< cas: the key did not hold the expected value; `value` holds what it holds
    bad_command,   ///< committed bytes that do not decode; `error` says why
};

/// "ok", "not_found", "cas_failed", "bad_command".
const char* status_name(kv_status s) noexcept;

struct kv_result {
    kv_status status = kv_status::ok;
    /// get (ok): the value. cas_failed: the current value (nullopt: key absent).
    std::optional<std::string> value;
    std::string error;   ///< bad_command only

    friend bool operator==(const kv_result&, const kv_result&) = default;
};

/// Shards of the map (a power of two). Part of no format: a snapshot lists
/// entries, not shards, so this may change between versions.
inline constexpr std::size_t shard_count = 4096;

using kv_shard = std::map<std::string, std::string>;

/// The state frozen at one point: safe to read from any thread, and it stays
/// as it was while the store it came from changes.
class kv_image {
public:
    std::size_t size() const noexcept { return size_; }
    std::uint64_t applied() const noexcept { return applied_; }
    std::uint64_t digest() const noexcept { return digest_; }
    /// Every entry, shard by shard and in key order within a shard: the same
    /// order for the same state on every peer.
    void for_each(const std::function<void(const std::string&, const std::string&)>& f) const;

private:
    friend class kv_store;
    std::vector<std::shared_ptr<const kv_shard>> shards_;
    std::size_t size_ = 0;
    std::uint64_t applied_ = 0;
    std::uint64_t digest_ = 0;
};

class kv_store {
public:
    kv_store();

    /// Applies one command and returns its result.
    kv_result apply(const kv_command& c);

    /// Decodes committed bytes and applies them. Bytes that do not decode
    /// change nothing and give bad_command, the same verdict on every peer.
    kv_result apply_encoded(std::string_view bytes);

    /// The value of `key` in the local state (no command, nothing counted).
    std::optional<std::string> get(const std::string& key) const;

    /// The state now, frozen, in O(shard_count): see the top of this file.
    kv_image snapshot() const;

    /// Replaces the whole state by an image's (a restored snapshot).
    void restore(const kv_image& image);

    /// Adds an entry while loading a snapshot (kv_snapshot.cpp): false, and
    /// nothing changes, when the key is already there.
    bool load_entry(std::string key, std::string value);
    void set_applied(std::uint64_t n) noexcept { applied_ = n; }

    /// The whole state as one ordered map, for tests and tools comparing peers.
    std::map<std::string, std::string> contents() const;

    /// A 64-bit digest of the state: the sum (mod 2^64) over the entries of a
    /// hash of (key length, key, value length, value). Equal on peers that
    /// hold the same map, whatever the order of the writes; kept up to date
    /// by each write, so reading it costs nothing.
    std::uint64_t digest() const noexcept { return digest_; }

    std::size_t size() const noexcept { return size_; }
    /// Commands applied so far (bad ones included).
    std::uint64_t applied() const noexcept { return applied_; }

private:
    const kv_shard& shard_of(const std::string& key) const;
    /// The shard of `key`, copied first if a kv_image still shares it.
    kv_shard& writable_shard_of(const std::string& key);
    void put(const std::string& key, const std::string& value);
    bool erase(const std::string& key);

    std::vector<std::shared_ptr<kv_shard>> shards_;
    std::size_t size_ = 0;
    std::uint64_t applied_ = 0;
    std::uint64_t digest_ = 0;
};

/// The hash each entry adds to the digest (exposed for tests).
std::uint64_t entry_hash(std::string_view key, std::string_view value) noexcept;

} // namespace raftlite::kv

#endif
