// raftlite — the wire codec: frames, the handshake and message encoding.
//
// A frame is a fixed 12-byte header followed by a payload:
//
//   offset  size  field
//   0       4     magic "RFTL"
//   4       2     format version   (big-endian, wire_format_version)
//   6       2     frame kind       (big-endian, frame_kind)
//   8       4     payload length   (big-endian, bytes after the header)
//
// The payload is a Boost.Serialization binary archive (no archive header) of
// a handshake or a message. The binary archive stores integers in the host's
// byte order, so every node of a cluster must share one endianness (the
// format version would have to change to mix them).
//
// Boost.Serialization is included only by codec.cpp: this header stays cheap.
// Decoding treats its input as hostile: every count and length is checked
// against the bytes left in the frame and against decode_limits before
// anything is allocated, and every failure is errc::bad_message, never a
// crash or an exception.
#ifndef RAFTLITE_CODEC_HPP
#define RAFTLITE_CODEC_HPP

#include <raftlite/error.hpp>
#include <raftlite/messages.hpp>
#include <raftlite/transport_options.hpp>   // decode_limits, default_max_frame_bytes
#include <raftlite/types.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace raftlite {

/// Version of the frame layout and payload encoding. A frame carrying another
/// version is rejected (errc::bad_message).
inline constexpr std::uint16_t wire_format_version = 1;

/// Version of the Raft protocol spoken on a connection, exchanged in the
/// handshake. Distinct from the wire format: the protocol may change with an
/// unchanged framing. 2: install_snapshot and its answer, and
/// forward_response's `unknown` status. 3: read rounds in log_request and
/// log_response, read_index_request and read_index_response. 4: pre-vote
/// (thesis §9.6) and leadership transfer (thesis §3.10): the pre_vote and
/// leadership_transfer flags of vote_request, pre_vote in vote_response, and
/// timeout_now. 5: the receiver acknowledges an accepted handshake with a
/// handshake_ack frame naming itself, and the sender counts the connection as
/// up only once it arrives (a proxy or half-open connection that accepts and
/// never delivers is noticed within handshake_timeout). A peer speaking
/// another version is refused at the handshake with a log line naming both.
inline constexpr std::uint32_t protocol_version = 5;

inline constexpr char frame_magic[4] = {'R', 'F', 'T', 'L'};

/// Size of the fixed frame header, in bytes.
inline constexpr std::size_t frame_header_size = 12;

/// handshake: the sender's first frame on a connection. message: every later
/// frame from the sender. handshake_ack: the receiver's only frame, written
/// once the handshake is accepted (a handshake payload naming the receiver).
enum class frame_kind : std::uint16_t { handshake = 1, message = 2, handshake_ack = 3 };

struct frame_header {
    std::uint16_t version = wire_format_version;
    frame_kind kind = frame_kind::message;
    std::uint32_t payload_size = 0;   ///< bytes that follow the header
};

/// The first frame on every connection: who is talking, in which cluster.
struct handshake {
    std::string cluster_id;
    node_id sender = no_node;
    std::uint32_t protocol_version = raftlite::protocol_version;
    friend bool operator==(const handshake&, const handshake&) = default;
};

/// Appends one complete frame (header + payload) for `m` to `out`. `out` is
/// meant to be reused: the archive writes straight into it, nothing else is
/// allocated per message beyond the buffer's own growth.
/// Throws std::length_error if the payload exceeds 4 GiB (the header's limit).
void encode_message(const message& m, std::vector<char>& out);

/// Appends one complete handshake frame to `out`.
void encode_handshake(const handshake& h, std::vector<char>& out);

/// Appends one complete handshake_ack frame to `out`: `h` names the receiver
/// (its cluster, its id, its protocol version).
void encode_handshake_ack(const handshake& h, std::vector<char>& out);

/// The largest frame (header + payload) a handshake or handshake_ack can be
/// under `limits`: what a connection accepts before it knows who is talking.
inline std::size_t max_handshake_frame_bytes(const decode_limits& limits) noexcept {
    return frame_header_size + 64 + limits.max_cluster_id_bytes;
}

/// The entries of a log_request, encoded once for every follower the same
/// batch goes to: a log_request's frame is its head (encode_log_request_head:
/// the header, the fields that differ per follower, the entry count) followed
/// by these bytes, the same bytes encode_message writes after the head.
/// Payloads of at least `reference_from` bytes are not copied: each
/// `payloads[i].second` belongs at offset `payloads[i].first` of `bytes`
/// (offsets ascending), so a gather write sends it from the log's own string.
struct encoded_entries {
    std::vector<char> bytes;
    std::vector<std::pair<std::size_t, shared_bytes>> payloads;
    /// Bytes on the wire: `bytes` and every referenced payload.
    std::size_t wire_size() const noexcept;
};

/// Encodes `entries` into `out` (replacing its contents); see encoded_entries.
void encode_entries(const std::vector<log_entry>& entries, std::size_t reference_from, encoded_entries& out);

/// Appends the head of a frame for `m` whose `m.suffix` is encoded in
/// `entries_wire_size` bytes (encode_entries of m.suffix): head + entries is
/// the frame encode_message(m) writes. Throws std::length_error over 4 GiB.
void encode_log_request_head(const log_request& m, std::size_t entries_wire_size, std::vector<char>& out);

/// Reads a frame header from `data` (frame_header_size bytes). Returns
/// errc::bad_message on a wrong magic, an unknown format version or frame kind,
/// or a frame (header + payload) larger than `max_frame_bytes`.
/// If `reason` is not null, it receives a short explanation of a failure.
boost::system::error_code parse_frame_header(const char* data, frame_header& out,
                                             std::size_t max_frame_bytes,
                                             const char** reason = nullptr);

/// Decodes a message payload of `n` bytes (the bytes after a message frame's
/// header). Returns errc::bad_message on any malformed, truncated, oversized
/// or trailing input; `out` is then unspecified.
boost::system::error_code decode_message(const char* payload, std::size_t n, message& out,
                                         const decode_limits& limits,
                                         const char** reason = nullptr);

/// Decodes a handshake payload; same rules as decode_message.
boost::system::error_code decode_handshake(const char* payload, std::size_t n, handshake& out,
                                           const decode_limits& limits,
                                           const char** reason = nullptr);

/// Decodes one complete frame of `n` bytes (header and payload) that must be
/// of kind `kind` (handshake or handshake_ack) and at most
/// max_handshake_frame_bytes(limits): errc::bad_message on another kind, a
/// length that is not `n`, or anything decode_handshake refuses.
boost::system::error_code decode_handshake_frame(const char* data, std::size_t n, frame_kind kind,
                                                 handshake& out, const decode_limits& limits,
                                                 const char** reason = nullptr);

} // namespace raftlite

#endif
