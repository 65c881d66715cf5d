// Fuzz target: the handshake payload, the first thing a stranger sends.
//
// The input is a handshake payload (no frame header: fuzz_frame covers the
// header). Decoding with the default limits must fail with errc::bad_message
// or yield a handshake whose cluster id respects max_cluster_id_bytes and that
// re-encodes to exactly the input.
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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const char* bytes = reinterpret_cast<const char*>(data);
    const decode_limits limits;
    handshake h;
    const char* reason = nullptr;
    if (auto ec = decode_handshake(bytes, size, h, limits, &reason)) {
        RAFTLITE_FUZZ_CHECK(ec == errc::bad_message, "failure is not bad_message");
        RAFTLITE_FUZZ_CHECK(reason != nullptr, "failure without a reason");
        return 0;
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
    return 0;
}
