// Tests of feature levels (kv_levels.hpp): the system keys, the level a
// store applies, the commands of level 2 (delete_range, cas_delete), and the
// rule that keeps a rolling upgrade's replicas equal, with the two broken
// variants of that rule that must be caught.
#include <boost/test/unit_test.hpp>

#include "kv_levels.hpp"
#include "kv_store.hpp"
#include "kv_test_util.hpp"

#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

kv_command put(std::string k, std::string v) { return make_command(kv_op::put, std::move(k), std::move(v)); }

kv_command delete_range(std::string from, std::string to) {
    return make_command(kv_op::delete_range, std::move(from), std::move(to));
}

kv_command cas_delete(std::string k, std::string expected) {
    kv_command c = make_command(kv_op::cas_delete, std::move(k));
    c.expected = std::move(expected);
    return c;
}

void raise_to_2(kv_store& s) { apply_next(s, put(cluster_level_key(), "2")); }

} // namespace

BOOST_AUTO_TEST_SUITE(feature_levels)

BOOST_AUTO_TEST_CASE(system_keys_and_level_values) {
    BOOST_TEST(is_system_key("\xff"));
    BOOST_TEST(is_system_key(level_report_key(3)));
    BOOST_TEST(is_system_key(cluster_level_key()));
    BOOST_TEST(!is_system_key(""));
    BOOST_TEST(!is_system_key("\xfe\xff"));
    BOOST_TEST(level_report_key(3) != level_report_key(30));
    BOOST_TEST(system_keys_begin() == "\xff");
    BOOST_TEST((parse_level("1") == std::optional<unsigned>(1)));
    BOOST_TEST((parse_level("999") == std::optional<unsigned>(999)));
    for (const char* bad : {"", "0", "01", "1000", "x", "2 ", "-1", "+2"}) BOOST_TEST(!parse_level(bad), bad);
    BOOST_TEST(format_level(2) == "2");
    BOOST_TEST(required_level(kv_op::put) == base_level);
    BOOST_TEST(required_level(kv_op::clock) == base_level);
    BOOST_TEST(required_level(kv_op::delete_range) == 2u);
    BOOST_TEST(required_level(kv_op::cas_delete) == 2u);
    BOOST_TEST(supported_level >= 2u);
}

BOOST_AUTO_TEST_CASE(report_keys_name_their_server) {
    BOOST_TEST((member_of_key(level_report_key(42), level_reports_prefix()) == std::optional<std::uint64_t>(42)));
    BOOST_TEST(!member_of_key(cluster_level_key(), level_reports_prefix()));
    BOOST_TEST(!member_of_key(level_reports_prefix(), level_reports_prefix()));
    BOOST_TEST(!member_of_key(level_reports_prefix() + "07", level_reports_prefix()));
    BOOST_TEST(!member_of_key(level_reports_prefix() + "7x", level_reports_prefix()));
    BOOST_TEST(!member_of_key("member/7", level_reports_prefix()));
    kv_store s;
    for (std::uint64_t id : {3, 1, 12}) apply_next(s, put(level_report_key(id), "2"));
    apply_next(s, put(cluster_level_key(), "2"));
    apply_next(s, put("member/5", "2"));
    BOOST_TEST((s.servers_under(level_reports_prefix()) == std::vector<std::uint64_t>{1, 12, 3}));   // key order
}

BOOST_AUTO_TEST_CASE(the_level_rises_to_what_every_member_reported) {
    using reports = std::vector<std::optional<unsigned>>;
    BOOST_TEST((level_to_raise(1, reports{2u, 2u, 2u}) == std::optional<unsigned>(2)));
    BOOST_TEST(!level_to_raise(1, reports{2u, std::nullopt, 2u}));   // one has not reported
    BOOST_TEST(!level_to_raise(1, reports{2u, 1u, 2u}));             // one holds it back
    BOOST_TEST(!level_to_raise(2, reports{2u, 2u, 2u}));             // there already
    BOOST_TEST(!level_to_raise(2, reports{1u, 1u, 1u}));             // never down
    BOOST_TEST((level_to_raise(1, reports{3u, 2u}) == std::optional<unsigned>(2)));
    BOOST_TEST(!level_to_raise(1, reports{}));
}

BOOST_AUTO_TEST_CASE(a_store_reads_its_level_from_the_system_keys) {
    kv_store s;
    BOOST_TEST(s.level() == base_level);
    BOOST_TEST(!s.reported_level(1));
    apply_next(s, put(level_report_key(1), "2"));
    BOOST_TEST((s.reported_level(1) == std::optional<unsigned>(2)));
    apply_next(s, put(cluster_level_key(), "not a level"));
    BOOST_TEST(s.level() == base_level);   // what is not a level raises nothing
    raise_to_2(s);
    BOOST_TEST(s.level() == 2u);
}

BOOST_AUTO_TEST_CASE(commands_above_the_level_change_nothing_not_even_their_session) {
    kv_store s;
    apply_next(s, put("a", "1"));
    const auto id = apply_next(s, make_command(kv_op::open_session)).client_id;
    const auto digest = s.digest();
    kv_command c = delete_range("a", "z");
    c.client_id = id;
    c.client_seq = 1;
    auto r = apply_next(s, c);
    BOOST_TEST((r.status == kv_status::level_too_low));
    BOOST_TEST(r.error.find("level 2") != std::string::npos, r.error);
    BOOST_TEST((apply_next(s, cas_delete("a", "1")).status == kv_status::level_too_low));
    BOOST_TEST(s.digest() == digest);
    BOOST_TEST(s.size() == 1u);
    // The same seq is fresh once the level allows it: nothing was recorded.
    raise_to_2(s);
    r = apply_next(s, c);
    BOOST_TEST((r.status == kv_status::ok));
    BOOST_TEST(r.count == 1u);
    BOOST_TEST(!s.get("a"));
}

BOOST_AUTO_TEST_CASE(delete_range_deletes_the_range_and_never_the_system_keys) {
    kv_store s;
    raise_to_2(s);
    std::vector<std::string> changed;
    s.on_change([&](raftlite::index_t, std::string_view key, const std::string* value) {
        if (!value) changed.emplace_back(key);
    });
    for (const char* k : {"a", "b", "b/1", "b/2", "c", "d"}) apply_next(s, put(k, "v"));
    auto r = apply_next(s, delete_range("b", "c"));
    BOOST_TEST((r.status == kv_status::ok));
    BOOST_TEST(r.count == 3u);
    BOOST_TEST((changed == std::vector<std::string>{"b", "b/1", "b/2"}));
    BOOST_TEST(s.size() == 4u);   // a, c, d and the level
    r = apply_next(s, delete_range("x", "y"));
    BOOST_TEST((r.status == kv_status::ok));
    BOOST_TEST(r.count == 0u);
    // Even a range past the system keys stops before them.
    r = apply_next(s, delete_range("", "\xff\xff\xff"));
    BOOST_TEST(r.count == 3u);
    BOOST_TEST(s.size() == 1u);
    BOOST_TEST(s.level() == 2u);
    // Many keys: more than one page of the walk.
    for (int i = 0; i < 3000; ++i) apply_next(s, put("k" + std::to_string(i), "v"));
    BOOST_TEST(apply_next(s, delete_range("k", "l")).count == 3000u);
    BOOST_TEST(s.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_retried_delete_range_gets_its_count_again) {
    kv_store s;
    raise_to_2(s);
    const auto id = apply_next(s, make_command(kv_op::open_session)).client_id;
    for (const char* k : {"p/1", "p/2"}) apply_next(s, put(k, "v"));
    kv_command c = delete_range("p/", "p0");
    c.client_id = id;
    c.client_seq = 1;
    BOOST_TEST(apply_next(s, c).count == 2u);
    apply_next(s, put("p/3", "v"));
    const auto retry = apply_next(s, c);   // the answer was lost: the same (id, seq)
    BOOST_TEST((retry.status == kv_status::ok));
    BOOST_TEST(retry.count == 2u);
    BOOST_TEST(s.get("p/3").has_value());   // not applied again
}

BOOST_AUTO_TEST_CASE(results_carry_a_count_only_when_there_is_one) {
    kv_result r;
    r.count = 7;
    std::string error;
    auto back = try_decode_result(encode_result(r), error);
    BOOST_TEST_REQUIRE(back.has_value(), error);
    BOOST_TEST(back->count == 7u);
    // Without a count, the bytes are those every older raftlite-kv reads.
    const std::string plain = encode_result(kv_result{});
    BOOST_TEST(static_cast<int>(plain[2]) == 0);
    std::string forged = encode_result(r);
    forged[2] = 4;
    BOOST_TEST(!try_decode_result(forged, error));
}

BOOST_AUTO_TEST_CASE(cas_delete_deletes_only_the_expected_value) {
    kv_store s;
    raise_to_2(s);
    apply_next(s, put("lock", "me"));
    auto r = apply_next(s, cas_delete("lock", "you"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST((r.value == std::optional<std::string>("me")));
    BOOST_TEST((apply_next(s, cas_delete("lock", "me")).status == kv_status::ok));
    BOOST_TEST(!s.get("lock"));
    r = apply_next(s, cas_delete("lock", "me"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST(!r.value);
}

BOOST_AUTO_TEST_CASE(a_level_above_the_supported_one_is_not_applied) {
    kv_store s;
    const auto applied = s.applied();
    const auto r = apply_next(s, put(cluster_level_key(), format_level(supported_level + 1)));
    BOOST_TEST((r.status == kv_status::unsupported_level));
    BOOST_TEST(r.error.find("upgrade this peer") != std::string::npos, r.error);
    BOOST_TEST(s.applied() == applied);
    BOOST_TEST(s.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// A rolling upgrade, entry by entry: three peers apply one log; peer 3 runs
// the previous raftlite-kv (it decodes no op above clock, so it changes
// nothing for them, as that version does) until it is upgraded midway. The
// peers follow the rule of kv_levels.hpp, or one of two broken variants:
// the leader raises the level without waiting for peer 3's report, or the
// new peers take the level they support as the cluster's instead of the
// one in the log. The clients' keys must be equal on every replica after
// every entry under the rule; each broken variant must make them differ (so
// the check can fail).
BOOST_AUTO_TEST_SUITE(rolling_upgrade)

namespace {

enum class rule { kept, raises_without_every_report, level_decided_locally };

// The previous version: ops 7 and above do not decode there (bad_command).
void apply_as_previous_version(kv_store& s, const std::string& bytes, raftlite::index_t index) {
    if (static_cast<unsigned char>(bytes[1]) > static_cast<unsigned char>(kv_op::clock)) return;
    s.apply_encoded(bytes, index);
}

// The clients' part of a store: everything below the system keys.
std::map<std::string, std::string> clients_keys(const kv_store& s) {
    auto all = s.contents();
    all.erase(all.lower_bound(system_keys_begin()), all.end());
    return all;
}

// Whether the replicas' clients' keys differed after some entry.
bool replicas_diverge(rule p, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<kv_store> peers(3);
    if (p == rule::level_decided_locally)
        for (std::size_t i : {0, 1}) raise_to_2(peers[i]);   // outside the log
    bool upgraded = false;   // peer 3
    std::vector<std::string> log;
    auto append = [&](const kv_command& c) {
        const std::string bytes = encode(c);
        const raftlite::index_t index = log.size() + 1;
        log.push_back(bytes);
        for (std::size_t i = 0; i < peers.size(); ++i) {
            if (i == 2 && !upgraded)
                apply_as_previous_version(peers[i], bytes, index);
            else
                peers[i].apply_encoded(bytes, index);
        }
    };
    // Peers 1 and 2 report at start; peer 3 cannot.
    for (std::uint64_t id : {1, 2}) append(put(level_report_key(id), format_level(supported_level)));
    bool diverged = false;
    for (int step = 0; step < 400; ++step) {
        if (step == 250 && !upgraded) {
            upgraded = true;   // restarted on the new version: it reports
            append(put(level_report_key(3), format_level(supported_level)));
        }
        const kv_store& leader = peers[0];
        // The leader's raise (kv_main.cpp check_level).
        std::vector<std::optional<unsigned>> reports;
        for (std::uint64_t id : {1, 2, 3}) reports.push_back(leader.reported_level(id));
        if (p == rule::raises_without_every_report) reports.erase(reports.begin() + 2);
        if (auto target = level_to_raise(leader.level(), reports)) {
            kv_command raise = make_command(kv_op::cas, cluster_level_key(), format_level(*target));
            raise.expected = leader.get(cluster_level_key());
            append(raise);
        }
        // A client's command: writes, and now and then one of level 2.
        const std::string key = "k" + std::to_string(rng() % 20);
        kv_command c;
        switch (rng() % 4) {
        case 0: c = delete_range("k1", "k5"); break;
        case 1: c = cas_delete(key, "v"); break;
        default: c = put(key, "v"); break;
        }
        // The proposer's gate (kv_main.cpp submit): refused before the log.
        if (required_level(c.op) <= leader.level()) append(c);
        const auto keys = clients_keys(peers[0]);
        if (keys != clients_keys(peers[1]) || keys != clients_keys(peers[2])) diverged = true;
        if (p == rule::kept && (peers[0].digest() != peers[1].digest() || peers[0].digest() != peers[2].digest()))
            diverged = true;
    }
    BOOST_TEST_MESSAGE("rule " << static_cast<int>(p) << " seed " << seed << ": " << log.size()
                                   << " entries, level " << peers[0].level());
    return diverged;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_rule_keeps_every_replica_equal) {
    const auto seed = static_cast<unsigned>(test_seed("rolling_upgrade/the_rule_keeps_every_replica_equal"));
    BOOST_TEST(!replicas_diverge(rule::kept, seed), "seed " << seed);
}

BOOST_AUTO_TEST_CASE(broken_rules_are_caught) {
    const auto seed = static_cast<unsigned>(test_seed("rolling_upgrade/broken_rules_are_caught"));
    BOOST_TEST(replicas_diverge(rule::raises_without_every_report, seed), "seed " << seed);
    BOOST_TEST(replicas_diverge(rule::level_decided_locally, seed), "seed " << seed);
}

BOOST_AUTO_TEST_SUITE_END()
