// Tests of the kv state machine: semantics of each op, determinism, digest.
#include <boost/test/unit_test.hpp>

#include "kv_store.hpp"

#include <string>

using namespace raftlite::kv;

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
    BOOST_TEST((s.apply(get("a")).status == kv_status::not_found));
    BOOST_TEST((s.apply(put("a", "1")).status == kv_status::ok));
    auto r = s.apply(get("a"));
    BOOST_TEST((r.status == kv_status::ok));
    BOOST_TEST((r.value == std::optional<std::string>("1")));
    s.apply(put("a", "2"));
    BOOST_TEST((s.apply(get("a")).value == std::optional<std::string>("2")));
    BOOST_TEST((s.apply(del("a")).status == kv_status::ok));
    BOOST_TEST((s.apply(del("a")).status == kv_status::not_found));
    BOOST_TEST((s.apply(get("a")).status == kv_status::not_found));
    BOOST_TEST(s.size() == 0u);
    BOOST_TEST(s.applied() == 8u);
}

BOOST_AUTO_TEST_CASE(compare_and_swap) {
    kv_store s;
    // expected absent: create-if-absent
    BOOST_TEST((s.apply(cas("k", std::nullopt, "v1")).status == kv_status::ok));
    auto r = s.apply(cas("k", std::nullopt, "v2"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST((r.value == std::optional<std::string>("v1")));
    // wrong expected value: fails, reports the current value, changes nothing
    r = s.apply(cas("k", std::string("nope"), "v2"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST((r.value == std::optional<std::string>("v1")));
    BOOST_TEST(s.contents().at("k") == "v1");
    // right expected value: swaps
    BOOST_TEST((s.apply(cas("k", std::string("v1"), "v2")).status == kv_status::ok));
    BOOST_TEST(s.contents().at("k") == "v2");
    // expected a value on an absent key: fails with no current value
    r = s.apply(cas("other", std::string(""), "x"));
    BOOST_TEST((r.status == kv_status::cas_failed));
    BOOST_TEST(!r.value.has_value());
    // the empty string is a value, not absence
    s.apply(put("e", ""));
    BOOST_TEST((s.apply(cas("e", std::nullopt, "x")).status == kv_status::cas_failed));
    BOOST_TEST((s.apply(cas("e", std::string(""), "x")).status == kv_status::ok));
}

BOOST_AUTO_TEST_CASE(encoded_commands) {
    kv_store s;
    BOOST_TEST((s.apply_encoded(encode(put("a", "1"))).status == kv_status::ok));
    BOOST_TEST((s.apply_encoded(encode(get("a"))).value == std::optional<std::string>("1")));
    auto before = s.digest();
    auto r = s.apply_encoded("garbage");
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
        r1.push_back(s1.apply(c));
        r2.push_back(s2.apply_encoded(encode(c)));
    }
    BOOST_TEST((r1 == r2));
    BOOST_TEST((s1.contents() == s2.contents()));
    BOOST_TEST(s1.digest() == s2.digest());
    BOOST_TEST(s1.contents().size() == 3u);
}

BOOST_AUTO_TEST_CASE(digest_sees_every_difference) {
    kv_store empty, a, b, c, d;
    a.apply(put("ab", "c"));
    b.apply(put("a", "bc"));   // same concatenation, different split
    c.apply(put("ab", "d"));
    d.apply(put("ab", "c"));
    BOOST_TEST(a.digest() != empty.digest());
    BOOST_TEST(a.digest() != b.digest());
    BOOST_TEST(a.digest() != c.digest());
    BOOST_TEST(a.digest() == d.digest());
    // order of application does not matter when the final state is the same
    kv_store x, y;
    x.apply(put("1", "a"));
    x.apply(put("2", "b"));
    y.apply(put("2", "b"));
    y.apply(put("1", "a"));
    BOOST_TEST(x.digest() == y.digest());
}

BOOST_AUTO_TEST_CASE(status_names) {
    BOOST_TEST(status_name(kv_status::ok) == std::string("ok"));
    BOOST_TEST(status_name(kv_status::not_found) == std::string("not_found"));
    BOOST_TEST(status_name(kv_status::cas_failed) == std::string("cas_failed"));
    BOOST_TEST(status_name(kv_status::bad_command) == std::string("bad_command"));
}

BOOST_AUTO_TEST_SUITE_END()
