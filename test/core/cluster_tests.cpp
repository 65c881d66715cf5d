// Cluster scenarios through the harness (the classic course test list):
// elections, re-elections, rejoin, quorum loss, concurrent proposals, restarts.
#include "core_test_util.hpp"

#include <algorithm>
#include <random>
#include <set>

using namespace raftlite;
using namespace raftlite::test;

namespace {

// Every up node's committed entries agree index by index (State Machine Safety).
void check_committed_agree(cluster_harness& h) {
    std::map<index_t, std::pair<term_t, std::string>> seen;
    for (node_id n : h.ids()) {
        for (const auto& e : h.state(n).committed) {
            auto [it, fresh] = seen.emplace(e.index, std::make_pair(e.term, std::string(e.data())));
            if (!fresh) {
                BOOST_TEST(it->second.first == e.term);
                BOOST_TEST(it->second.second == std::string(e.data()));
            }
        }
    }
}

// Every node agrees on the term and the leader, and the leader is `leader`.
void check_agreement(cluster_harness& h, node_id leader) {
    BOOST_REQUIRE_EQUAL(h.leader(), leader);
    const term_t t = h.node(leader).current_term();
    for (node_id n : h.ids()) {
        if (!h.state(n).up) continue;
        BOOST_TEST(h.node(n).current_term() == t);
        BOOST_TEST(h.node(n).leader() == leader);
        BOOST_TEST((h.node(n).role() == (n == leader ? role::leader : role::follower)));
    }
}

// Election timeouts on n until it leads (a first try may only catch up on the term).
node_id elect_until(cluster_harness& h, node_id n, int tries = 4) {
    for (int i = 0; i < tries && h.leader() != n; ++i) {
        h.election_timeout(n);
        h.deliver_all();
    }
    h.settle();
    return h.leader();
}

std::size_t sent_since(const cluster_harness& h, std::size_t mark) { return h.sent().size() - mark; }

} // namespace

BOOST_AUTO_TEST_SUITE(cluster_scenarios)

BOOST_AUTO_TEST_CASE(initial_election_3_nodes) {
    cluster_harness h(3);
    const std::size_t mark = h.sent().size();
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    check_agreement(h, 1);
    BOOST_TEST(h.node(1).current_term() == 1u);
    for (node_id n : h.ids()) {
        BOOST_REQUIRE_EQUAL(h.state(n).committed.size(), 1u);   // the leader's noop
        BOOST_TEST(h.state(n).committed[0].kind == entry_kind::noop);
    }
    // No message storm: an election and three heartbeat rounds.
    BOOST_TEST(sent_since(h, mark) <= 30u);
    // Without failures it stays leader.
    for (int i = 0; i < 10; ++i) h.settle(1);
    check_agreement(h, 1);
    BOOST_TEST(h.node(1).current_term() == 1u);
    BOOST_TEST(h.node(1).stats().terms_as_leader == 1u);
}

BOOST_AUTO_TEST_CASE(initial_election_5_nodes) {
    cluster_harness h(5);
    BOOST_REQUIRE_EQUAL(h.elect(3), 3u);
    check_agreement(h, 3);
    for (node_id n : h.ids()) BOOST_TEST(h.node(n).commit_length() == 1u);
    // A second timeout elsewhere without a failure: a new term, still exactly one leader.
    BOOST_REQUIRE_EQUAL(h.elect(5), 5u);
    check_agreement(h, 5);
    BOOST_TEST(h.node(5).current_term() == 2u);
}

BOOST_AUTO_TEST_CASE(single_node_cluster_elects_itself_and_commits) {
    cluster_harness h(1);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const auto req = h.broadcast(1, "alone");
    BOOST_TEST(h.delivered(1) == (std::vector<std::string>{"alone"}), boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(h.state(1).completions.size(), 1u);
    BOOST_TEST(h.state(1).completions[0].request == req);
    BOOST_TEST(h.state(1).completions[0].result == broadcast_result::committed);
    BOOST_TEST(h.sent().empty());
}

BOOST_AUTO_TEST_CASE(re_election_after_leader_isolation) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(1);
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    BOOST_TEST(h.node(2).current_term() == 2u);
    BOOST_TEST(h.node(3).leader() == 2u);
    h.broadcast(3, "after");
    h.settle();
    BOOST_TEST(h.delivered(2) == (std::vector<std::string>{"after"}), boost::test_tools::per_element());
    BOOST_TEST(h.delivered(3) == (std::vector<std::string>{"after"}), boost::test_tools::per_element());
    // The isolated leader, with check-quorum, steps down by itself.
    h.election_timeout(1);
    h.election_timeout(1);
    BOOST_TEST(h.node(1).role() != role::leader);
}

BOOST_AUTO_TEST_CASE(old_leader_rejoins_steps_down_and_drops_its_uncommitted_entries) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(1, "a");
    h.settle();
    h.isolate(1);
    h.broadcast(1, "lost1");
    h.broadcast(1, "lost2");
    h.settle();
    BOOST_TEST(h.node(1).log().length() == 4u);
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.broadcast(2, "b");
    h.settle();
    h.heal();
    h.settle();
    check_agreement(h, 2);
    for (node_id n : h.ids()) {
        BOOST_TEST(h.log_terms(n) == h.log_terms(2), boost::test_tools::per_element());
        BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
    }
    std::size_t superseded = 0;
    for (const auto& c : h.state(1).completions)
        if (c.result == broadcast_result::superseded) ++superseded;
    BOOST_TEST(superseded == 2u);
    check_committed_agree(h);
}

BOOST_AUTO_TEST_CASE(no_quorum_no_commit_then_progress_after_healing) {
    cluster_harness h(5);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.partition({{1, 2}, {3, 4, 5}});
    h.broadcast(1, "x");
    h.broadcast(2, "y");
    h.settle(5);
    for (node_id n : h.ids()) {
        BOOST_TEST(h.node(n).commit_length() == 1u);
        BOOST_TEST(h.delivered(n).empty());
    }
    BOOST_TEST(h.state(1).completions.empty());
    BOOST_TEST(h.state(2).completions.empty());
    h.heal();
    h.settle(4);
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"x", "y"}), boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(h.state(1).completions.size(), 1u);
    BOOST_REQUIRE_EQUAL(h.state(2).completions.size(), 1u);
    BOOST_TEST(h.state(2).completions[0].result == broadcast_result::committed);
}

BOOST_AUTO_TEST_CASE(no_quorum_no_leader_then_a_leader_once_a_quorum_is_back) {
    cluster_harness h(3);
    h.partition({{1}, {2}, {3}});
    for (int i = 0; i < 3; ++i) {
        for (node_id n : h.ids()) h.election_timeout(n);
        h.deliver_all();
    }
    BOOST_TEST(h.leader() == no_node);
    h.heal();
    h.cut(1, 3);   // 1 and 2 talk; 3 is still alone
    BOOST_TEST(h.elect(2) == 2u);
    BOOST_TEST(h.node(1).leader() == 2u);
}

// The classic rules (Raft §5): without pre-vote, the minority's terms climb
// (pre_vote_tests.cpp shows the same partition with pre-vote).
BOOST_AUTO_TEST_CASE(minority_partition_cannot_elect_or_commit) {
    cluster_harness h(5, without_pre_vote());
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.partition({{1, 2}, {3, 4, 5}});
    // The majority side elects a new leader and commits.
    BOOST_REQUIRE_EQUAL(h.elect(4), 4u);
    h.broadcast(5, "majority");
    h.settle();
    // The minority side cannot elect anyone.
    for (int i = 0; i < 3; ++i) {
        h.election_timeout(2);
        h.deliver_all();
    }
    BOOST_TEST(h.node(2).role() == role::candidate);
    BOOST_TEST(h.delivered(2).empty());
    h.heal();
    h.settle(1);   // 2's higher term deposes 4
    // A node of the majority side wins the next election (2 lacks "majority").
    BOOST_REQUIRE_EQUAL(elect_until(h, 3), 3u);
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"majority"}), boost::test_tools::per_element());
    check_committed_agree(h);
}

BOOST_AUTO_TEST_CASE(follower_and_leader_failure_two_of_three_still_commit) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.crash(3);
    h.broadcast(2, "one");
    h.settle();
    BOOST_TEST(h.delivered(1) == (std::vector<std::string>{"one"}), boost::test_tools::per_element());
    h.restart(3);
    h.crash(1);
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.broadcast(3, "two");
    h.settle();
    BOOST_TEST(h.delivered(2) == (std::vector<std::string>{"one", "two"}), boost::test_tools::per_element());
    BOOST_TEST(h.delivered(3) == (std::vector<std::string>{"one", "two"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(concurrent_proposals_from_all_nodes_delivered_in_the_same_order) {
    for (std::size_t n : {3u, 5u}) {
        BOOST_TEST_CONTEXT("cluster of " << n) {
            cluster_harness h(n);
            BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
            std::set<std::string> proposed;
            for (int round = 0; round < 3; ++round) {
                for (node_id id : h.ids()) {
                    std::string p = "n" + std::to_string(id) + "r" + std::to_string(round);
                    proposed.insert(p);
                    h.broadcast(id, p);
                }
            }
            h.deliver_all();
            h.settle();
            const auto order = h.delivered(1);
            BOOST_TEST(order.size() == proposed.size());
            BOOST_TEST((std::set<std::string>(order.begin(), order.end()) == proposed));
            for (node_id id : h.ids()) {
                BOOST_TEST(h.delivered(id) == order, boost::test_tools::per_element());
                BOOST_TEST(h.state(id).completions.size() == 3u);
                for (const auto& c : h.state(id).completions)
                    BOOST_TEST(c.result == broadcast_result::committed);
            }
            BOOST_TEST(h.node(2).current_term() == 1u);   // all in one term
        }
    }
}

BOOST_AUTO_TEST_CASE(restart_of_all_nodes_keeps_committed_entries) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    for (const char* p : {"a", "b", "c"}) h.broadcast(3, p);
    h.deliver_all();
    h.settle();
    const std::vector<std::string> before{"a", "b", "c"};
    for (node_id n : h.ids()) BOOST_REQUIRE(h.delivered(n) == before);
    for (node_id n : h.ids()) h.crash(n);
    for (node_id n : h.ids()) h.restart(n);
    for (node_id n : h.ids()) {
        BOOST_TEST(h.node(n).log().length() == 4u);
        BOOST_TEST(h.node(n).current_term() == 1u);
        BOOST_TEST(h.node(n).commit_length() == 0u);   // learnt again from the next leader
    }
    BOOST_REQUIRE_EQUAL(h.elect(3), 3u);
    h.broadcast(2, "d");
    h.settle();
    for (node_id n : h.ids())
        BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"a", "b", "c", "d"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(restart_of_the_leader_and_of_a_stale_minority) {
    cluster_harness h(5, without_pre_vote());   // 4 stands for election (§5.4.1 refuses it)
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.partition({{4, 5}, {1, 2, 3}});
    h.broadcast(2, "a");
    h.settle();
    h.crash(4);
    h.crash(5);
    h.crash(1);   // the leader
    h.heal();
    h.restart(4);
    h.restart(5);
    h.restart(1);
    // The stale minority cannot win: its logs lack "a" (only 4 and 5 vote for 4).
    h.election_timeout(4);
    h.deliver_all();
    BOOST_TEST(h.node(4).role() == role::candidate);
    BOOST_TEST(h.leader() == no_node);
    BOOST_REQUIRE_EQUAL(elect_until(h, 1), 1u);   // the restarted leader can
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"a"}), boost::test_tools::per_element());
    check_committed_agree(h);
}

BOOST_AUTO_TEST_CASE(backup_conflicting_suffixes_converge_quickly) {
    // The "backup" test: a leader with many uncommitted entries is cut off,
    // the others commit many of their own; on rejoin it converges in a few
    // round trips thanks to the conflict hint.
    cluster_harness h(5);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.partition({{1, 2}, {3, 4, 5}});
    for (int i = 0; i < 50; ++i) h.broadcast(1, "old" + std::to_string(i));
    h.settle();
    BOOST_REQUIRE_EQUAL(h.elect(3), 3u);
    for (int i = 0; i < 50; ++i) h.broadcast(3, "new" + std::to_string(i));
    h.deliver_all();
    h.settle();
    const std::size_t mark = h.delivered_messages().size();
    h.heal();
    h.settle(3);
    for (node_id n : h.ids()) {
        BOOST_TEST(h.log_terms(n) == h.log_terms(3), boost::test_tools::per_element());
        BOOST_TEST(h.delivered(n).size() == 50u);
    }
    std::size_t rejections = 0;
    for (std::size_t i = mark; i < h.delivered_messages().size(); ++i)
        if (h.delivered_messages()[i].to == 3)
            if (const auto* r = std::get_if<log_response>(&h.delivered_messages()[i].msg))
                if (!r->success) ++rejections;
    BOOST_TEST(rejections <= 6u);   // per node a round trip per conflicting term, not per entry
    check_committed_agree(h);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cluster_costs)

BOOST_AUTO_TEST_CASE(ten_agreements_cost_about_eight_messages_each) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const std::size_t mark = h.sent().size();
    for (int i = 0; i < 10; ++i) {
        h.broadcast(1, "v" + std::to_string(i));
        h.run_until_quiet();
    }
    h.settle(1);   // followers learn the last commit
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n).size() == 10u);
    // 10 x (2 requests + 2 acks + the commit announced to both followers and
    // answered) + one heartbeat round. Without the announcements, 44, but a
    // follower learns each commit a heartbeat late.
    BOOST_TEST(sent_since(h, mark) <= 84u);
}

BOOST_AUTO_TEST_CASE(an_idle_heartbeat_round_costs_two_messages_per_follower) {
    cluster_harness h(5);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const std::size_t mark = h.sent().size();
    h.settle(1);
    BOOST_TEST(sent_since(h, mark) == 8u);
}

BOOST_AUTO_TEST_CASE(large_proposals_cross_the_wire_about_once_per_peer) {
    // raft-lite resent the whole unacknowledged suffix with every request.
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    const std::size_t mark = h.sent().size();
    for (int i = 0; i < 10; ++i) h.broadcast(1, std::string(5000, static_cast<char>('a' + i)));
    h.run_until_quiet();
    h.settle(1);
    std::size_t bytes = 0;
    for (std::size_t i = mark; i < h.sent().size(); ++i)
        if (const auto* r = std::get_if<log_request>(&h.sent()[i].msg))
            for (const auto& e : r->suffix) bytes += e.size();
    BOOST_TEST(bytes == 10u * 5000u * 2u);
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n).size() == 10u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cluster_many_elections)

BOOST_AUTO_TEST_CASE(seven_nodes_repeatedly_cut_off_three_the_rest_elect_one_leader) {
    const std::uint64_t seed = 7007;
    BOOST_TEST_MESSAGE("many elections: seed " << seed);
    std::mt19937_64 rng(seed);
    cluster_harness h(7);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    std::map<term_t, node_id> leader_of_term;
    for (int round = 0; round < 20; ++round) {
        BOOST_TEST_CONTEXT("seed " << seed << ", round " << round) {
            std::vector<node_id> ids = h.ids();
            std::shuffle(ids.begin(), ids.end(), rng);
            const std::vector<node_id> cut(ids.begin(), ids.begin() + 3);
            const std::vector<node_id> rest(ids.begin() + 3, ids.end());
            h.heal();
            h.partition({cut, rest});
            // Cut-off nodes may try too; they never win.
            for (node_id n : cut) h.election_timeout(n);
            // Terms spread within the connected side (a node cut off in an
            // earlier round may bring a higher term and depose the leader).
            h.settle(1);
            // The four connected nodes are exactly a majority: every one must vote,
            // so the candidate is (one of) the most up to date among them (§5.4.1);
            // ties broken at random.
            std::vector<node_id> best;
            for (node_id n : rest) {
                const auto key = [&](node_id m) {
                    return std::make_pair(h.node(m).log().last_term(), h.node(m).log().length());
                };
                if (best.empty() || key(n) > key(best[0])) best = {n};
                else if (key(n) == key(best[0])) best.push_back(n);
            }
            const node_id candidate = best[rng() % best.size()];
            for (int i = 0; i < 4 && h.node(candidate).role() != role::leader; ++i) {
                h.election_timeout(candidate);
                h.run_until_quiet();
            }
            h.settle();
            // Among the connected majority: exactly one leader, known to all of it.
            std::size_t leaders = 0;
            for (node_id n : rest)
                if (h.node(n).role() == role::leader) ++leaders;
            BOOST_TEST(leaders == 1u);
            BOOST_TEST(h.node(candidate).role() == role::leader);
            for (node_id n : rest) BOOST_TEST(h.node(n).leader() == candidate);
            for (node_id n : cut)
                if (h.node(n).role() == role::leader)
                    BOOST_TEST(h.node(n).current_term() < h.node(candidate).current_term());
            for (node_id n : h.ids()) {
                if (h.node(n).role() != role::leader) continue;
                auto [it, fresh] = leader_of_term.emplace(h.node(n).current_term(), n);
                BOOST_TEST((fresh || it->second == n));
            }
            h.broadcast(rest[0], "r" + std::to_string(round));
            h.settle();
        }
    }
    h.heal();
    h.settle(4);
    std::vector<std::string> expected;
    for (int round = 0; round < 20; ++round) expected.push_back("r" + std::to_string(round));
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
