// Linearizable reads without the log (Raft thesis §6.4 ReadIndex, §6.4.1
// leases) and leader stickiness (§4.2.3), one test per rule.
#include "core_test_util.hpp"
#include "../test_access.hpp"

using namespace raftlite;
using namespace raftlite::test;

namespace {

// The read outcomes node n reported for `request`.
std::vector<read_completion> reads_of(cluster_harness& h, node_id n, std::uint64_t request) {
    std::vector<read_completion> r;
    for (const read_completion& c : h.state(n).reads)
        if (c.request == request) r.push_back(c);
    return r;
}

// A leader (self 1, 3 nodes) whose own-term noop is committed.
core leader_of_three(core_config tmpl = {}) {
    core c(make_config(1, 3, tmpl));
    establish_leader(c);
    return c;
}

// The read round carried by the log_requests to `to` in `o`.
std::vector<std::uint64_t> rounds_to(const output& o, node_id to) {
    std::vector<std::uint64_t> r;
    for (const auto& m : between<log_request>(o.messages, 1, to)) r.push_back(m.read_round);
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(read_index_6_4)

BOOST_AUTO_TEST_CASE(a_read_waits_for_a_round_a_majority_answered) {
    core c = leader_of_three();
    const index_t commit = c.commit_length();
    output o = c.step(read_request{7});
    BOOST_TEST(o.reads.empty());   // not before a majority confirms the leadership
    auto rounds = rounds_to(o, 2);
    BOOST_REQUIRE_EQUAL(rounds.size(), 1u);   // the round begins at once, as heartbeats
    const std::uint64_t round = rounds[0];
    BOOST_TEST(rounds_to(o, 3) == rounds);
    // An answer to an earlier round confirms nothing about this read.
    o = c.step(recv(2, 1, log_response{1, commit, true, commit, round - 1}));
    BOOST_TEST(o.reads.empty());
    // One follower and the leader are a majority of three.
    o = c.step(recv(2, 1, log_response{1, commit, true, commit, round}));
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].request == 7u);
    BOOST_TEST(o.reads[0].result == read_result::ready);
    BOOST_TEST(o.reads[0].index == commit);
    BOOST_TEST(c.log().length() == commit);   // nothing was appended for it
}

BOOST_AUTO_TEST_CASE(a_rejection_in_the_leaders_term_confirms_the_round_too) {
    // A follower that rejects an append still took the sender for its
    // leader: its answer in our term confirms the round.
    core c = leader_of_three();
    output o = c.step(read_request{7});
    const std::uint64_t round = rounds_to(o, 3).at(0);
    o = c.step(recv(3, 1, log_response{1, 0, false, 1, round}));
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].result == read_result::ready);
}

BOOST_AUTO_TEST_CASE(a_new_leader_serves_no_read_before_an_entry_of_its_term_commits) {
    core c(make_config(1, 3), make_state(1, no_node, {1, 1}));
    win_election(c, {2});   // noop at 3, term 2; nothing of term 2 committed
    synced(c);
    output o = c.step(read_request{5});
    BOOST_TEST(o.reads.empty());
    // The follower's answer commits the noop (index 3): only now is the
    // leader's commit index known to be the cluster's, and a round follows.
    o = c.step(recv(2, 1, log_response{2, 3, true, 2, 0}));
    BOOST_REQUIRE_EQUAL(c.commit_length(), 3u);
    BOOST_TEST(o.reads.empty());
    auto rounds = rounds_to(o, 2);
    BOOST_REQUIRE(!rounds.empty());
    o = c.step(recv(2, 1, log_response{2, 3, true, 3, rounds.back()}));
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].index == 3u);
}

BOOST_AUTO_TEST_CASE(reads_arriving_during_a_round_share_the_next_one) {
    core_config tmpl;
    tmpl.read_rounds_in_flight = 1;
    core c = leader_of_three(tmpl);
    const std::uint64_t rounds_before = c.stats().read_rounds;
    output first = c.step(read_request{1});
    const std::uint64_t r1 = rounds_to(first, 2).at(0);
    // Ten reads while the round is out: no new round for each.
    for (std::uint64_t req = 2; req <= 11; ++req) {
        output o = c.step(read_request{req});
        BOOST_TEST(rounds_to(o, 2).empty());
    }
    BOOST_TEST(c.stats().read_rounds == rounds_before + 1);
    // The first round answers the first read only (the others arrived after
    // it began) and begins the one that answers all ten.
    output o = c.step(recv(2, 1, log_response{1, 1, true, 1, r1}));
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].request == 1u);
    const std::uint64_t r2 = rounds_to(o, 2).at(0);
    BOOST_TEST(r2 == r1 + 1);
    o = c.step(recv(3, 1, log_response{1, 1, true, 1, r2}));
    BOOST_TEST(o.reads.size() == 10u);
    BOOST_TEST(c.stats().read_rounds == rounds_before + 2);
    // The heartbeat's own round is no round begun for reads: the count is
    // what reads cost beyond the heartbeats, so an idle leader's stays put.
    o = c.step(heartbeat_timeout{});
    BOOST_TEST(rounds_to(o, 2).at(0) == r2 + 1);
    BOOST_TEST(c.stats().read_rounds == rounds_before + 2);
}

// With two rounds allowed in flight (the default), a read arriving while
// one is out begins the second at once instead of waiting for the first to
// be confirmed; reads arriving while both are out share the next. Each
// round answers only the reads that arrived before it began.
BOOST_AUTO_TEST_CASE(a_second_round_begins_while_the_first_is_out) {
    core c = leader_of_three();
    BOOST_REQUIRE_EQUAL(core_config{}.read_rounds_in_flight, 2u);
    const std::uint64_t rounds_before = c.stats().read_rounds;
    const std::uint64_t r1 = rounds_to(c.step(read_request{1}), 2).at(0);
    const std::uint64_t r2 = rounds_to(c.step(read_request{2}), 2).at(0);
    BOOST_TEST(r2 == r1 + 1);
    for (std::uint64_t req = 3; req <= 6; ++req) BOOST_TEST(rounds_to(c.step(read_request{req}), 2).empty());
    BOOST_TEST(c.stats().read_rounds == rounds_before + 2);
    // The first round answers read 1 only, and makes room for the round
    // that reads 3 to 6 wait for.
    output o = c.step(recv(2, 1, log_response{1, 1, true, 1, r1}));
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].request == 1u);
    const std::uint64_t r3 = rounds_to(o, 2).at(0);
    BOOST_TEST(r3 == r2 + 1);
    o = c.step(recv(2, 1, log_response{1, 1, true, 1, r2}));
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].request == 2u);
    o = c.step(recv(3, 1, log_response{1, 1, true, 1, r3}));
    BOOST_TEST(o.reads.size() == 4u);
    BOOST_TEST(c.stats().read_rounds == rounds_before + 3);
}

BOOST_AUTO_TEST_CASE(a_one_node_cluster_reads_at_once) {
    core c(make_config(1, 1));
    c.step(election_timeout{});
    synced(c);   // its noop commits
    output o = c.step(read_request{3});
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].index == 1u);
}

BOOST_AUTO_TEST_CASE(a_follower_asks_the_leader_and_waits_for_its_index_locally) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(1, "x");
    h.settle();
    const std::uint64_t req = h.read(2);
    BOOST_TEST(reads_of(h, 2, req).empty());
    h.deliver_all();
    auto r = reads_of(h, 2, req);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].result == read_result::ready);
    BOOST_TEST(r[0].index == h.node(1).commit_length());
    // Reported only once the follower applied up to the index.
    BOOST_TEST(h.state(2).run->applied() >= r[0].index);
}

BOOST_AUTO_TEST_CASE(a_follower_read_waits_for_its_own_deliveries) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    // Node 3 hears nothing for a while: the write commits on 1 and 2 only.
    h.isolate(3);
    h.broadcast(1, "y");
    h.settle();
    h.heal();
    const std::uint64_t req = h.read(3);
    // Deliver only the read and its answer, no log traffic to 3.
    h.deliver_first([](const envelope& e) { return std::holds_alternative<read_index_request>(e.msg); });
    h.deliver_first([](const envelope& e) { return std::holds_alternative<log_request>(e.msg) && e.to != 1; });
    while (h.deliver_first([](const envelope& e) { return e.to == 1 || std::holds_alternative<log_response>(e.msg); })) {
    }
    h.deliver_first([](const envelope& e) { return std::holds_alternative<read_index_response>(e.msg); });
    // Node 3 knows the index but has not applied the write yet: no answer.
    BOOST_TEST(reads_of(h, 3, req).empty());
    h.settle();
    auto r = reads_of(h, 3, req);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].result == read_result::ready);
    BOOST_TEST(h.delivered(3) == (std::vector<std::string>{"y"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_follower_learns_a_commit_without_waiting_for_a_heartbeat) {
    // The commit index is announced as soon as it moves: a follower's read
    // index (or forwarded broadcast) does not wait a heartbeat for it.
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(2, "x");
    h.run_until_quiet();   // no heartbeat fires
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"x"}), boost::test_tools::per_element());
    const std::uint64_t req = h.read(3);
    h.run_until_quiet();
    auto r = reads_of(h, 3, req);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].result == read_result::ready);
}

BOOST_AUTO_TEST_CASE(reads_do_not_grow_the_log) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(1, "x");
    h.settle();
    const index_t length = h.node(1).log().length();
    for (int i = 0; i < 50; ++i) {
        h.read(1 + i % 3);
        h.deliver_all();
    }
    for (node_id n : h.ids()) {
        BOOST_TEST(h.node(n).log().length() == length);
        BOOST_TEST(h.state(n).reads.size() > 0u);
        for (const read_completion& r : h.state(n).reads) BOOST_TEST(r.result == read_result::ready);
    }
}

BOOST_AUTO_TEST_CASE(a_deposed_leader_cut_off_serves_no_read) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(1, "old");
    h.settle();
    h.isolate(1);
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.broadcast(2, "new");
    h.settle();
    // Node 1 still believes it leads; its commit index misses "new".
    BOOST_REQUIRE(h.node(1).role() == role::leader);
    const std::uint64_t req = h.read(1);
    h.settle();
    BOOST_TEST(reads_of(h, 1, req).empty());   // no majority answers its round
    // Healed, it steps down and its read goes to the new leader, whose
    // index covers "new".
    h.heal();
    h.settle();
    auto r = reads_of(h, 1, req);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].result == read_result::ready);
    BOOST_TEST(r[0].index >= h.node(2).log().length());
}

BOOST_AUTO_TEST_CASE(reads_without_a_leader_fail_after_hold_elections) {
    core_config tmpl;
    tmpl.hold_elections = 2;
    core c(make_config(2, 3, tmpl));
    output o = c.step(read_request{4});
    BOOST_TEST(o.reads.empty());
    o = c.step(election_timeout{});
    BOOST_TEST(o.reads.empty());
    o = c.step(election_timeout{});
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].result == read_result::not_leader);
}

BOOST_AUTO_TEST_CASE(max_pending_reads_bounds_the_waiters) {
    core_config tmpl;
    tmpl.max_pending_reads = 2;
    core c = leader_of_three(tmpl);
    c.step(read_request{1});
    c.step(read_request{2});
    output o = c.step(read_request{3});
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);
    BOOST_TEST(o.reads[0].request == 3u);
    BOOST_TEST(o.reads[0].result == read_result::busy);
}

BOOST_AUTO_TEST_CASE(a_non_leader_answers_a_read_index_request_with_not_leader) {
    core c(make_config(2, 3));
    output o = c.step(recv(3, 2, read_index_request{9}));
    auto r = of_type<read_index_response>(o.messages);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.request == 9u);
    BOOST_TEST((r[0].second.result == read_index_response::status::not_leader));
}

BOOST_AUTO_TEST_CASE(answers_to_reads_never_asked_are_ignored) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(recv(1, 2, read_index_response{77, read_index_response::status::ready, 5}));
    BOOST_TEST(o.reads.empty());
    o = c.step(recv(3, 2, read_index_request{0}));   // id 0 is never a read
    BOOST_TEST(o.messages.empty());
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(broken_read_without_round_answers_a_deposed_leaders_stale_index) {
    // The deliberately broken rule the simulator must catch: what it does.
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(1);
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.broadcast(2, "new");
    h.settle();
    detail::core_test_access::faults(detail::runner_test_access::raft(*h.state(1).run)).read_without_round = true;
    const std::uint64_t req = h.read(1);
    auto r = reads_of(h, 1, req);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].index < h.node(2).commit_length());   // stale
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lease_reads_6_4_1)

core_config with_lease(std::chrono::nanoseconds d) {
    core_config c;
    c.lease_duration = d;
    return c;
}

BOOST_AUTO_TEST_CASE(within_the_lease_a_read_needs_no_round) {
    using std::chrono::nanoseconds;
    core c(make_config(1, 3, with_lease(nanoseconds(100))));
    c.observe_clock(nanoseconds(0));
    establish_leader(c);
    c.observe_clock(nanoseconds(10));
    output o = c.step(heartbeat_timeout{});   // a round begun at 10
    const std::uint64_t round = rounds_to(o, 2).at(0);
    c.observe_clock(nanoseconds(20));
    c.step(recv(2, 1, log_response{1, 1, true, 1, round}));   // a majority: lease until 110
    BOOST_TEST(c.lease_valid());
    c.observe_clock(nanoseconds(109));
    o = c.step(read_request{1});
    BOOST_REQUIRE_EQUAL(o.reads.size(), 1u);   // at once
    BOOST_TEST(rounds_to(o, 2).empty());
    BOOST_TEST(c.stats().lease_reads == 1u);
    // At 110 the lease is over: the read waits for a round.
    c.observe_clock(nanoseconds(110));
    BOOST_TEST(!c.lease_valid());
    o = c.step(read_request{2});
    BOOST_TEST(o.reads.empty());
    BOOST_TEST(!rounds_to(o, 2).empty());
}

BOOST_AUTO_TEST_CASE(a_lease_runs_from_the_rounds_start_not_its_answer) {
    using std::chrono::nanoseconds;
    core c(make_config(1, 3, with_lease(nanoseconds(100))));
    c.observe_clock(nanoseconds(0));
    establish_leader(c);
    c.observe_clock(nanoseconds(50));
    output o = c.step(heartbeat_timeout{});
    const std::uint64_t round = rounds_to(o, 2).at(0);
    c.observe_clock(nanoseconds(140));   // a slow answer
    c.step(recv(3, 1, log_response{1, 1, true, 1, round}));
    BOOST_TEST(c.lease_valid());
    c.observe_clock(nanoseconds(150));
    BOOST_TEST(!c.lease_valid());
}

BOOST_AUTO_TEST_CASE(a_new_term_starts_without_a_lease) {
    using std::chrono::nanoseconds;
    core c(make_config(1, 3, with_lease(nanoseconds(1000))));
    c.observe_clock(nanoseconds(0));
    establish_leader(c);
    output o = c.step(heartbeat_timeout{});
    c.step(recv(2, 1, log_response{1, 1, true, 1, rounds_to(o, 2).at(0)}));
    BOOST_REQUIRE(c.lease_valid());
    c.step(recv(3, 1, log_response{5, 0, false, 1, 0}));   // a higher term: steps down
    BOOST_TEST(!c.lease_valid());
}

BOOST_AUTO_TEST_CASE(a_lease_needs_check_quorum_and_stickiness) {
    core_config tmpl = with_lease(std::chrono::nanoseconds(100));
    tmpl.leader_stickiness = false;
    BOOST_CHECK_THROW(core(make_config(1, 3, tmpl)), std::invalid_argument);
    tmpl.leader_stickiness = true;
    tmpl.check_quorum = false;
    BOOST_CHECK_THROW(core(make_config(1, 3, tmpl)), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(leader_stickiness_4_2_3)

BOOST_AUTO_TEST_CASE(a_follower_hearing_from_its_leader_disregards_votes) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(recv(3, 2, vote_request{5, 10, 4}));
    BOOST_TEST(c.current_term() == 1u);   // the term is not adopted
    BOOST_TEST(o.messages_after_sync.empty());
    BOOST_TEST(!o.save_hard_state);
    BOOST_TEST(c.stats().votes_disregarded == 1u);
    // Once its election timer ran out without the leader, votes count again.
    c.step(election_timeout{});   // it stands itself (term 2)
    o = c.step(recv(3, 2, vote_request{5, 10, 4}));
    BOOST_TEST(c.current_term() == 5u);
    auto v = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(v.size(), 1u);
    BOOST_TEST(v[0].second.granted);
}

BOOST_AUTO_TEST_CASE(a_leader_disregards_votes) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(recv(2, 1, vote_request{9, 10, 8}));
    BOOST_TEST(c.role() == role::leader);
    BOOST_TEST(c.current_term() == 1u);
    BOOST_TEST(o.empty());
}

// Stickiness alone, without pre-vote (pre_vote_tests.cpp has both).
BOOST_AUTO_TEST_CASE(a_rejoining_node_does_not_depose_a_healthy_leader_by_its_votes) {
    cluster_harness h(3, without_pre_vote(), cluster_harness::leader_stickiness{});
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(3);
    for (int i = 0; i < 5; ++i) h.election_timeout(3);   // its term climbs while cut off
    h.drop_all();
    h.heal();
    h.election_timeout(3);   // back, it asks for votes at its higher term
    h.deliver_all();
    BOOST_TEST(h.node(1).role() == role::leader);
    BOOST_TEST(h.node(1).current_term() == 1u);
    BOOST_TEST(h.node(2).current_term() == 1u);
    // (Its answers to the leader's next heartbeat still carry the higher
    // term, and §5.1 makes the leader step down: pre-vote prevents that.)
}

BOOST_AUTO_TEST_CASE(without_stickiness_the_rejoining_node_deposes_the_leader) {
    cluster_harness h(3, without_pre_vote());
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(3);
    for (int i = 0; i < 5; ++i) h.election_timeout(3);
    h.drop_all();
    h.heal();
    h.election_timeout(3);
    h.deliver_all();
    BOOST_TEST(h.node(1).role() != role::leader);
    BOOST_TEST(h.node(1).current_term() > 1u);   // deposed by the higher term
}

BOOST_AUTO_TEST_SUITE_END()
