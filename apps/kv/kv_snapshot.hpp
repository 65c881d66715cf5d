// raftlite kv — the state machine's snapshot format: what raftlite-kv writes
// to a raftlite::snapshot_sink and reads back at a restore.
//
// Version 2, all integers little-endian:
//   8 bytes  magic "RLKVSNAP"
//   u32      version (2)
//   u64      commands applied (kv_store::applied())
//   u64      entry count N
//   N times: u32 key length (1 .. max_key_bytes), key bytes,
//            u32 value length (0 .. max_value_bytes), value bytes
//   u64      digest of the entries (kv_store::entries_digest())
//   u64      length L of the session table, then L bytes:
//            raftlite::client_sessions::encode (client sessions, Raft thesis §6.3)
// and nothing after. Version 1 (before sessions) ends after the digest; it
// is still read, as a state without sessions. Entries come in kv_image::for_each order, so the same
// state gives the same bytes on every peer. The library checks a snapshot
// file's checksum before anything reads it; this format checks itself as
// well (lengths against their bounds and against what is left, no key twice,
// the count, the digest, no trailing bytes), so that a restore of bytes that
// are not one of our snapshots is an error saying what is wrong, never a crash
// nor a half-loaded state.
#ifndef RAFTLITE_KV_SNAPSHOT_HPP
#define RAFTLITE_KV_SNAPSHOT_HPP

#include "kv_store.hpp"

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace raftlite::kv {

inline constexpr std::uint32_t snapshot_format_version = 2;

/// Bytes that are not a valid snapshot; what() says what is wrong and where.
class bad_snapshot : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Receives the encoded snapshot piece by piece (throws to give up).
using snapshot_writer_fn = std::function<void(std::string_view piece)>;
/// Appends the next bytes of a snapshot to `out`; appends nothing at the end
/// (throws when it cannot read).
using snapshot_reader_fn = std::function<void(std::string& out)>;

/// Encodes `image`, handing it to `write` in pieces of about `piece_bytes`.
void write_snapshot(const kv_image& image, const snapshot_writer_fn& write, std::size_t piece_bytes = 1u << 20);
/// The whole encoding at once.
std::string encode_snapshot(const kv_image& image);

/// Decodes a snapshot into a new store with session limits `limits`,
/// reading it piece by piece; throws bad_snapshot (or what `read` throws).
/// Memory: the state plus one piece (plus the session table).
kv_store read_snapshot(const snapshot_reader_fn& read, session_limits limits = {});
/// Decodes a whole snapshot held in memory; throws bad_snapshot.
kv_store decode_snapshot(std::string_view bytes, session_limits limits = {});

} // namespace raftlite::kv

#endif
