// The kv snapshot format (apps/kv/kv_snapshot.hpp) and the store's frozen
// images: round trips, an image that stays as it was while the store goes
// on, and bytes that are not a snapshot rejected with a reason, never a
// crash nor a partly loaded store.
#include <boost/test/unit_test.hpp>

#include "kv_snapshot.hpp"
#include "kv_test_util.hpp"

#include <random>
#include <string>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

kv_command put(std::string k, std::string v) { return {kv_op::put, std::move(k), std::move(v), std::nullopt, 0}; }
kv_command del(std::string k) { return {kv_op::del, std::move(k), "", std::nullopt, 0}; }

kv_store sample_store() {
    kv_store s;
    for (int i = 0; i < 2000; ++i) apply_next(s, put("key" + std::to_string(i), "value" + std::to_string(i * 7)));
    for (int i = 0; i < 2000; i += 3) apply_next(s, del("key" + std::to_string(i)));
    apply_next(s, put(std::string("\0bin\xff", 5), std::string("\0\0\x01", 3)));
    apply_next(s, put("empty", ""));
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

// What follows the entries of a state without sessions: the digest, the
// session table's length and the empty table (version, time, count).
constexpr std::size_t tail_without_sessions = 8 + 8 + 17;

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
    BOOST_TEST(bytes.size() == 8u + 4u + 8u + 8u + tail_without_sessions);
    const kv_store back = decode_snapshot(bytes);
    BOOST_TEST(back.size() == 0u);
    BOOST_TEST(back.digest() == s.digest());
}

BOOST_AUTO_TEST_CASE(large_values) {
    kv_store s;
    std::mt19937 rng(7);
    std::string big(max_value_bytes, '\0');
    for (auto& c : big) c = static_cast<char>(rng());
    apply_next(s, put("big", big));
    apply_next(s, put(std::string(max_key_bytes, 'k'), std::string(3u << 20, 'x')));
    const kv_store back = decode_snapshot(encode_snapshot(s.snapshot()));
    BOOST_TEST((back.get("big") == big));
    BOOST_TEST(back.get(std::string(max_key_bytes, 'k'))->size() == 3u << 20);
    BOOST_TEST(back.digest() == s.digest());
}

BOOST_AUTO_TEST_CASE(an_image_stays_as_it_was_while_the_store_goes_on) {
    kv_store s = sample_store();
    const auto before = s.contents();
    const kv_image image = s.snapshot();
    for (int i = 0; i < 2000; ++i) apply_next(s, put("key" + std::to_string(i), "changed"));
    apply_next(s, del("empty"));
    const kv_store back = decode_snapshot(encode_snapshot(image));
    BOOST_TEST((back.contents() == before));
    BOOST_TEST(back.digest() == image.digest());
    BOOST_TEST((s.get("key1") == std::optional<std::string>("changed")));
    // A store restored from an image shares its shards: writes to it copy them.
    kv_store r;
    r.restore(image);
    apply_next(r, put("key1", "again"));
    BOOST_TEST((decode_snapshot(encode_snapshot(image)).contents() == before));
    BOOST_TEST((r.get("key1") == std::optional<std::string>("again")));
}

BOOST_AUTO_TEST_CASE(truncated_input_is_rejected_at_every_length) {
    kv_store s;
    for (int i = 0; i < 5; ++i) apply_next(s, put("k" + std::to_string(i), "v" + std::to_string(i)));
    const std::string bytes = encode_snapshot(s.snapshot());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const std::string w = why(bytes.substr(0, n));
        BOOST_TEST(!w.empty(), "a prefix of " << n << " bytes was accepted");
    }
    BOOST_TEST(why(bytes.substr(0, 20)).find("truncated snapshot") != std::string::npos);
    BOOST_TEST(why(bytes + "x").find("unexpected bytes after the session table") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(garbage_is_rejected_with_a_reason) {
    kv_store s;
    apply_next(s, put("a", "1"));
    apply_next(s, put("b", "2"));
    const std::string good = encode_snapshot(s.snapshot());
    const std::size_t first_entry = 8 + 4 + 8 + 8;

    BOOST_TEST(why("").find("truncated") != std::string::npos);
    BOOST_TEST(why("not a snapshot at all, just text").find("not a raftlite-kv snapshot") != std::string::npos);
    std::string v = good;
    put_u32_at(v, 8, 3);
    BOOST_TEST(why(v).find("unsupported raftlite-kv snapshot format version 3") != std::string::npos);
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
    v[v.size() - tail_without_sessions - 1] ^= 1;   // the last value's byte: the digest no longer matches
    BOOST_TEST(why(v).find("digest") != std::string::npos);
    v = good;
    v[8 + 4 + 8] = 3;   // the count says 3 entries, there are 2: reads into the digest
    BOOST_TEST(!why(v).empty());

    // The same key twice, with a count and digest that agree otherwise.
    kv_store one;
    apply_next(one, put("a", "1"));
    std::string dup = encode_snapshot(one.snapshot());
    const std::string entry = dup.substr(first_entry, dup.size() - tail_without_sessions - first_entry);
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

BOOST_AUTO_TEST_CASE(sessions_round_trip) {
    const raftlite::session_limits limits{60000, 10};
    kv_store s(limits);
    apply_next(s, put("k", "a"));
    kv_command open{kv_op::open_session};
    open.clock_ms = 5000;
    const auto id = apply_next(s, open).client_id;
    kv_command swap{kv_op::cas, "k", "b", std::string("a")};
    swap.client_id = id;
    swap.client_seq = 1;
    const auto first = apply_next(s, swap);
    BOOST_TEST((first.status == kv_status::ok));
    apply_next(s, put("k", "a"));

    const std::string bytes = encode_snapshot(s.snapshot());
    kv_store back = decode_snapshot(bytes, limits);
    BOOST_TEST((back.sessions() == s.sessions()));
    BOOST_TEST(back.digest() == s.digest());
    BOOST_TEST(back.sessions().now_ms() == 5000u);
    BOOST_TEST(encode_snapshot(back.snapshot()) == bytes);
    // The restored store still knows the retry: applied once, original answer.
    BOOST_TEST((apply_next(back, swap) == first));
    BOOST_TEST((back.get("k") == std::optional<std::string>("a")));
    // A store restored from an image has its sessions too.
    kv_store r(limits);
    r.restore(s.snapshot());
    BOOST_TEST((r.sessions() == s.sessions()));
    BOOST_TEST(r.digest() == s.digest());

    // A session table that is not one: refused, saying where.
    std::string v = bytes;
    v.pop_back();
    BOOST_TEST(why(v).find("truncated snapshot: the session table") != std::string::npos);
    v = bytes;
    const std::size_t table_start = bytes.size() - [&] {
        std::string t;
        s.sessions().encode(t);
        return t.size();
    }();
    v[table_start] = 9;   // the table's version
    BOOST_TEST(why(v).find("the session table at byte " + std::to_string(table_start)) != std::string::npos);
    BOOST_TEST(why(v).find("unsupported session table version 9") != std::string::npos);
}

// Snapshots written before sessions (version 1: nothing after the digest)
// still load, as a state without sessions.
BOOST_AUTO_TEST_CASE(version_1_snapshots_still_load) {
    const kv_store s = sample_store();
    std::string v1 = encode_snapshot(s.snapshot());
    v1.resize(v1.size() - (tail_without_sessions - 8));
    put_u32_at(v1, 8, 1);
    const kv_store back = decode_snapshot(v1);
    BOOST_TEST((back.contents() == s.contents()));
    BOOST_TEST(back.sessions().empty());
    BOOST_TEST(back.digest() == s.digest());
    BOOST_TEST(why(v1 + "x").find("unexpected bytes after the digest") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_reader_that_fails_stops_the_load) {
    BOOST_CHECK_THROW(read_snapshot([](std::string&) { throw std::runtime_error("disk gone"); }), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
