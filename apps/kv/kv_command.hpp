// raftlite kv — the commands of the key-value state machine and their encoding.
//
// A command is encoded to a byte string, and that string is what the node
// broadcasts through Raft; every peer decodes the committed bytes and applies
// them. Reads (get) go through the log too, so that a read sees every write
// committed before it (linearizable reads without leases).
//
// Encoding (version 2), all integers little-endian:
//   u8  version (2)
//   u8  op (0 put, 1 get, 2 delete, 3 cas, 4 open_session, 5 close_session, 6 clock,
//          7 delete_range, 8 cas_delete, 9 txn)
//   u8  flags (bit 0: cas or cas_delete has an expected value; other bits must be 0)
//   u64 origin node      the peer that broadcast it (0: none)
//   u64 origin request   that peer's number for the HTTP request waiting for it
//   u64 client id        the client session (0: none); close_session: the one to close
//   u64 client seq       the command's number in its session (0 exactly when no session)
//   u64 clock ms         clock: the leader's unix ms; open_session: the opener's
//                        (cluster time while no session is open); 0 otherwise
//   u32 key length,   key bytes       (1 .. max_key_bytes; 0 for the session ops and clock;
//                                      delete_range: its start, 0 .. max_key_bytes)
//   u32 value length, value bytes     (put, cas; delete_range: its end, above the start;
//                                      txn: the transaction, kv_txn.hpp; 0 otherwise)
//   u32 expected length, bytes        (flag bit 0 only)
// and nothing after. Decoding is strict: any other byte string is an error,
// never a guess, because every peer must reach the same verdict. Version 1
// (before sessions: a u64 request id where version 2 has the origin, nothing
// from client id to clock ms, no session ops) still decodes, as a command
// without a session whose origin node is 0, so logs and snapshots written by
// an older raftlite-kv stay readable.
//
// Ops 7 to 9 need cluster level 2 (kv_levels.hpp): a peer of level 1 does
// not decode them, so they are proposed only once every member applies them.
//
// The origin is what lets the peer that broadcast a command answer the HTTP
// request waiting for it, and only that request: the request number is the
// server's own, never a client's header. The client session (id, seq) makes a
// retried command apply once (Raft thesis §6.3; kv_store.hpp).
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

enum class kv_op : std::uint8_t {
    put = 0,
    get = 1,
    del = 2,
    cas = 3,
    open_session = 4,    ///< registers a client session; its id is this entry's log index
    close_session = 5,   ///< ends session client_id
    clock = 6,           ///< cluster time for session expiry, written by the leader's kv process
    delete_range = 7,    ///< deletes the keys in [key, value) (level 2)
    cas_delete = 8,      ///< deletes the key if it holds the expected value (level 2)
    txn = 9,             ///< compares, then one list of operations or another (kv_txn.hpp; level 2)
};

/// A command on keys (put, get, delete, cas, delete_range, cas_delete, txn),
/// not a session op nor clock.
constexpr bool is_data_op(kv_op op) noexcept { return op <= kv_op::cas || op >= kv_op::delete_range; }

/// "put", "get", "delete", "cas", "open_session", "close_session", "clock",
/// "delete_range", "cas_delete", "txn".
const char* op_name(kv_op op) noexcept;

struct kv_command {
    kv_op op = kv_op::get;
    std::string key;                      ///< delete_range: the first key of the range (may be empty)
    /// put, cas: the new value; delete_range: the end of the range
    /// (excluded); txn: the encoded transaction (kv_txn.hpp)
    std::string value;
    /// cas, cas_delete: the value the key must hold for the swap or the
    /// delete to happen; nullopt means "the key must be absent"
    /// (create-if-absent; cas_delete needs a value).
    std::optional<std::string> expected;
    /// The peer that broadcast the command (0: none, e.g. a version-1 command).
    std::uint64_t origin_node = 0;
    /// That peer's number for the request waiting for the command (never a
    /// client's: see the top of this file).
    std::uint64_t origin_request = 0;
    /// Client session and the command's number in it; both 0: no session
    /// (the command applies each time it is committed). close_session: the
    /// session to close, seq 0.
    std::uint64_t client_id = 0;
    std::uint64_t client_seq = 0;
    /// clock: the leader's unix time in ms. open_session: the opener's, used
    /// only while no session is open (kv_store::apply). 0 for the others.
    std::uint64_t clock_ms = 0;

    /// A data command (is_data_op), not a session op nor clock.
    bool has_key() const noexcept { return is_data_op(op); }

    friend bool operator==(const kv_command&, const kv_command&) = default;
};

/// A command whose strings point into other storage: what decode_view()
/// gives, the committed entry's own bytes, so that applying a command on the
/// delivery path (every peer, every entry) copies its key and value only
/// into the store, not first into a kv_command. Valid while those bytes are.
struct kv_command_view {
    kv_op op = kv_op::get;
    std::string_view key;
    std::string_view value;
    bool has_expected = false;   ///< cas: false means "the key must be absent"
    std::string_view expected;
    std::uint64_t origin_node = 0;
    std::uint64_t origin_request = 0;
    std::uint64_t client_id = 0;
    std::uint64_t client_seq = 0;
    std::uint64_t clock_ms = 0;

    bool has_key() const noexcept { return is_data_op(op); }
};

/// The view of `c` (valid while `c` is, unchanged).
kv_command_view view_of(const kv_command& c) noexcept;

/// A byte string that is not a valid encoded command, or a command that
/// cannot be encoded. what() says which field is wrong.
class bad_command : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Why `c` cannot be encoded (empty key, key or value too long, a field its
/// op does not take, a client id without a seq or the other way round), or
/// an empty string when it is valid.
std::string validate(const kv_command& c);
std::string validate(const kv_command_view& c);

/// Encodes a valid command. Throws bad_command when validate() objects.
std::string encode(const kv_command& c);

/// Decodes strictly. Throws bad_command.
kv_command decode(std::string_view bytes);

/// As decode(), without throwing: nullopt and `error` set on failure.
std::optional<kv_command> try_decode(std::string_view bytes, std::string& error);

/// As try_decode(), the strings left in `bytes` (the same checks, the same
/// verdicts): the view is valid while `bytes` is.
std::optional<kv_command_view> try_decode_view(std::string_view bytes, std::string& error);

} // namespace raftlite::kv

#endif
