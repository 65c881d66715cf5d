// Log replication: Raft paper §5.3, one test per rule, plus raftlite's flow
// control (bounded batches, pipelining, probing, fast back-off).
#include "core_test_util.hpp"

using namespace raftlite;
using namespace raftlite::test;

namespace {

persistent_state state_with_payloads(term_t current_term, const std::vector<std::pair<term_t, std::size_t>>& entries) {
    persistent_state ps;
    ps.hard.current_term = current_term;
    index_t i = 1;
    for (const auto& [t, bytes] : entries)
        ps.entries.push_back(make_entry(t, i++, std::string(bytes, 'x')));
    return ps;
}

std::size_t payload_bytes(const log_request& r) {
    std::size_t n = 0;
    for (const auto& e : r.suffix) n += e.size();
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(replication_5_3)

BOOST_AUTO_TEST_CASE(proposal_is_appended_persisted_and_sent_with_its_prefix) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(broadcast_request{5, make_bytes("x")});
    BOOST_REQUIRE_EQUAL(o.append.size(), 1u);
    const log_entry& e = o.append[0];
    BOOST_TEST(e.index == 2u);
    BOOST_TEST(e.term == 1u);
    BOOST_TEST(e.kind == entry_kind::application);
    BOOST_TEST(e.origin.node == 1u);
    BOOST_TEST(e.origin.request == 5u);
    BOOST_TEST(e.data() == "x");
    BOOST_TEST(!o.truncate_from);
    // The leader sends at once, in parallel with its own write.
    BOOST_TEST(o.messages_after_sync.empty());
    auto rq = of_type<log_request>(o.messages);
    BOOST_REQUIRE_EQUAL(rq.size(), 2u);
    for (const auto& [to, m] : rq) {
        BOOST_TEST(m.term == 1u);
        BOOST_TEST(m.prefix_len == 1u);
        BOOST_TEST(m.prefix_term == 1u);
        BOOST_TEST(m.leader_commit == 1u);
        BOOST_REQUIRE_EQUAL(m.suffix.size(), 1u);
        BOOST_TEST(m.suffix[0].index == 2u);
    }
    BOOST_TEST(o.committed.empty());
    BOOST_TEST(o.completions.empty());
}

BOOST_AUTO_TEST_CASE(entry_commits_once_on_a_majority) {
    core c(make_config(1, 5));
    win_election(c, {2, 3});
    synced(c);
    for (node_id f : {2, 3, 4, 5}) c.step(recv(f, 1, log_response{1, 1, true, 0}));
    BOOST_REQUIRE_EQUAL(c.commit_length(), 1u);
    c.step(broadcast_request{9, make_bytes("v")});
    c.step(log_synced{2, 1});
    output o = c.step(recv(2, 1, log_response{1, 2, true, 1}));
    BOOST_TEST(o.committed.empty());   // 2 of 5
    BOOST_TEST(c.commit_length() == 1u);
    o = c.step(recv(5, 1, log_response{1, 2, true, 1}));
    BOOST_TEST(c.commit_length() == 2u);   // 3 of 5
    BOOST_REQUIRE_EQUAL(o.committed.size(), 1u);
    BOOST_TEST(o.committed[0].data() == "v");
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 9u);
    BOOST_TEST(o.completions[0].result == broadcast_result::committed);
    BOOST_TEST(o.completions[0].index == 2u);
    o = c.step(recv(3, 1, log_response{1, 2, true, 1}));
    BOOST_TEST(o.committed.empty());   // delivered once only
}

BOOST_AUTO_TEST_CASE(commit_length_goes_out_in_later_log_requests) {
    core c(make_config(1, 3));
    establish_leader(c);
    c.step(broadcast_request{1, make_bytes("a")});
    c.step(log_synced{2, 1});
    c.step(recv(2, 1, log_response{1, 2, true, 1}));
    BOOST_REQUIRE_EQUAL(c.commit_length(), 2u);
    output o = c.step(heartbeat_timeout{});
    auto rq = of_type<log_request>(o.messages);
    BOOST_REQUIRE_EQUAL(rq.size(), 2u);
    for (const auto& [to, m] : rq) BOOST_TEST(m.leader_commit == 2u);
    // And in the next entry's request.
    o = c.step(broadcast_request{2, make_bytes("b")});
    rq = of_type<log_request>(o.messages);
    BOOST_REQUIRE(!rq.empty());
    for (const auto& [to, m] : rq) BOOST_TEST(m.leader_commit == 2u);
}

BOOST_AUTO_TEST_CASE(committing_an_entry_commits_all_before_it_in_order) {
    core c(make_config(1, 3), make_state(1, no_node, {1, 1, 1}));
    win_election(c, {2});   // term 2, noop at 4
    synced(c);
    output o = c.step(recv(2, 1, log_response{2, 4, true, 3}));
    BOOST_TEST(c.commit_length() == 4u);
    BOOST_TEST(indexes_of(o.committed) == (std::vector<index_t>{1, 2, 3, 4}), boost::test_tools::per_element());
    BOOST_TEST(o.committed[3].kind == entry_kind::noop);
}

BOOST_AUTO_TEST_CASE(follower_appends_and_acknowledges_after_sync) {
    core c(make_config(2, 3));
    output o = c.step(recv(1, 2, log_request{1, 0, 0, 0, {make_entry(1, 1), make_entry(1, 2)}}));
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{1, 2}), boost::test_tools::per_element());
    BOOST_TEST(!o.truncate_from);
    BOOST_TEST(o.messages.empty());   // the ack promises durability
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].first == 1u);
    BOOST_TEST(r[0].second.term == 1u);
    BOOST_TEST(r[0].second.success);
    BOOST_TEST(r[0].second.ack == 2u);
    BOOST_TEST(r[0].second.prefix_len == 0u);
    BOOST_TEST(o.reset_election_timer);
    BOOST_TEST(c.leader() == 1u);
}

BOOST_AUTO_TEST_CASE(follower_commits_only_what_is_known_to_match) {
    core c(make_config(2, 3), make_state(1, no_node, {1, 1, 1}));
    // Leader of term 2 knows a commit length of 3, but has only checked the
    // first entry: entries 2 and 3 here may be a stale suffix.
    output o = c.step(recv(1, 2, log_request{2, 1, 1, 3, {}}));
    BOOST_TEST(c.commit_length() == 1u);
    BOOST_TEST(indexes_of(o.committed) == (std::vector<index_t>{1}), boost::test_tools::per_element());
    o = c.step(recv(1, 2, log_request{2, 3, 1, 3, {}}));
    BOOST_TEST(c.commit_length() == 3u);
    BOOST_TEST(indexes_of(o.committed) == (std::vector<index_t>{2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(follower_rejects_a_mismatched_prefix) {
    core c(make_config(2, 3), make_state(1, no_node, {1, 1}));
    output o = c.step(recv(1, 2, log_request{2, 2, 2, 0, {make_entry(2, 3)}}));
    BOOST_TEST(terms_of(c.log()) == (std::vector<term_t>{1, 1}), boost::test_tools::per_element());
    BOOST_TEST(o.append.empty());
    BOOST_TEST(!o.truncate_from);
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(!r[0].second.success);
    BOOST_TEST(r[0].second.term == 2u);
    BOOST_TEST(r[0].second.prefix_len == 2u);
    BOOST_TEST(r[0].second.ack == 0u);   // hint: the start of our conflicting term run, minus one
    BOOST_TEST(c.leader() == 1u);        // it is still this term's leader
}

BOOST_AUTO_TEST_CASE(follower_rejects_a_prefix_beyond_its_log_with_its_length_as_hint) {
    core c(make_config(2, 3), make_state(1, no_node, {1, 1}));
    output o = c.step(recv(1, 2, log_request{1, 6, 1, 0, {}}));
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(!r[0].second.success);
    BOOST_TEST(r[0].second.ack == 2u);
    BOOST_TEST(r[0].second.prefix_len == 6u);
}

BOOST_AUTO_TEST_CASE(conflicting_entry_and_all_after_it_are_deleted) {
    core c(make_config(2, 3), make_state(2, no_node, {1, 1, 1, 2, 2}));
    output o = c.step(recv(1, 2, log_request{3, 2, 1, 0, {make_entry(1, 3), make_entry(3, 4)}}));
    BOOST_REQUIRE(o.truncate_from);
    BOOST_TEST(*o.truncate_from == 4u);
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{4}), boost::test_tools::per_element());
    BOOST_TEST(o.append[0].term == 3u);
    BOOST_TEST(terms_of(c.log()) == (std::vector<term_t>{1, 1, 1, 3}), boost::test_tools::per_element());
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.success);
    BOOST_TEST(r[0].second.ack == 4u);
}

BOOST_AUTO_TEST_CASE(an_old_request_never_truncates_matching_entries) {
    core c(make_config(2, 3), make_state(1, no_node, {1, 1, 1}));
    output o = c.step(recv(1, 2, log_request{1, 0, 0, 0, {make_entry(1, 1)}}));
    BOOST_TEST(!o.truncate_from);
    BOOST_TEST(o.append.empty());
    BOOST_TEST(c.log().length() == 3u);
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.success);
    BOOST_TEST(r[0].second.ack == 1u);   // what this request proves, not more
}

BOOST_AUTO_TEST_CASE(leader_backs_off_to_the_hint) {
    core c(make_config(1, 3), make_state(1, no_node, {1, 1, 1, 1, 1}));
    win_election(c, {2});   // term 2, noop at 6; probes at prefix 5
    output o = c.step(recv(2, 1, log_response{2, 1, false, 5}));
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 1u);   // straight to the hint, not 4
    BOOST_TEST(rq[0].prefix_term == 1u);
    BOOST_TEST(rq[0].suffix.front().index == 2u);
}

BOOST_AUTO_TEST_CASE(batches_bounded_by_max_batch_entries) {
    core_config tmpl;
    tmpl.max_batch_entries = 3;
    core c(make_config(1, 3, tmpl), make_state(1, no_node, {1, 1, 1, 1, 1}));
    win_election(c, {2});   // term 2, noop at 6
    output o = c.step(recv(2, 1, log_response{2, 0, false, 5}));   // 2 is empty
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 0u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{1, 2, 3}), boost::test_tools::per_element());
    o = c.step(recv(2, 1, log_response{2, 3, true, 0}));
    rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 3u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{4, 5, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(batches_bounded_by_max_batch_bytes_with_at_least_one_entry) {
    core_config tmpl;
    tmpl.max_batch_bytes = 25;
    core c(make_config(1, 3, tmpl), state_with_payloads(1, {{1, 10}, {1, 10}, {1, 100}, {1, 10}, {1, 10}}));
    win_election(c, {2});   // term 2, noop (0 bytes) at 6
    output o = c.step(recv(2, 1, log_response{2, 0, false, 5}));
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{1, 2}), boost::test_tools::per_element());
    o = c.step(recv(2, 1, log_response{2, 2, true, 0}));
    rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 2u);   // pipelined
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{3}), boost::test_tools::per_element());   // too big, alone
    BOOST_TEST(indexes_of(rq[1].suffix) == (std::vector<index_t>{4, 5, 6}), boost::test_tools::per_element());
    for (const auto& r : rq) BOOST_TEST((r.suffix.size() == 1 || payload_bytes(r) <= 25u));
}

BOOST_AUTO_TEST_CASE(pipelining_stops_at_max_inflight_until_acks) {
    core_config tmpl;
    tmpl.max_inflight = 2;
    tmpl.max_batch_entries = 1;
    core c(make_config(1, 3, tmpl));
    establish_leader(c);
    std::size_t to2 = 0;
    std::vector<index_t> sent;
    for (std::uint64_t req = 1; req <= 4; ++req) {
        output o = c.step(broadcast_request{req, make_bytes("p")});
        for (const auto& r : between<log_request>(o.messages, 1, 2)) {
            ++to2;
            sent.push_back(r.suffix.at(0).index);
        }
    }
    BOOST_TEST(to2 == 2u);
    BOOST_TEST(sent == (std::vector<index_t>{2, 3}), boost::test_tools::per_element());
    BOOST_TEST(c.sent_length(2) == 3u);
    // One ack frees one slot.
    output o = c.step(recv(2, 1, log_response{1, 2, true, 1}));
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 3u);
    BOOST_TEST(rq[0].suffix.at(0).index == 4u);
    // A heartbeat adds nothing beyond the window.
    o = c.step(heartbeat_timeout{});
    for (const auto& r : between<log_request>(o.messages, 1, 2)) BOOST_TEST(r.suffix.empty());
}

BOOST_AUTO_TEST_CASE(lost_requests_recovered_by_heartbeats_through_a_probe) {
    core c(make_config(1, 3));
    establish_leader(c);
    c.step(broadcast_request{1, make_bytes("a")});   // the request to 2 is lost
    c.step(log_synced{2, 1});
    c.step(recv(3, 1, log_response{1, 2, true, 1}));
    BOOST_REQUIRE_EQUAL(c.commit_length(), 2u);
    // First heartbeat: an empty request at the known match.
    output o = c.step(heartbeat_timeout{});
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 1u);
    BOOST_TEST(rq[0].suffix.empty());
    BOOST_TEST(rq[0].leader_commit == 2u);
    // Second heartbeat without progress: back to probing, with the entries.
    o = c.step(heartbeat_timeout{});
    rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 1u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{2}), boost::test_tools::per_element());
    // Follower 3 made progress: only heartbeats for it.
    for (const auto& r : between<log_request>(o.messages, 1, 3)) BOOST_TEST(r.suffix.empty());
}

BOOST_AUTO_TEST_CASE(lost_probe_is_probed_again_without_entries_on_the_heartbeat) {
    core c(make_config(1, 3), make_state(1, no_node, {1, 1}));
    output won = win_election(c, {2});   // probes at prefix 2 to 2 and 3: lost
    BOOST_REQUIRE_EQUAL(between<log_request>(won.messages, 1, 3).size(), 1u);
    output o = c.step(broadcast_request{1, make_bytes("a")});
    BOOST_TEST(between<log_request>(o.messages, 1, 3).empty());   // one probe at a time
    // The heartbeat probes the same prefix again, but without the batch,
    // which may still be on its way.
    o = c.step(heartbeat_timeout{});
    auto rq = between<log_request>(o.messages, 1, 3);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 2u);
    BOOST_TEST(rq[0].suffix.empty());
    // Its answer says the prefix matches: the entries follow at once.
    o = c.step(recv(3, 1, log_response{2, 2, true, 2, rq[0].read_round}));
    rq = between<log_request>(o.messages, 1, 3);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 2u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Figure 7: the leader brings each divergent follower into line -------------

namespace {

// The leader's log of Figure 7 (indexes 1..10) and the followers (a)-(f).
const std::vector<term_t> fig7_leader{1, 1, 1, 4, 4, 5, 5, 6, 6, 6};

void check_figure7(const std::vector<term_t>& follower, std::size_t expected_rejections,
                   const std::vector<index_t>& expected_hints) {
    // Node 1: the leader-to-be (term 7 so far); node 2: the follower under
    // test; node 3: a voter holding the leader's log. Terms in hard state are
    // at least the last term of each log.
    std::map<node_id, persistent_state> st;
    st[1] = make_state(7, no_node, fig7_leader);
    term_t ft = follower.empty() ? 0 : follower.back();
    st[2] = make_state(std::max<term_t>(ft, 6), no_node, follower);
    st[3] = make_state(6, no_node, fig7_leader);
    cluster_harness h(st);
    h.election_timeout(1);   // term 8
    h.deliver_all();
    BOOST_REQUIRE_EQUAL(h.leader(), 1u);
    BOOST_REQUIRE_EQUAL(h.node(1).current_term(), 8u);
    h.settle();

    std::vector<term_t> expected = fig7_leader;
    expected.push_back(8);   // the new leader's noop
    BOOST_TEST(h.log_terms(2) == expected, boost::test_tools::per_element());
    BOOST_TEST(h.log_terms(1) == expected, boost::test_tools::per_element());

    // One rejected round trip per conflicting term, never one per entry.
    std::vector<index_t> hints;
    for (const auto& r : between<log_response>(h.delivered_messages(), 2, 1))
        if (!r.success) hints.push_back(r.ack);
    BOOST_TEST(hints.size() == expected_rejections);
    BOOST_TEST(hints == expected_hints, boost::test_tools::per_element());
    // Everything commits, the follower included.
    BOOST_TEST(h.node(1).commit_length() == 11u);
    BOOST_TEST(h.node(2).commit_length() == 11u);
    BOOST_TEST(h.state(2).committed.size() == 11u);
}

} // namespace

BOOST_AUTO_TEST_SUITE(figure_7)

BOOST_AUTO_TEST_CASE(a_missing_one_entry) { check_figure7({1, 1, 1, 4, 4, 5, 5, 6, 6}, 1, {9}); }
BOOST_AUTO_TEST_CASE(b_missing_many_entries) { check_figure7({1, 1, 1, 4}, 1, {4}); }
BOOST_AUTO_TEST_CASE(c_one_extra_entry) { check_figure7({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 0, {}); }
BOOST_AUTO_TEST_CASE(d_extra_entries_of_a_later_term) {
    check_figure7({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 0, {});
}
BOOST_AUTO_TEST_CASE(e_missing_and_extra_entries) { check_figure7({1, 1, 1, 4, 4, 4, 4}, 2, {7, 3}); }
BOOST_AUTO_TEST_CASE(f_entries_of_terms_the_leader_never_saw) {
    check_figure7({1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 2, {6, 3});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(replication_reordering)

// Pipelined requests A (prefix 1, [2]) and B (prefix 2, [3]) reach the
// follower in the order B, A: B is rejected (the follower had only 1 entry),
// A is accepted (ack 2). The leader sees A's success first, then B's stale
// rejection. The follower's durable ack of 2 stands: the leader's
// ackedLength (matchIndex) must not go back to 1.
BOOST_AUTO_TEST_CASE(stale_rejection_after_success_keeps_acked_length) {
    core_config tmpl;
    tmpl.max_batch_entries = 1;
    core c(make_config(1, 3, tmpl));
    establish_leader(c);
    c.step(broadcast_request{1, make_bytes("a")});   // A: prefix 1, [2]
    c.step(broadcast_request{2, make_bytes("b")});   // B: prefix 2, [3]
    c.step(recv(2, 1, log_response{1, 2, true, 1}));  // A's answer
    BOOST_REQUIRE_EQUAL(c.acked_length(2), 2u);
    c.step(recv(2, 1, log_response{1, 1, false, 2})); // B's (stale) rejection
    BOOST_TEST(c.acked_length(2) == 2u);
}

BOOST_AUTO_TEST_CASE(reordered_pipelined_requests_still_converge) {
    core_config tmpl;
    tmpl.max_batch_entries = 1;
    tmpl.max_inflight = 4;
    cluster_harness h(3, tmpl);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    for (int i = 0; i < 4; ++i) h.broadcast(1, "p" + std::to_string(i));
    // Deliver the queue back to front: every pipelined batch arrives reversed.
    while (h.in_flight() > 0) h.deliver_at(h.in_flight() - 1);
    h.settle(4);
    for (node_id n : h.ids())
        BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"p0", "p1", "p2", "p3"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(duplicated_messages_change_nothing) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(2, "x");
    h.broadcast(1, "y");
    // Every message is delivered twice.
    for (int guard = 0; guard < 10000 && h.in_flight() > 0; ++guard) {
        h.duplicate_at(0);
        h.deliver_one();
        h.deliver_at(h.in_flight() - 1);
    }
    h.settle();
    for (node_id n : h.ids()) {
        BOOST_TEST(h.delivered(n).size() == 2u);
        BOOST_TEST(h.delivered(n) == h.delivered(1), boost::test_tools::per_element());
    }
    BOOST_TEST(h.state(2).completions.size() == 1u);
    BOOST_TEST(h.state(1).completions.size() == 1u);
}

// Broadcasts that arrived together (one driver turn) leave in one
// log_request per follower, where one at a time they leave in one each.
BOOST_AUTO_TEST_CASE(a_broadcast_batch_is_appended_whole_and_replicated_once) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(broadcast_batch{{{1, make_bytes("a")}, {2, make_bytes("b")}, {3, make_bytes("c")}}});
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{2, 3, 4}), boost::test_tools::per_element());
    for (node_id f : {node_id{2}, node_id{3}}) {
        auto rq = between<log_request>(o.messages, 1, f);
        BOOST_REQUIRE_EQUAL(rq.size(), 1u);
        BOOST_TEST(rq[0].prefix_len == 1u);
        BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{2, 3, 4}), boost::test_tools::per_element());
    }
    // Each request has its own outcome, at its own index.
    c.step(log_synced{4, 1});
    o = c.step(recv(2, 1, log_response{1, 4, true, 1}));
    BOOST_REQUIRE_EQUAL(o.completions.size(), 3u);
    for (std::uint64_t k = 0; k < 3; ++k) {
        BOOST_TEST(o.completions[k].request == k + 1);
        BOOST_TEST(o.completions[k].result == broadcast_result::committed);
        BOOST_TEST(o.completions[k].index == k + 2);
    }
    // The same three one at a time: a request each.
    core d(make_config(1, 3));
    establish_leader(d);
    std::size_t to2 = 0;
    for (std::uint64_t req = 1; req <= 3; ++req)
        to2 += between<log_request>(d.step(broadcast_request{req, make_bytes("x")}).messages, 1, 2).size();
    BOOST_TEST(to2 == 3u);
}

BOOST_AUTO_TEST_CASE(a_broadcast_batch_refuses_past_max_uncommitted_one_by_one) {
    core_config tmpl;
    tmpl.max_uncommitted = 2;
    core c(make_config(1, 3, tmpl));
    establish_leader(c);
    output o = c.step(broadcast_batch{{{1, make_bytes("a")}, {2, make_bytes("b")}, {3, make_bytes("c")}}});
    BOOST_TEST(indexes_of(o.append) == (std::vector<index_t>{2, 3}), boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 3u);
    BOOST_TEST(o.completions[0].result == broadcast_result::busy);
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_follower_forwards_each_broadcast_of_a_batch) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(broadcast_batch{{{1, make_bytes("a")}, {2, make_bytes("b")}}});
    auto fw = between<forward_request>(o.messages, 2, 1);
    BOOST_REQUIRE_EQUAL(fw.size(), 2u);
    BOOST_TEST(fw[0].request == 1u);
    BOOST_TEST(fw[1].request == 2u);
    BOOST_TEST(o.append.empty());
}

// etcd's MaxInflightBytes: no new batch while the bytes in flight reach the
// bound, but one batch always leaves, however large.
BOOST_AUTO_TEST_CASE(the_window_is_bounded_in_bytes_but_one_batch_always_leaves) {
    core_config tmpl;
    tmpl.max_inflight = 64;
    tmpl.max_inflight_bytes = 10;
    tmpl.max_batch_entries = 1;
    core c(make_config(1, 3, tmpl));
    establish_leader(c);
    std::vector<index_t> sent;
    for (std::uint64_t req = 1; req <= 5; ++req)
        for (const auto& r : between<log_request>(c.step(broadcast_request{req, make_bytes("1234")}).messages, 1, 2))
            sent.push_back(r.suffix.at(0).index);
    BOOST_TEST(sent == (std::vector<index_t>{2, 3, 4}), boost::test_tools::per_element());   // 4 + 4 + 4 >= 10
    // An ack of the first batch frees its 4 bytes: one more leaves.
    output o = c.step(recv(2, 1, log_response{1, 2, true, 1}));
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].suffix.at(0).index == 5u);
    // Everything acknowledged: a batch larger than the bound still goes.
    c.step(recv(2, 1, log_response{1, 5, true, 4}));
    o = c.step(recv(2, 1, log_response{1, 6, true, 5}));
    BOOST_TEST(c.sent_length(2) == 6u);
    o = c.step(broadcast_request{6, make_bytes(std::string(100, 'x'))});
    rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].suffix.at(0).index == 7u);
    o = c.step(broadcast_request{7, make_bytes("y")});
    BOOST_TEST(between<log_request>(o.messages, 1, 2).empty());   // 100 bytes in flight
}

BOOST_AUTO_TEST_SUITE_END()
