// Fuzz target: a frame as it arrives on a peer connection (codec.hpp).
//
// The input is a 12-byte frame header and the bytes after it. The header is
// parsed with the library's default frame limit; a message frame whose payload
// is all there is decoded with the default decode_limits. A decoded message
// must re-encode to exactly the bytes it came from (the encoding has one form
// per message: fixed-width integers, booleans and enumerations checked), and
// decoding that again must succeed and encode the same. Anything else the
// codec does with hostile bytes must be errc::bad_message, never a crash.
//
// max_len: 4096 (enough for a frame of dozens of entries; ./run fuzz reads this line)
#include "fuzz_check.hpp"

#include <raftlite/codec.hpp>
#include <raftlite/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <variant>
#include <vector>

using namespace raftlite;

namespace {

void check_limits(const message& m, const decode_limits& limits) {
    if (auto* r = std::get_if<log_request>(&m)) {
        RAFTLITE_FUZZ_CHECK(r->suffix.size() <= limits.max_entries, "entries over max_entries");
        for (auto& e : r->suffix) {
            RAFTLITE_FUZZ_CHECK(e.payload != nullptr, "decoded entry without payload");
            RAFTLITE_FUZZ_CHECK(e.payload->size() <= limits.max_payload_bytes,
                                "entry over max_payload_bytes");
        }
    }
    if (auto* f = std::get_if<forward_request>(&m)) {
        RAFTLITE_FUZZ_CHECK(f->payload != nullptr, "decoded forward without payload");
        RAFTLITE_FUZZ_CHECK(f->payload->size() <= limits.max_payload_bytes,
                            "forward payload over max_payload_bytes");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < frame_header_size)
        return 0;
    const char* bytes = reinterpret_cast<const char*>(data);
    const decode_limits limits;

    frame_header h;
    const char* reason = nullptr;
    if (auto ec = parse_frame_header(bytes, h, default_max_frame_bytes, &reason)) {
        RAFTLITE_FUZZ_CHECK(ec == errc::bad_message, "header failure is not bad_message");
        RAFTLITE_FUZZ_CHECK(reason != nullptr, "header failure without a reason");
        return 0;
    }
    RAFTLITE_FUZZ_CHECK(h.payload_size <= default_max_frame_bytes - frame_header_size,
                        "accepted a frame over the limit");
    const std::size_t available = size - frame_header_size;
    if (h.payload_size > available)
        return 0;   // the transport would wait for more bytes
    const char* payload = bytes + frame_header_size;

    // A handshake and its acknowledgement carry a handshake payload (the
    // acknowledgement naming the receiver); only messages round-trip below.
    if (h.kind == frame_kind::handshake || h.kind == frame_kind::handshake_ack) {
        handshake hs;
        reason = nullptr;
        auto ec = decode_handshake(payload, h.payload_size, hs, limits, &reason);
        RAFTLITE_FUZZ_CHECK(!ec || (ec == errc::bad_message && reason), "handshake failure");
        return 0;
    }

    message m;
    reason = nullptr;
    if (auto ec = decode_message(payload, h.payload_size, m, limits, &reason)) {
        RAFTLITE_FUZZ_CHECK(ec == errc::bad_message, "decode failure is not bad_message");
        RAFTLITE_FUZZ_CHECK(reason != nullptr, "decode failure without a reason");
        return 0;
    }
    check_limits(m, limits);

    // Round trip: the one encoding of this message is the frame it came from.
    std::vector<char> again;
    encode_message(m, again);
    const std::size_t frame_size = frame_header_size + h.payload_size;
    RAFTLITE_FUZZ_CHECK(again.size() == frame_size, "re-encoded frame has another size");
    RAFTLITE_FUZZ_CHECK(std::memcmp(again.data(), bytes, frame_size) == 0,
                        "re-encoded frame differs from the input");

    frame_header h2;
    RAFTLITE_FUZZ_CHECK(!parse_frame_header(again.data(), h2, default_max_frame_bytes),
                        "re-encoded header does not parse");
    message m2;
    RAFTLITE_FUZZ_CHECK(!decode_message(again.data() + frame_header_size, h2.payload_size, m2,
                                        limits),
                        "re-encoded message does not decode");
    RAFTLITE_FUZZ_CHECK(m2.index() == m.index(), "round trip changed the message kind");
    std::vector<char> third;
    encode_message(m2, third);
    RAFTLITE_FUZZ_CHECK(third == again, "second round trip differs");
    return 0;
}
