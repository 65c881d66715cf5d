// Broadcasts made on a follower: forwarded to the leader, held while no
// leader is known, bounded, retried, deduplicated, and always answered: a
// forwarded broadcast is never lost silently.
#include "core_test_util.hpp"
#include "../test_access.hpp"

using namespace raftlite;
using namespace raftlite::test;

namespace {

bool is_forward_request(const envelope& e) { return std::holds_alternative<forward_request>(e.msg); }
bool is_forward_response(const envelope& e) { return std::holds_alternative<forward_response>(e.msg); }

std::size_t count_payload(const raft_log& l, const std::string& p) {
    std::size_t n = 0;
    for (index_t i = l.start(); i <= l.length(); ++i)
        if (l.at(i).data() == p) ++n;
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(forwarding)

BOOST_AUTO_TEST_CASE(broadcast_on_a_follower_is_forwarded_and_completes_on_commit) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(broadcast_request{4, make_bytes("x")});
    BOOST_TEST(o.messages_after_sync.empty());
    BOOST_TEST(!o.has_writes());
    auto fw = of_type<forward_request>(o.messages);
    BOOST_REQUIRE_EQUAL(fw.size(), 1u);
    BOOST_TEST(fw[0].first == 1u);
    BOOST_TEST(fw[0].second.request == 4u);
    BOOST_TEST(fw[0].second.search_from == 0u);
    BOOST_TEST(*fw[0].second.payload == "x");
    BOOST_TEST(c.pending_broadcasts() == 1u);

    o = c.step(recv(1, 2, forward_response{4, forward_response::status::accepted, 1, 2}));
    BOOST_TEST(o.completions.empty());
    // Replicated, but not committed yet: no completion.
    const std::vector<log_entry> suffix{make_entry(1, 1, "", entry_kind::noop),
                                        make_entry(1, 2, "x", entry_kind::application, {2, 4})};
    o = c.step(recv(1, 2, log_request{1, 0, 0, 1, suffix}));
    BOOST_TEST(o.completions.empty());
    o = c.step(recv(1, 2, log_request{1, 2, 1, 2, {}}));
    BOOST_REQUIRE_EQUAL(o.committed.size(), 1u);
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 4u);
    BOOST_TEST(o.completions[0].result == broadcast_result::committed);
    BOOST_TEST(o.completions[0].index == 2u);
    BOOST_TEST(c.pending_broadcasts() == 0u);
}

BOOST_AUTO_TEST_CASE(forwarded_broadcast_commits_everywhere_through_the_cluster) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto req = h.broadcast(2, "x");
    h.deliver_all();
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"x"}), boost::test_tools::per_element());
    const auto& done = h.state(2).completions;
    BOOST_REQUIRE_EQUAL(done.size(), 1u);
    BOOST_TEST(done[0].request == req);
    BOOST_TEST(done[0].result == broadcast_result::committed);
    BOOST_TEST(done[0].index == 2u);
    BOOST_TEST(h.state(2).committed.at(1).data() == "x");
    BOOST_TEST(h.state(2).committed.at(1).index == 2u);
}

BOOST_AUTO_TEST_CASE(without_a_leader_a_broadcast_is_held_then_forwarded) {
    core c(make_config(2, 3));
    output o = c.step(broadcast_request{1, make_bytes("x")});
    BOOST_TEST(o.empty());
    BOOST_TEST(c.pending_broadcasts() == 1u);
    o = c.step(recv(3, 2, log_request{1, 0, 0, 0, {}}));
    auto fw = of_type<forward_request>(o.messages);
    BOOST_REQUIRE_EQUAL(fw.size(), 1u);
    BOOST_TEST(fw[0].first == 3u);
    BOOST_TEST(fw[0].second.request == 1u);
}

BOOST_AUTO_TEST_CASE(held_broadcast_fails_not_leader_after_hold_elections_timeouts) {
    core_config tmpl;
    tmpl.hold_elections = 3;
    core c(make_config(2, 3, tmpl));
    c.step(broadcast_request{1, make_bytes("x")});
    output o = c.step(election_timeout{});
    BOOST_TEST(o.completions.empty());
    o = c.step(election_timeout{});
    BOOST_TEST(o.completions.empty());
    o = c.step(election_timeout{});
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 1u);
    BOOST_TEST(o.completions[0].result == broadcast_result::not_leader);
    BOOST_TEST(c.pending_broadcasts() == 0u);
}

// Once forwarded, a broadcast may sit in some log and still commit: the hold
// bound no longer fails it (only its commit, or the driver's deadline, ends it).
BOOST_AUTO_TEST_CASE(a_forwarded_broadcast_is_not_failed_by_the_hold_bound) {
    core_config tmpl;
    tmpl.hold_elections = 2;
    core c(make_config(2, 3, tmpl));
    c.step(broadcast_request{1, make_bytes("x")});
    c.step(election_timeout{});                       // 1 of 2
    c.step(recv(3, 2, log_request{1, 0, 0, 0, {}}));  // a leader: forwarded
    c.step(recv(1, 2, vote_request{5, 0, 0}));         // a new term: held again
    output o = c.step(election_timeout{});
    BOOST_TEST(o.completions.empty());
    o = c.step(election_timeout{});
    BOOST_TEST(o.completions.empty());
    o = c.step(election_timeout{});
    BOOST_TEST(o.completions.empty());
    BOOST_TEST(c.pending_broadcasts() == 1u);
}

BOOST_AUTO_TEST_CASE(max_pending_exceeded_is_busy) {
    core_config tmpl;
    tmpl.max_pending = 2;
    core c(make_config(2, 3, tmpl));
    BOOST_TEST(c.step(broadcast_request{1, make_bytes("a")}).completions.empty());
    BOOST_TEST(c.step(broadcast_request{2, make_bytes("b")}).completions.empty());
    output o = c.step(broadcast_request{3, make_bytes("c")});
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 3u);
    BOOST_TEST(o.completions[0].result == broadcast_result::busy);
    BOOST_TEST(c.pending_broadcasts() == 2u);
}

BOOST_AUTO_TEST_CASE(leader_over_max_uncommitted_is_busy_locally_and_for_forwards) {
    core_config tmpl;
    tmpl.max_uncommitted = 2;
    core c(make_config(1, 3, tmpl));
    establish_leader(c);
    BOOST_TEST(c.step(broadcast_request{1, make_bytes("a")}).completions.empty());
    BOOST_TEST(c.step(broadcast_request{2, make_bytes("b")}).completions.empty());
    output o = c.step(broadcast_request{3, make_bytes("c")});
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].result == broadcast_result::busy);
    BOOST_TEST(o.append.empty());
    o = c.step(recv(2, 1, forward_request{9, 1, make_bytes("d")}));
    auto r = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST((r[0].second.result == forward_response::status::busy));
    BOOST_TEST(o.append.empty());
}

BOOST_AUTO_TEST_CASE(busy_answer_from_the_leader_completes_busy) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    c.step(broadcast_request{4, make_bytes("x")});
    output o = c.step(recv(1, 2, forward_response{4, forward_response::status::busy, 0, 0}));
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].result == broadcast_result::busy);
}

BOOST_AUTO_TEST_CASE(not_leader_answer_holds_the_broadcast_for_the_next_leader) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    c.step(broadcast_request{4, make_bytes("x")});
    output o = c.step(recv(1, 2, forward_response{4, forward_response::status::not_leader, 0, 0}));
    BOOST_TEST(o.completions.empty());
    BOOST_TEST(c.leader() == no_node);   // its belief was stale
    o = c.step(recv(3, 2, log_request{2, 0, 0, 0, {}}));
    auto fw = of_type<forward_request>(o.messages);
    BOOST_REQUIRE_EQUAL(fw.size(), 1u);
    BOOST_TEST(fw[0].first == 3u);
}

BOOST_AUTO_TEST_CASE(non_leader_answers_forward_with_not_leader) {
    core c(make_config(3, 3));
    follow(c, 1, 1);
    output o = c.step(recv(2, 3, forward_request{5, 0, make_bytes("x")}));
    auto r = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].first == 2u);
    BOOST_TEST(r[0].second.request == 5u);
    BOOST_TEST((r[0].second.result == forward_response::status::not_leader));
    BOOST_TEST(o.append.empty());
}

BOOST_AUTO_TEST_CASE(unanswered_forward_is_retried_after_forward_retry_after_log_requests) {
    core_config tmpl;
    tmpl.forward_retry_after = 3;
    core c(make_config(2, 3, tmpl));
    follow(c, 1, 1);
    output o = c.step(broadcast_request{4, make_bytes("x")});   // lost
    BOOST_REQUIRE_EQUAL(of_type<forward_request>(o.messages).size(), 1u);
    for (int i = 1; i <= 2; ++i) {
        o = c.step(recv(1, 2, log_request{1, 0, 0, 0, {}}));
        BOOST_TEST(of_type<forward_request>(o.messages).empty());
    }
    o = c.step(recv(1, 2, log_request{1, 0, 0, 0, {}}));
    auto fw = of_type<forward_request>(o.messages);
    BOOST_REQUIRE_EQUAL(fw.size(), 1u);
    BOOST_TEST(fw[0].first == 1u);
    BOOST_TEST(fw[0].second.request == 4u);
    BOOST_TEST(fw[0].second.search_from == 0u);   // unchanged: where to look for the first copy
}

// The forwards that reach a leader in one driver turn are appended as they
// arrive and replicated together when the turn ends (core::end_turn): one
// log_request per follower carrying them all, as for the broadcasts of a
// turn, instead of a one-entry request each (what the broken variant,
// replicate_each_forward, sends).
BOOST_AUTO_TEST_CASE(forwards_of_one_turn_leave_in_one_log_request_per_follower) {
    for (const bool broken : {false, true}) {
        BOOST_TEST_CONTEXT("broken variant " << broken) {
            core c(make_config(1, 3));
            establish_leader(c);
            detail::core_test_access::faults(c).replicate_each_forward = broken;
            const index_t before = c.log().length();
            output o;
            c.step(recv(2, 1, forward_request{7, before, make_bytes("a")}), o);
            c.step(recv(3, 1, forward_request{8, before, make_bytes("b")}), o);
            c.step(recv(2, 1, forward_request{9, before, make_bytes("c")}), o);
            BOOST_TEST(of_type<forward_response>(o.messages).size() == 3u);
            BOOST_TEST(o.append.size() == 3u);
            c.end_turn(o);
            bool one_request_each = true;
            for (node_id f : {node_id{2}, node_id{3}}) {
                const auto requests = between<log_request>(o.messages, 1, f);
                one_request_each = one_request_each && requests.size() == 1 &&
                                   requests[0].prefix_len == before && requests[0].suffix.size() == 3;
            }
            BOOST_TEST(one_request_each == !broken);
            // A second end of turn owes nothing.
            output again;
            c.end_turn(again);
            BOOST_TEST(again.messages.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(leader_does_not_append_a_retried_forward_twice) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(recv(2, 1, forward_request{7, 1, make_bytes("x")}));
    BOOST_REQUIRE_EQUAL(o.append.size(), 1u);
    BOOST_TEST(o.append[0].origin.node == 2u);
    BOOST_TEST(o.append[0].origin.request == 7u);
    auto r = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST((r[0].second.result == forward_response::status::accepted));
    BOOST_TEST(r[0].second.index == 2u);
    BOOST_TEST(r[0].second.term == 1u);
    c.step(broadcast_request{1, make_bytes("y")});   // something after it
    o = c.step(recv(2, 1, forward_request{7, 1, make_bytes("x")}));
    BOOST_TEST(o.append.empty());
    r = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST((r[0].second.result == forward_response::status::accepted));
    BOOST_TEST(r[0].second.index == 2u);
    BOOST_TEST(count_payload(c.log(), "x") == 1u);
    // The same request id from another node is another request.
    o = c.step(recv(3, 1, forward_request{7, 1, make_bytes("z")}));
    BOOST_TEST(o.append.size() == 1u);
}

// A new leader finds origins appended under an earlier leader (its index of
// origins is built from the whole log when it wins), so a forward retried to
// it is answered with the old copy instead of a second one.
BOOST_AUTO_TEST_CASE(new_leader_finds_a_forward_appended_under_the_previous_leader) {
    core c(make_config(1, 3));
    log_entry e;
    e.term = 1;
    e.index = 1;
    e.origin = {3, 7};
    e.payload = make_bytes("x");
    c.step(recv(2, 1, log_request{1, 0, 0, 0, {e}}));
    synced(c);
    win_election(c, {3});
    output o = c.step(recv(3, 1, forward_request{7, 0, make_bytes("x")}));
    BOOST_TEST(o.append.empty());
    auto r = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST((r[0].second.result == forward_response::status::accepted));
    BOOST_TEST(r[0].second.index == 1u);
    BOOST_TEST(r[0].second.term == 1u);
    BOOST_TEST(count_payload(c.log(), "x") == 1u);
    // Above search_from only: a copy at or below it is not the one asked for.
    o = c.step(recv(3, 1, forward_request{7, 1, make_bytes("x")}));
    BOOST_TEST(o.append.size() == 1u);
}

BOOST_AUTO_TEST_CASE(lost_forward_answer_then_retry_commits_exactly_once) {
    core_config tmpl;
    tmpl.forward_retry_after = 2;
    cluster_harness h(3, tmpl);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(3);
    h.set_auto_sync(2, false);   // 2's acks wait: nothing commits yet
    const auto req = h.broadcast(2, "x");
    BOOST_REQUIRE(h.deliver_first(is_forward_request));
    BOOST_REQUIRE_EQUAL(h.drop_if(is_forward_response), 1u);   // the answer is lost
    for (int i = 0; i < 4; ++i) {
        h.heartbeat(1);
        h.deliver_all();
    }
    std::size_t forwards = 0;
    for (const auto& e : h.sent())
        if (e.from == 2 && is_forward_request(e)) ++forwards;
    BOOST_TEST(forwards >= 2u);   // retried
    BOOST_TEST(count_payload(h.node(1).log(), "x") == 1u);
    h.heal();
    h.set_auto_sync(2, true);
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"x"}), boost::test_tools::per_element());
    const auto& done = h.state(2).completions;
    BOOST_REQUIRE_EQUAL(done.size(), 1u);
    BOOST_TEST(done[0].request == req);
    BOOST_TEST(done[0].result == broadcast_result::committed);
}

// A forwarded broadcast never fails once forwarded: a copy of the forward
// may still be on its way and be appended by a later leader (a transport
// re-sends queued frames after a reconnect). When its entry is overwritten,
// the follower asks the new leader again, and it commits exactly once.
BOOST_AUTO_TEST_CASE(forwarded_entry_overwritten_by_another_leader_is_asked_for_again) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.cut(1, 3);
    const auto req = h.broadcast(2, "x");
    // The leader appends x and answers; its log_requests carrying x are lost.
    BOOST_REQUIRE(h.deliver_first(is_forward_request));
    BOOST_REQUIRE(h.deliver_first(is_forward_response));
    h.drop_if([](const envelope& e) { return std::holds_alternative<log_request>(e.msg); });
    BOOST_REQUIRE_EQUAL(h.node(1).log().length(), 2u);
    BOOST_REQUIRE_EQUAL(h.node(2).log().length(), 1u);
    BOOST_TEST(h.state(2).completions.empty());
    // Node 3 becomes leader of term 2 with 2's vote; its noop takes index 2.
    h.isolate(1);
    BOOST_REQUIRE_EQUAL(h.elect(3), 3u);
    h.settle();
    BOOST_TEST(h.state(2).completions.size() <= 1u);
    for (const auto& c : h.state(2).completions) BOOST_TEST(c.result == broadcast_result::committed);
    // The old leader rejoins: its copy of x is overwritten, the new one commits.
    h.heal();
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(count_payload(h.node(n).log(), "x") == 1u);
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"x"}), boost::test_tools::per_element());
    const auto& done = h.state(2).completions;
    BOOST_REQUIRE_EQUAL(done.size(), 1u);
    BOOST_TEST(done[0].request == req);
    BOOST_TEST(done[0].result == broadcast_result::committed);
}

BOOST_AUTO_TEST_CASE(leaders_own_broadcast_overwritten_completes_superseded) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(1);
    const auto req = h.broadcast(1, "lost");
    h.settle();
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.broadcast(2, "kept");
    h.settle();
    h.heal();
    h.settle();
    BOOST_TEST(h.leader() == 2u);
    const auto& done = h.state(1).completions;
    BOOST_REQUIRE_EQUAL(done.size(), 1u);
    BOOST_TEST(done[0].request == req);
    BOOST_TEST(done[0].result == broadcast_result::superseded);
    BOOST_TEST(h.delivered(1) == (std::vector<std::string>{"kept"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(accepted_answer_for_an_index_already_committed_by_another_asks_again) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    c.step(broadcast_request{4, make_bytes("x")});
    // Index 1 commits with someone else's entry before the answer arrives.
    c.step(recv(1, 2, log_request{1, 0, 0, 1, {make_entry(1, 1, "other")}}));
    BOOST_REQUIRE_EQUAL(c.commit_length(), 1u);
    output o = c.step(recv(1, 2, forward_response{4, forward_response::status::accepted, 1, 1}));
    // Not a failure (another copy of the forward may yet be appended): the
    // request goes to the leader again, which finds it or appends it.
    BOOST_TEST(o.completions.empty());
    BOOST_TEST(c.pending_broadcasts() == 1u);
    std::size_t forwards = 0;
    for (const auto& e : o.messages)
        if (const auto* f = std::get_if<forward_request>(&e.msg); f && e.to == 1 && f->request == 4) ++forwards;
    BOOST_TEST(forwards == 1u);
}

BOOST_AUTO_TEST_CASE(held_broadcast_is_appended_when_this_node_becomes_leader) {
    core c(make_config(1, 3));
    c.step(broadcast_request{3, make_bytes("mine")});
    output o = win_election(c, {2});
    BOOST_REQUIRE_EQUAL(o.append.size(), 2u);
    BOOST_TEST(o.append[0].kind == entry_kind::noop);
    BOOST_TEST(o.append[1].data() == "mine");
    BOOST_TEST(o.append[1].origin.node == 1u);
    BOOST_TEST(o.append[1].origin.request == 3u);
    synced(c);
    o = c.step(recv(2, 1, log_response{1, 1, true, 0}));   // the probe carried the noop only
    BOOST_TEST(o.completions.empty());
    auto rq = between<log_request>(o.messages, 1, 2);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{2}), boost::test_tools::per_element());
    o = c.step(recv(2, 1, log_response{1, 2, true, 1}));
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].result == broadcast_result::committed);
    BOOST_TEST(o.completions[0].index == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- outcomes must be truthful: a broadcast reported superseded or
// not_leader must never commit afterwards ---------------------------------------

namespace {

node_id elect_until_leader(cluster_harness& h, node_id n, int tries = 6) {
    for (int i = 0; i < tries && h.leader() != n; ++i) {
        h.election_timeout(n);
        h.deliver_all();
    }
    h.settle();
    return h.leader();
}

std::size_t committed_with_origin(const cluster_harness& h, node_id n, entry_origin o) {
    std::size_t k = 0;
    for (const auto& e : h.state(n).committed)
        if (e.origin == o) ++k;
    return k;
}

} // namespace

BOOST_AUTO_TEST_SUITE(forwarding_outcomes)

// Scenario: 2 forwards x to leader 1 (term 1); 1 appends it at index 2 but its
// answer is delayed and its log_requests are lost. 3 wins term 2 with 2's
// vote; 2 re-forwards x to 3, which appends a second copy at index 3. Then
// the delayed "accepted at index 2 (term 1)" from the old leader arrives.
// Index 2 commits with 3's noop, index 3 commits with x.
// Expected: 2's caller hears `committed` (index 3), exactly once.
BOOST_AUTO_TEST_CASE(late_accepted_answer_from_a_deposed_leader_does_not_misreport) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto req = h.broadcast(2, "x");
    BOOST_REQUIRE(h.deliver_first(is_forward_request));   // 1 appends x at 2
    BOOST_REQUIRE_EQUAL(h.node(1).log().length(), 2u);
    // Hold back 1's answer; lose its log_requests.
    std::vector<envelope> late;
    for (const auto& e : h.queue())
        if (is_forward_response(e)) late.push_back(e);
    BOOST_REQUIRE_EQUAL(late.size(), 1u);
    h.drop_all();
    h.isolate(1);
    // 3 is elected in term 2 with 2's vote; 2 forwards x again, to 3.
    h.election_timeout(3);
    while (h.deliver_first([](const envelope& e) {
        return std::holds_alternative<vote_request>(e.msg) || std::holds_alternative<vote_response>(e.msg);
    })) {}
    BOOST_REQUIRE_EQUAL(h.leader(), 3u);
    // 3's first log_request makes 2 follow 3 and re-forward x.
    BOOST_REQUIRE(h.deliver_first([](const envelope& e) {
        return e.to == 2 && std::holds_alternative<log_request>(e.msg);
    }));
    BOOST_REQUIRE(h.deliver_first(is_forward_request));   // 3 appends x at 3
    BOOST_REQUIRE_EQUAL(h.node(3).log().length(), 3u);
    // The old leader's answer arrives now.
    h.feed(2, message_received{late[0]});
    h.deliver_all();
    h.settle();
    BOOST_REQUIRE_EQUAL(committed_with_origin(h, 2, {2, req}), 1u);   // x did commit
    const auto& done = h.state(2).completions;
    BOOST_REQUIRE_EQUAL(done.size(), 1u);
    BOOST_TEST(done[0].request == req);
    BOOST_TEST(done[0].result == broadcast_result::committed);
    BOOST_TEST(done[0].index == 3u);
}

// Scenario: 2 forwards x to leader 1, which appends it and replicates it to 3;
// 1's answer and its requests to 2 are lost, and 1 crashes before committing.
// 2, cut off, goes through hold_elections election timeouts and fails x with
// not_leader. Then 3 (which holds x) is elected and commits x.
// Expected: a broadcast that was forwarded (it may be in some log) is not
// reported not_leader; its caller hears `committed` once it commits.
BOOST_AUTO_TEST_CASE(forwarded_broadcast_failed_not_leader_never_commits_later) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto req = h.broadcast(2, "x");
    BOOST_REQUIRE(h.deliver_first(is_forward_request));   // 1 appends x at 2
    h.drop_if([](const envelope& e) { return e.to == 2 || e.from == 2; });
    BOOST_REQUIRE(h.deliver_first([](const envelope& e) { return e.to == 3; }));   // 3 gets x
    BOOST_REQUIRE_EQUAL(h.node(3).log().length(), 2u);
    h.crash(1);
    h.drop_all();
    h.isolate(2);
    for (int i = 0; i < 6 && h.state(2).completions.empty(); ++i) {
        h.election_timeout(2);
        h.deliver_all();
    }
    h.heal();
    BOOST_REQUIRE_EQUAL(elect_until_leader(h, 3), 3u);
    BOOST_REQUIRE_EQUAL(committed_with_origin(h, 2, {2, req}), 1u);   // x committed
    const auto& done = h.state(2).completions;
    BOOST_REQUIRE_EQUAL(done.size(), 1u);
    BOOST_TEST(done[0].result == broadcast_result::committed);
}

BOOST_AUTO_TEST_SUITE_END()

// A deposed leader's broadcasts above the new leader's (shorter) log: once an
// entry of the new term commits, no entry of an earlier term can follow it in
// any future log, so they are superseded at once, even though the commit
// length in an idle cluster never reaches their indexes.
BOOST_AUTO_TEST_CASE(broadcasts_of_a_deposed_leader_beyond_the_new_log_are_superseded) {
    core c(make_config(1, 3));
    establish_leader(c);                                  // noop (1,1) committed
    c.step(broadcast_request{1, make_bytes("x1")});        // (2,1)
    c.step(broadcast_request{2, make_bytes("x2")});        // (3,1)
    BOOST_REQUIRE_EQUAL(c.log().length(), 3u);
    // Node 2 won term 2 with log [(1,1)] and commits its noop at (2,2).
    log_entry noop;
    noop.term = 2;
    noop.index = 2;
    noop.kind = entry_kind::noop;
    noop.payload = make_bytes("");
    output o = c.step(recv(2, 1, log_request{2, 1, 1, 2, {noop}}));
    BOOST_TEST(c.commit_length() == 2u);
    BOOST_REQUIRE_EQUAL(o.completions.size(), 2u);
    for (const completion& done : o.completions) BOOST_TEST(done.result == broadcast_result::superseded);
    BOOST_TEST(c.pending_broadcasts() == 0u);
}
