// Terms and elections: Raft paper §5.1, §5.2 and §5.4.1, one test per rule.
#include "core_test_util.hpp"

using namespace raftlite;
using namespace raftlite::test;

BOOST_AUTO_TEST_SUITE(terms_5_1)

BOOST_AUTO_TEST_CASE(higher_term_in_vote_request_reverts_leader_to_follower) {
    core c(make_config(1, 3, without_stickiness()));
    establish_leader(c);
    BOOST_REQUIRE_EQUAL(c.current_term(), 1u);
    output o = c.step(recv(2, 1, vote_request{5, 0, 0}));   // its log is behind: no vote
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 5u);
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_TEST(c.leader() == no_node);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(o.save_hard_state->current_term == 5u);
    BOOST_TEST(o.save_hard_state->voted_for == no_node);
    BOOST_REQUIRE(o.heartbeat_timer);
    BOOST_TEST(*o.heartbeat_timer == false);   // the heartbeat timer stops
    auto r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].first == 2u);
    BOOST_TEST(r[0].second.term == 5u);
    BOOST_TEST(r[0].second.granted == false);
}

BOOST_AUTO_TEST_CASE(higher_term_in_log_response_reverts_leader_to_follower) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(recv(3, 1, log_response{4, 0, false, 1}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 4u);
    BOOST_TEST(c.leader() == no_node);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(o.save_hard_state->current_term == 4u);
    BOOST_TEST(o.save_hard_state->voted_for == no_node);
    BOOST_REQUIRE(o.heartbeat_timer);
    BOOST_TEST(*o.heartbeat_timer == false);
    BOOST_TEST(o.messages.empty());
    BOOST_TEST(o.messages_after_sync.empty());
}

BOOST_AUTO_TEST_CASE(higher_term_in_vote_response_reverts_candidate_to_follower) {
    core c(make_config(1, 3, without_pre_vote()));
    c.step(election_timeout{});
    BOOST_REQUIRE(c.role() == role::candidate);
    output o = c.step(recv(2, 1, vote_response{3, false}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 3u);
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{3, no_node}));
}

BOOST_AUTO_TEST_CASE(higher_term_in_log_request_updates_follower_term) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(recv(3, 2, log_request{2, 0, 0, 0, {}}));
    BOOST_TEST(c.current_term() == 2u);
    BOOST_TEST(c.leader() == 3u);
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{2, no_node}));
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.term == 2u);
    BOOST_TEST(r[0].second.success);
}

BOOST_AUTO_TEST_CASE(stale_vote_request_rejected_without_state_change) {
    core c(make_config(1, 3), make_state(3, no_node, {}));
    output o = c.step(recv(2, 1, vote_request{2, 10, 2}));
    BOOST_TEST(c.current_term() == 3u);
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_TEST(!o.save_hard_state);
    BOOST_TEST(!o.reset_election_timer);
    auto r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.term == 3u);   // the stale candidate learns the term
    BOOST_TEST(!r[0].second.granted);
}

BOOST_AUTO_TEST_CASE(stale_log_request_rejected_without_state_change) {
    core c(make_config(2, 3), make_state(3, no_node, {1, 1}));
    follow(c, 3, 3);
    output o = c.step(recv(1, 2, log_request{2, 2, 1, 2, {make_entry(2, 3)}}));
    BOOST_TEST(c.current_term() == 3u);
    BOOST_TEST(c.leader() == 3u);                 // not the stale sender
    BOOST_TEST(c.log().length() == 2u);
    BOOST_TEST(c.commit_length() == 0u);
    BOOST_TEST(o.append.empty());
    BOOST_TEST(!o.reset_election_timer);          // a stale leader does not defer elections
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].first == 1u);
    BOOST_TEST(r[0].second.term == 3u);
    BOOST_TEST(!r[0].second.success);
}

BOOST_AUTO_TEST_CASE(stale_log_response_and_vote_response_ignored) {
    core c(make_config(1, 3), make_state(2, no_node, {}));
    win_election(c, {2});                          // leader of term 3
    synced(c);
    const index_t acked = c.acked_length(2);
    output o = c.step(recv(2, 1, log_response{2, 1, true, 0}));
    BOOST_TEST(c.acked_length(2) == acked);
    BOOST_TEST(c.commit_length() == 0u);
    BOOST_TEST(o.empty());
    o = c.step(recv(3, 1, vote_response{2, true}));
    BOOST_TEST(c.role() == role::leader);
    BOOST_TEST(o.empty());
}

BOOST_AUTO_TEST_CASE(leader_cleared_whenever_term_changes) {
    core c(make_config(2, 3, without_pre_vote(without_stickiness())), make_state(0, no_node, {1, 1}));
    follow(c, 1, 1);
    BOOST_REQUIRE_EQUAL(c.leader(), 1u);
    // A candidate with a shorter log: no vote, but the term moves on and the
    // old leader of term 1 is no longer this term's leader: a node's known
    // leader always belongs to its current term.
    c.step(recv(3, 2, vote_request{2, 0, 0}));
    BOOST_TEST(c.current_term() == 2u);
    BOOST_TEST(c.leader() == no_node);
    // And our own candidacy clears it too.
    follow(c, 3, 2);
    BOOST_REQUIRE_EQUAL(c.leader(), 3u);
    c.step(election_timeout{});
    BOOST_TEST(c.current_term() == 3u);
    BOOST_TEST(c.leader() == no_node);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(elections_5_2)

BOOST_AUTO_TEST_CASE(nodes_start_as_followers) {
    core c(make_config(1, 3));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 0u);
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_TEST(c.leader() == no_node);
    output o = c.start();
    BOOST_TEST(o.reset_election_timer);
    BOOST_TEST(o.messages.empty());
    BOOST_TEST(o.messages_after_sync.empty());
    BOOST_TEST(!o.has_writes());
    BOOST_TEST(!o.heartbeat_timer);
}

BOOST_AUTO_TEST_CASE(election_timeout_makes_candidate_with_durable_self_vote) {
    core c(make_config(1, 3, without_pre_vote()), make_state(4, 2, {1, 1, 3}));
    output o = c.step(election_timeout{});
    BOOST_TEST(c.role() == role::candidate);
    BOOST_TEST(c.current_term() == 5u);
    BOOST_TEST(c.voted_for() == 1u);
    BOOST_TEST(c.stats().elections_started == 1u);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{5, 1}));
    BOOST_TEST(o.reset_election_timer);
    // The vote requests wait for the self-vote to be durable.
    BOOST_TEST(o.messages.empty());
    auto rq = of_type<vote_request>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(rq.size(), 2u);
    BOOST_TEST(rq[0].first == 2u);
    BOOST_TEST(rq[1].first == 3u);
    for (const auto& [to, m] : rq) {
        BOOST_TEST(m.term == 5u);
        BOOST_TEST(m.last_log_length == 3u);   // §5.4.1: last log index and term
        BOOST_TEST(m.last_log_term == 3u);
    }
}

BOOST_AUTO_TEST_CASE(candidate_wins_with_a_majority) {
    core c(make_config(1, 5, without_pre_vote()));
    c.step(election_timeout{});
    output o = c.step(recv(2, 1, vote_response{1, true}));
    BOOST_TEST(c.role() == role::candidate);   // 2 of 5
    BOOST_TEST(o.empty());
    o = c.step(recv(4, 1, vote_response{1, true}));
    BOOST_TEST(c.role() == role::leader);      // 3 of 5
    BOOST_TEST(c.leader() == 1u);
    BOOST_TEST(c.stats().terms_as_leader == 1u);
    BOOST_REQUIRE(o.heartbeat_timer);
    BOOST_TEST(*o.heartbeat_timer == true);
    // The new leader's noop, replicated at once to every follower.
    BOOST_REQUIRE_EQUAL(o.append.size(), 1u);
    BOOST_TEST(o.append[0].kind == entry_kind::noop);
    BOOST_TEST(o.append[0].term == 1u);
    BOOST_TEST(o.append[0].index == 1u);
    auto rq = of_type<log_request>(o.messages);
    BOOST_REQUIRE_EQUAL(rq.size(), 4u);
    for (const auto& [to, m] : rq) {
        BOOST_TEST(m.term == 1u);
        BOOST_TEST(m.prefix_len == 0u);
        BOOST_TEST(m.prefix_term == 0u);
        BOOST_TEST(m.leader_commit == 0u);
        BOOST_REQUIRE_EQUAL(m.suffix.size(), 1u);
        BOOST_TEST(m.suffix[0].kind == entry_kind::noop);
    }
}

BOOST_AUTO_TEST_CASE(candidate_loses_to_another_leader_of_its_term) {
    core c(make_config(1, 3, without_pre_vote()));
    c.step(election_timeout{});
    output o = c.step(recv(3, 1, log_request{1, 0, 0, 0, {}}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 1u);
    BOOST_TEST(c.leader() == 3u);
    BOOST_TEST(c.voted_for() == 1u);   // its vote of this term stands
    BOOST_TEST(!o.save_hard_state);
    BOOST_TEST(o.reset_election_timer);
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.success);
}

BOOST_AUTO_TEST_CASE(candidate_steps_down_on_log_request_of_higher_term) {
    core c(make_config(1, 3));
    c.step(election_timeout{});
    c.step(recv(3, 1, log_request{4, 0, 0, 0, {}}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 4u);
    BOOST_TEST(c.leader() == 3u);
}

BOOST_AUTO_TEST_CASE(candidate_ignores_log_request_of_lower_term) {
    core c(make_config(1, 3, without_pre_vote()), make_state(2, no_node, {}));
    c.step(election_timeout{});   // term 3
    output o = c.step(recv(3, 1, log_request{2, 0, 0, 0, {}}));
    BOOST_TEST(c.role() == role::candidate);
    BOOST_TEST(c.leader() == no_node);
    auto r = of_type<log_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.term == 3u);
    BOOST_TEST(!r[0].second.success);
}

BOOST_AUTO_TEST_CASE(no_decision_then_a_new_round_on_the_next_timeout) {
    core c(make_config(1, 5, without_pre_vote()));
    c.step(election_timeout{});
    c.step(recv(2, 1, vote_response{1, true}));
    c.step(recv(3, 1, vote_response{1, false}));
    c.step(recv(4, 1, vote_response{1, false}));
    BOOST_TEST(c.role() == role::candidate);   // split vote: no decision
    output o = c.step(election_timeout{});
    BOOST_TEST(c.role() == role::candidate);
    BOOST_TEST(c.current_term() == 2u);
    BOOST_TEST(c.voted_for() == 1u);
    BOOST_TEST(c.stats().elections_started == 2u);
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{2, 1}));
    auto rq = of_type<vote_request>(o.messages_after_sync);
    BOOST_TEST(rq.size() == 4u);
    for (const auto& [to, m] : rq) BOOST_TEST(m.term == 2u);
    // The votes of the old round do not count in the new one.
    c.step(recv(2, 1, vote_response{1, true}));
    c.step(recv(3, 1, vote_response{1, true}));
    BOOST_TEST(c.role() == role::candidate);
    c.step(recv(2, 1, vote_response{2, true}));
    BOOST_TEST(c.role() == role::candidate);   // self + 2 = 2 of 5
    c.step(recv(5, 1, vote_response{2, true}));
    BOOST_TEST(c.role() == role::leader);
}

BOOST_AUTO_TEST_CASE(duplicate_votes_from_one_voter_count_once) {
    core c(make_config(1, 5, without_pre_vote()));
    c.step(election_timeout{});
    c.step(recv(2, 1, vote_response{1, true}));
    c.step(recv(2, 1, vote_response{1, true}));
    c.step(recv(2, 1, vote_response{1, true}));
    BOOST_TEST(c.role() == role::candidate);
}

BOOST_AUTO_TEST_CASE(one_vote_per_term_first_come_first_served) {
    core c(make_config(1, 3));
    output o1 = c.step(recv(2, 1, vote_request{1, 0, 0}));
    output o2 = c.step(recv(3, 1, vote_request{1, 0, 0}));
    output o3 = c.step(recv(2, 1, vote_request{1, 0, 0}));   // a retransmission
    BOOST_TEST(c.voted_for() == 2u);
    auto r1 = of_type<vote_response>(o1.messages_after_sync);
    auto r2 = of_type<vote_response>(o2.messages_after_sync);
    auto r3 = of_type<vote_response>(o3.messages_after_sync);
    BOOST_REQUIRE(r1.size() == 1u && r2.size() == 1u && r3.size() == 1u);
    BOOST_TEST(r1[0].second.granted);
    BOOST_TEST(!r2[0].second.granted);
    BOOST_TEST(r3[0].second.granted);   // the same candidate again: the same answer
    BOOST_TEST(!o2.save_hard_state);
    // The vote survives a restart: the persisted hard state carries it.
    BOOST_REQUIRE(o1.save_hard_state);
    BOOST_TEST(*o1.save_hard_state == (hard_state{1, 2}));
    persistent_state ps;
    ps.hard = *o1.save_hard_state;
    core again(make_config(1, 3), ps);
    output o4 = again.step(recv(3, 1, vote_request{1, 0, 0}));
    auto r4 = of_type<vote_response>(o4.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r4.size(), 1u);
    BOOST_TEST(!r4[0].second.granted);
}

BOOST_AUTO_TEST_CASE(granted_vote_is_durable_before_it_is_sent) {
    core c(make_config(1, 3));
    output o = c.step(recv(2, 1, vote_request{1, 0, 0}));
    BOOST_REQUIRE(o.save_hard_state);
    BOOST_TEST(*o.save_hard_state == (hard_state{1, 2}));
    BOOST_TEST(o.messages.empty());
    auto r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].first == 2u);
    BOOST_TEST(r[0].second.term == 1u);
    BOOST_TEST(r[0].second.granted);
}

BOOST_AUTO_TEST_CASE(election_timer_reset_when_a_vote_is_granted) {
    // Granting a vote must defer our own candidacy (restart the election timer).
    core c(make_config(1, 3));
    output granted = c.step(recv(2, 1, vote_request{1, 0, 0}));
    BOOST_TEST(granted.reset_election_timer);
    // A refused vote does not defer it (the candidate may never win).
    output refused = c.step(recv(3, 1, vote_request{1, 0, 0}));
    BOOST_TEST(!refused.reset_election_timer);
}

BOOST_AUTO_TEST_CASE(leader_election_in_a_single_node_cluster) {
    // A one-node cluster is its own majority: it must elect itself and commit.
    core c(make_config(1, 1));
    output o = c.step(election_timeout{});
    BOOST_TEST(c.role() == role::leader);
    BOOST_TEST(c.current_term() == 1u);
    BOOST_TEST(c.leader() == 1u);
    BOOST_TEST(o.messages.empty());
    BOOST_TEST(o.messages_after_sync.empty());
    BOOST_REQUIRE(o.heartbeat_timer);
    BOOST_TEST(*o.heartbeat_timer);
    BOOST_REQUIRE_EQUAL(o.append.size(), 1u);
    BOOST_TEST(o.append[0].kind == entry_kind::noop);
    BOOST_TEST(o.committed.empty());   // not durable yet
    o = c.step(log_synced{1, 1});
    BOOST_REQUIRE_EQUAL(o.committed.size(), 1u);
    BOOST_TEST(o.committed[0].kind == entry_kind::noop);

    o = c.step(broadcast_request{7, make_bytes("dinner")});
    BOOST_REQUIRE_EQUAL(o.append.size(), 1u);
    BOOST_TEST(o.append[0].index == 2u);
    BOOST_TEST(o.committed.empty());
    BOOST_TEST(o.completions.empty());
    o = c.step(log_synced{2, 1});
    BOOST_REQUIRE_EQUAL(o.committed.size(), 1u);
    BOOST_TEST(o.committed[0].data() == "dinner");
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 7u);
    BOOST_TEST(o.completions[0].result == broadcast_result::committed);
    BOOST_TEST(o.completions[0].index == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(up_to_date_5_4_1)

BOOST_AUTO_TEST_CASE(vote_refused_to_a_log_with_an_older_last_term) {
    core c(make_config(1, 3), make_state(2, no_node, {1, 2}));
    // Longer, but its last term (1) is older than ours (2).
    output o = c.step(recv(2, 1, vote_request{3, 5, 1}));
    BOOST_TEST(c.current_term() == 3u);   // the term is still adopted (§5.1)
    BOOST_TEST(c.voted_for() == no_node);
    BOOST_TEST(!o.reset_election_timer);
    auto r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(!r[0].second.granted);
    BOOST_TEST(r[0].second.term == 3u);
}

BOOST_AUTO_TEST_CASE(vote_refused_to_a_shorter_log_with_the_same_last_term) {
    core c(make_config(1, 3), make_state(1, no_node, {1, 1, 1}));
    output o = c.step(recv(2, 1, vote_request{2, 2, 1}));
    auto r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(!r[0].second.granted);
    // The same last term and as long: granted.
    o = c.step(recv(3, 1, vote_request{2, 3, 1}));
    r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.granted);
    BOOST_TEST(c.voted_for() == 3u);
}

BOOST_AUTO_TEST_CASE(vote_granted_to_a_newer_last_term_even_if_shorter) {
    core c(make_config(1, 3), make_state(2, no_node, {1, 1, 1, 1}));
    output o = c.step(recv(2, 1, vote_request{3, 2, 2}));
    auto r = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(r.size(), 1u);
    BOOST_TEST(r[0].second.granted);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_quorum)

BOOST_AUTO_TEST_CASE(leader_steps_down_after_an_election_timeout_without_followers) {
    core c(make_config(1, 3));
    establish_leader(c);   // both followers answered
    // First timeout: followers were heard from: stays leader.
    output o = c.step(election_timeout{});
    BOOST_TEST(c.role() == role::leader);
    BOOST_TEST(!o.heartbeat_timer);
    // Second timeout: nobody answered since: steps down, term unchanged.
    o = c.step(election_timeout{});
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.leader() == no_node);
    BOOST_TEST(c.current_term() == 1u);
    BOOST_REQUIRE(o.heartbeat_timer);
    BOOST_TEST(*o.heartbeat_timer == false);
    BOOST_TEST(o.messages.empty());
    BOOST_TEST(o.messages_after_sync.empty());
}

BOOST_AUTO_TEST_CASE(leader_with_one_active_follower_of_two_stays) {
    core c(make_config(1, 3));
    establish_leader(c);
    c.step(election_timeout{});
    c.step(recv(3, 1, log_response{1, 1, true, 1}));   // answer to a heartbeat
    c.step(election_timeout{});
    BOOST_TEST(c.role() == role::leader);   // itself + 3 is a quorum
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(check_quorum_single)

BOOST_AUTO_TEST_CASE(single_node_leader_never_steps_down_for_check_quorum) {
    core c(make_config(1, 1));
    c.step(election_timeout{});
    BOOST_REQUIRE(c.role() == role::leader);
    for (int i = 0; i < 3; ++i) c.step(election_timeout{});
    BOOST_TEST(c.role() == role::leader);
    BOOST_TEST(c.current_term() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
