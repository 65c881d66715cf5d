// Fuzz target: the snapshot messages of a message frame (codec.hpp).
//
// fuzz_frame reaches install_snapshot only when a mutation happens to write
// its type byte and then a consistent snapshot_meta, chunk length and done
// flag; this target starts past the type byte so that every input exercises
// the snapshot decoders. Byte 0 picks the message (even: install_snapshot,
// odd: install_snapshot_response); the rest is the message's body, decoded
// as the payload of a message frame with the default decode_limits.
//
// Decoding fails with errc::bad_message, or yields the chosen message that
// keeps the chunk invariants (members within max_members, by ascending
// nonzero id, each address and info within 4096 bytes, the chunk within
// max_snapshot_chunk_bytes and inside meta.size, `done` exactly when the chunk
// ends the snapshot) and re-encodes to exactly the payload it came from.
//
// max_len: 4096 (a few member records with addresses and a chunk of a few KiB; ./run fuzz reads this line)
#include "fuzz_check.hpp"

#include <raftlite/codec.hpp>
#include <raftlite/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <variant>
#include <vector>

using namespace raftlite;

namespace {

// The variant index the encoder writes as a payload's first byte.
template <class T, std::size_t I = 0>
constexpr std::uint8_t index_of() {
    if constexpr (std::is_same_v<std::variant_alternative_t<I, message>, T>)
        return static_cast<std::uint8_t>(I);
    else
        return index_of<T, I + 1>();
}
constexpr std::uint8_t chunk_index = index_of<install_snapshot>();
constexpr std::uint8_t answer_index = index_of<install_snapshot_response>();

void check_chunk(const install_snapshot& m, const decode_limits& limits) {
    RAFTLITE_FUZZ_CHECK(m.data != nullptr, "decoded chunk without data");
    RAFTLITE_FUZZ_CHECK(m.meta.members.size() <= limits.max_members, "members over max_members");
    const auto& ms = m.meta.members.members();
    for (std::size_t i = 0; i < ms.size(); ++i) {
        RAFTLITE_FUZZ_CHECK(ms[i].id != no_node, "a member with id 0");
        RAFTLITE_FUZZ_CHECK(i == 0 || ms[i - 1].id < ms[i].id, "members not by ascending id");
        RAFTLITE_FUZZ_CHECK(ms[i].address.size() <= 4096 && ms[i].info.size() <= 4096,
                            "member address or info over 4096 bytes");
        RAFTLITE_FUZZ_CHECK(m.meta.members.is_voter(ms[i].id) == ms[i].voter, "voter flag lost");
    }
    // The same configuration goes into snapshot files and configuration entries.
    const auto config = decode_membership(encode_membership(m.meta.members));
    RAFTLITE_FUZZ_CHECK(config && *config == m.meta.members, "members do not survive encode_membership");
    const std::uint64_t size = m.data->size();
    RAFTLITE_FUZZ_CHECK(size <= limits.max_snapshot_chunk_bytes, "chunk over max_snapshot_chunk_bytes");
    RAFTLITE_FUZZ_CHECK(m.offset <= m.meta.size, "chunk starts beyond the snapshot");
    RAFTLITE_FUZZ_CHECK(size <= m.meta.size - m.offset, "chunk ends beyond the snapshot");
    RAFTLITE_FUZZ_CHECK(m.done == (m.offset + size == m.meta.size), "done flag does not match the chunk's end");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const bool want_chunk = (data[0] & 1) == 0;
    // The payload as it would follow a message frame's header; a copy of
    // exactly its size, so that ASan catches a read past it.
    std::vector<char> payload(size);
    payload[0] = static_cast<char>(want_chunk ? chunk_index : answer_index);
    if (size > 1)
        std::memcpy(payload.data() + 1, data + 1, size - 1);
    const decode_limits limits;

    message m;
    const char* reason = nullptr;
    if (auto ec = decode_message(payload.data(), payload.size(), m, limits, &reason)) {
        RAFTLITE_FUZZ_CHECK(ec == errc::bad_message, "decode failure is not bad_message");
        RAFTLITE_FUZZ_CHECK(reason != nullptr, "decode failure without a reason");
        return 0;
    }
    if (want_chunk) {
        const auto* c = std::get_if<install_snapshot>(&m);
        RAFTLITE_FUZZ_CHECK(c != nullptr, "decoded another message than install_snapshot");
        check_chunk(*c, limits);
    } else {
        RAFTLITE_FUZZ_CHECK(std::holds_alternative<install_snapshot_response>(m),
                            "decoded another message than install_snapshot_response");
    }

    // Round trip: the one encoding of this message is the payload it came from.
    std::vector<char> again;
    encode_message(m, again);
    RAFTLITE_FUZZ_CHECK(again.size() == frame_header_size + payload.size(), "re-encoded payload has another size");
    RAFTLITE_FUZZ_CHECK(std::memcmp(again.data() + frame_header_size, payload.data(), payload.size()) == 0,
                        "re-encoded payload differs from the input");
    frame_header h;
    RAFTLITE_FUZZ_CHECK(!parse_frame_header(again.data(), h, default_max_frame_bytes),
                        "re-encoded header does not parse");
    RAFTLITE_FUZZ_CHECK(h.kind == frame_kind::message && h.payload_size == payload.size(),
                        "re-encoded header does not describe the payload");

    message m2;
    RAFTLITE_FUZZ_CHECK(!decode_message(again.data() + frame_header_size, h.payload_size, m2, limits),
                        "re-encoded message does not decode");
    RAFTLITE_FUZZ_CHECK(m2.index() == m.index(), "round trip changed the message kind");
    std::vector<char> third;
    encode_message(m2, third);
    RAFTLITE_FUZZ_CHECK(third == again, "second round trip differs");
    return 0;
}
