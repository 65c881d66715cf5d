// raftlite kv — the replicated state machine: an ordered map of strings.
//
// Deterministic: the same commands applied in the same order give the same
// state and the same results on every peer (no clocks, no randomness, no
// iteration over unordered containers). Not thread-safe: the node applies
// committed entries from one strand.
#ifndef RAFTLITE_KV_STORE_HPP
#define RAFTLITE_KV_STORE_HPP

#include "kv_command.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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

class kv_store {
public:
    /// Applies one command and returns its result.
    kv_result apply(const kv_command& c);

    /// Decodes committed bytes and applies them. Bytes that do not decode
    /// change nothing and give bad_command, the same verdict on every peer.
    kv_result apply_encoded(std::string_view bytes);

    /// The whole state, for tests and tools comparing peers.
    std::map<std::string, std::string> snapshot() const { return data_; }

    /// A 64-bit FNV-1a digest of the state (keys, values and their lengths,
    /// in key order): equal on peers that applied the same commands.
    std::uint64_t digest() const noexcept;

    std::size_t size() const noexcept { return data_.size(); }
    /// Commands applied so far (bad ones included).
    std::uint64_t applied() const noexcept { return applied_; }

private:
    std::map<std::string, std::string> data_;
    std::uint64_t applied_ = 0;
};

} // namespace raftlite::kv

#endif
