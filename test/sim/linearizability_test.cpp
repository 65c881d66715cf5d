// Tests of the linearizability checker: it must tell hand-made linearizable
// and non-linearizable histories apart, and be fast on long random ones.
#include "linearizability.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <random>

using namespace raftlite::sim;

namespace {

kv_op put(std::string k, std::int64_t v, std::uint64_t b, std::uint64_t e) {
    kv_op op;
    op.kind = kv_kind::put; op.key = std::move(k); op.value = v;
    op.invoke = b; op.complete = e; op.determinate = true;
    return op;
}
kv_op get(std::string k, std::int64_t seen, std::uint64_t b, std::uint64_t e) {
    kv_op op;
    op.kind = kv_kind::get; op.key = std::move(k); op.observed = seen;
    op.invoke = b; op.complete = e; op.determinate = true;
    return op;
}
kv_op cas(std::string k, std::int64_t from, std::int64_t to, bool ok, std::uint64_t b, std::uint64_t e) {
    kv_op op;
    op.kind = kv_kind::cas; op.key = std::move(k); op.expected = from; op.value = to; op.succeeded = ok;
    op.invoke = b; op.complete = e; op.determinate = true;
    return op;
}
kv_op del(std::string k, std::uint64_t b, std::uint64_t e) {
    kv_op op;
    op.kind = kv_kind::del; op.key = std::move(k);
    op.invoke = b; op.complete = e; op.determinate = true;
    return op;
}
kv_op unknown(kv_op op) { op.determinate = false; op.complete = 0; return op; }

bool ok(const std::vector<kv_op>& h) {
    const lin_result r = check_linearizable(h);
    BOOST_TEST_MESSAGE(lin_verdict_name(r.verdict) << "\n" << r.explanation);
    BOOST_REQUIRE(r.verdict != lin_verdict::unknown);
    return bool(r);
}

} // namespace

BOOST_AUTO_TEST_SUITE(linearizability)

BOOST_AUTO_TEST_CASE(empty_and_sequential) {
    BOOST_TEST(ok({}));
    BOOST_TEST(ok({get("x", kv_absent, 0, 1), put("x", 1, 2, 3), get("x", 1, 4, 5),
                   cas("x", 1, 2, true, 6, 7), cas("x", 1, 3, false, 8, 9), get("x", 2, 10, 11),
                   del("x", 12, 13), get("x", kv_absent, 14, 15)}));
}

BOOST_AUTO_TEST_CASE(stale_read_after_completed_put) {
    BOOST_TEST(!ok({put("x", 1, 0, 1), put("x", 2, 2, 3), get("x", 1, 4, 5)}));
    // ...but the same read overlapping the second put is fine.
    BOOST_TEST(ok({put("x", 1, 0, 1), put("x", 2, 2, 6), get("x", 1, 4, 5)}));
}

BOOST_AUTO_TEST_CASE(read_of_a_value_never_written) {
    BOOST_TEST(!ok({put("x", 1, 0, 1), get("x", 7, 2, 3)}));
    BOOST_TEST(!ok({get("x", 1, 0, 1), put("x", 1, 2, 3)}));   // read from the future
}

BOOST_AUTO_TEST_CASE(lost_cas) {
    // Two cas from the same value both succeed: one of them was lost.
    BOOST_TEST(!ok({put("x", 1, 0, 1), cas("x", 1, 2, true, 2, 5), cas("x", 1, 3, true, 3, 6)}));
    // A successful cas whose write then disappears.
    BOOST_TEST(!ok({put("x", 1, 0, 1), cas("x", 1, 2, true, 2, 3), get("x", 1, 4, 5)}));
    // One wins, the other fails: fine in either order.
    BOOST_TEST(ok({put("x", 1, 0, 1), cas("x", 1, 2, true, 2, 5), cas("x", 1, 3, false, 3, 6),
                   get("x", 2, 7, 8)}));
    BOOST_TEST(ok({put("x", 1, 0, 1), cas("x", 1, 2, false, 2, 5), cas("x", 1, 3, true, 3, 6),
                   get("x", 3, 7, 8)}));
}

BOOST_AUTO_TEST_CASE(concurrent_writes_either_order) {
    BOOST_TEST(ok({put("x", 1, 0, 10), put("x", 2, 1, 9), get("x", 1, 11, 12)}));
    BOOST_TEST(ok({put("x", 1, 0, 10), put("x", 2, 1, 9), get("x", 2, 11, 12)}));
    // Both readers after both writes must agree.
    BOOST_TEST(!ok({put("x", 1, 0, 10), put("x", 2, 1, 9), get("x", 2, 11, 12), get("x", 1, 13, 14)}));
    // Readers concurrent with the writes may see them in either order, but not flip back.
    BOOST_TEST(ok({put("x", 1, 0, 10), put("x", 2, 1, 9), get("x", 2, 2, 3), get("x", 1, 4, 5)}));
    BOOST_TEST(!ok({put("x", 1, 0, 10), put("x", 2, 1, 9), get("x", 2, 2, 3), get("x", 1, 4, 5),
                    get("x", 2, 6, 7)}));
}

BOOST_AUTO_TEST_CASE(indeterminate_put_that_later_shows_up) {
    // The put timed out, and a read long after sees it: it took effect late.
    BOOST_TEST(ok({put("x", 1, 0, 1), unknown(put("x", 2, 2, 0)), get("x", 1, 10, 11),
                   get("x", 2, 50, 51)}));
    // ...or never: also fine.
    BOOST_TEST(ok({put("x", 1, 0, 1), unknown(put("x", 2, 2, 0)), get("x", 1, 10, 11)}));
    // But it cannot take effect before it was invoked.
    BOOST_TEST(!ok({put("x", 1, 0, 1), get("x", 2, 2, 3), unknown(put("x", 2, 4, 0))}));
    // And it takes effect once: 2 then 1 then 2 again is impossible.
    BOOST_TEST(!ok({put("x", 1, 0, 1), unknown(put("x", 2, 2, 0)), get("x", 2, 3, 4),
                    put("x", 1, 5, 6), get("x", 2, 7, 8)}));
    // An indeterminate cas may have swapped.
    BOOST_TEST(ok({put("x", 1, 0, 1), unknown(cas("x", 1, 5, false, 2, 0)), get("x", 5, 9, 10)}));
    BOOST_TEST(!ok({put("x", 1, 0, 1), unknown(cas("x", 3, 5, false, 2, 0)), get("x", 5, 9, 10)}));
}

BOOST_AUTO_TEST_CASE(keys_are_independent) {
    BOOST_TEST(ok({put("x", 1, 0, 1), put("y", 2, 2, 3), get("x", 1, 4, 5), get("y", 2, 4, 5)}));
    const lin_result r = check_linearizable(
        {put("x", 1, 0, 1), put("y", 2, 2, 3), get("x", 1, 4, 5), get("y", kv_absent, 4, 5)});
    BOOST_TEST(r.verdict == lin_verdict::not_linearizable);
    BOOST_TEST(r.key == "y");
}

// A long random history produced by a sequential model with concurrent
// clients: each operation takes effect at a random point inside its interval.
std::vector<kv_op> random_history(std::uint64_t seed, std::size_t n, std::size_t clients,
                                  std::size_t keys, double unknown_rate) {
    std::mt19937_64 rng(seed);
    struct pending { kv_op op; std::uint64_t effect; bool takes_effect; };
    std::vector<std::uint64_t> client_free(clients, 0);
    std::vector<pending> ps;
    std::int64_t next_value = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = rng() % clients;
        kv_op op;
        op.client = c;
        op.key = "k";
        op.key += std::to_string(rng() % keys);   // (not "k" + ...: GCC 12 -Wrestrict false positive)
        op.invoke = client_free[c] + rng() % 5;
        const std::uint64_t len = 1 + rng() % 40;
        op.complete = op.invoke + len;
        switch (rng() % 4) {
        case 0: op.kind = kv_kind::put; op.value = next_value++; break;
        case 1: op.kind = kv_kind::get; break;
        case 2: op.kind = kv_kind::cas; op.value = next_value++; op.expected = std::int64_t(rng() % (next_value + 1)) - 1; break;
        default: op.kind = (rng() % 3 == 0) ? kv_kind::del : kv_kind::get; break;
        }
        op.determinate = std::uniform_real_distribution<>(0, 1)(rng) >= unknown_rate;
        // an unknown operation may take effect long after its client gave up
        const std::uint64_t effect = op.invoke + rng() % (op.determinate ? len + 1 : 3 * len);
        ps.push_back({op, effect, op.determinate || rng() % 2 == 0});
        client_free[c] = op.complete + 1;
    }
    std::vector<std::size_t> order(ps.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return ps[a].effect < ps[b].effect; });
    std::map<std::string, std::int64_t> state;
    for (std::size_t i : order) {
        if (!ps[i].takes_effect) continue;
        kv_op& op = ps[i].op;
        auto it = state.find(op.key);
        const std::int64_t cur = it == state.end() ? kv_absent : it->second;
        switch (op.kind) {
        case kv_kind::put: state[op.key] = op.value; break;
        case kv_kind::del: state[op.key] = kv_absent; break;
        case kv_kind::get: op.observed = cur; break;
        case kv_kind::cas:
            op.succeeded = cur == op.expected;
            if (op.succeeded) state[op.key] = op.value;
            break;
        }
    }
    std::vector<kv_op> out;
    for (auto& p : ps) out.push_back(p.op);
    return out;
}

BOOST_AUTO_TEST_CASE(big_random_linearizable_history) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        const auto h = random_history(seed, 4000, 8, 10, 0.1);
        const auto t0 = std::chrono::steady_clock::now();
        const lin_result r = check_linearizable(h);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        BOOST_TEST_MESSAGE("seed " << seed << ": " << r.ops_checked << " ops, " << r.search_steps
                           << " steps, " << ms << " ms");
        BOOST_TEST(r.verdict == lin_verdict::linearizable, "seed " << seed << "\n" << r.explanation);
        BOOST_TEST(ms < 5000.0);
    }
}

BOOST_AUTO_TEST_CASE(big_random_history_with_one_corrupted_read) {
    // Changing one determinate read to a value nobody wrote must be caught.
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        auto h = random_history(seed, 2000, 8, 10, 0.1);
        for (auto it = h.rbegin(); it != h.rend(); ++it) {
            if (it->kind == kv_kind::get && it->determinate) { it->observed = 1'000'000; break; }
        }
        BOOST_TEST(check_linearizable(h).verdict == lin_verdict::not_linearizable, "seed " << seed);
    }
}

BOOST_AUTO_TEST_SUITE_END()
