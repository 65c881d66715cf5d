// Membership changes (Raft thesis §4): configuration entries, learners,
// one change at a time, removing the leader, even cluster sizes, and
// configurations in snapshots; one test per rule.
#include "core_test_util.hpp"
#include "../test_access.hpp"

#include <raftlite/error.hpp>

using namespace raftlite;
using namespace raftlite::test;

namespace {

using action = membership_change::action;
using boost::system::error_code;

membership_change change(action a, node_id id, std::string address = {}, std::string info = {}) {
    return membership_change{a, member{id, a != action::add_learner, std::move(address), std::move(info)}};
}

// The outcome of change `request` on node n, which must have one.
error_code outcome(cluster_harness& h, node_id n, std::uint64_t request) {
    auto ec = h.change_outcome(n, request);
    BOOST_REQUIRE_MESSAGE(ec, "change " << request << " on node " << n << " has no outcome yet");
    return *ec;
}

// A 3-node cluster led by 1 with a few entries committed, and node 4
// started empty, waiting to be added.
struct three_and_a_newcomer {
    cluster_harness h;
    explicit three_and_a_newcomer(core_config tmpl = {}) : h(3, tmpl) {
        BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
        for (int i = 0; i < 3; ++i) h.broadcast(1, "x" + std::to_string(i));
        h.settle();
        h.add_joining_node(4);
    }
    // Adds 4 as a learner and waits for the outcome.
    void add_learner() {
        const auto r = h.change(1, change(action::add_learner, 4, "host4:7104", "kv4"));
        h.settle();
        BOOST_REQUIRE_EQUAL(outcome(h, 1, r), error_code{});
    }
};

// The configuration entries in node n's log, oldest first.
std::vector<membership> configuration_entries(cluster_harness& h, node_id n) {
    std::vector<membership> r;
    const raft_log& l = h.node(n).log();
    for (index_t i = l.start(); i <= l.length(); ++i)
        if (l.at(i).kind == entry_kind::configuration) r.push_back(*decode_membership(l.at(i).data()));
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(membership_encoding)

BOOST_AUTO_TEST_CASE(a_configuration_survives_its_encoding_and_damage_is_refused) {
    membership m{1, 2};
    m.put(member{7, false, "[::1]:7107", std::string("kv\0seven", 8)});
    const std::string bytes = encode_membership(m);
    BOOST_TEST((decode_membership(bytes) == m));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        BOOST_TEST(!decode_membership(bytes.substr(0, cut)), "a prefix of " << cut << " bytes decoded");
    BOOST_TEST(!decode_membership(bytes + "x"));
    std::string bad_flag = bytes;
    bad_flag[1 + 8 + 8] = 2;   // the first member's voter flag
    BOOST_TEST(!decode_membership(bad_flag));
}

BOOST_AUTO_TEST_CASE(quorums_are_a_strict_majority_of_the_voters_at_every_size) {
    // Even sizes too: with 4 voters, 2 are not a majority (ceil(n/2) would say so).
    for (std::size_t n = 1; n <= 7; ++n) {
        std::vector<node_id> ids;
        for (node_id i = 1; i <= n; ++i) ids.push_back(i);
        membership m(ids);
        m.put(member{100, false, {}, {}});   // a learner changes nothing
        BOOST_TEST(m.quorum() == n / 2 + 1, "n=" << n);
        BOOST_TEST(2 * m.quorum() > n);
        BOOST_TEST(2 * (m.quorum() - 1) <= n);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(learners_4_2_1)

BOOST_AUTO_TEST_CASE(a_learner_receives_the_log_and_the_configuration_names_it) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    BOOST_TEST(h.delivered(4) == h.delivered(1));
    const membership& m = h.node(4).configuration();
    BOOST_REQUIRE(m.contains(4));
    BOOST_TEST(!m.is_voter(4));
    BOOST_TEST(m.find(4)->address == "host4:7104");
    BOOST_TEST(m.find(4)->info == "kv4");
    BOOST_TEST(m.voter_count() == 3u);
    for (node_id n : {1, 2, 3}) BOOST_TEST((h.node(n).configuration() == m));
    BOOST_REQUIRE(!h.state(4).configurations.empty());
    BOOST_TEST((h.state(4).configurations.back() == m));   // the driver was told
}

BOOST_AUTO_TEST_CASE(a_learner_never_counts_toward_a_quorum) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    h.isolate(2);
    h.isolate(3);
    const std::size_t before = h.delivered(1).size();
    h.broadcast(1, "needs a voter");
    h.settle();
    BOOST_TEST(h.node(4).log().length() == h.node(1).log().length());   // the learner has it...
    BOOST_TEST(h.delivered(1).size() == before);                          // ...and it does not commit
    h.heal();
    h.settle();
    BOOST_TEST(h.delivered(1).size() == before + 1);
}

BOOST_AUTO_TEST_CASE(a_learner_never_stands_for_election) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    const term_t t = h.node(4).current_term();
    h.election_timeout(4);
    h.settle();
    BOOST_TEST(h.node(4).current_term() == t);
    BOOST_TEST(h.node(4).role() == role::follower);
    BOOST_TEST(h.node(4).stats().elections_started == 0u);
    BOOST_TEST(h.leader() == 1u);
}

BOOST_AUTO_TEST_CASE(a_server_waiting_to_join_never_stands_for_election) {
    three_and_a_newcomer c;
    c.h.election_timeout(4);
    c.h.settle();
    BOOST_TEST(c.h.node(4).stats().elections_started == 0u);
    BOOST_TEST(c.h.node(4).configuration().empty());
    BOOST_TEST(c.h.node(4).log().length() == 0u);   // nobody replicates to a non-member
}

BOOST_AUTO_TEST_CASE(a_promotion_waits_until_the_learner_is_within_a_round) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    h.isolate(4);
    for (int i = 0; i < 5; ++i) h.broadcast(1, "while 4 is away " + std::to_string(i));
    h.settle();
    const auto r = h.change(1, change(action::promote, 4));
    h.settle();
    BOOST_TEST(!h.change_outcome(1, r));                       // held: 4 is behind
    BOOST_TEST(configuration_entries(h, 1).size() == 1u);      // nothing appended for it
    h.election_timeout(1);   // a new round
    h.heal();
    h.settle();
    BOOST_TEST(outcome(h, 1, r) == error_code{});
    BOOST_TEST(h.node(1).configuration().is_voter(4));
    BOOST_TEST(h.node(1).quorum() == 3u);   // 4 voters: 3 make a majority
}

BOOST_AUTO_TEST_CASE(a_learner_that_never_catches_up_is_not_promoted) {
    core_config tmpl;
    tmpl.promote_rounds = 3;
    three_and_a_newcomer c(tmpl);
    c.add_learner();
    cluster_harness& h = c.h;
    h.isolate(4);
    h.broadcast(1, "4 misses this");
    h.settle();
    const auto r = h.change(1, change(action::promote, 4));
    for (unsigned i = 0; i <= tmpl.promote_rounds; ++i) {
        h.election_timeout(1);
        h.settle();   // 2 and 3 answer, so check-quorum keeps 1 leading
    }
    BOOST_TEST(outcome(h, 1, r) == error_code(errc::not_caught_up));
    BOOST_TEST(!h.node(1).configuration().is_voter(4));
    BOOST_TEST(h.leader() == 1u);
}

BOOST_AUTO_TEST_CASE(demoting_a_voter_makes_it_a_learner) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto r = h.change(1, change(action::demote, 3));
    h.settle();
    BOOST_TEST(outcome(h, 1, r) == error_code{});
    BOOST_TEST(h.node(3).configuration().contains(3));
    BOOST_TEST(!h.node(3).configuration().is_voter(3));
    BOOST_TEST(h.node(1).quorum() == 2u);   // 2 voters: both needed
    h.isolate(2);
    const std::size_t before = h.delivered(1).size();
    h.broadcast(1, "a learner cannot replace a voter");
    h.settle();
    BOOST_TEST(h.delivered(1).size() == before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(single_server_changes_4_1)

BOOST_AUTO_TEST_CASE(a_configuration_is_in_force_once_in_the_log_before_it_commits) {
    three_and_a_newcomer c;
    cluster_harness& h = c.h;
    h.isolate(2);
    h.isolate(3);
    const auto r = h.change(1, change(action::add_learner, 4, "a4"));
    h.settle();
    BOOST_TEST(!h.change_outcome(1, r));                 // not committed: no majority
    BOOST_TEST(h.node(1).configuration().contains(4));   // but in force on the leader...
    BOOST_TEST(h.node(4).configuration().contains(4));   // ...and replicated to the new server
    h.heal();
    h.settle();
    BOOST_TEST(outcome(h, 1, r) == error_code{});
}

BOOST_AUTO_TEST_CASE(one_change_at_a_time) {
    three_and_a_newcomer c;
    cluster_harness& h = c.h;
    h.add_joining_node(5);
    const auto first = h.change(1, change(action::add_learner, 4));
    const auto second = h.change(1, change(action::add_learner, 5));
    BOOST_TEST(outcome(h, 1, second) == error_code(errc::busy));
    h.settle();
    BOOST_TEST(outcome(h, 1, first) == error_code{});
    const auto third = h.change(1, change(action::add_learner, 5));
    h.settle();
    BOOST_TEST(outcome(h, 1, third) == error_code{});
    BOOST_TEST(configuration_entries(h, 1).size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_new_leader_changes_nothing_before_an_entry_of_its_term_commits) {
    // The single-server bug: a change by a leader whose term has nothing
    // committed could overlap an uncommitted change of an earlier term.
    core c(make_config(1, 3), make_state(1, no_node, {1}));
    win_election(c, {2});   // noop at 2, term 2, not committed
    synced(c);
    output o = c.step(membership_request{9, change(action::add_learner, 4)});
    BOOST_TEST(o.append.empty());
    BOOST_TEST(o.membership_changes.empty());   // held, not refused
    BOOST_TEST(!c.configuration().contains(4));
    o = c.step(recv(2, 1, log_response{2, 2, true, 1, 0}));   // commits the noop
    BOOST_REQUIRE_EQUAL(c.commit_length(), 2u);
    BOOST_REQUIRE_EQUAL(o.append.size(), 1u);
    BOOST_TEST(o.append[0].kind == entry_kind::configuration);
    BOOST_TEST(c.configuration().contains(4));
    BOOST_REQUIRE(o.configuration);
    BOOST_TEST(o.configuration->contains(4));
}

BOOST_AUTO_TEST_CASE(a_truncated_configuration_no_longer_applies) {
    core f(make_config(2, 3));
    const membership with4 = [] {
        membership m{1, 2, 3};
        m.put(member{4, false, "a4", {}});
        return m;
    }();
    log_request from1{1, 0, 0, 0, {make_entry(1, 1, "", entry_kind::noop),
                                   make_entry(1, 2, encode_membership(with4), entry_kind::configuration)}};
    output o = f.step(recv(1, 2, from1));
    BOOST_TEST(f.configuration().contains(4));
    BOOST_REQUIRE(o.configuration);
    // Leader 3 of term 2 never had entry 2: its entry replaces it.
    log_request from3{2, 1, 1, 0, {make_entry(2, 2, "", entry_kind::noop)}};
    o = f.step(recv(3, 2, from3));
    BOOST_TEST(f.log().length() == 2u);
    BOOST_TEST(!f.configuration().contains(4));   // back to the bootstrap configuration
    BOOST_REQUIRE(o.configuration);
    BOOST_TEST((*o.configuration == membership{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(a_malformed_configuration_entry_is_refused_whole) {
    core f(make_config(2, 3));
    log_request bad{1, 0, 0, 0, {make_entry(1, 1, "", entry_kind::noop),
                                 make_entry(1, 2, "not a configuration", entry_kind::configuration)}};
    output o = f.step(recv(1, 2, bad));
    BOOST_TEST(f.log().length() == 0u);
    BOOST_TEST(f.stats().messages_rejected == 1u);
    BOOST_TEST(!o.configuration);
}

BOOST_AUTO_TEST_CASE(changes_that_make_no_sense_are_rejected_and_repeats_are_answered) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    auto ask = [&](membership_change ch) {
        const auto r = h.change(1, std::move(ch));
        h.settle();
        return outcome(h, 1, r);
    };
    BOOST_TEST(ask(change(action::promote, 9)) == error_code(errc::change_rejected));      // no such server
    BOOST_TEST(ask(change(action::add_learner, 2)) == error_code(errc::change_rejected));  // a voter already
    BOOST_TEST(ask(change(action::add_learner, 4, "elsewhere")) == error_code(errc::change_rejected));
    // The same request again (a client retrying) is answered as done.
    BOOST_TEST(ask(change(action::add_learner, 4, "host4:7104", "kv4")) == error_code{});
    BOOST_TEST(ask(change(action::remove, 9)) == error_code{});
    BOOST_TEST(configuration_entries(h, 1).size() == 1u);
    BOOST_TEST(h.state(2).changes.empty());
    const auto r = h.change(2, change(action::remove, 4));   // only the leader changes anything
    BOOST_TEST(outcome(h, 2, r) == error_code(errc::not_leader));
}

BOOST_AUTO_TEST_CASE(the_last_voter_cannot_leave) {
    cluster_harness h(1);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto r = h.change(1, change(action::remove, 1));
    h.settle();
    BOOST_TEST(outcome(h, 1, r) == error_code(errc::change_rejected));
}

BOOST_AUTO_TEST_CASE(a_removed_follower_gets_nothing_more_and_counts_for_nothing) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto r = h.change(1, change(action::remove, 3));
    h.settle();
    BOOST_TEST(outcome(h, 1, r) == error_code{});
    BOOST_TEST(h.node(1).quorum() == 2u);   // 2 voters: both
    const index_t at3 = h.node(3).log().length();
    h.broadcast(1, "after the removal");
    h.settle();
    BOOST_TEST(h.node(3).log().length() == at3);
    BOOST_TEST(h.delivered(1).back() == "after the removal");
    h.isolate(2);
    h.broadcast(1, "needs 2");
    h.settle();
    BOOST_TEST(h.delivered(1).back() == "after the removal");
}

BOOST_AUTO_TEST_CASE(a_leader_that_removes_itself_steps_down_once_committed) {
    // Thesis §4.2.2: it replicates the configuration without counting itself,
    // then steps down; the others elect a leader among them.
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto r = h.change(1, change(action::remove, 1));
    h.settle();
    BOOST_TEST(outcome(h, 1, r) == error_code{});
    BOOST_TEST(h.node(1).role() == role::follower);
    BOOST_TEST(!h.state(1).heartbeat_running);
    const term_t t = h.node(1).current_term();
    h.election_timeout(1);
    BOOST_TEST(h.node(1).current_term() == t);   // no longer stands
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.broadcast(2, "without 1");
    h.settle();
    BOOST_TEST(h.delivered(2).back() == "without 1");
    BOOST_TEST(h.delivered(3).back() == "without 1");
}

BOOST_AUTO_TEST_CASE(a_leader_deposed_before_its_removal_commits_stands_again_and_finishes_it) {
    // Two voters: 1 appends its own removal, loses touch with 2 and steps
    // down before it commits. 2 cannot win without 1's vote (1's log is
    // longer); 1 is a voter of its committed configuration, so it stands,
    // wins with 2's vote alone (its own does not count in {2}), commits the
    // removal and steps down; then 2 leads alone.
    cluster_harness h(2);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(2);
    const auto r = h.change(1, change(action::remove, 1));
    h.settle();
    BOOST_TEST(!h.change_outcome(1, r));
    for (int i = 0; i < 2 && h.node(1).role() == role::leader; ++i)
        h.election_timeout(1);   // check-quorum: 2, the only voter of {2}, has gone silent
    BOOST_REQUIRE(h.node(1).role() != role::leader);
    BOOST_TEST(!h.node(1).configuration().is_voter(1));
    h.heal();
    h.election_timeout(2);
    h.settle();
    BOOST_TEST(h.leader() == no_node);   // 1 refuses: its log is longer
    h.election_timeout(1);
    h.settle();
    BOOST_TEST(h.node(2).configuration().voters() == std::vector<node_id>{2});
    BOOST_TEST(h.node(2).commit_length() >= h.node(2).configuration_index());   // the removal committed
    BOOST_TEST(h.node(1).role() != role::leader);
    h.election_timeout(2);
    h.settle();
    BOOST_REQUIRE_EQUAL(h.leader(), 2u);
    h.broadcast(2, "2 alone");
    h.settle();
    BOOST_TEST(h.delivered(2).back() == "2 alone");
}

BOOST_AUTO_TEST_CASE(a_cluster_grows_through_four_voters_and_back_to_three) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    auto r = h.change(1, change(action::promote, 4));
    h.settle();
    BOOST_REQUIRE_EQUAL(outcome(h, 1, r), error_code{});
    // Four voters: 1 and 2 are no majority...
    h.partition({{1, 2}, {3, 4}});
    h.broadcast(1, "two of four");
    h.settle();
    BOOST_TEST(h.delivered(1).back() != "two of four");
    // ...nor can 3 and 4 elect anyone.
    h.election_timeout(3);
    h.settle();
    BOOST_TEST(h.node(3).role() != role::leader);
    h.heal();
    node_id leader = no_node;
    for (int attempt = 0; attempt < 3 && leader == no_node; ++attempt) leader = h.elect(1);   // the first may meet 3's higher term
    BOOST_REQUIRE(leader != no_node);
    h.settle();
    BOOST_TEST(h.delivered(leader).back() == "two of four");
    r = h.change(leader, change(action::remove, leader == 2 ? 3 : 2));
    h.settle();
    BOOST_TEST(outcome(h, leader, r) == error_code{});
    BOOST_TEST(h.node(leader).configuration().voter_count() == 3u);
}

BOOST_AUTO_TEST_CASE(the_configuration_survives_a_restart) {
    three_and_a_newcomer c;
    c.add_learner();
    cluster_harness& h = c.h;
    const membership m = h.node(1).configuration();
    for (node_id n : {2, 4}) {
        h.crash(n);
        h.restart(n);
        BOOST_TEST((h.node(n).configuration() == m), "node " << n);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// Found by the simulator's membership churn (test/sim/README.md).
BOOST_AUTO_TEST_SUITE(found_by_churn)

// A one-voter cluster with a learner leads as soon as its election timer
// fires, in a term its disk does not hold yet: what it sends the learner
// speaks for that term and must wait for the sync, like its vote.
BOOST_AUTO_TEST_CASE(a_one_voter_leader_speaks_to_its_learners_only_after_its_term_is_durable) {
    core_config cfg;
    cfg.self = 1;
    cfg.members = membership{1};
    cfg.members.put(member{2, false, {}, {}});
    core c(cfg);
    c.start();
    const output o = c.step(election_timeout{});
    BOOST_REQUIRE(c.role() == role::leader);
    BOOST_REQUIRE(o.save_hard_state.has_value());
    BOOST_TEST(o.messages.empty(), o.messages.size() << " messages leave before the new term is durable");
    BOOST_TEST(!o.messages_after_sync.empty());
    for (const envelope& e : o.messages_after_sync) BOOST_TEST(e.to == 2u);
}

// A follower's acknowledgement commits the leader's first entry, which lets
// a waiting change append a configuration without that follower: its
// progress is gone before the leader replicates to it (it was read through a
// dangling reference; a sanitizer build saw the use after free).
BOOST_AUTO_TEST_CASE(an_acknowledgement_that_lets_a_change_remove_its_sender) {
    core_config cfg;
    cfg.self = 1;
    cfg.members = membership{1, 2, 3};
    core c(cfg);
    c.start();
    win_election(c, {2});
    synced(c);
    const term_t t = c.current_term();
    // Nothing of term t is committed yet: the removal of 3 waits.
    c.step(membership_request{7, change(action::remove, 3)});
    BOOST_REQUIRE(c.configuration().contains(3));
    const output o = c.step(recv(3, 1, log_response{t, c.log().length(), true, 0}));
    BOOST_TEST(!c.configuration().contains(3));
    BOOST_TEST(c.sent_length(3) == 0u);   // no progress kept for it
    for (const envelope& e : o.messages) BOOST_TEST(e.to != 3u, "a message to the removed server");
}

BOOST_AUTO_TEST_SUITE_END()

// Thesis §4.2.2: a server outside the configuration is replicated to by no
// leader, so it could never see how its broadcasts end; each still gets an
// outcome (unknown unless it certainly never reached a log).
BOOST_AUTO_TEST_SUITE(outcomes_outside_the_configuration_4_2_2)

BOOST_AUTO_TEST_CASE(a_forward_from_outside_the_configuration_is_answered_unknown_and_not_appended) {
    core l(make_config(1, 3));
    establish_leader(l);
    const index_t before = l.log().length();
    output o = l.step(recv(4, 1, forward_request{7, 0, make_bytes("from 4")}));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(l.log().length() == before);
    auto answers = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(answers.size(), 1u);
    BOOST_TEST(answers[0].first == 4u);
    BOOST_TEST(answers[0].second.request == 7u);
    BOOST_TEST((answers[0].second.result == forward_response::status::unknown));
    // A member's forward is appended as ever.
    o = l.step(recv(2, 1, forward_request{7, 0, make_bytes("from 2")}));
    BOOST_TEST(o.append.size() == 1u);
    answers = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(answers.size(), 1u);
    BOOST_TEST((answers[0].second.result == forward_response::status::accepted));

    // A follower, too, answers a non-member unknown (it is not sent on to a
    // leader that would not replicate to it either), a member not_leader.
    core f(make_config(2, 3));
    follow(f, 1, 1);
    o = f.step(recv(4, 2, forward_request{8, 0, make_bytes("y")}));
    answers = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(answers.size(), 1u);
    BOOST_TEST((answers[0].second.result == forward_response::status::unknown));
    o = f.step(recv(3, 2, forward_request{8, 0, make_bytes("y")}));
    answers = of_type<forward_response>(o.messages);
    BOOST_REQUIRE_EQUAL(answers.size(), 1u);
    BOOST_TEST((answers[0].second.result == forward_response::status::not_leader));

    // The sender completes its broadcast unknown.
    core s(make_config(3, 3));
    follow(s, 1, 1);
    s.step(broadcast_request{5, make_bytes("z")});
    o = s.step(recv(1, 3, forward_response{5, forward_response::status::unknown, 0, 0}));
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST((o.completions[0].result == broadcast_result::unknown));
    BOOST_TEST(s.pending_broadcasts() == 0u);
}

BOOST_AUTO_TEST_CASE(a_read_from_outside_the_configuration_is_answered_not_leader) {
    core l(make_config(1, 3));
    establish_leader(l);
    output o = l.step(recv(4, 1, read_index_request{3}));
    auto answers = of_type<read_index_response>(o.messages);
    BOOST_REQUIRE_EQUAL(answers.size(), 1u);
    BOOST_TEST((answers[0].second.result == read_index_response::status::not_leader));
}

BOOST_AUTO_TEST_CASE(a_follower_that_commits_its_removal_gives_every_pending_broadcast_an_outcome) {
    core f(make_config(3, 3));
    follow(f, 1, 1);
    f.step(broadcast_request{9, make_bytes("y")});   // forwarded to 1: it may reach a log
    BOOST_REQUIRE_EQUAL(f.pending_broadcasts(), 1u);
    const membership without3{1, 2};
    output o = f.step(recv(1, 3, log_request{1, 0, 0, 1, {make_entry(1, 1, "", entry_kind::noop),
                                                         make_entry(1, 2, encode_membership(without3),
                                                                    entry_kind::configuration)}}));
    BOOST_TEST(o.completions.empty());   // the removal is not committed yet
    o = f.step(recv(1, 3, log_request{1, 2, 1, 2, {}}));
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 9u);
    BOOST_TEST((o.completions[0].result == broadcast_result::unknown));
    BOOST_TEST(f.pending_broadcasts() == 0u);
}

BOOST_AUTO_TEST_CASE(a_leader_whose_removal_commits_gives_its_later_broadcasts_an_outcome) {
    core l(make_config(1, 3));
    establish_leader(l);   // noop at 1, committed
    output o = l.step(membership_request{1, change(action::remove, 1)});
    BOOST_REQUIRE_EQUAL(l.configuration_index(), 2u);
    l.step(broadcast_request{5, make_bytes("after the removal")});   // appended at 3
    BOOST_REQUIRE_EQUAL(l.log().length(), 3u);
    synced(l);
    // Both voters of {2, 3} acknowledge the configuration, not entry 3.
    l.step(recv(2, 1, log_response{1, 2, true, 1, 0}));
    o = l.step(recv(3, 1, log_response{1, 2, true, 1, 0}));
    BOOST_REQUIRE_EQUAL(l.commit_length(), 2u);
    BOOST_TEST(l.role() == role::follower);   // steps down (§4.2.2)
    BOOST_REQUIRE_EQUAL(o.completions.size(), 1u);
    BOOST_TEST(o.completions[0].request == 5u);
    BOOST_TEST((o.completions[0].result == broadcast_result::unknown));   // 2 or 3 may still commit it
    BOOST_TEST(l.pending_broadcasts() == 0u);
    BOOST_REQUIRE_EQUAL(o.membership_changes.size(), 1u);
    BOOST_TEST((o.membership_changes[0].result == membership_result::committed));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(configurations_in_snapshots_5_1)

BOOST_AUTO_TEST_CASE(a_learner_added_after_compaction_gets_the_configuration_with_the_snapshot) {
    core_config tmpl;
    tmpl.log_keep_entries = 1;
    cluster_harness h(3, tmpl);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.add_joining_node(5);
    auto r = h.change(1, change(action::add_learner, 5, "a5"));
    h.settle();
    BOOST_REQUIRE_EQUAL(outcome(h, 1, r), error_code{});
    for (int i = 0; i < 6; ++i) h.broadcast(1, "y" + std::to_string(i));
    h.settle();
    BOOST_REQUIRE(h.state(1).run->request_snapshot());
    const snapshot_meta snap = h.node(1).snapshot();
    BOOST_REQUIRE(snap.index > 0);
    BOOST_TEST((snap.members == h.node(1).configuration()));   // taken with the configuration
    BOOST_TEST(h.node(1).log().start() > 2u);   // the configuration entry itself is compacted
    h.add_joining_node(4);
    r = h.change(1, change(action::add_learner, 4, "a4"));
    h.settle();
    BOOST_REQUIRE_EQUAL(outcome(h, 1, r), error_code{});
    BOOST_TEST(h.state(4).restored.has_value());   // caught up by snapshot
    BOOST_TEST((h.node(4).configuration() == h.node(1).configuration()));
    BOOST_TEST(h.node(4).configuration().contains(5));
    h.crash(1);
    h.restart(1);
    BOOST_TEST(h.node(1).configuration().contains(4));
    BOOST_TEST(h.node(1).configuration().contains(5));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(broken_membership_rules)

BOOST_AUTO_TEST_CASE(counting_a_learners_vote_elects_a_leader_without_a_majority_of_voters) {
    for (bool broken : {false, true}) {
        three_and_a_newcomer c;
        c.add_learner();
        cluster_harness& h = c.h;
        detail::core_test_access::faults(detail::runner_test_access::raft(*h.state(2).run)).count_learner_votes = broken;
        h.partition({{1}, {2, 4}, {3}});
        h.election_timeout(2);
        h.settle();
        // Voter 2 with learner 4 is two of four servers but one of three voters.
        BOOST_TEST((h.node(2).role() == role::leader) == broken, "broken=" << broken);
    }
}

// Thesis §4.2.2: broken, a leader appends a non-member's forward (which no
// leader will replicate to it) and a follower sends it on to hold for ever.
BOOST_AUTO_TEST_CASE(forwards_from_outside_are_answered_unknown_unless_the_rule_is_broken) {
    for (bool broken : {false, true}) {
        core l(make_config(1, 3));
        detail::core_test_access::faults(l).accept_forwards_from_outside = broken;
        establish_leader(l);
        output o = l.step(recv(4, 1, forward_request{7, 0, make_bytes("from 4")}));
        BOOST_TEST(o.append.size() == (broken ? 1u : 0u));
        auto answers = of_type<forward_response>(o.messages);
        BOOST_REQUIRE_EQUAL(answers.size(), 1u);
        BOOST_TEST((answers[0].second.result == (broken ? forward_response::status::accepted
                                                        : forward_response::status::unknown)));
        core f(make_config(2, 3));
        detail::core_test_access::faults(f).accept_forwards_from_outside = broken;
        follow(f, 1, 1);
        o = f.step(recv(4, 2, forward_request{8, 0, make_bytes("y")}));
        answers = of_type<forward_response>(o.messages);
        BOOST_REQUIRE_EQUAL(answers.size(), 1u);
        BOOST_TEST((answers[0].second.result == (broken ? forward_response::status::not_leader
                                                        : forward_response::status::unknown)));
    }
}

// Thesis §4.2.2: no leader replicates to a server outside its latest
// configuration (here one waiting to join, whose addition never came), so a
// broadcast it forwarded would never learn its end. After hold_elections
// election timeouts without a leader it is settled `unknown` (it may sit in
// a log). A voter in the same position keeps waiting: it stands for
// election, and a leader of its configuration will tell it. With the broken
// rule, both keep waiting.
BOOST_AUTO_TEST_CASE(a_server_that_never_stands_settles_what_it_forwarded) {
    for (bool broken : {false, true})
        for (bool member : {false, true}) {
            core_config cfg = make_config(4, 4);
            if (!member) cfg.members = membership{};
            core n(cfg);
            detail::core_test_access::faults(n).hold_forwarded_forever = broken;
            n.step(recv(1, 4, log_request{1, 0, 0, 0, {}}));   // a leader of term 1 is heard
            output o = n.step(broadcast_request{7, make_bytes("x")});
            BOOST_REQUIRE_EQUAL(of_type<forward_request>(o.messages).size(), 1u);
            o = n.step(recv(1, 4, forward_response{7, forward_response::status::not_leader, 0, 0}));
            std::vector<completion> done;
            for (unsigned i = 0; i < cfg.hold_elections; ++i) {
                o = n.step(election_timeout{});
                done.insert(done.end(), o.completions.begin(), o.completions.end());
            }
            const bool settled = !member && !broken;
            BOOST_TEST(done.size() == (settled ? 1u : 0u), "member=" << member << " broken=" << broken);
            if (settled) BOOST_TEST((done.at(0).result == broadcast_result::unknown));
            BOOST_TEST(n.pending_broadcasts() == (settled ? 0u : 1u));
        }
}

BOOST_AUTO_TEST_CASE(concurrent_changes_are_refused_unless_the_rule_is_broken) {
    for (bool broken : {false, true}) {
        three_and_a_newcomer c;
        cluster_harness& h = c.h;
        h.add_joining_node(5);
        detail::core_test_access::faults(detail::runner_test_access::raft(*h.state(1).run)).concurrent_changes = broken;
        h.isolate(2);
        h.isolate(3);   // nothing commits
        const auto first = h.change(1, change(action::add_learner, 4));
        const auto second = h.change(1, change(action::add_learner, 5));
        BOOST_TEST((outcome(h, 1, second) == error_code(errc::busy)) != broken);
        BOOST_TEST((configuration_entries(h, 1).size() == 2u) == broken);
        (void)first;
    }
}

BOOST_AUTO_TEST_SUITE_END()
