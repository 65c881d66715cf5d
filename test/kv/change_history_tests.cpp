// The recent changes kept for watches (change_history.hpp), and the store's
// change observer that feeds them (kv_store::on_change).
#include <boost/test/unit_test.hpp>

#include "change_history.hpp"
#include "kv_store.hpp"
#include "kv_test_util.hpp"

#include <string>
#include <tuple>
#include <vector>

using namespace raftlite::kv;
using namespace raftlite::kv::testing;
using raftlite::index_t;

namespace {

kv_range_query everything() { return {}; }

kv_command command(kv_op op, std::string key, std::string value = {}, std::optional<std::string> expected = {}) {
    kv_command c;
    c.op = op;
    c.key = std::move(key);
    c.value = std::move(value);
    c.expected = std::move(expected);
    return c;
}

kv_range_query prefix(const std::string& p) {
    kv_range_query q;
    q.from = p;
    q.to = prefix_end(p);
    return q;
}

std::vector<index_t> indexes(const std::vector<kv_event>& events) {
    std::vector<index_t> out;
    for (const auto& e : events) out.push_back(e.index);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(change_history_suite)

BOOST_AUTO_TEST_CASE(changes_after_an_index_in_a_range) {
    change_history h(1 << 20);
    const std::string one = "1", two = "2";
    h.record(3, "a/x", &one);
    h.record(5, "b", &two);
    h.record(8, "a/y", nullptr);
    BOOST_TEST(h.latest() == 8u);
    auto all = h.after(0, everything());
    BOOST_TEST_REQUIRE(all.has_value());
    BOOST_TEST((indexes(*all) == std::vector<index_t>{3, 5, 8}));
    BOOST_TEST(((*all)[0] == kv_event{3, "a/x", false, "1"}));
    BOOST_TEST(((*all)[2] == kv_event{8, "a/y", true, ""}));
    BOOST_TEST((indexes(*h.after(3, everything())) == std::vector<index_t>{5, 8}));
    BOOST_TEST((indexes(*h.after(0, prefix("a/"))) == std::vector<index_t>{3, 8}));
    BOOST_TEST(h.after(8, everything())->empty());
    BOOST_TEST(h.after(100, everything())->empty());   // a since ahead of this peer: nothing yet

    kv_range_query q = everything();
    q.limit = 2;
    BOOST_TEST((indexes(*h.after(0, q)) == std::vector<index_t>{3, 5}));
    q.keys_only = true;
    BOOST_TEST(h.after(0, q)->front().value.empty());
    BOOST_TEST(!h.after(0, q)->front().deleted);
    q = everything();
    q.max_bytes = 1;   // at least one change an answer
    BOOST_TEST((indexes(*h.after(0, q)) == std::vector<index_t>{3}));
}

BOOST_AUTO_TEST_CASE(the_oldest_changes_go_beyond_the_budget) {
    change_history h(1000);   // about 9 changes of 10 bytes
    const std::string v(8, 'v');
    for (index_t i = 1; i <= 30; ++i) h.record(i, "k" + std::to_string(i % 10), &v);
    BOOST_TEST(h.bytes() <= 1000u);
    BOOST_TEST(h.size() < 30u);
    const index_t horizon = h.horizon();
    BOOST_TEST(horizon == 30 - h.size());
    BOOST_TEST(!h.after(horizon - 1, everything()).has_value());   // gone
    auto kept = h.after(horizon, everything());
    BOOST_TEST_REQUIRE(kept.has_value());
    BOOST_TEST(kept->size() == h.size());
    BOOST_TEST(kept->front().index == horizon + 1);

    const std::string huge(2000, 'h');   // larger than the budget: nothing kept
    h.record(31, "big", &huge);
    BOOST_TEST(h.size() == 0u);
    BOOST_TEST(h.horizon() == 31u);
    BOOST_TEST(!h.after(30, everything()).has_value());
    BOOST_TEST(h.after(31, everything())->empty());
}

BOOST_AUTO_TEST_CASE(a_reset_starts_over_at_the_state_index) {
    change_history h(1 << 20, 10);
    BOOST_TEST(h.horizon() == 10u);
    BOOST_TEST(!h.after(9, everything()).has_value());
    const std::string v = "v";
    h.record(11, "k", &v);
    h.reset(50);
    BOOST_TEST(h.size() == 0u);
    BOOST_TEST(h.horizon() == 50u);
    BOOST_TEST(h.latest() == 50u);
    BOOST_TEST(!h.after(11, everything()).has_value());
    BOOST_TEST(h.after(50, everything())->empty());
}

BOOST_AUTO_TEST_CASE(range_membership) {
    kv_range_query q;
    q.from = "b";
    q.to = "d";
    BOOST_TEST(!in_range(q, "a"));
    BOOST_TEST(in_range(q, "b"));
    BOOST_TEST(in_range(q, "c\xff"));
    BOOST_TEST(!in_range(q, "d"));
    q.from_exclusive = true;
    BOOST_TEST(!in_range(q, "b"));
    BOOST_TEST(in_range(q, std::string("b\0", 2)));
}

// The store tells of each change it makes, with the entry's index, and of
// nothing else: not a failed cas or delete, not a session's retry.
BOOST_AUTO_TEST_CASE(the_store_reports_each_change_once) {
    kv_store s;
    std::vector<std::tuple<index_t, std::string, std::optional<std::string>>> seen;
    s.on_change([&](index_t index, std::string_view key, const std::string* value) {
        seen.emplace_back(index, std::string(key), value ? std::optional<std::string>(*value) : std::nullopt);
    });
    s.apply(command(kv_op::put, "k", "1"), 4);
    s.apply(command(kv_op::cas, "k", "2", "wrong"), 5);   // fails
    s.apply(command(kv_op::cas, "k", "2", "1"), 6);
    s.apply(command(kv_op::del, "absent"), 7);            // not found
    s.apply(command(kv_op::get, "k"), 8);
    s.apply(command(kv_op::del, "k"), 9);
    kv_command open;
    open.op = kv_op::open_session;
    s.apply(open, 10);   // session 10
    kv_command put = command(kv_op::put, "s", "v");
    put.client_id = 10;
    put.client_seq = 1;
    s.apply(put, 11);
    s.apply(put, 12);   // the retry: answered from the session's record
    using change = std::tuple<index_t, std::string, std::optional<std::string>>;
    BOOST_TEST((seen == std::vector<change>{{4, "k", "1"}, {6, "k", "2"}, {9, "k", std::nullopt}, {11, "s", "v"}}));
}

BOOST_AUTO_TEST_SUITE_END()
