// raft_log (the core's in-memory log) and output (the actions of one step).
#include "core_test_util.hpp"

#include <stdexcept>

using namespace raftlite;
using namespace raftlite::test;

namespace {

raft_log log_of(const std::vector<term_t>& terms, index_t start = 1, term_t prefix_term = 0) {
    std::vector<log_entry> v;
    for (std::size_t i = 0; i < terms.size(); ++i) v.push_back(make_entry(terms[i], start + i));
    return raft_log(start, prefix_term, std::move(v));
}

} // namespace

BOOST_AUTO_TEST_SUITE(raft_log_tests)

BOOST_AUTO_TEST_CASE(empty_log) {
    raft_log l;
    BOOST_TEST(l.start() == 1u);
    BOOST_TEST(l.length() == 0u);
    BOOST_TEST(l.last_term() == 0u);
    BOOST_TEST(l.term_at(0) == 0u);
    BOOST_TEST(!l.holds(0));
    BOOST_TEST(!l.holds(1));
}

BOOST_AUTO_TEST_CASE(append_and_term_at) {
    raft_log l;
    l.append(make_entry(1, 1));
    l.append(make_entry(1, 2));
    l.append(make_entry(3, 3));
    BOOST_TEST(l.length() == 3u);
    BOOST_TEST(l.last_term() == 3u);
    BOOST_TEST(l.term_at(0) == 0u);
    BOOST_TEST(l.term_at(2) == 1u);
    BOOST_TEST(l.term_at(3) == 3u);
    BOOST_TEST(l.term_at(4) == 0u);   // beyond the log
    BOOST_TEST(l.holds(3));
    BOOST_TEST(!l.holds(4));
    BOOST_TEST(l.at(2).data() == "e2t1");
    BOOST_CHECK_THROW(l.append(make_entry(3, 5)), std::logic_error);   // a gap
    BOOST_CHECK_THROW(l.append(make_entry(3, 3)), std::logic_error);   // a duplicate index
    BOOST_TEST(l.length() == 3u);
}

BOOST_AUTO_TEST_CASE(truncate_suffix) {
    raft_log l = log_of({1, 1, 2, 2, 3});
    l.truncate_suffix(6);   // nothing at or beyond 6
    BOOST_TEST(l.length() == 5u);
    l.truncate_suffix(4);
    BOOST_TEST(terms_of(l) == (std::vector<term_t>{1, 1, 2}), boost::test_tools::per_element());
    BOOST_TEST(l.last_term() == 2u);
    l.append(make_entry(4, 4));   // appending continues at the cut
    BOOST_TEST(l.length() == 4u);
    l.truncate_suffix(1);
    BOOST_TEST(l.length() == 0u);
    BOOST_TEST(l.last_term() == 0u);
}

BOOST_AUTO_TEST_CASE(remove_prefix_keeps_the_boundary_term) {
    raft_log l = log_of({1, 1, 2, 2, 3});
    l.remove_prefix(4);
    BOOST_TEST(l.start() == 4u);
    BOOST_TEST(l.length() == 5u);   // lengths (indexes) do not move
    BOOST_TEST(l.term_at(3) == 2u); // the compacted prefix's last term
    BOOST_TEST(l.term_at(4) == 2u);
    BOOST_TEST(l.term_at(5) == 3u);
    BOOST_TEST(!l.holds(3));
    BOOST_TEST(l.holds(4));
    l.remove_prefix(2);             // below start: nothing
    BOOST_TEST(l.start() == 4u);
    l.append(make_entry(3, 6));
    BOOST_TEST(l.length() == 6u);
    l.remove_prefix(100);           // everything: clamped to length+1
    BOOST_TEST(l.start() == 7u);
    BOOST_TEST(l.length() == 6u);
    BOOST_TEST(l.last_term() == 3u);
    l.append(make_entry(4, 7));
    BOOST_TEST(l.length() == 7u);
    BOOST_TEST(l.term_at(6) == 3u);
}

BOOST_AUTO_TEST_CASE(restored_compacted_log) {
    raft_log l = log_of({3, 3, 4}, 5, 2);
    BOOST_TEST(l.start() == 5u);
    BOOST_TEST(l.length() == 7u);
    BOOST_TEST(l.term_at(4) == 2u);
    BOOST_TEST(l.term_at(7) == 4u);
    BOOST_TEST(l.last_term() == 4u);
    // An empty log after compaction still knows its last term.
    raft_log e(5, 2, {});
    BOOST_TEST(e.length() == 4u);
    BOOST_TEST(e.last_term() == 2u);
    // Restored entries must be contiguous from start.
    std::vector<log_entry> gap{make_entry(1, 1), make_entry(1, 3)};
    BOOST_CHECK_THROW(raft_log(1, 0, gap), std::invalid_argument);
    std::vector<log_entry> off{make_entry(1, 2)};
    BOOST_CHECK_THROW(raft_log(1, 0, off), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(truncate_suffix_of_a_compacted_log) {
    raft_log l = log_of({3, 3, 4}, 5, 2);
    l.truncate_suffix(6);
    BOOST_TEST(l.length() == 5u);
    l.truncate_suffix(5);
    BOOST_TEST(l.length() == 4u);
    BOOST_TEST(l.start() == 5u);
    BOOST_TEST(l.last_term() == 2u);
}

BOOST_AUTO_TEST_CASE(first_index_of_term_run) {
    raft_log l = log_of({1, 1, 2, 2, 2, 3});
    BOOST_TEST(l.first_index_of_term_run(1) == 1u);
    BOOST_TEST(l.first_index_of_term_run(2) == 1u);
    BOOST_TEST(l.first_index_of_term_run(3) == 3u);
    BOOST_TEST(l.first_index_of_term_run(5) == 3u);
    BOOST_TEST(l.first_index_of_term_run(6) == 6u);
    // With a compacted start the run cannot reach below start.
    raft_log c = log_of({2, 2, 5}, 4, 2);
    BOOST_TEST(c.first_index_of_term_run(5) == 4u);
    BOOST_TEST(c.first_index_of_term_run(6) == 6u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(output_tests)

BOOST_AUTO_TEST_CASE(truncate_withdraws_entries_appended_in_the_same_output) {
    output o;
    o.append = {make_entry(1, 5), make_entry(1, 6), make_entry(1, 7)};
    o.truncate(6);
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{5}), boost::test_tools::per_element());
    BOOST_TEST(!o.truncate_from);   // nothing on disk needs cutting
    BOOST_TEST(o.has_writes());
}

BOOST_AUTO_TEST_CASE(truncate_below_the_appended_entries_is_recorded) {
    output o;
    o.append = {make_entry(1, 5), make_entry(1, 6)};
    o.truncate(3);
    BOOST_TEST(o.append.empty());
    BOOST_REQUIRE(o.truncate_from);
    BOOST_TEST(*o.truncate_from == 3u);
    // Merging: the lowest truncation wins.
    o.truncate(4);
    BOOST_TEST(*o.truncate_from == 3u);
    o.truncate(2);
    BOOST_TEST(*o.truncate_from == 2u);
}

BOOST_AUTO_TEST_CASE(truncate_then_append_then_truncate_again) {
    output o;
    o.truncate(4);                                   // disk: cut at 4
    o.append = {make_entry(2, 4), make_entry(2, 5)};  // then new entries 4, 5
    o.truncate(5);                                   // withdraw 5 only
    BOOST_REQUIRE(o.truncate_from);
    BOOST_TEST(*o.truncate_from == 4u);
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{4}), boost::test_tools::per_element());
    o.truncate(4);                                   // withdraw 4 too: the disk cut stays at 4
    BOOST_TEST(o.append.empty());
    BOOST_TEST(*o.truncate_from == 4u);
}

BOOST_AUTO_TEST_CASE(empty_has_writes_and_clear) {
    output o;
    BOOST_TEST(o.empty());
    BOOST_TEST(!o.has_writes());
    o.save_hard_state = hard_state{1, 1};
    BOOST_TEST(o.has_writes());
    BOOST_TEST(!o.empty());
    o.clear();
    BOOST_TEST(o.empty());
    o.reset_election_timer = true;
    BOOST_TEST(!o.empty());
    BOOST_TEST(!o.has_writes());
    o.clear();
    o.heartbeat_timer = false;
    BOOST_TEST(!o.empty());
    o.clear();
    o.messages_after_sync.push_back(envelope{1, 2, vote_response{1, true}});
    BOOST_TEST(!o.empty());
    o.clear();
    BOOST_TEST(o.empty());
}

BOOST_AUTO_TEST_CASE(steps_accumulate_in_one_output_for_group_commit) {
    core c(make_config(2, 3));
    output o;
    c.step(recv(1, 2, log_request{1, 0, 0, 0, {make_entry(1, 1)}}), o);
    c.step(recv(1, 2, log_request{1, 1, 1, 0, {make_entry(1, 2)}}), o);
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{1, 2}), boost::test_tools::per_element());
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 2u);
    BOOST_TEST(r[0].second.ack == 1u);
    BOOST_TEST(r[1].second.ack == 2u);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{1, no_node}));
}

BOOST_AUTO_TEST_CASE(truncation_within_one_output_withdraws_the_unwritten_entries) {
    // Two leaders' requests in one driver turn: the second replaces what the
    // first appended before anything reached the disk.
    core c(make_config(3, 3));
    output o;
    c.step(recv(1, 3, log_request{1, 0, 0, 0, {make_entry(1, 1), make_entry(1, 2)}}), o);
    c.step(recv(2, 3, log_request{2, 1, 1, 0, {make_entry(2, 2)}}), o);
    BOOST_TEST(!o.truncate_from);
    BOOST_REQUIRE_EQUAL(o.append.size(), 2u);
    BOOST_TEST(o.append[0].term == 1u);
    BOOST_TEST(o.append[1].term == 2u);
    BOOST_TEST(o.append[1].index == 2u);
    BOOST_TEST(terms_of(c.log()) == (std::vector<term_t>{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(restart_with_a_compacted_log) {
    persistent_state ps;
    ps.hard = hard_state{3, no_node};
    ps.log_start = 5;
    ps.prefix_term = 2;
    ps.entries = {make_entry(3, 5), make_entry(3, 6)};
    core c(make_config(2, 3), ps);
    BOOST_TEST(c.log().start() == 5u);
    BOOST_TEST(c.log().length() == 6u);
    BOOST_TEST(c.commit_length() == 4u);   // compacted entries were committed
    BOOST_TEST(c.durable_length() == 6u);
    // A request whose prefix lies in the compacted part matches (§5.4 Leader Completeness).
    output o = c.step(recv(1, 2, log_request{3, 2, 1, 4, {make_entry(1, 3), make_entry(2, 4), make_entry(3, 5)}}));
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.success);
    BOOST_TEST(r[0].second.ack == 5u);
    BOOST_TEST(o.append.empty());
    BOOST_TEST(!o.truncate_from);
    BOOST_TEST(c.log().length() == 6u);
}

BOOST_AUTO_TEST_SUITE_END()
