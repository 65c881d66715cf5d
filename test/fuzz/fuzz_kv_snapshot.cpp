// Fuzz target: the kv snapshot decoder (apps/kv/kv_snapshot.hpp), which a
// restore runs on the bytes of a snapshot file.
//
// Any input must either be rejected with bad_snapshot or decode into a store
// whose own encoding decodes again to the same contents, client sessions,
// digest and count.
// The input is also fed in pieces of 1..16 bytes (the first byte chooses), so
// fields that straddle reads are covered; both ways must agree.
//
// max_len: 4096
#include "fuzz_check.hpp"

#include "kv_snapshot.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>

using namespace raftlite::kv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 16;
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    std::optional<kv_store> whole;
    try {
        whole = decode_snapshot(input);
    } catch (const bad_snapshot&) {
    }
    std::optional<kv_store> pieces;
    std::size_t at = 0;
    try {
        pieces = read_snapshot([&](std::string& out) {
            const std::size_t n = std::min(piece, input.size() - at);
            out.append(input.substr(at, n));
            at += n;
        });
    } catch (const bad_snapshot&) {
    }
    RAFTLITE_FUZZ_CHECK(whole.has_value() == pieces.has_value(), "whole and piecewise decoding disagree");
    if (!whole) return 0;
    RAFTLITE_FUZZ_CHECK(whole->contents() == pieces->contents(), "whole and piecewise contents differ");
    const kv_store again = decode_snapshot(encode_snapshot(whole->snapshot()));
    RAFTLITE_FUZZ_CHECK(again.contents() == whole->contents(), "a decoded store does not survive its encoding");
    RAFTLITE_FUZZ_CHECK(again.sessions() == whole->sessions() && pieces->sessions() == whole->sessions(),
                        "decoded client sessions differ between readings or through their encoding");
    RAFTLITE_FUZZ_CHECK(again.digest() == whole->digest() && again.size() == whole->size() &&
                            again.applied() == whole->applied(),
                        "a decoded store's digest, size or count changed through its encoding");
    return 0;
}
