// raftlite kv — the commands of the key-value state machine and their encoding.
//
// A command is encoded to a byte string, and that string is what the node
// broadcasts through Raft; every peer decodes the committed bytes and applies
// them. Reads (get) go through the log too, so that a read sees every write
// committed before it (linearizable reads without leases).
//
// Encoding (version 1), all integers little-endian:
//   u8  version (1)
//   u8  op (0 put, 1 get, 2 delete, 3 cas)
//   u8  flags (bit 0: cas has an expected value; other bits must be 0)
//   u64 request id
//   u32 key length,   key bytes       (1 .. max_key_bytes)
//   u32 value length, value bytes     (put, cas; 0 for get and delete)
//   u32 expected length, bytes        (cas with flag bit 0 only)
// and nothing after. Decoding is strict: any other byte string is an error,
// never a guess, because every peer must reach the same verdict.
#ifndef RAFTLITE_KV_COMMAND_HPP
#define RAFTLITE_KV_COMMAND_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace raftlite::kv {

/// Longest key, in bytes. Keys live in memory on every peer and in every
/// response, so they are kept short.
inline constexpr std::size_t max_key_bytes = 1024;
/// Longest value, in bytes (the HTTP front end's body limit is usually lower).
inline constexpr std::size_t max_value_bytes = 16u << 20;

enum class kv_op : std::uint8_t { put = 0, get = 1, del = 2, cas = 3 };

/// "put", "get", "delete", "cas".
const char* op_name(kv_op op) noexcept;

struct kv_command {
    kv_op op = kv_op::get;
    std::string key;
    std::string value;                    ///< put, cas: the new value
    /// cas: the value the key must hold for the swap to happen; nullopt means
    /// "the key must be absent" (create-if-absent).
    std::optional<std::string> expected;
    /// Chosen by the client or the front end to recognise its request; 0: none.
    std::uint64_t request_id = 0;

    friend bool operator==(const kv_command&, const kv_command&) = default;
};

/// A byte string that is not a valid encoded command, or a command that
/// cannot be encoded. what() says which field is wrong.
class bad_command : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Why `c` cannot be encoded (empty key, key or value too long, a field its
/// op does not take), or an empty string when it is valid.
std::string validate(const kv_command& c);

/// Encodes a valid command. Throws bad_command when validate() objects.
std::string encode(const kv_command& c);

/// Decodes strictly. Throws bad_command.
kv_command decode(std::string_view bytes);

/// As decode(), without throwing: nullopt and `error` set on failure.
std::optional<kv_command> try_decode(std::string_view bytes, std::string& error);

} // namespace raftlite::kv

#endif
