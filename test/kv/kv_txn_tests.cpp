// Tests of transactions (kv_txn.hpp): the encoding, what the store does with
// one, and POST /txn's body.
#include <boost/test/unit_test.hpp>

#include "http_routes.hpp"
#include "kv_levels.hpp"
#include "kv_store.hpp"
#include "kv_test_util.hpp"
#include "kv_txn.hpp"

#include <string>
#include <vector>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

using cmp = txn_compare::kind;
using opk = txn_op::kind;

kv_command txn_command(const kv_txn& t) {
    kv_command c;
    c.op = kv_op::txn;
    c.value = encode_txn(t);
    return c;
}

kv_store level_2_store() {
    kv_store s;
    apply_next(s, make_command(kv_op::put, cluster_level_key(), "2"));
    return s;
}

kv_txn_result result_of(const kv_result& r) {
    BOOST_TEST_REQUIRE((r.status == kv_status::ok), r.error);
    BOOST_TEST_REQUIRE(r.value.has_value());
    std::string error;
    auto t = try_decode_txn_result(*r.value, error);
    BOOST_TEST_REQUIRE(t.has_value(), error);
    return *t;
}

// A lock over two keys: take both only if neither is held.
kv_txn take_both(const std::string& owner) {
    kv_txn t;
    t.compare = {{cmp::absent, "lock/a", ""}, {cmp::absent, "lock/b", ""}};
    t.success = {{opk::put, "lock/a", owner}, {opk::put, "lock/b", owner}, {opk::get, "lock/a", ""}};
    t.failure = {{opk::get, "lock/a", ""}, {opk::get, "lock/b", ""}};
    return t;
}

} // namespace

BOOST_AUTO_TEST_SUITE(transactions)

BOOST_AUTO_TEST_CASE(the_encoding_is_strict_and_round_trips) {
    kv_txn t = take_both("me");
    t.success.push_back({opk::delete_range, "", "\xff"});
    t.compare.push_back({cmp::equals, "n", std::string("\0\xfe", 2)});
    const std::string bytes = encode_txn(t);
    BOOST_TEST((decode_txn(bytes) == t));
    // Every cut, and anything after, is an error.
    for (std::size_t n = 0; n < bytes.size(); ++n)
        BOOST_CHECK_THROW(decode_txn(bytes.substr(0, n)), bad_command);
    BOOST_CHECK_THROW(decode_txn(bytes + "x"), bad_command);
    std::string bad = bytes;
    bad[0] = 2;
    BOOST_CHECK_THROW(decode_txn(bad), bad_command);   // version
    bad = bytes;
    bad[3] = 7;
    BOOST_CHECK_THROW(decode_txn(bad), bad_command);   // compare kind
    // Carried in a command, decoded with it: a broken transaction is a broken command.
    kv_command c = txn_command(t);
    BOOST_TEST((decode(encode(c)) == c));
    c.value.pop_back();
    BOOST_TEST(!validate(c).empty());
}

BOOST_AUTO_TEST_CASE(invalid_transactions_are_refused) {
    auto why = [](kv_txn t) { return validate_txn(t); };
    BOOST_TEST(why({}).empty());   // nothing to do: valid
    BOOST_TEST(!why({{{cmp::equals, "", "v"}}, {}, {}}).empty());
    BOOST_TEST(!why({{{cmp::absent, "k", "v"}}, {}, {}}).empty());
    BOOST_TEST(!why({{}, {{opk::put, "\xffkv/level/cluster", "3"}}, {}}).empty());   // a system key
    BOOST_TEST(!why({{}, {}, {{opk::del, "\xffx", ""}}}).empty());
    BOOST_TEST(!why({{}, {{opk::delete_range, "\xff", "\xff\xff"}}, {}}).empty());
    BOOST_TEST(!why({{}, {{opk::delete_range, "b", "a"}}, {}}).empty());
    BOOST_TEST(!why({{}, {{opk::get, "k", "v"}}, {}}).empty());
    BOOST_TEST(!why({{}, {{opk::put, std::string(max_key_bytes + 1, 'k'), "v"}}, {}}).empty());
    kv_txn many;
    many.success.assign(max_txn_ops + 1, txn_op{opk::get, "k", ""});
    BOOST_TEST(!why(many).empty());
    many.success.resize(max_txn_ops);
    BOOST_TEST(why(many).empty());
    BOOST_CHECK_THROW(encode_txn({{}, {{opk::put, "\xffx", "1"}}, {}}), bad_command);
}

BOOST_AUTO_TEST_CASE(one_branch_runs_as_a_whole) {
    kv_store s = level_2_store();
    std::vector<std::pair<std::string, bool>> changes;
    s.on_change([&](raftlite::index_t, std::string_view key, const std::string* v) {
        changes.emplace_back(std::string(key), v != nullptr);
    });
    auto first = result_of(apply_next(s, txn_command(take_both("me"))));
    BOOST_TEST(first.succeeded);
    BOOST_TEST_REQUIRE(first.results.size() == 3u);
    BOOST_TEST((first.results[0].what == txn_op_result::kind::done));
    BOOST_TEST((first.results[2].what == txn_op_result::kind::value));   // a get sees the put before it
    BOOST_TEST(first.results[2].value == "me");
    BOOST_TEST(changes.size() == 2u);
    // Taken: the failure branch reads who holds it, nothing changes.
    const auto digest = s.digest();
    auto second = result_of(apply_next(s, txn_command(take_both("you"))));
    BOOST_TEST(!second.succeeded);
    BOOST_TEST_REQUIRE(second.results.size() == 2u);
    BOOST_TEST(second.results[1].value == "me");
    BOOST_TEST(s.digest() == digest);
    BOOST_TEST(changes.size() == 2u);
    // Release both if still mine; a delete of an absent key counts 0.
    kv_txn release;
    release.compare = {{cmp::equals, "lock/a", "me"}, {cmp::present, "lock/b", ""}};
    release.success = {{opk::del, "lock/a", ""}, {opk::del, "lock/b", ""}, {opk::del, "lock/c", ""},
                       {opk::get, "lock/a", ""}};
    auto third = result_of(apply_next(s, txn_command(release)));
    BOOST_TEST(third.succeeded);
    BOOST_TEST(third.results[0].count == 1u);
    BOOST_TEST(third.results[2].count == 0u);
    BOOST_TEST((third.results[3].what == txn_op_result::kind::not_found));
    BOOST_TEST(s.size() == 1u);   // the level
}

BOOST_AUTO_TEST_CASE(a_delete_range_in_a_transaction_spares_the_system_keys) {
    kv_store s = level_2_store();
    for (const char* k : {"a", "b", "c"}) apply_next(s, make_command(kv_op::put, k, "v"));
    kv_txn t;
    t.success = {{opk::delete_range, "", "\xff\xff"}};
    auto r = result_of(apply_next(s, txn_command(t)));
    BOOST_TEST(r.results.at(0).count == 3u);
    BOOST_TEST(s.level() == 2u);
}

BOOST_AUTO_TEST_CASE(transactions_need_level_2_and_retry_in_sessions) {
    kv_store s;
    BOOST_TEST((apply_next(s, txn_command(take_both("me"))).status == kv_status::level_too_low));
    BOOST_TEST(s.size() == 0u);
    apply_next(s, make_command(kv_op::put, cluster_level_key(), "2"));
    const auto id = apply_next(s, make_command(kv_op::open_session)).client_id;
    kv_command c = txn_command(take_both("me"));
    c.client_id = id;
    c.client_seq = 1;
    const kv_result first = apply_next(s, c);
    BOOST_TEST(result_of(first).succeeded);
    // The answer was lost; the retry gets it again and takes nothing twice.
    BOOST_TEST((apply_next(s, c) == first));
}

BOOST_AUTO_TEST_CASE(gets_return_at_most_the_cap_in_values) {
    kv_store s = level_2_store();
    const std::string big(max_txn_result_bytes / 2 + 1, 'v');
    for (const char* k : {"a", "b", "c"}) apply_next(s, make_command(kv_op::put, k, big));
    apply_next(s, make_command(kv_op::put, "small", "x"));
    kv_txn t;
    t.success = {{opk::get, "a", ""}, {opk::get, "b", ""}, {opk::get, "small", ""}, {opk::get, "c", ""}};
    const auto r = result_of(apply_next(s, txn_command(t)));
    BOOST_TEST_REQUIRE(r.results.size() == 4u);
    BOOST_TEST((r.results[0].what == txn_op_result::kind::value));
    BOOST_TEST((r.results[1].what == txn_op_result::kind::too_large));   // a and b together pass the cap
    BOOST_TEST(r.results[1].count == big.size());
    BOOST_TEST(r.results[2].value == "x");
    BOOST_TEST((r.results[3].what == txn_op_result::kind::too_large));
}

BOOST_AUTO_TEST_CASE(results_are_strict) {
    kv_txn_result r{true, {{txn_op_result::kind::done, 0, ""},
                           {txn_op_result::kind::deleted, 4, ""},
                           {txn_op_result::kind::value, 0, "v"},
                           {txn_op_result::kind::not_found, 0, ""},
                           {txn_op_result::kind::too_large, 9, ""}}};
    const std::string bytes = encode_txn_result(r);
    std::string error;
    BOOST_TEST((try_decode_txn_result(bytes, error) == std::optional<kv_txn_result>(r)));
    for (std::size_t n = 0; n < bytes.size(); ++n) BOOST_TEST(!try_decode_txn_result(bytes.substr(0, n), error));
    BOOST_TEST(!try_decode_txn_result(bytes + "x", error));
}

BOOST_AUTO_TEST_CASE(bodies_of_post_txn) {
    kv_txn t;
    BOOST_TEST(parse_txn_body(R"({"compare":[{"key":"a","value":"1"},{"key":"b","absent":true},
        {"key_base64":"/w==","present":true}],
        "success":[{"op":"put","key":"a","value":"2"},{"op":"delete","key":"b"},{"op":"get","key":"c"},
                   {"op":"delete_range","prefix":"p/"},{"op":"delete_range","start":"x"}],
        "failure":[{"op":"get","key":"a"}]})",
                              t)
                   .empty());
    BOOST_TEST_REQUIRE(t.compare.size() == 3u);
    BOOST_TEST(t.compare[2].key == "\xff");   // reading a system key is allowed
    BOOST_TEST((t.compare[1].what == cmp::absent));
    BOOST_TEST_REQUIRE(t.success.size() == 5u);
    BOOST_TEST(t.success[3].key == "p/");
    BOOST_TEST(t.success[3].value == "p0");
    BOOST_TEST(t.success[4].value == "\xff");   // no end: up to the system keys
    BOOST_TEST(t.failure.size() == 1u);
    kv_txn empty;
    BOOST_TEST(parse_txn_body("{}", empty).empty());
    for (const char* bad : {
             "", "[]", R"({"compares":[]})", R"({"compare":{}})", R"({"compare":[{"key":"a"}]})",
             R"({"compare":[{"key":"a","value":"1","absent":true}]})", R"({"compare":[{"key":"a","absent":false}]})",
             R"({"success":[{"op":"put","key":"a"}]})", R"({"success":[{"op":"put","key":"\u00ff","value":"1","x":1}]})",
             R"({"success":[{"op":"rename","key":"a"}]})", R"({"success":[{"op":"delete_range","prefix":"a","end":"b"}]})",
             R"({"success":[{"op":"delete_range"}]})", R"({"success":[{"op":"put","key_base64":"/w==","value":"3"}]})",
             R"({"failure":[{"op":"get","key":""}]})", R"({"success":[{"op":"get","key_base64":"!!"}]})"}) {
        kv_txn out;
        BOOST_TEST(!parse_txn_body(bad, out).empty(), bad);
    }
}

BOOST_AUTO_TEST_SUITE_END()
