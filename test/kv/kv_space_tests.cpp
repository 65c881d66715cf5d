// Tests of the space guard (kv_space.hpp): the state's size as the quota
// counts it, what a command may add, and which client writes are refused
// (the quota, this peer's disk, a member's no_space alarm) and which never
// are (deletes), and the rule that keeps replicas equal (refused before the
// log) with its broken variant (refused at apply) that must be caught.
#include <boost/test/unit_test.hpp>

#include "kv_levels.hpp"
#include "kv_snapshot.hpp"
#include "kv_space.hpp"
#include "kv_store.hpp"
#include "kv_test_util.hpp"
#include "kv_txn.hpp"

#include <filesystem>
#include <random>
#include <string>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

kv_command put(std::string k, std::string v) { return make_command(kv_op::put, std::move(k), std::move(v)); }

// What bytes() must be: the keys and values the map holds, counted afresh.
std::uint64_t counted_bytes(const kv_store& s) {
    std::uint64_t n = 0;
    for (const auto& [k, v] : s.contents()) n += k.size() + v.size();
    return n;
}

kv_command txn(std::vector<txn_op> success, std::vector<txn_op> failure = {}) {
    kv_txn t;
    t.success = std::move(success);
    t.failure = std::move(failure);
    return make_command(kv_op::txn, {}, encode_txn(t));
}

txn_op txn_put(std::string k, std::string v) { return {txn_op::kind::put, std::move(k), std::move(v)}; }

kv_space_options quota(std::uint64_t bytes) { return {bytes, 0}; }

} // namespace

BOOST_AUTO_TEST_SUITE(space_guard)

BOOST_AUTO_TEST_CASE(state_bytes_follow_every_write_and_a_snapshot) {
    const auto seed = test_seed("state_bytes_follow_every_write_and_a_snapshot");
    std::mt19937_64 rng(seed);
    kv_store s;
    apply_next(s, put(cluster_level_key(), "2"));   // delete_range and txn need level 2
    auto key = [&] { return "k" + std::to_string(rng() % 64); };
    auto value = [&] { return std::string(rng() % 40, 'v'); };
    for (int i = 0; i < 3000; ++i) {
        switch (rng() % 6) {
        case 0:
        case 1: apply_next(s, put(key(), value())); break;
        case 2: apply_next(s, make_command(kv_op::del, key())); break;
        case 3: {
            kv_command c = make_command(kv_op::cas, key(), value());
            c.expected = s.get(c.key);
            apply_next(s, c);
            break;
        }
        case 4: {
            std::string a = key(), b = key();
            if (b < a) std::swap(a, b);
            if (rng() % 8 == 0) apply_next(s, make_command(kv_op::delete_range, a, b));
            break;
        }
        case 5: apply_next(s, txn({txn_put(key(), value()), {txn_op::kind::del, key(), {}}})); break;
        }
        BOOST_TEST_REQUIRE(s.bytes() == counted_bytes(s), "after command " << i << ", seed " << seed);
    }
    // A snapshot's image, and a store read back from its bytes, count alike.
    const kv_image image = s.snapshot();
    BOOST_TEST(image.bytes() == s.bytes());
    kv_store restored;
    restored.restore(image);
    BOOST_TEST(restored.bytes() == s.bytes());
    BOOST_TEST(decode_snapshot(encode_snapshot(image)).bytes() == s.bytes());
    BOOST_TEST(s.entry_bytes(cluster_level_key()) == cluster_level_key().size() + 1);
    BOOST_TEST(s.entry_bytes("no such key") == 0u);
}

BOOST_AUTO_TEST_CASE(growth_counts_the_bytes_a_write_may_add) {
    kv_store s;
    apply_next(s, put("key", "12345"));   // 8 bytes
    BOOST_TEST(growth(put("new", "ab"), s) == 5u);
    BOOST_TEST(growth(put("key", "1234567"), s) == 2u);
    BOOST_TEST(growth(put("key", "1"), s) == 0u);   // shrinks
    BOOST_TEST(growth(make_command(kv_op::cas, "key", "123456"), s) == 1u);
    for (kv_op op : {kv_op::del, kv_op::get, kv_op::delete_range, kv_op::cas_delete, kv_op::open_session})
        BOOST_TEST(growth(make_command(op, "key", "a long value that would not count"), s) == 0u);
    // A txn: the larger branch's puts, beyond what their keys hold now.
    BOOST_TEST(growth(txn({txn_put("key", "123456789")}, {txn_put("x", "y"), txn_put("z", "w")}), s) == 4u);
    BOOST_TEST(growth(txn({{txn_op::kind::del, "key", {}}}), s) == 0u);
    BOOST_TEST(growth(make_command(kv_op::txn, {}, "not a transaction"), s) == 0u);
}

BOOST_AUTO_TEST_CASE(the_quota_refuses_growth_past_it_and_never_a_delete) {
    kv_store s;
    apply_next(s, put("a", std::string(89, 'x')));   // 90 bytes
    BOOST_TEST(!space_refusal(put("b", std::string(9, 'y')), s, quota(100), std::nullopt));   // exactly 100
    const auto refused = space_refusal(put("b", std::string(10, 'y')), s, quota(100), std::nullopt);
    BOOST_TEST_REQUIRE(refused.has_value());
    BOOST_TEST((refused->status == kv_status::no_space));
    BOOST_TEST(refused->error.find("quota_bytes") != std::string::npos, refused->error);
    BOOST_TEST(status_name(kv_status::no_space) == std::string("no_space"));
    // Writes that add nothing pass, however full the state is.
    BOOST_TEST(!space_refusal(put("a", "short"), s, quota(10), std::nullopt));
    BOOST_TEST(!space_refusal(make_command(kv_op::del, "a"), s, quota(10), std::nullopt));
    BOOST_TEST(!space_refusal(make_command(kv_op::delete_range, "", "z"), s, quota(10), std::nullopt));
    BOOST_TEST(!space_refusal(make_command(kv_op::get, "a"), s, quota(10), std::nullopt));
    // 0: no quota.
    BOOST_TEST(!space_refusal(put("b", std::string(1000, 'y')), s, quota(0), std::nullopt));
}

BOOST_AUTO_TEST_CASE(a_short_disk_refuses_growth_here_and_its_alarm_everywhere) {
    const kv_space_options o{0, 1000};   // no quota; keep 1000 bytes beyond the state
    kv_store s;
    apply_next(s, put("a", std::string(99, 'x')));   // 100 bytes
    // This peer's disk: the state after the write plus the reserve must fit.
    BOOST_TEST(!space_refusal(put("b", "1234"), s, o, 1105u));
    const auto refused = space_refusal(put("b", "12345"), s, o, 1105u);
    BOOST_TEST_REQUIRE(refused.has_value());
    BOOST_TEST(refused->error.find("reserve_bytes") != std::string::npos, refused->error);
    BOOST_TEST(!space_refusal(make_command(kv_op::del, "a"), s, o, 0u));
    // Unknown free space: only the quota and the alarms decide.
    BOOST_TEST(!space_refusal(put("b", "12345"), s, o, std::nullopt));

    // Another member's alarm, in the state, refuses growth on every peer.
    apply_next(s, put(no_space_alarm_key(3), "free 10 bytes"));
    BOOST_TEST(is_system_key(no_space_alarm_key(3)));
    BOOST_TEST((s.servers_under(no_space_alarms_prefix()) == std::vector<std::uint64_t>{3}));
    BOOST_TEST((member_of_key(no_space_alarm_key(3), no_space_alarms_prefix()) == std::optional<std::uint64_t>(3)));
    const auto alarmed = space_refusal(put("b", "1"), s, {}, 1u << 30);
    BOOST_TEST_REQUIRE(alarmed.has_value());
    BOOST_TEST(alarmed->error.find("n3") != std::string::npos, alarmed->error);
    BOOST_TEST(!space_refusal(make_command(kv_op::del, "a"), s, {}, 1u << 30));
    apply_next(s, make_command(kv_op::del, no_space_alarm_key(3)));
    BOOST_TEST(!space_refusal(put("b", "1"), s, {}, 1u << 30));
}

BOOST_AUTO_TEST_CASE(alarms_rise_below_the_reserve_and_drop_with_half_a_reserve_more) {
    const kv_space_options o{0, 1000};
    BOOST_TEST(disk_low(1099, 100, o));
    BOOST_TEST(!disk_low(1100, 100, o));
    BOOST_TEST(!disk_recovered(1599, 100, o));   // between the two: stays as it is
    BOOST_TEST(disk_recovered(1600, 100, o));
    // reserve_bytes = 0: the disk is not watched.
    BOOST_TEST(!disk_low(0, 100, {0, 0}));
    BOOST_TEST(disk_recovered(0, 100, {0, 0}));
    // statvfs of a directory that exists, and of one that does not.
    BOOST_TEST(free_bytes(std::filesystem::temp_directory_path()).has_value());
    BOOST_TEST(!free_bytes("/no/such/directory/anywhere").has_value());
}

// The rule that keeps replicas equal: a write is refused where it arrives,
// before the log, and every committed entry applies alike everywhere. Three
// peers with different quotas (a misconfiguration the guard must survive)
// take writes in turn; the log is what they broadcast. Kept, the replicas
// applying it end equal; in the broken variant each replica refuses at
// apply time by its own quota, and the replicas must part.
enum class refusal_at { proposer, apply };

bool replicas_equal(refusal_at where, unsigned seed) {
    std::mt19937_64 rng(seed);
    const std::uint64_t quotas[3] = {3000, 5000, 8000};
    kv_store replicas[3];
    for (int i = 0; i < 600; ++i) {
        const std::size_t proposer = i % 3;
        kv_command c = rng() % 4 == 0 ? make_command(kv_op::del, "k" + std::to_string(rng() % 80))
                                      : put("k" + std::to_string(rng() % 80), std::string(rng() % 200, 'v'));
        if (where == refusal_at::proposer && space_refusal(c, replicas[proposer], quota(quotas[proposer]), std::nullopt))
            continue;   // answered 507 there, never broadcast
        for (std::size_t r = 0; r < 3; ++r) {
            if (where == refusal_at::apply && space_refusal(c, replicas[r], quota(quotas[r]), std::nullopt)) continue;
            apply_next(replicas[r], c);
        }
    }
    return replicas[0].digest() == replicas[1].digest() && replicas[1].digest() == replicas[2].digest();
}

BOOST_AUTO_TEST_CASE(refused_where_it_arrives_every_replica_stays_equal) {
    const auto seed = static_cast<unsigned>(test_seed("space_guard/refused_where_it_arrives"));
    BOOST_TEST(replicas_equal(refusal_at::proposer, seed), "seed " << seed);
}

BOOST_AUTO_TEST_CASE(refused_at_apply_by_each_peer_the_replicas_part) {
    const auto seed = static_cast<unsigned>(test_seed("space_guard/refused_at_apply"));
    BOOST_TEST(!replicas_equal(refusal_at::apply, seed), "seed " << seed);
}

BOOST_AUTO_TEST_SUITE_END()
