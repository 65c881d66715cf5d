// Pre-vote (Raft thesis §9.6): a node whose election timer runs out first
// asks whether a majority would vote for it in the next term, changing no
// one's term or vote, and stands for election only once a majority would.
#include "core_test_util.hpp"

using namespace raftlite;
using namespace raftlite::test;

namespace {

vote_request pre_vote_request(term_t term, index_t last_len, term_t last_term) {
    vote_request r{term, last_len, last_term};
    r.pre_vote = true;
    return r;
}

vote_response pre_vote_answer(term_t term, bool granted) {
    vote_response r{term, granted};
    r.pre_vote = true;
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(pre_vote_9_6)

BOOST_AUTO_TEST_CASE(an_election_timeout_starts_a_pre_election_that_changes_nothing_durable) {
    core c(make_config(1, 3), make_state(4, 2, {1, 1, 3}));
    output o = c.step(election_timeout{});
    BOOST_TEST(c.role() == role::pre_candidate);
    BOOST_TEST(c.current_term() == 4u);   // not raised
    BOOST_TEST(c.voted_for() == 2u);      // not changed
    BOOST_TEST(!o.save_hard_state);
    BOOST_TEST(o.reset_election_timer);
    BOOST_TEST(o.messages_after_sync.empty());   // nothing to wait for: nothing was written
    auto rq = of_type<vote_request>(o.messages);
    BOOST_REQUIRE_EQUAL(rq.size(), 2u);
    for (const auto& [to, m] : rq) {
        BOOST_TEST(m.pre_vote);
        BOOST_TEST(!m.leadership_transfer);
        BOOST_TEST(m.term == 5u);   // the term it would stand in
        BOOST_TEST(m.last_log_length == 3u);
        BOOST_TEST(m.last_log_term == 3u);
    }
    BOOST_TEST(c.stats().pre_votes_started == 1u);
    BOOST_TEST(c.stats().elections_started == 0u);
}

BOOST_AUTO_TEST_CASE(a_pre_vote_majority_leads_to_a_real_election) {
    core c(make_config(1, 5), make_state(4, no_node, {1, 1, 3}));
    c.step(election_timeout{});
    output o = c.step(recv(2, 1, pre_vote_answer(5, true)));   // self + 1 of 5: not yet
    BOOST_TEST(c.role() == role::pre_candidate);
    BOOST_TEST(o.empty());
    o = c.step(recv(2, 1, pre_vote_answer(5, true)));   // the same voter again counts once
    BOOST_TEST(c.role() == role::pre_candidate);
    o = c.step(recv(4, 1, pre_vote_answer(5, true)));   // self + 2: a majority
    BOOST_TEST(c.role() == role::candidate);
    BOOST_TEST(c.current_term() == 5u);
    BOOST_TEST(c.voted_for() == 1u);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{5, 1}));
    auto rq = of_type<vote_request>(o.messages_after_sync);   // the real ones promise the durable self-vote
    BOOST_REQUIRE_EQUAL(rq.size(), 4u);
    for (const auto& [to, m] : rq) {
        BOOST_TEST(!m.pre_vote);
        BOOST_TEST(m.term == 5u);
    }
    BOOST_TEST(c.stats().pre_votes_won == 1u);
    BOOST_TEST(c.stats().elections_started == 1u);
}

BOOST_AUTO_TEST_CASE(a_yes_for_another_term_does_not_count) {
    core c(make_config(1, 3), make_state(4, no_node, {}));
    c.step(election_timeout{});
    c.step(recv(2, 1, pre_vote_answer(4, true)));   // a stale pre-election's
    c.step(recv(2, 1, pre_vote_answer(7, true)));   // nobody asked about 7
    BOOST_TEST(c.role() == role::pre_candidate);
    BOOST_TEST(c.current_term() == 4u);   // a yes carries no term to adopt
}

BOOST_AUTO_TEST_CASE(answering_a_pre_vote_changes_no_term_and_no_vote) {
    core c(make_config(2, 3), make_state(3, 3, {1, 2}));
    output o = c.step(recv(1, 2, pre_vote_request(4, 2, 2)));
    BOOST_TEST(c.current_term() == 3u);
    BOOST_TEST(c.voted_for() == 3u);
    BOOST_TEST(!o.save_hard_state);
    BOOST_TEST(!o.reset_election_timer);   // a pre-vote defers no one's candidacy
    auto v = of_type<vote_response>(o.messages);   // promises nothing: leaves at once
    BOOST_REQUIRE_EQUAL(v.size(), 1u);
    BOOST_TEST(v[0].second.pre_vote);
    BOOST_TEST(v[0].second.granted);
    BOOST_TEST(v[0].second.term == 4u);   // echoes the term asked about
    // A second pre-candidate for the same term is agreed to as well: nobody voted.
    o = c.step(recv(3, 2, pre_vote_request(4, 2, 2)));
    BOOST_TEST(of_type<vote_response>(o.messages).at(0).second.granted);
    BOOST_TEST(c.voted_for() == 3u);
}

BOOST_AUTO_TEST_CASE(a_pre_vote_for_a_stale_log_is_refused) {
    core c(make_config(2, 3), make_state(3, no_node, {1, 1, 2}));
    // An older last term, and a shorter log with the same last term (§5.4.1).
    for (const vote_request& m : {pre_vote_request(4, 5, 1), pre_vote_request(4, 2, 2)}) {
        output o = c.step(recv(1, 2, m));
        BOOST_TEST(!o.save_hard_state);
        auto v = of_type<vote_response>(o.messages_after_sync);   // a refusal carries our term: after the sync
        BOOST_REQUIRE_EQUAL(v.size(), 1u);
        BOOST_TEST(v[0].second.pre_vote);
        BOOST_TEST(!v[0].second.granted);
        BOOST_TEST(v[0].second.term == 3u);   // our own term
    }
    BOOST_TEST(c.current_term() == 3u);
}

BOOST_AUTO_TEST_CASE(a_pre_vote_for_a_term_not_above_ours_is_refused) {
    core c(make_config(2, 3), make_state(5, no_node, {}));
    output o = c.step(recv(1, 2, pre_vote_request(5, 0, 0)));
    auto v = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(v.size(), 1u);
    BOOST_TEST(!v[0].second.granted);
    BOOST_TEST(v[0].second.term == 5u);
}

BOOST_AUTO_TEST_CASE(a_follower_hearing_from_its_leader_refuses_pre_votes) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(recv(3, 2, pre_vote_request(2, 10, 1)));   // a better log, but a leader is known
    auto v = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(v.size(), 1u);
    BOOST_TEST(!v[0].second.granted);
    BOOST_TEST(c.current_term() == 1u);
    // Once its own election timer ran out, it agrees.
    c.step(election_timeout{});
    o = c.step(recv(3, 2, pre_vote_request(2, 10, 1)));
    BOOST_TEST(of_type<vote_response>(o.messages).at(0).second.granted);
}

BOOST_AUTO_TEST_CASE(a_refusal_with_a_higher_term_is_adopted) {
    core c(make_config(1, 3), make_state(2, no_node, {}));
    c.step(election_timeout{});
    c.step(recv(2, 1, pre_vote_answer(2, false)));   // our own term: nothing to adopt
    BOOST_TEST(c.role() == role::pre_candidate);
    BOOST_TEST(c.current_term() == 2u);
    output o = c.step(recv(3, 1, pre_vote_answer(6, false)));   // a genuinely newer term (§5.1)
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 6u);
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_REQUIRE(o.save_hard_state);
}

BOOST_AUTO_TEST_CASE(a_pre_candidate_hearing_from_a_leader_of_its_term_follows_it) {
    core c(make_config(1, 3), make_state(3, no_node, {}));
    c.step(election_timeout{});
    BOOST_REQUIRE(c.role() == role::pre_candidate);
    c.step(recv(2, 1, log_request{3, 0, 0, 0, {}}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.leader() == 2u);
    BOOST_TEST(c.current_term() == 3u);
    c.step(recv(3, 1, pre_vote_answer(4, true)));   // a late yes changes nothing now
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 3u);
}

BOOST_AUTO_TEST_CASE(a_one_node_cluster_elects_itself_at_once) {
    core c(make_config(1, 1));
    c.step(election_timeout{});
    BOOST_TEST(c.role() == role::leader);   // its own yes is a majority, and its own vote
    BOOST_TEST(c.current_term() == 1u);
    BOOST_TEST(c.stats().pre_votes_won == 1u);
}

// A node cut off by a partition keeps timing out, but its pre-elections fail:
// its term stays. Back, it follows the leader; no election happens.
BOOST_AUTO_TEST_CASE(a_rejoining_partitioned_node_does_not_raise_the_term) {
    cluster_harness h(3, {}, cluster_harness::leader_stickiness{});
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(2, "before");
    h.settle();
    h.isolate(3);
    h.broadcast(1, "while cut off");
    h.settle();
    for (int i = 0; i < 5; ++i) {
        h.election_timeout(3);
        h.deliver_all();   // dropped
    }
    BOOST_TEST(h.node(3).current_term() == 1u);   // never raised
    BOOST_TEST(h.node(3).role() == role::pre_candidate);
    h.heal();
    h.election_timeout(3);   // back: asks again, and is refused (a leader is known, and its log is behind)
    h.deliver_all();
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(h.node(n).current_term() == 1u);
    BOOST_TEST(h.leader() == 1u);
    BOOST_TEST(h.node(3).role() == role::follower);
    BOOST_TEST(h.node(3).leader() == 1u);
    BOOST_TEST(h.delivered(3) == (std::vector<std::string>{"before", "while cut off"}), boost::test_tools::per_element());
    BOOST_TEST(h.node(3).stats().elections_started == 0u);
}

// The same without pre-vote: the term climbs while cut off, and the leader's
// next heartbeat, answered with the higher term, deposes it (§5.1).
BOOST_AUTO_TEST_CASE(without_pre_vote_the_rejoining_node_raises_the_term) {
    cluster_harness h(3, without_pre_vote(), cluster_harness::leader_stickiness{});
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(3);
    for (int i = 0; i < 5; ++i) {
        h.election_timeout(3);
        h.deliver_all();
    }
    BOOST_TEST(h.node(3).current_term() == 6u);
    h.heal();
    h.heartbeat(1);
    h.deliver_all();
    BOOST_TEST(h.node(1).role() != role::leader);
    BOOST_TEST(h.node(1).current_term() == 6u);
}

// With stickiness off (the harness default) a pre-vote is judged by the log
// alone: a healthy cluster's forced election still works, one round trip later.
BOOST_AUTO_TEST_CASE(a_forced_election_runs_a_pre_election_first) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const std::size_t mark = h.sent().size();
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    BOOST_TEST(h.node(2).current_term() == 2u);   // one real election
    std::size_t pre = 0, real = 0;
    for (std::size_t k = mark; k < h.sent().size(); ++k)
        if (const auto* v = std::get_if<vote_request>(&h.sent()[k].msg)) (v->pre_vote ? pre : real) += 1;
    BOOST_TEST(pre == 2u);
    BOOST_TEST(real == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
