// Tests of the kv state machine: semantics of each op, determinism, digest.
#include <boost/test/unit_test.hpp>

#include "kv_store.hpp"
#include "kv_test_util.hpp"

#include <random>
#include <string>
#include <vector>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

kv_command put(std::string k, std::string v) {
    return {kv_op::put, std::move(k), std::move(v), std::nullopt, 0};
}
kv_command get(std::string k) {
    return {kv_op::get, std::move(k), "", std::nullopt, 0};
}
kv_command del(std::string k) {
    return {kv_op::del, std::move(k), "", std::nullopt, 0};
}
kv_command cas(std::string k, std::optional<std::string> expected, std::string v) {
    return {kv_op::cas, std::move(k), std::move(v), std::move(expected), 0};
}

} // namespace

BOOST_AUTO_TEST_SUITE(state_machine)

BOOST_AUTO_TEST_CASE(put_get_delete) {
    kv_store s;
    BOOST_TEST((apply_next(s, get("a")).status == kv_status::not_found));
    BOOST_TEST((apply_next(s, put("a", "1")).status == kv_status::ok));
    auto r = apply_next(s, get("a"));
    BOOST_TEST((r.status == kv_status::ok));
    BOOST_TEST((r.value == std::optional<std::string>("1")));
    apply_next(s, put("a", "2"));
    BOOST_TEST((apply_next(s, get("a")).value == std::optional<std::string>("2")));
    BOOST_TEST((apply_next(s, del("a")).status == kv_status::ok));
    BOOST_TEST((apply_next(s, del("a")).status == kv_status::not_found));
    BOOST_TEST((apply_next(s, get("a")).status == kv_status::not_found));
    BOOST_TEST(s.size() == 0u);
    BOOST_TEST(s.applied() == 8u);
}

BOOST_AUTO_TEST_CASE(compare_and_swap) {
    kv_store s;
    // expected absent: create-if-absent
    BOOST_TEST((apply_next(s, cas("k", std::nullopt, "v1")).status == kv_status::ok));
    auto r = apply_next(s, cas("k", std::nullopt, "v2"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST((r.value == std::optional<std::string>("v1")));
    // wrong expected value: fails, reports the current value, changes nothing
    r = apply_next(s, cas("k", std::string("nope"), "v2"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST((r.value == std::optional<std::string>("v1")));
    BOOST_TEST(s.contents().at("k") == "v1");
    // right expected value: swaps
    BOOST_TEST((apply_next(s, cas("k", std::string("v1"), "v2")).status == kv_status::ok));
    BOOST_TEST(s.contents().at("k") == "v2");
    // expected a value on an absent key: fails with no current value
    r = apply_next(s, cas("other", std::string(""), "x"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST(!r.value.has_value());
    // the empty string is a value, not absence
    apply_next(s, put("e", ""));
    BOOST_TEST((apply_next(s, cas("e", std::nullopt, "x")).status == kv_status::cas_failed));
    BOOST_TEST((apply_next(s, cas("e", std::string(""), "x")).status == kv_status::ok));
}

BOOST_AUTO_TEST_CASE(encoded_commands) {
    kv_store s;
    BOOST_TEST((apply_encoded_next(s, encode(put("a", "1"))).status == kv_status::ok));
    BOOST_TEST((apply_encoded_next(s, encode(get("a"))).value == std::optional<std::string>("1")));
    auto before = s.digest();
    auto r = apply_encoded_next(s, "garbage");
    BOOST_TEST((r.status == kv_status::bad_command));
    BOOST_TEST(r.error.find("unsupported command format version") != std::string::npos);
    BOOST_TEST(s.digest() == before);
    BOOST_TEST(s.applied() == 3u);
}

BOOST_AUTO_TEST_CASE(same_commands_same_state) {
    std::vector<kv_command> cmds = {put("b", "2"), put("a", "1"),        cas("a", std::string("1"), "3"),
                                    del("b"),      cas("c", std::nullopt, "x"), put("d", std::string(3, '\0'))};
    kv_store s1, s2;
    std::vector<kv_result> r1, r2;
    for (auto& c : cmds) {
        r1.push_back(apply_next(s1, c));
        r2.push_back(apply_encoded_next(s2, encode(c)));
    }
    BOOST_TEST((r1 == r2));
    BOOST_TEST((s1.contents() == s2.contents()));
    BOOST_TEST(s1.digest() == s2.digest());
    BOOST_TEST(s1.contents().size() == 3u);
}

BOOST_AUTO_TEST_CASE(digest_sees_every_difference) {
    kv_store empty, a, b, c, d;
    apply_next(a, put("ab", "c"));
    apply_next(b, put("a", "bc"));   // same concatenation, different split
    apply_next(c, put("ab", "d"));
    apply_next(d, put("ab", "c"));
    BOOST_TEST(a.digest() != empty.digest());
    BOOST_TEST(a.digest() != b.digest());
    BOOST_TEST(a.digest() != c.digest());
    BOOST_TEST(a.digest() == d.digest());
    // order of application does not matter when the final state is the same
    kv_store x, y;
    apply_next(x, put("1", "a"));
    apply_next(x, put("2", "b"));
    apply_next(y, put("2", "b"));
    apply_next(y, put("1", "a"));
    BOOST_TEST(x.digest() == y.digest());
}

// Each entry keeps its hash so that an overwrite or a delete takes it out of
// the digest without hashing the old value again: the digest stays the sum
// of entry_hash over what the store holds (kv_store.hpp), which is what a
// snapshot records and checks.
BOOST_AUTO_TEST_CASE(digest_through_overwrites_and_deletes) {
    const unsigned seed = std::random_device{}();
    BOOST_TEST_MESSAGE("seed " << seed);
    std::mt19937 rng(seed);
    kv_store s;
    for (int i = 0; i < 2000; ++i) {
        const std::string key = "k" + std::to_string(rng() % 50);
        switch (rng() % 4) {
        case 0: apply_next(s, del(key)); break;
        case 1: apply_next(s, cas(key, s.get(key), std::string(rng() % 40, 'c'))); break;
        default: apply_next(s, put(key, std::string(rng() % 300, static_cast<char>('a' + rng() % 26)))); break;
        }
    }
    std::uint64_t sum = 0;
    for (const auto& [k, v] : s.contents()) sum += entry_hash(k, v);
    BOOST_TEST(s.entries_digest() == sum, "seed " << seed);
    kv_store fresh;
    for (const auto& [k, v] : s.contents()) apply_next(fresh, put(k, v));
    BOOST_TEST(fresh.digest() == s.digest(), "seed " << seed);
}

BOOST_AUTO_TEST_CASE(status_names) {
    BOOST_TEST(status_name(kv_status::ok) == std::string("ok"));
    BOOST_TEST(status_name(kv_status::not_found) == std::string("not_found"));
    BOOST_TEST(status_name(kv_status::cas_failed) == std::string("cas_failed"));
    BOOST_TEST(status_name(kv_status::bad_command) == std::string("bad_command"));
    BOOST_TEST(status_name(kv_status::session_expired) == std::string("session_expired"));
    BOOST_TEST(status_name(kv_status::stale_request) == std::string("stale_request"));
}

BOOST_AUTO_TEST_SUITE_END()

// Client sessions in the state machine (Raft thesis §6.3): a retried command
// of a session applies once and gets its original result.
BOOST_AUTO_TEST_SUITE(sessions)

namespace {

kv_command in_session(kv_command c, std::uint64_t id, std::uint64_t seq) {
    c.client_id = id;
    c.client_seq = seq;
    return c;
}
kv_command open_session(std::uint64_t clock_ms = 0) {
    kv_command c{kv_op::open_session};
    c.clock_ms = clock_ms;
    return c;
}
kv_command close_session(std::uint64_t id) {
    kv_command c{kv_op::close_session};
    c.client_id = id;
    return c;
}
kv_command clock(std::uint64_t ms) {
    kv_command c{kv_op::clock};
    c.clock_ms = ms;
    return c;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_retried_cas_applies_once_with_its_original_result) {
    kv_store s;
    apply_next(s, put("k", "a"));
    const auto opened = s.apply(open_session(), 7);
    BOOST_TEST((opened.status == kv_status::ok));
    BOOST_TEST(opened.client_id == 7u);   // the session's id is its entry's index
    const auto swap = in_session(cas("k", std::string("a"), "b"), 7, 1);
    BOOST_TEST((s.apply(swap, 8).status == kv_status::ok));
    // Another client moves the value back in between: applied again, the
    // retry would swap it once more; applied once, it changes nothing.
    BOOST_TEST((s.apply(put("k", "a"), 9).status == kv_status::ok));
    const auto retried = s.apply(swap, 10);
    BOOST_TEST((retried.status == kv_status::ok));
    BOOST_TEST((s.get("k") == std::optional<std::string>("a")));
    // Without a session the same retry applies twice.
    kv_store t;
    apply_next(t, put("k", "a"));
    apply_next(t, cas("k", std::string("a"), "b"));
    apply_next(t, put("k", "a"));
    apply_next(t, cas("k", std::string("a"), "b"));
    BOOST_TEST((t.get("k") == std::optional<std::string>("b")));
}

BOOST_AUTO_TEST_CASE(a_retry_gets_the_first_result_not_a_new_one) {
    kv_store s;
    s.apply(open_session(), 1);
    apply_next(s, put("k", "a"));
    const auto first = s.apply(in_session(cas("k", std::string("a"), "b"), 1, 1), 3);
    BOOST_TEST((first.status == kv_status::ok));
    // cas b->c by someone else, then the retry: ok, as the first time, and
    // the value shows the cas applied once (a second apply would fail it).
    BOOST_TEST((s.apply(cas("k", std::string("b"), "c"), 4).status == kv_status::ok));
    const auto retry = s.apply(in_session(cas("k", std::string("a"), "b"), 1, 1), 5);
    BOOST_TEST((retry == first));
    BOOST_TEST((s.get("k") == std::optional<std::string>("c")));
    // A delete that reported ok reports ok again, not not_found.
    const auto del1 = s.apply(in_session(del("k"), 1, 2), 6);
    BOOST_TEST((del1.status == kv_status::ok));
    BOOST_TEST((s.apply(in_session(del("k"), 1, 2), 7).status == kv_status::ok));
    // A failed cas keeps its failure, with the value it saw then.
    s.apply(put("k", "x"), 8);
    const auto failed = s.apply(in_session(cas("k", std::string("nope"), "y"), 1, 3), 9);
    BOOST_TEST((failed.status == kv_status::cas_failed));
    s.apply(put("k", "z"), 10);
    BOOST_TEST((s.apply(in_session(cas("k", std::string("nope"), "y"), 1, 3), 11) == failed));
}

BOOST_AUTO_TEST_CASE(stale_and_unknown_sessions_change_nothing) {
    kv_store s;
    s.apply(open_session(), 1);
    s.apply(in_session(put("k", "1"), 1, 1), 2);
    s.apply(in_session(put("k", "2"), 1, 2), 3);
    const auto digest = s.digest();
    const auto stale = s.apply(in_session(put("k", "1"), 1, 1), 4);
    BOOST_TEST((stale.status == kv_status::stale_request));
    BOOST_TEST(stale.error.find("client 1") != std::string::npos);
    const auto unknown = s.apply(in_session(put("k", "x"), 99, 1), 5);
    BOOST_TEST((unknown.status == kv_status::session_expired));
    BOOST_TEST(unknown.error.find("open a new one") != std::string::npos);
    BOOST_TEST(s.digest() == digest);
    BOOST_TEST((s.get("k") == std::optional<std::string>("2")));
    BOOST_TEST((s.apply(close_session(1), 6).status == kv_status::ok));
    BOOST_TEST((s.apply(close_session(1), 7).status == kv_status::session_expired));
    BOOST_TEST((s.apply(in_session(put("k", "3"), 1, 3), 8).status == kv_status::session_expired));
    BOOST_TEST((s.get("k") == std::optional<std::string>("2")));
}

BOOST_AUTO_TEST_CASE(sessions_expire_by_clock_entries) {
    kv_store s(raftlite::session_limits{60000, 100});
    // The first session takes its opener's time: the quiet time before it
    // is no idle time of its own.
    s.apply(open_session(1000000), 1);
    BOOST_TEST(s.sessions().now_ms() == 1000000u);
    s.apply(open_session(5000000), 2);   // sessions are open: the opener's time is not used
    BOOST_TEST(s.sessions().now_ms() == 1000000u);
    s.apply(clock(1030000), 3);
    s.apply(in_session(put("k", "v"), 2, 1), 4);   // session 2 active at 1030000
    s.apply(clock(1060000), 5);
    BOOST_TEST(s.sessions().count() == 2u);   // 1 idle exactly 60 s: still open
    s.apply(clock(1060001), 6);
    BOOST_TEST(s.sessions().count() == 1u);
    BOOST_TEST((s.apply(in_session(put("k", "w"), 1, 1), 7).status == kv_status::session_expired));
    s.apply(clock(1050000), 8);   // time never goes back
    BOOST_TEST(s.sessions().now_ms() == 1060001u);
    s.apply(clock(1090001), 9);
    BOOST_TEST(s.sessions().empty());
    BOOST_TEST((s.get("k") == std::optional<std::string>("v")));
}

BOOST_AUTO_TEST_CASE(replicas_applying_the_same_entries_agree) {
    const unsigned seed = std::random_device{}();
    BOOST_TEST_MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    std::vector<std::string> log;
    std::vector<std::uint64_t> opened;
    std::uint64_t now = 1000;
    for (std::uint64_t index = 1; index <= 3000; ++index) {
        const auto r = rng() % 10;
        kv_command c;
        const std::string key = "k" + std::to_string(rng() % 5);
        if (r == 0) {
            c = open_session(now);
            opened.push_back(index);
        } else if (r == 1) {
            now += rng() % 2000;
            c = clock(now);
        } else if (r == 2 && !opened.empty()) {
            c = close_session(opened[rng() % opened.size()]);
        } else {
            c = rng() % 2 ? put(key, std::to_string(index)) : cas(key, std::to_string(rng() % index), "x");
            if (!opened.empty() && rng() % 3) {
                c.client_id = opened[rng() % opened.size()];
                c.client_seq = 1 + rng() % 6;
            }
        }
        log.push_back(encode(c));
    }
    kv_store a(raftlite::session_limits{5000, 8}), b(raftlite::session_limits{5000, 8});
    std::vector<kv_result> ra, rb;
    for (std::size_t i = 0; i < log.size(); ++i) ra.push_back(a.apply_encoded(log[i], i + 1));
    for (std::size_t i = 0; i < log.size(); ++i) rb.push_back(b.apply_encoded(log[i], i + 1));
    BOOST_TEST((ra == rb));
    BOOST_TEST((a.contents() == b.contents()));
    BOOST_TEST((a.sessions() == b.sessions()));
    BOOST_TEST(a.digest() == b.digest());
    BOOST_TEST(a.sessions().count() <= 8u);
    // The digest covers the sessions: a store with the same map and other
    // sessions differs.
    kv_store c(raftlite::session_limits{5000, 8});
    for (const auto& [k, v] : a.contents()) c.load_entry(k, v);
    BOOST_TEST(c.entries_digest() == a.entries_digest());
    BOOST_TEST((c.digest() != a.digest() || a.sessions() == c.sessions()));
}

BOOST_AUTO_TEST_CASE(results_round_trip_through_their_encoding) {
    std::vector<kv_result> samples(5);
    samples[1].status = kv_status::cas_failed;
    samples[1].value = std::string("\0x", 2);
    samples[2].status = kv_status::cas_failed;   // absent: no value, not ""
    samples[3].client_id = 77;
    samples[4].status = kv_status::stale_request;
    samples[4].error = "why";
    for (const auto& r : samples) {
        std::string error;
        const auto back = try_decode_result(encode_result(r), error);
        BOOST_TEST_REQUIRE(back.has_value(), error);
        BOOST_TEST((*back == r));
        const std::string bytes = encode_result(r);
        for (std::size_t n = 0; n < bytes.size(); ++n)
            BOOST_TEST(!try_decode_result(bytes.substr(0, n), error).has_value());
        BOOST_TEST(!try_decode_result(bytes + "x", error).has_value());
    }
    std::string error;
    std::string bad = encode_result(samples[0]);
    bad[1] = 9;
    BOOST_TEST(!try_decode_result(bad, error).has_value());
    BOOST_TEST(error.find("unknown result status 9") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
