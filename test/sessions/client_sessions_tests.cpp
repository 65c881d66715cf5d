// raftlite::client_sessions (client_sessions.hpp): the verdicts of the Raft
// thesis §6.3 session table, expiry by cluster time and by the size bound,
// determinism, and its strict encoding.
#define BOOST_TEST_MODULE sessions_tests
#include <boost/test/unit_test.hpp>

#include <raftlite/client_sessions.hpp>

#include <random>
#include <string>
#include <vector>

using raftlite::bad_client_sessions;
using raftlite::client_sessions;
using raftlite::session_limits;
using verdict = client_sessions::verdict;

namespace {

std::string why(std::string_view bytes, session_limits limits = {}) {
    try {
        client_sessions::decode(bytes, limits);
    } catch (const bad_client_sessions& e) {
        return e.what();
    }
    return {};
}

std::string encoded(const client_sessions& t) {
    std::string out;
    t.encode(out);
    return out;
}

std::vector<std::uint64_t> ids(const client_sessions& t) {
    std::vector<std::uint64_t> v;
    t.for_each([&](std::uint64_t id, const client_sessions::session&) { v.push_back(id); });
    return v;
}

} // namespace

BOOST_AUTO_TEST_CASE(verdicts_follow_the_highest_recorded_seq) {
    client_sessions t;
    const auto id = t.open(42, 1000);
    BOOST_TEST(id == 42u);
    BOOST_TEST((t.check(42, 1) == verdict::fresh));
    BOOST_TEST((t.check(42, 0) == verdict::stale));   // 0 numbers no command
    BOOST_TEST(t.saved(42) == nullptr);
    BOOST_TEST(t.record(42, 1, "first"));
    BOOST_TEST((t.check(42, 1) == verdict::duplicate));
    BOOST_TEST(*t.saved(42) == "first");
    BOOST_TEST((t.check(42, 2) == verdict::fresh));
    BOOST_TEST((t.check(42, 7) == verdict::fresh));   // a client may skip numbers
    BOOST_TEST(t.record(42, 7, "seventh"));
    BOOST_TEST((t.check(42, 1) == verdict::stale));
    BOOST_TEST((t.check(42, 6) == verdict::stale));
    BOOST_TEST((t.check(42, 7) == verdict::duplicate));
    BOOST_TEST(*t.saved(42) == "seventh");
    // Only a fresh seq is recorded.
    BOOST_TEST(!t.record(42, 7, "again"));
    BOOST_TEST(!t.record(42, 3, "older"));
    BOOST_TEST(*t.saved(42) == "seventh");
    BOOST_TEST((t.check(43, 1) == verdict::unknown_session));
    BOOST_TEST(!t.record(43, 1, "x"));
    BOOST_TEST(t.close(42));
    BOOST_TEST(!t.close(42));
    BOOST_TEST((t.check(42, 8) == verdict::unknown_session));
    BOOST_TEST(t.count() == 0u);
    BOOST_CHECK_THROW(t.open(0, 1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(idle_sessions_expire_by_cluster_time_only) {
    client_sessions t(session_limits{1000, 10});
    t.open(1, 5000);
    t.open(2, 5500);
    t.record(1, 1, "r");   // active again at 5500
    t.advance_time(6000);
    t.open(3, 6000);
    t.advance_time(6500);
    BOOST_TEST(t.count() == 3u);   // exactly expiry_ms idle: still open
    t.advance_time(6501);          // 1 and 2 idle since 5500
    BOOST_TEST((ids(t) == std::vector<std::uint64_t>{3}));
    BOOST_TEST((t.check(1, 2) == verdict::unknown_session));
    BOOST_TEST(t.expired() == 2u);
    t.advance_time(6000);          // time never goes back
    BOOST_TEST(t.now_ms() == 6501u);
    // A record keeps a session alive.
    t.advance_time(6900);
    t.record(3, 1, "a");
    t.advance_time(7900);
    BOOST_TEST(t.count() == 1u);
    t.advance_time(7901);
    BOOST_TEST(t.count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_full_table_expires_the_least_recently_active) {
    client_sessions t(session_limits{1000000, 3});
    t.open(10, 100);
    t.open(11, 100);
    t.open(12, 100);
    t.record(10, 1, "x");   // 10 is active at 100 too: ties go by id
    t.advance_time(200);
    t.record(11, 1, "y");   // 11 is now the most recent
    t.open(13, 300);        // full: 10 and 12 are the oldest at 100; 10 has the lower id
    BOOST_TEST((ids(t) == std::vector<std::uint64_t>{11, 12, 13}));
    t.open(14, 300);        // 12 (100) goes
    BOOST_TEST((ids(t) == std::vector<std::uint64_t>{11, 13, 14}));
    BOOST_TEST(t.expired() == 2u);
}

BOOST_AUTO_TEST_CASE(replicas_applying_the_same_steps_agree) {
    const unsigned seed = std::random_device{}();
    BOOST_TEST_MESSAGE("seed " << seed);
    std::mt19937_64 rng(seed);
    client_sessions a(session_limits{500, 20}), b(session_limits{500, 20});
    std::uint64_t index = 0, now = 0;
    for (int step = 0; step < 5000; ++step) {
        const auto r = rng() % 10;
        ++index;
        if (r < 2) {
            a.open(index, now);
            b.open(index, now);
        } else if (r < 3) {
            now += rng() % 200;
            a.advance_time(now);
            b.advance_time(now);
        } else if (r < 4) {
            const auto id = index - 1 - rng() % 50;
            BOOST_TEST(a.close(id) == b.close(id));
        } else {
            const auto id = index - 1 - rng() % 50;
            const auto seq = rng() % 8;
            const auto v = a.check(id, seq);
            BOOST_TEST((v == b.check(id, seq)));
            if (v == verdict::fresh) {
                a.record(id, seq, std::to_string(index));
                b.record(id, seq, std::to_string(index));
            }
        }
        BOOST_TEST(a.count() <= 20u);
    }
    BOOST_TEST((a == b));
    BOOST_TEST(a.digest() == b.digest());
    BOOST_TEST(encoded(a) == encoded(b));
}

BOOST_AUTO_TEST_CASE(the_digest_sees_every_difference) {
    client_sessions base;
    base.open(5, 100);
    base.record(5, 1, "r");
    auto differs = [&](auto change) {
        client_sessions t = client_sessions::decode(encoded(base), {});
        BOOST_TEST(t.digest() == base.digest());
        change(t);
        return t.digest() != base.digest();
    };
    BOOST_TEST(differs([](client_sessions& t) { t.advance_time(101); }));
    BOOST_TEST(differs([](client_sessions& t) { t.record(5, 2, "r"); }));
    BOOST_TEST(differs([](client_sessions& t) { t.close(5); }));
    BOOST_TEST(differs([](client_sessions& t) { t.open(6, 100); }));
    BOOST_TEST(differs([](client_sessions& t) {
        t.close(5);
        t.open(5, 100);
        t.record(5, 1, "s");
    }));
}

BOOST_AUTO_TEST_CASE(encoding_round_trips) {
    client_sessions t(session_limits{10000, 100});
    t.open(3, 50);
    t.open(9, 60);
    t.record(9, 4, std::string("\0bin\xff", 5));
    t.open(12, 70);
    const std::string bytes = encoded(t);
    const auto back = client_sessions::decode(bytes, t.limits());
    BOOST_TEST((back == t));
    BOOST_TEST(back.digest() == t.digest());
    BOOST_TEST(back.now_ms() == 70u);
    BOOST_TEST(*back.saved(9) == std::string("\0bin\xff", 5));
    BOOST_TEST(encoded(back) == bytes);
    // Empty table: version, time, count.
    BOOST_TEST(encoded(client_sessions()).size() == 17u);
    // Over a lower limit: kept as it is, shrunk by the next open, oldest first.
    auto small = client_sessions::decode(bytes, session_limits{10000, 2});
    BOOST_TEST(small.count() == 3u);
    small.open(20, 80);
    BOOST_TEST((ids(small) == std::vector<std::uint64_t>{12, 20}));
}

BOOST_AUTO_TEST_CASE(bad_bytes_are_refused_with_a_reason) {
    client_sessions t;
    t.open(3, 50);
    t.record(3, 1, "abc");
    t.open(4, 60);
    const std::string good = encoded(t);
    for (std::size_t n = 0; n < good.size(); ++n)
        BOOST_TEST(!why(good.substr(0, n)).empty(), "a prefix of " << n << " bytes was accepted");
    BOOST_TEST(why("").find("truncated") != std::string::npos);
    BOOST_TEST(why(good + "x").find("unexpected bytes") != std::string::npos);
    std::string v = good;
    v[0] = 2;
    BOOST_TEST(why(v).find("unsupported session table version 2") != std::string::npos);
    v = good;
    v[9] = static_cast<char>(0xff);   // the count's low byte: far more than fits
    BOOST_TEST(why(v).find("does not fit") != std::string::npos);
    const std::size_t first = 1 + 8 + 8, second = first + 8 + 8 + 8 + 4 + 3;
    v = good;
    v[second] = 3;   // the second id equals the first
    BOOST_TEST(why(v).find("not above the previous id") != std::string::npos);
    v = good;
    v[first] = 0;   // id 0
    BOOST_TEST(why(v).find("ids start at 1") != std::string::npos);
    v = good;
    v[first + 8] = 100;   // last active 100 > cluster time 60
    BOOST_TEST(why(v).find("after the cluster time") != std::string::npos);
    v = good;
    v[first + 16] = 0;   // last seq 0 with a response
    BOOST_TEST(why(v).find("without a recorded seq") != std::string::npos);
    v = good;
    v[first + 24] = static_cast<char>(0xff);   // response length beyond the input
    BOOST_TEST(why(v).find("truncated") != std::string::npos);
    std::mt19937 rng(5);
    for (int round = 0; round < 500; ++round) {
        std::string g = good;
        g[rng() % g.size()] = static_cast<char>(rng());
        try {
            const auto d = client_sessions::decode(g, {});
            BOOST_TEST(encoded(d) == g);   // whatever decodes encodes back to itself
        } catch (const bad_client_sessions&) {
        }
    }
}
