// Fuzz target: the kv command decoder (apps/kv/kv_command.hpp), which every
// peer runs on every committed entry's bytes (kv_main.cpp's apply, in place:
// try_decode_view).
//
// Any input must get the same verdict from try_decode and try_decode_view
// (the same error text on failure, the same fields on success, the view's
// strings inside the input); a command of the current format re-encodes to
// exactly the input (the format is canonical), one of format 1 survives its
// re-encoding; and a store applying the bytes gives the result of applying
// the decoded command (bad_command when they do not decode), with a digest
// that is the sum of its entries' hashes. Inputs of odd length run on a
// store at feature level 2 (kv_levels.hpp), the others at level 1, so both
// the commands of level 2 and their refusal are reached.
//
// max_len: 4096
#include "fuzz_check.hpp"

#include "kv_command.hpp"
#include "kv_levels.hpp"
#include "kv_store.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace raftlite::kv;

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string owned_error, view_error;
    const auto owned = try_decode(input, owned_error);
    const auto view = try_decode_view(input, view_error);
    RAFTLITE_FUZZ_CHECK(owned.has_value() == view.has_value(), "try_decode and try_decode_view disagree");
    RAFTLITE_FUZZ_CHECK(owned_error == view_error, "the two decoders give different errors");

    // A store on a key the input may name, so that cas and delete see a
    // value. Copies of one empty store: a copy shares its shards until it
    // writes (kv_store.hpp).
    static const kv_store level_1;
    static const kv_store level_2 = [] {
        kv_store s;
        s.apply(kv_command{kv_op::put, cluster_level_key(), "2"}, 1);
        return s;
    }();
    const kv_store& empty = size % 2 ? level_2 : level_1;
    kv_store store = empty;
    if (owned && owned->has_key()) store.apply(kv_command{kv_op::put, owned->key, "v"}, 1);
    const std::uint64_t before = store.applied();
    const kv_result applied = store.apply_encoded(input, before + 1);
    // A raise above the supported level is the one entry not applied (the
    // peer stops there).
    RAFTLITE_FUZZ_CHECK(store.applied() == before + (applied.status == kv_status::unsupported_level ? 0 : 1),
                        "apply_encoded did not count the entry");
    std::uint64_t sum = 0;
    for (const auto& [k, v] : store.contents()) sum += entry_hash(k, v);
    RAFTLITE_FUZZ_CHECK(store.entries_digest() == sum, "the digest is not the sum of the entries' hashes");

    if (!owned) {
        RAFTLITE_FUZZ_CHECK(!owned_error.empty(), "a rejected command without a reason");
        RAFTLITE_FUZZ_CHECK(applied.status == kv_status::bad_command && applied.error == owned_error,
                            "bytes that do not decode were not answered bad_command with the decoder's reason");
        return 0;
    }
    const kv_command& c = *owned;
    const kv_command_view& v = *view;
    RAFTLITE_FUZZ_CHECK(v.op == c.op && v.key == c.key && v.value == c.value &&
                            v.has_expected == c.expected.has_value() &&
                            v.expected == c.expected.value_or(std::string()) && v.origin_node == c.origin_node &&
                            v.origin_request == c.origin_request && v.client_id == c.client_id &&
                            v.client_seq == c.client_seq && v.clock_ms == c.clock_ms,
                        "the view and the owned command differ");
    RAFTLITE_FUZZ_CHECK(inside(v.key, input) && inside(v.value, input) && inside(v.expected, input),
                        "the view points outside the input");
    RAFTLITE_FUZZ_CHECK(validate(c).empty() && validate(v).empty(), "a decoded command is not valid");
    const std::string again = encode(c);
    if (input[0] == 2) RAFTLITE_FUZZ_CHECK(again == input, "a current-format command does not re-encode to its bytes");
    RAFTLITE_FUZZ_CHECK(decode(again) == c, "a decoded command does not survive its encoding");

    // The same command applied from the owned copy, to the same state.
    kv_store twin = empty;
    if (c.has_key()) twin.apply(kv_command{kv_op::put, c.key, "v"}, 1);
    RAFTLITE_FUZZ_CHECK(twin.apply(c, before + 1) == applied, "the bytes and the decoded command apply differently");
    RAFTLITE_FUZZ_CHECK(twin.digest() == store.digest(), "the bytes and the decoded command leave different states");
    return 0;
}
