// The commit rule (Raft §5.4.2, Figure 8) and durability: a leader counts
// replicas only of its own term, counts itself only once its log is durable,
// and acknowledgements leave only after the sync that backs them.
#include "core_test_util.hpp"

#include <functional>

using namespace raftlite;
using namespace raftlite::test;

namespace {

bool is_vote_traffic(const envelope& e) {
    return std::holds_alternative<vote_request>(e.msg) || std::holds_alternative<vote_response>(e.msg);
}

// Delivers everything except messages matching `drop`, which are lost.
void deliver_all_except(cluster_harness& h, const envelope_pred& drop) {
    for (int guard = 0; guard < 100000 && h.in_flight() > 0; ++guard) {
        h.drop_if(drop);
        h.deliver_one();
    }
    BOOST_REQUIRE_EQUAL(h.in_flight(), 0u);
}

bool carries_index(const envelope& e, index_t i) {
    if (const auto* r = std::get_if<log_request>(&e.msg))
        for (const auto& x : r->suffix)
            if (x.index == i) return true;
    return false;
}

// Figure 8 (c): S1 [1,2] leader-to-be; S2 [1,2]; S3, S4 [1]; S5 [1,3] (down).
std::map<node_id, persistent_state> figure8_states() {
    std::map<node_id, persistent_state> st;
    st[1] = make_state(3, no_node, {1, 2});
    st[2] = make_state(2, no_node, {1, 2});
    st[3] = make_state(3, 5, {1});
    st[4] = make_state(3, 5, {1});
    st[5] = make_state(3, 5, {1, 3});
    return st;
}

core_config one_entry_batches() {
    core_config t;
    t.max_batch_entries = 1;
    return t;
}

} // namespace

BOOST_AUTO_TEST_SUITE(figure_8_5_4_2)

BOOST_AUTO_TEST_CASE(earlier_term_entry_on_a_majority_is_not_committed_by_counting) {
    // S1 restarts with [1@1, 2@2] and becomes leader of term 4 (noop at 3).
    core c(make_config(1, 5, one_entry_batches()), make_state(3, no_node, {1, 2}));
    win_election(c, {2, 3});
    BOOST_REQUIRE_EQUAL(c.current_term(), 4u);
    synced(c);
    // S2 holds [1,2] and takes the noop.
    c.step(recv(2, 1, log_response{4, 3, true, 2}));
    // S3 holds [1] only: after the rejection the leader sends entry 2 alone.
    output o = c.step(recv(3, 1, log_response{4, 1, false, 2}));
    auto rq = between<log_request>(o.messages, 1, 3);
    BOOST_REQUIRE_EQUAL(rq.size(), 1u);
    BOOST_TEST(rq[0].prefix_len == 1u);
    BOOST_TEST(indexes_of(rq[0].suffix) == (std::vector<index_t>{2}), boost::test_tools::per_element());
    o = c.step(recv(3, 1, log_response{4, 2, true, 1}));
    // Entry 2 (term 2) is now on S1, S2 and S3: a majority of 5 ...
    BOOST_TEST(c.acked_length(1) >= 2u);
    BOOST_TEST(c.acked_length(2) >= 2u);
    BOOST_TEST(c.acked_length(3) >= 2u);
    // ... and still not committed: it is not of the leader's term.
    BOOST_TEST(c.commit_length() == 0u);
    BOOST_TEST(o.committed.empty());
    // Once an entry of term 4 is on a majority, it commits, and all before it.
    o = c.step(recv(3, 1, log_response{4, 3, true, 2}));
    BOOST_TEST(c.commit_length() == 3u);
    BOOST_TEST(indexes_of(o.committed) == (std::vector<index_t>{1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(new_leaders_noop_commits_earlier_entries) {
    core c(make_config(1, 3), make_state(2, no_node, {1, 2, 2}));
    output won = win_election(c, {3});   // term 3
    BOOST_REQUIRE_EQUAL(won.append.size(), 1u);
    BOOST_TEST(won.append[0].kind == entry_kind::noop);
    BOOST_TEST(won.append[0].term == 3u);
    BOOST_TEST(won.append[0].index == 4u);
    BOOST_TEST(won.append[0].size() == 0u);
    synced(c);
    output o = c.step(recv(3, 1, log_response{3, 4, true, 3}));
    BOOST_TEST(indexes_of(o.committed) == (std::vector<index_t>{1, 2, 3, 4}), boost::test_tools::per_element());
    BOOST_TEST(o.committed[0].kind == entry_kind::application);
    BOOST_TEST(o.committed[3].kind == entry_kind::noop);
}

BOOST_AUTO_TEST_CASE(figure_8_d_uncommitted_entry_may_be_overwritten_and_never_was_delivered) {
    cluster_harness h(figure8_states(), one_entry_batches());
    h.crash(5);
    h.cut(1, 4);   // S4 hears nothing from S1 in term 4
    h.election_timeout(1);
    while (h.deliver_first(is_vote_traffic)) {}
    BOOST_REQUIRE_EQUAL(h.leader(), 1u);
    BOOST_REQUIRE_EQUAL(h.node(1).current_term(), 4u);
    // S3 receives entry 2 but never the term-4 noop (index 3): requests
    // carrying it are lost once S3 has entry 2 (before, S3 rejects them anyway).
    const envelope_pred lose_noop_to_s3 = [&h](const envelope& e) {
        return e.from == 1 && e.to == 3 && carries_index(e, 3) && h.node(3).log().length() >= 2;
    };
    deliver_all_except(h, lose_noop_to_s3);
    for (int i = 0; i < 3; ++i) {
        h.heartbeat(1);
        deliver_all_except(h, lose_noop_to_s3);
    }
    BOOST_TEST(h.log_terms(2) == (std::vector<term_t>{1, 2, 4}), boost::test_tools::per_element());
    BOOST_TEST(h.log_terms(3) == (std::vector<term_t>{1, 2}), boost::test_tools::per_element());
    BOOST_TEST(h.node(1).commit_length() == 0u);   // entry 2 on S1, S2, S3 but not committed
    // (d): S1 crashes; S5 comes back and wins with S3 and S4 (its last term 3 > 2).
    h.crash(1);
    h.heal();
    h.restart(5);
    for (int round = 0; round < 3 && h.leader() != 5; ++round) {
        h.election_timeout(5);
        h.deliver_all();
    }
    BOOST_REQUIRE_EQUAL(h.leader(), 5u);
    h.settle();
    h.restart(1);
    h.settle();
    // Entry 2 of term 2 was overwritten everywhere; nobody ever delivered it.
    for (node_id n : h.ids()) {
        BOOST_TEST(h.log_terms(n) == h.log_terms(5), boost::test_tools::per_element());
        BOOST_TEST(h.node(n).log().term_at(2) == 3u);
        for (const auto& e : h.state(n).committed) BOOST_TEST(!(e.index == 2 && e.term == 2));
        BOOST_TEST(h.node(n).commit_length() == h.node(5).log().length());
    }
}

BOOST_AUTO_TEST_CASE(figure_8_e_once_the_current_term_entry_commits_no_stale_leader_can_win) {
    cluster_harness h(figure8_states(), one_entry_batches());
    h.crash(5);
    h.election_timeout(1);
    h.deliver_all();
    h.settle();
    BOOST_REQUIRE_EQUAL(h.leader(), 1u);
    BOOST_TEST(h.node(1).commit_length() == 3u);   // the noop of term 4 committed entry 2 with it
    for (node_id n : {1, 2, 3}) {
        BOOST_REQUIRE_EQUAL(h.state(n).committed.size(), 3u);
        BOOST_TEST(h.state(n).committed[1].term == 2u);
    }
    h.crash(1);
    h.restart(5);
    for (int round = 0; round < 4; ++round) {
        h.election_timeout(5);
        h.deliver_all();
    }
    BOOST_TEST(h.leader() != 5u);   // S2, S3 (and S4 has only one vote) keep it out
    BOOST_TEST(h.node(5).role() != role::leader);
    BOOST_REQUIRE_EQUAL(h.elect(2), 2u);
    h.settle();
    BOOST_TEST(h.node(5).log().term_at(2) == 2u);
    BOOST_TEST(h.node(5).commit_length() >= 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(durability)

BOOST_AUTO_TEST_CASE(leader_counts_itself_only_after_its_log_synced) {
    core c(make_config(1, 3));
    win_election(c, {2});
    c.step(recv(2, 1, log_response{1, 1, true, 0}));
    BOOST_TEST(c.commit_length() == 0u);   // 2 has it, but the leader's own copy is not durable
    BOOST_TEST(c.acked_length(1) == 0u);
    output o = c.step(log_synced{1, 1});
    BOOST_TEST(c.commit_length() == 1u);
    BOOST_REQUIRE_EQUAL(o.committed.size(), 1u);
}

BOOST_AUTO_TEST_CASE(followers_plus_unsynced_leader_still_commit_on_a_majority) {
    // The leader's own ack is optional when a majority of followers has it.
    core c(make_config(1, 3));
    win_election(c, {2});
    c.step(recv(2, 1, log_response{1, 1, true, 0}));
    output o = c.step(recv(3, 1, log_response{1, 1, true, 0}));
    BOOST_TEST(c.commit_length() == 1u);
    BOOST_TEST(o.committed.size() == 1u);
}

BOOST_AUTO_TEST_CASE(acknowledgements_only_after_sync) {
    core f(make_config(2, 3, without_stickiness()));
    output o = f.step(recv(1, 2, log_request{1, 0, 0, 0, {make_entry(1, 1)}}));
    BOOST_TEST(of_type<log_response>(o.messages).empty());
    BOOST_TEST(of_type<log_response>(o.messages_after_sync).size() == 1u);
    o = f.step(recv(3, 2, vote_request{2, 1, 1}));
    BOOST_TEST(of_type<vote_response>(o.messages).empty());
    auto v = of_type<vote_response>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(v.size(), 1u);
    BOOST_TEST(v[0].second.granted);
}

BOOST_AUTO_TEST_CASE(unsynced_followers_do_not_let_the_leader_commit) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.set_auto_sync(2, false);
    h.set_auto_sync(3, false);
    h.broadcast(1, "a");
    h.settle();
    BOOST_TEST(h.node(1).commit_length() == 1u);   // only the noop
    BOOST_TEST(h.node(2).log().length() == 2u);    // written, not durable
    BOOST_TEST(h.state(2).held_after_sync() > 0u);
    h.sync(2);
    h.deliver_all();
    BOOST_TEST(h.node(1).commit_length() == 2u);
    BOOST_TEST(h.delivered(1) == (std::vector<std::string>{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(crash_loses_unsynced_writes_which_were_never_acknowledged) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.set_auto_sync(2, false);
    h.isolate(3);
    h.broadcast(1, "a");
    h.deliver_all();
    BOOST_REQUIRE_EQUAL(h.node(2).log().length(), 2u);
    BOOST_TEST(h.node(1).acked_length(2) == 1u);
    h.crash(2);
    h.restart(2);
    BOOST_TEST(h.node(2).log().length() == 1u);    // the unsynced entry is gone
    BOOST_TEST(h.node(1).commit_length() == 1u);   // and it never counted
    // The leader repairs it (heartbeats fall back to a probe).
    h.set_auto_sync(2, true);
    h.settle(4);
    BOOST_TEST(h.node(2).log().length() == 2u);
    BOOST_TEST(h.node(1).commit_length() == 2u);
}

BOOST_AUTO_TEST_CASE(stale_log_synced_for_truncated_entries_is_ignored) {
    core c(make_config(1, 3));
    establish_leader(c);   // [noop@1], durable 1
    c.step(broadcast_request{1, make_bytes("a")});
    c.step(broadcast_request{2, make_bytes("b")});   // [1,1,1], durable 1
    // A leader of term 2 replaces entries 2-3 before our sync completes.
    output o = c.step(recv(2, 1, log_request{2, 1, 1, 0, {make_entry(2, 2, "", entry_kind::noop)}}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_REQUIRE(o.truncate_from);
    BOOST_TEST(*o.truncate_from == 2u);
    BOOST_TEST(c.durable_length() == 1u);
    // The sync of the old entries reports in late: it proves nothing about the new ones.
    c.step(log_synced{3, 1});
    BOOST_TEST(c.durable_length() == 1u);
    c.step(log_synced{2, 1});
    BOOST_TEST(c.durable_length() == 1u);
    c.step(log_synced{2, 2});
    BOOST_TEST(c.durable_length() == 2u);
}

BOOST_AUTO_TEST_CASE(log_synced_never_lowers_the_durable_length) {
    core c(make_config(1, 1));
    c.step(election_timeout{});
    c.step(broadcast_request{1, make_bytes("a")});
    c.step(log_synced{2, 1});
    BOOST_REQUIRE_EQUAL(c.durable_length(), 2u);
    c.step(log_synced{1, 1});
    BOOST_TEST(c.durable_length() == 2u);
    c.step(log_synced{0, 0});
    BOOST_TEST(c.durable_length() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
