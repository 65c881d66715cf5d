// raftlite kv — transactions: compares, then one list of operations or the
// other, applied as one log entry (etcd's Txn; feature level 2,
// kv_levels.hpp).
//
// A transaction's compares all hold or not, on the state as the entry finds
// it; then its `success` operations run, in order, or else its `failure`
// ones. Every peer applies the whole entry at once, so no other command
// lands between a compare and the writes it guards: a lock taken over two
// keys, a counter moved from one key to another, a put only if several keys
// hold what the client read. A get in a branch sees the writes before it in
// the same branch.
//
// The command is a kv_command of op txn, its key empty and its value this
// encoding (version 1), integers little-endian, every string a u32 length
// and its bytes:
//   u8  version (1)
//   u16 compares (at most max_txn_ops), each: u8 kind (0 equals, 1 absent,
//       2 present), key, and for equals the value
//   u16 success operations, then u16 failure operations (each at most
//       max_txn_ops), each: u8 kind (0 put, 1 delete, 2 get, 3
//       delete_range), key (delete_range: its start, may be empty), and for
//       put the value, for delete_range its end (above the start)
// Decoding is strict, like kv_command's: every peer reaches the same verdict.
// Writes of system keys (kv_levels.hpp) are not valid; delete_range stops
// before them as the command does.
//
// The result (kv_result::value of an ok result) is encoded as
//   u8  1 when the compares held (success ran), 0 otherwise
//   u16 results, one per operation run, each: u8 kind (0 done: put; 1 a u64
//       count follows: delete, delete_range; 2 a value follows: get of a
//       key present; 3 not found: get of a key absent; 4 a u64 size follows:
//       get of a key present whose value would take the gets' values past
//       max_txn_result_bytes)
// The cap keeps what an answer (and a session's saved result) holds bounded
// whatever the branch reads; it depends only on the state, so every peer
// gives the same result.
#ifndef RAFTLITE_KV_TXN_HPP
#define RAFTLITE_KV_TXN_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftlite::kv {

/// The most compares, and the most operations in each branch.
inline constexpr std::size_t max_txn_ops = 128;

/// The most bytes of values a transaction's gets return, together; a get
/// past it reports the value's size instead (txn_op_result::too_large).
inline constexpr std::size_t max_txn_result_bytes = 4u << 20;

struct txn_compare {
    enum class kind : std::uint8_t { equals = 0, absent = 1, present = 2 };
    kind what = kind::equals;
    std::string key;
    std::string value;   ///< equals only
    friend bool operator==(const txn_compare&, const txn_compare&) = default;
};

struct txn_op {
    enum class kind : std::uint8_t { put = 0, del = 1, get = 2, delete_range = 3 };
    kind what = kind::get;
    std::string key;     ///< delete_range: the first key of the range
    std::string value;   ///< put: the value; delete_range: the end of the range (excluded)
    friend bool operator==(const txn_op&, const txn_op&) = default;
};

struct kv_txn {
    std::vector<txn_compare> compare;
    std::vector<txn_op> success;
    std::vector<txn_op> failure;
    friend bool operator==(const kv_txn&, const kv_txn&) = default;
};

/// Why `t` cannot be encoded (too many compares or operations, an empty or
/// too long key, a write of a system key, an empty range, a value too
/// long), or an empty string when it is valid.
std::string validate_txn(const kv_txn& t);

/// Encodes a valid transaction. Throws bad_command (kv_command.hpp).
std::string encode_txn(const kv_txn& t);

/// Decodes strictly. Throws bad_command.
kv_txn decode_txn(std::string_view bytes);

struct txn_op_result {
    enum class kind : std::uint8_t { done = 0, deleted = 1, value = 2, not_found = 3, too_large = 4 };
    kind what = kind::done;
    std::uint64_t count = 0;   ///< deleted: how many keys; too_large: the value's size
    std::string value;         ///< value: what the get found
    friend bool operator==(const txn_op_result&, const txn_op_result&) = default;
};

struct kv_txn_result {
    bool succeeded = false;
    std::vector<txn_op_result> results;
    friend bool operator==(const kv_txn_result&, const kv_txn_result&) = default;
};

std::string encode_txn_result(const kv_txn_result& r);

/// Decodes strictly; nullopt and `error` set when the bytes are not one.
std::optional<kv_txn_result> try_decode_txn_result(std::string_view bytes, std::string& error);

} // namespace raftlite::kv

#endif
