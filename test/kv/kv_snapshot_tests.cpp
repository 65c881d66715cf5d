// The kv snapshot format (apps/kv/kv_snapshot.hpp) and the store's frozen
// images: round trips, an image that stays as it was while the store goes
// on, and bytes that are not a snapshot rejected with a reason, never a
// crash nor a partly loaded store.
#include <boost/test/unit_test.hpp>

#include "kv_snapshot.hpp"

#include <random>
#include <string>

using namespace raftlite::kv;

namespace {

kv_command put(std::string k, std::string v) { return {kv_op::put, std::move(k), std::move(v), std::nullopt, 0}; }
kv_command del(std::string k) { return {kv_op::del, std::move(k), "", std::nullopt, 0}; }

kv_store sample_store() {
    kv_store s;
    for (int i = 0; i < 2000; ++i) s.apply(put("key" + std::to_string(i), "value" + std::to_string(i * 7)));
    for (int i = 0; i < 2000; i += 3) s.apply(del("key" + std::to_string(i)));
    s.apply(put(std::string("\0bin\xff", 5), std::string("\0\0\x01", 3)));
    s.apply(put("empty", ""));
    return s;
}

std::string why(std::string_view bytes) {
    try {
        decode_snapshot(bytes);
    } catch (const bad_snapshot& e) {
        return e.what();
    }
    return {};
}

void put_u32_at(std::string& s, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

} // namespace

BOOST_AUTO_TEST_SUITE(kv_snapshot)

BOOST_AUTO_TEST_CASE(round_trip) {
    const kv_store s = sample_store();
    const std::string bytes = encode_snapshot(s.snapshot());
    const kv_store back = decode_snapshot(bytes);
    BOOST_TEST((back.contents() == s.contents()));
    BOOST_TEST(back.digest() == s.digest());
    BOOST_TEST(back.size() == s.size());
    BOOST_TEST(back.applied() == s.applied());
    // The same state gives the same bytes, however it was reached.
    BOOST_TEST(encode_snapshot(back.snapshot()) == bytes);
}

BOOST_AUTO_TEST_CASE(read_piece_by_piece) {
    const kv_store s = sample_store();
    std::string bytes;
    std::size_t pieces = 0;
    write_snapshot(s.snapshot(), [&](std::string_view p) { bytes += p; ++pieces; }, 100);
    BOOST_TEST(pieces > 100u);
    BOOST_TEST(bytes == encode_snapshot(s.snapshot()));
    // Read back 7 bytes at a time: fields straddle the pieces.
    std::size_t at = 0;
    const kv_store back = read_snapshot([&](std::string& out) {
        const std::size_t n = std::min<std::size_t>(7, bytes.size() - at);
        out.append(bytes, at, n);
        at += n;
    });
    BOOST_TEST((back.contents() == s.contents()));
}

BOOST_AUTO_TEST_CASE(empty_map) {
    kv_store s;
    const std::string bytes = encode_snapshot(s.snapshot());
    BOOST_TEST(bytes.size() == 8u + 4u + 8u + 8u + 8u);
    const kv_store back = decode_snapshot(bytes);
    BOOST_TEST(back.size() == 0u);
    BOOST_TEST(back.digest() == s.digest());
}

BOOST_AUTO_TEST_CASE(large_values) {
    kv_store s;
    std::mt19937 rng(7);
    std::string big(max_value_bytes, '\0');
    for (auto& c : big) c = static_cast<char>(rng());
    s.apply(put("big", big));
    s.apply(put(std::string(max_key_bytes, 'k'), std::string(3u << 20, 'x')));
    const kv_store back = decode_snapshot(encode_snapshot(s.snapshot()));
    BOOST_TEST((back.get("big") == big));
    BOOST_TEST(back.get(std::string(max_key_bytes, 'k'))->size() == 3u << 20);
    BOOST_TEST(back.digest() == s.digest());
}

BOOST_AUTO_TEST_CASE(an_image_stays_as_it_was_while_the_store_goes_on) {
    kv_store s = sample_store();
    const auto before = s.contents();
    const kv_image image = s.snapshot();
    for (int i = 0; i < 2000; ++i) s.apply(put("key" + std::to_string(i), "changed"));
    s.apply(del("empty"));
    const kv_store back = decode_snapshot(encode_snapshot(image));
    BOOST_TEST((back.contents() == before));
    BOOST_TEST(back.digest() == image.digest());
    BOOST_TEST((s.get("key1") == std::optional<std::string>("changed")));
    // A store restored from an image shares its shards: writes to it copy them.
    kv_store r;
    r.restore(image);
    r.apply(put("key1", "again"));
    BOOST_TEST((decode_snapshot(encode_snapshot(image)).contents() == before));
    BOOST_TEST((r.get("key1") == std::optional<std::string>("again")));
}

BOOST_AUTO_TEST_CASE(truncated_input_is_rejected_at_every_length) {
    kv_store s;
    for (int i = 0; i < 5; ++i) s.apply(put("k" + std::to_string(i), "v" + std::to_string(i)));
    const std::string bytes = encode_snapshot(s.snapshot());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const std::string w = why(bytes.substr(0, n));
        BOOST_TEST(!w.empty(), "a prefix of " << n << " bytes was accepted");
    }
    BOOST_TEST(why(bytes.substr(0, 20)).find("truncated snapshot") != std::string::npos);
    BOOST_TEST(why(bytes + "x").find("unexpected bytes after the digest") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(garbage_is_rejected_with_a_reason) {
    kv_store s;
    s.apply(put("a", "1"));
    s.apply(put("b", "2"));
    const std::string good = encode_snapshot(s.snapshot());
    const std::size_t first_entry = 8 + 4 + 8 + 8;

    BOOST_TEST(why("").find("truncated") != std::string::npos);
    BOOST_TEST(why("not a snapshot at all, just text").find("not a raftlite-kv snapshot") != std::string::npos);
    std::string v = good;
    put_u32_at(v, 8, 2);
    BOOST_TEST(why(v).find("unsupported raftlite-kv snapshot format version 2") != std::string::npos);
    v = good;
    put_u32_at(v, first_entry, 0);   // empty key
    BOOST_TEST(why(v).find("key length 0") != std::string::npos);
    v = good;
    put_u32_at(v, first_entry, 0xffffffffu);   // a length far beyond the input
    BOOST_TEST(why(v).find("key length 4294967295") != std::string::npos);
    v = good;
    put_u32_at(v, first_entry + 4 + 1, 0x7fffffffu);   // value length over the bound
    BOOST_TEST(why(v).find("value length") != std::string::npos);
    v = good;
    put_u32_at(v, first_entry + 4 + 1, 1000);   // within the bound, beyond the input
    BOOST_TEST(why(v).find("truncated") != std::string::npos);
    v = good;
    v[v.size() - 9] ^= 1;   // the last value's byte: the digest no longer matches
    BOOST_TEST(why(v).find("digest") != std::string::npos);
    v = good;
    v[8 + 4 + 8] = 3;   // the count says 3 entries, there are 2: reads into the digest
    BOOST_TEST(!why(v).empty());

    // The same key twice, with a count and digest that agree otherwise.
    kv_store one;
    one.apply(put("a", "1"));
    std::string dup = encode_snapshot(one.snapshot());
    const std::string entry = dup.substr(first_entry, dup.size() - 8 - first_entry);
    dup.insert(first_entry, entry);
    dup[8 + 4 + 8] = 2;
    BOOST_TEST(why(dup).find("a key that came before") != std::string::npos);

    // Random bytes after a valid header: rejected, whatever they are.
    std::mt19937 rng(11);
    for (int round = 0; round < 200; ++round) {
        std::string g = good.substr(0, first_entry);
        const std::size_t n = rng() % 64;
        for (std::size_t i = 0; i < n; ++i) g.push_back(static_cast<char>(rng()));
        BOOST_TEST(!why(g).empty());
    }
}

BOOST_AUTO_TEST_CASE(a_reader_that_fails_stops_the_load) {
    BOOST_CHECK_THROW(read_snapshot([](std::string&) { throw std::runtime_error("disk gone"); }), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
