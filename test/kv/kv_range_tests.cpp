// Range reads of the kv state (kv_store::range, prefix_end): the entries of
// a key range in byte order, walked through the store's key-range shards,
// with their page limits; and the shards themselves splitting and going as
// keys come and go, under live snapshot images. Checked against a std::map
// holding the same entries.
#include <boost/test/unit_test.hpp>

#include "kv_store.hpp"
#include "kv_test_util.hpp"

#include <iostream>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

kv_command command(kv_op op, const std::string& key, const std::string& value = {}) {
    kv_command c;
    c.op = op;
    c.key = key;
    c.value = value;
    return c;
}

void put(kv_store& s, const std::string& k, const std::string& v) {
    apply_next(s, command(kv_op::put, k, v));
}

std::vector<std::string> keys_of(const kv_range& r) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : r.entries) keys.push_back(k);
    return keys;
}

// What the range should hold, from an ordered map of the same entries.
kv_range expected_range(const std::map<std::string, std::string>& all, const kv_range_query& q) {
    kv_range out;
    auto it = q.from_exclusive ? all.upper_bound(q.from) : all.lower_bound(q.from);
    std::size_t bytes = 0;
    for (; it != all.end() && (!q.to || it->first < *q.to); ++it) {
        const std::size_t size = it->first.size() + (q.keys_only ? 0 : it->second.size());
        if (out.entries.size() == q.limit || (!out.entries.empty() && bytes + size > q.max_bytes)) {
            out.more = true;
            break;
        }
        bytes += size;
        out.entries.emplace_back(it->first, q.keys_only ? std::string() : it->second);
    }
    return out;
}

// How many keys of `model` lie in q's range (its limits play no part).
std::size_t count_in(const std::map<std::string, std::string>& model, const kv_range_query& q) {
    std::size_t n = 0;
    for (const auto& [k, v] : model) n += in_range(q, k) ? 1 : 0;
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(range_reads)

BOOST_AUTO_TEST_CASE(prefix_end_is_the_least_string_above_the_prefix) {
    BOOST_TEST((prefix_end("abc") == std::optional<std::string>("abd")));
    BOOST_TEST((prefix_end(std::string("a\xff\xff", 3)) == std::optional<std::string>("b")));
    BOOST_TEST((prefix_end(std::string("a\x7f", 2)) == std::optional<std::string>("a\x80")));
    BOOST_TEST(!prefix_end("").has_value());
    BOOST_TEST(!prefix_end(std::string("\xff\xff", 2)).has_value());
}

BOOST_AUTO_TEST_CASE(a_prefix_lists_its_keys_in_byte_order) {
    kv_store s;
    for (const char* k : {"b/2", "a", "b/10", "b/1", "b0", "b", "c", "b/\xc3\xa9"}) put(s, k, std::string("v-") + k);
    kv_range_query q;
    q.from = "b/";
    q.to = prefix_end("b/");
    const kv_range r = s.range(q);
    BOOST_TEST((keys_of(r) == std::vector<std::string>{"b/1", "b/10", "b/2", "b/\xc3\xa9"}));
    BOOST_TEST(r.entries[0].second == "v-b/1");
    BOOST_TEST(!r.more);
}

BOOST_AUTO_TEST_CASE(pages_continue_after_the_last_key) {
    kv_store s;
    for (int i = 0; i < 25; ++i) put(s, "k" + std::to_string(100 + i), "v");
    kv_range_query q;
    q.limit = 10;
    std::vector<std::string> all;
    for (int pages = 1;; ++pages) {
        const kv_range r = s.range(q);
        for (auto& k : keys_of(r)) all.push_back(k);
        if (!r.more) {
            BOOST_TEST(pages == 3);
            break;
        }
        BOOST_TEST(r.entries.size() == 10u);
        q.from = r.entries.back().first;
        q.from_exclusive = true;
    }
    BOOST_TEST(all.size() == 25u);
    BOOST_TEST(std::is_sorted(all.begin(), all.end()));
    BOOST_TEST(all.front() == "k100");
    BOOST_TEST(all.back() == "k124");
}

BOOST_AUTO_TEST_CASE(a_page_stops_at_its_byte_limit_but_lists_one_entry_at_least) {
    kv_store s;
    put(s, "a", std::string(100, 'x'));
    put(s, "b", std::string(100, 'y'));
    put(s, "c", std::string(100, 'z'));
    kv_range_query q;
    q.max_bytes = 150;
    kv_range r = s.range(q);
    BOOST_TEST((keys_of(r) == std::vector<std::string>{"a"}));
    BOOST_TEST(r.more);
    q.max_bytes = 10;   // less than one entry: still one, so paging goes on
    r = s.range(q);
    BOOST_TEST(r.entries.size() == 1u);
    BOOST_TEST(r.more);
    q.keys_only = true;   // keys alone are small
    r = s.range(q);
    BOOST_TEST((keys_of(r) == std::vector<std::string>{"a", "b", "c"}));
    BOOST_TEST(r.entries[1].second.empty());
    BOOST_TEST(!r.more);
}

BOOST_AUTO_TEST_CASE(empty_and_inverted_ranges_list_nothing) {
    kv_store s;
    kv_range_query q;
    BOOST_TEST(s.range(q).entries.empty());
    put(s, "m", "1");
    q.from = "n";
    BOOST_TEST(s.range(q).entries.empty());
    q.from = "z";
    q.to = "a";
    BOOST_TEST(s.range(q).entries.empty());
    q.from = "m";
    q.to = "m";   // [m, m) is empty
    BOOST_TEST(s.range(q).entries.empty());
    q.to = std::string("m\0", 2);   // the least key above m: [m, m\0) holds m alone
    BOOST_TEST((keys_of(s.range(q)) == std::vector<std::string>{"m"}));
}

// Random keys (binary bytes included), puts and deletes, a snapshot taken
// midway (shards then shared and copied on write): every random query's
// answer equals the one an ordered map of the same entries gives.
BOOST_AUTO_TEST_CASE(random_ranges_match_an_ordered_map) {
    const std::uint64_t seed = test_seed("range_reads/random_ranges_match_an_ordered_map");
    std::mt19937_64 rng(seed);
    auto random_key = [&] {
        std::string k(1 + rng() % 4, '\0');
        for (char& c : k) c = static_cast<char>("ab\x00\xff/"[rng() % 5]);
        return k;
    };
    kv_store s;
    std::map<std::string, std::string> model;
    std::optional<kv_image> image;
    for (int step = 0; step < 3000; ++step) {
        const std::string k = random_key();
        if (rng() % 4 == 0) {
            apply_next(s, command(kv_op::del, k));
            model.erase(k);
        } else {
            const std::string v(rng() % 40, 'v');
            put(s, k, v);
            model[k] = v;
        }
        if (step == 1500) image = s.snapshot();
        if (step % 10 != 0) continue;
        kv_range_query q;
        q.from = rng() % 3 == 0 ? std::string() : random_key();
        q.from_exclusive = rng() % 2 == 0;
        if (rng() % 2 == 0) q.to = random_key();
        q.limit = 1 + rng() % 50;
        q.max_bytes = rng() % 2 == 0 ? 4u << 20 : rng() % 200;
        q.keys_only = rng() % 3 == 0;
        const kv_range got = s.range(q);
        const kv_range want = expected_range(model, q);
        BOOST_TEST_REQUIRE((got.entries == want.entries), "step " << step << " seed " << seed);
        BOOST_TEST_REQUIRE(got.more == want.more, "step " << step << " seed " << seed);
        BOOST_TEST_REQUIRE(s.count(q) == count_in(model, q), "step " << step << " seed " << seed);
    }
}

// Many keys split the shards (max_shard_entries each), deletes empty and
// drop them, all while an image taken in between still shares some: the
// store stays equal to a plain map, the image to the map it was taken from,
// and the digest to that of a store that got the same entries in another
// order (it depends on the entries, not on how they are sharded).
BOOST_AUTO_TEST_CASE(shards_split_and_go_while_images_share_them) {
    kv_store s;
    std::map<std::string, std::string> model;
    auto key = [](int i) { return "k" + std::to_string(i * 7919 % 6000); };
    for (int i = 0; i < 6000; ++i) {
        put(s, key(i), std::to_string(i));
        model[key(i)] = std::to_string(i);
    }
    const kv_image image = s.snapshot();
    const std::map<std::string, std::string> at_image = model;
    for (int i = 0; i < 6000; ++i) {
        if (i % 5 == 0) continue;   // keep one key in five
        apply_next(s, command(kv_op::del, key(i)));
        model.erase(key(i));
    }
    for (int i = 0; i < 700; ++i) {
        put(s, "m" + std::to_string(i), "x");
        model["m" + std::to_string(i)] = "x";
    }
    BOOST_TEST((s.contents() == model));
    BOOST_TEST(s.size() == model.size());
    std::vector<std::pair<std::string, std::string>> listed;
    image.for_each([&](const std::string& k, const std::string& v) { listed.emplace_back(k, v); });
    BOOST_TEST((listed == std::vector<std::pair<std::string, std::string>>(at_image.begin(), at_image.end())));
    kv_range_query q;
    q.limit = 100000;
    BOOST_TEST((s.range(q).entries == std::vector<std::pair<std::string, std::string>>(model.begin(), model.end())));
    q.from = "k5";
    q.to = prefix_end("k5");
    BOOST_TEST((s.range(q).entries == expected_range(model, q).entries));
    // Counts over many shards, whole ones counted by their size.
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::optional<std::string>>>{
             {"", std::nullopt}, {"k", std::string("l")}, {"k1", std::string("k4")}, {"k4", std::nullopt},
             {"m", std::string("m5")}, {"z", std::nullopt}, {"k3", std::string("k3")}}) {
        kv_range_query c;
        c.from = from;
        c.to = to;
        BOOST_TEST(s.count(c) == count_in(model, c), from);
    }

    kv_store same;
    for (auto it = model.rbegin(); it != model.rend(); ++it) put(same, it->first, it->second);
    BOOST_TEST(same.entries_digest() == s.entries_digest());

    // Every key gone: one empty shard is left, and the store works on.
    for (const auto& [k, v] : std::map<std::string, std::string>(model)) apply_next(s, command(kv_op::del, k));
    BOOST_TEST(s.size() == 0u);
    BOOST_TEST(s.range(kv_range_query{}).entries.empty());
    BOOST_TEST(s.entries_digest() == 0u);
    put(s, "again", "1");
    BOOST_TEST((s.get("again") == std::optional<std::string>("1")));
}

BOOST_AUTO_TEST_SUITE_END()
