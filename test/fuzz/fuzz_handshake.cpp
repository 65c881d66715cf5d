// Fuzz target: the handshake and its acknowledgement, the first things a
// stranger sends (and, for an outbound connection, the only thing the other
// side ever sends).
//
// An input that starts with the frame magic is a whole frame (header +
// payload), decoded as the outbound link decodes a handshake_ack and as a
// handshake (decode_handshake_frame): each must fail with errc::bad_message,
// and at most one of them succeed, with a handshake that re-encodes (as that
// kind of frame) to exactly the input. Any other input is a handshake
// payload (no frame header: fuzz_frame covers message frames): decoding with
// the default limits must fail with errc::bad_message or yield a handshake
// whose cluster id respects max_cluster_id_bytes and that re-encodes to
// exactly the input, as a handshake and as an acknowledgement alike. (A
// payload cannot start with the magic: its first 8 bytes are the cluster
// id's length, which such bytes put far over any limit.)
//
// max_len: 1024 (a handshake is small; ./run fuzz reads this line)
#include "fuzz_check.hpp"

#include <raftlite/codec.hpp>
#include <raftlite/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace raftlite;

namespace {

const decode_limits limits;

// Checks a successful decode of a complete frame of `kind`: within the
// limits, and the same bytes again when encoded.
void check_frame(const char* bytes, std::size_t size, frame_kind kind, const handshake& h) {
    RAFTLITE_FUZZ_CHECK(size <= max_handshake_frame_bytes(limits), "frame over max_handshake_frame_bytes");
    RAFTLITE_FUZZ_CHECK(h.cluster_id.size() <= limits.max_cluster_id_bytes,
                        "cluster id over max_cluster_id_bytes");
    std::vector<char> frame;
    if (kind == frame_kind::handshake_ack)
        encode_handshake_ack(h, frame);
    else
        encode_handshake(h, frame);
    RAFTLITE_FUZZ_CHECK(frame.size() == size, "re-encoded frame size differs");
    RAFTLITE_FUZZ_CHECK(std::memcmp(frame.data(), bytes, size) == 0, "re-encoded frame differs from the input");
}

void fuzz_frame(const char* bytes, std::size_t size) {
    int decoded = 0;
    for (frame_kind kind : {frame_kind::handshake_ack, frame_kind::handshake}) {
        handshake h;
        const char* reason = nullptr;
        if (auto ec = decode_handshake_frame(bytes, size, kind, h, limits, &reason)) {
            RAFTLITE_FUZZ_CHECK(ec == errc::bad_message, "failure is not bad_message");
            RAFTLITE_FUZZ_CHECK(reason != nullptr, "failure without a reason");
            continue;
        }
        ++decoded;
        check_frame(bytes, size, kind, h);
    }
    RAFTLITE_FUZZ_CHECK(decoded <= 1, "one frame decoded as two kinds");
}

void fuzz_payload(const char* bytes, std::size_t size) {
    handshake h;
    const char* reason = nullptr;
    if (auto ec = decode_handshake(bytes, size, h, limits, &reason)) {
        RAFTLITE_FUZZ_CHECK(ec == errc::bad_message, "failure is not bad_message");
        RAFTLITE_FUZZ_CHECK(reason != nullptr, "failure without a reason");
        return;
    }
    RAFTLITE_FUZZ_CHECK(h.cluster_id.size() <= limits.max_cluster_id_bytes,
                        "cluster id over max_cluster_id_bytes");
    std::vector<char> frame;
    encode_handshake(h, frame);
    RAFTLITE_FUZZ_CHECK(frame.size() == frame_header_size + size, "re-encoded size differs");
    RAFTLITE_FUZZ_CHECK(std::memcmp(frame.data() + frame_header_size, bytes, size) == 0,
                        "re-encoded handshake differs from the input");
    handshake h2;
    RAFTLITE_FUZZ_CHECK(!decode_handshake(frame.data() + frame_header_size, size, h2, limits),
                        "re-encoded handshake does not decode");
    RAFTLITE_FUZZ_CHECK(h2 == h, "round trip changed the handshake");
    // The acknowledgement carries the same payload: both frames decode to h,
    // each only as its own kind.
    for (frame_kind kind : {frame_kind::handshake, frame_kind::handshake_ack}) {
        frame.clear();
        if (kind == frame_kind::handshake_ack)
            encode_handshake_ack(h, frame);
        else
            encode_handshake(h, frame);
        const frame_kind other =
            kind == frame_kind::handshake ? frame_kind::handshake_ack : frame_kind::handshake;
        handshake h3;
        if (frame.size() <= max_handshake_frame_bytes(limits)) {
            RAFTLITE_FUZZ_CHECK(!decode_handshake_frame(frame.data(), frame.size(), kind, h3, limits),
                                "encoded frame does not decode");
            RAFTLITE_FUZZ_CHECK(h3 == h, "frame round trip changed the handshake");
        }
        RAFTLITE_FUZZ_CHECK(decode_handshake_frame(frame.data(), frame.size(), other, h3, limits) ==
                                errc::bad_message,
                            "frame decoded as the other kind");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const char* bytes = reinterpret_cast<const char*>(data);
    if (size >= sizeof frame_magic && std::memcmp(bytes, frame_magic, sizeof frame_magic) == 0)
        fuzz_frame(bytes, size);
    else
        fuzz_payload(bytes, size);
    return 0;
}
