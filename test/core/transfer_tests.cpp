// Leadership transfer (Raft thesis §3.10): the leader brings the target's log
// up to date, tells it to stand at once (timeout_now), and takes no new
// entries meanwhile; it gives up after an election timeout.
#include "core_test_util.hpp"

using namespace raftlite;
using namespace raftlite::test;

namespace {

using outcome = std::pair<std::uint64_t, boost::system::error_code>;

std::size_t count_timeout_now(const cluster_harness& h, std::size_t from = 0) {
    std::size_t n = 0;
    for (std::size_t k = from; k < h.sent().size(); ++k) n += std::holds_alternative<timeout_now>(h.sent()[k].msg);
    return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(leadership_transfer_3_10)

BOOST_AUTO_TEST_CASE(a_caught_up_target_is_told_at_once_and_wins) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.broadcast(1, "a");
    h.settle();
    const std::uint64_t req = h.transfer(1, 2);
    BOOST_REQUIRE_EQUAL(count_timeout_now(h), 1u);   // 2 already has everything
    const envelope& tn = h.sent().back();
    BOOST_TEST(tn.to == 2u);
    BOOST_TEST(std::get<timeout_now>(tn.msg).term == 1u);
    h.deliver_all();
    BOOST_TEST(h.leader() == 2u);
    BOOST_TEST(h.node(2).current_term() == 2u);
    BOOST_TEST(h.node(1).role() == role::follower);
    BOOST_TEST((h.state(1).transfers == std::vector<outcome>{{req, {}}}));
    // The target stood without a pre-election, flagged as a transfer.
    bool flagged = false;
    for (const envelope& e : h.sent())
        if (const auto* v = std::get_if<vote_request>(&e.msg); v && e.from == 2u) {
            BOOST_TEST(!v->pre_vote);
            flagged = flagged || v->leadership_transfer;
        }
    BOOST_TEST(flagged);
    h.broadcast(3, "b");   // the new leader serves
    h.settle();
    for (node_id n : h.ids()) BOOST_TEST(h.delivered(n) == (std::vector<std::string>{"a", "b"}), boost::test_tools::per_element());
    BOOST_TEST(h.node(1).stats().transfers_started == 1u);
}

BOOST_AUTO_TEST_CASE(a_lagging_target_is_caught_up_first) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.isolate(3);
    for (int i = 0; i < 5; ++i) h.broadcast(1, "e" + std::to_string(i));
    h.settle();
    h.heal();
    BOOST_REQUIRE(h.node(3).log().length() < h.node(1).log().length());
    const std::size_t mark = h.sent().size();
    h.transfer(1, 3);
    BOOST_TEST(count_timeout_now(h, mark) == 0u);   // not yet: 3 lacks entries
    // Deliver until the leader tells 3 to stand (heartbeats probe again where
    // the probe was lost to the cut); 3 has the leader's whole log by then.
    for (int i = 0; i < 1000 && count_timeout_now(h, mark) == 0u; ++i)
        if (!h.deliver_one()) h.heartbeat(1);
    BOOST_REQUIRE_EQUAL(count_timeout_now(h, mark), 1u);
    BOOST_TEST(h.node(3).log().length() == h.node(1).log().length());
    BOOST_TEST(h.node(1).acked_length(3) == h.node(1).log().length());
    h.deliver_all();
    BOOST_TEST(h.leader() == 3u);
    h.settle();
    BOOST_TEST(h.delivered(3).size() == 5u);
}

BOOST_AUTO_TEST_CASE(broadcasts_during_a_transfer_are_busy_and_reads_go_on) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.settle();
    h.cut(1, 2);   // the target cannot be told: the transfer stays in progress
    h.transfer(1, 2);
    BOOST_TEST(h.node(1).transfer_target() == 2u);
    const std::uint64_t local = h.broadcast(1, "on the leader");
    BOOST_REQUIRE(!h.state(1).completions.empty());
    BOOST_TEST(h.state(1).completions.back().request == local);
    BOOST_TEST(h.state(1).completions.back().result == broadcast_result::busy);
    // A forwarded one is not answered (a busy answer would be final, while a
    // copy of the forward may still reach a leader): it waits on 3 and is
    // forwarded again later.
    const std::uint64_t forwarded = h.broadcast(3, "forwarded");
    h.deliver_all();
    BOOST_TEST(h.state(3).completions.empty());
    BOOST_TEST(h.node(3).pending_broadcasts() == 1u);
    // Reads need no new entry: a heartbeat round 3 answers confirms them.
    const std::uint64_t read = h.read(1);
    h.heartbeat(1);
    h.deliver_all();
    BOOST_REQUIRE(!h.state(1).reads.empty());
    BOOST_TEST(h.state(1).reads.back().request == read);
    BOOST_TEST(h.state(1).reads.back().result == read_result::ready);
    BOOST_TEST(h.node(1).log().length() == 1u);   // only the noop
    // Healed, the transfer completes (2 leads), and 3 forwards it to 2.
    h.heal();
    for (int i = 0; i < 40 && h.node(3).pending_broadcasts() != 0; ++i) {
        if (h.leader() != no_node) h.heartbeat(h.leader());
        h.deliver_all();
    }
    BOOST_TEST(h.leader() == 2u);
    BOOST_REQUIRE(!h.state(3).completions.empty());
    BOOST_TEST(h.state(3).completions.back().request == forwarded);
    BOOST_TEST(h.state(3).completions.back().result == broadcast_result::committed);
}

BOOST_AUTO_TEST_CASE(a_transfer_times_out_after_an_election_timeout_and_service_resumes) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.settle();
    h.cut(1, 2);
    const std::uint64_t req = h.transfer(1, 2);
    // The leader's election timer paces it; 3 keeps it in its quorum.
    h.heartbeat(1);
    h.deliver_all();
    h.election_timeout(1);   // the first expiry may come right after the request: not yet
    BOOST_TEST(h.state(1).transfers.empty());
    BOOST_TEST(h.node(1).transfer_target() == 2u);
    h.heartbeat(1);
    h.deliver_all();
    h.election_timeout(1);   // a whole election timeout later: given up
    BOOST_TEST((h.state(1).transfers ==
                std::vector<outcome>{{req, boost::system::error_code(errc::transfer_timed_out)}}));
    BOOST_TEST(h.node(1).role() == role::leader);
    BOOST_TEST(h.node(1).transfer_target() == no_node);
    BOOST_TEST(h.node(1).stats().transfers_timed_out == 1u);
    h.broadcast(1, "served again");
    h.settle();
    BOOST_TEST(h.delivered(3) == (std::vector<std::string>{"served again"}), boost::test_tools::per_element());
}

// Thesis §4.2.3: voters that heard from the leader disregard vote requests,
// except those of an election the leader asked for.
BOOST_AUTO_TEST_CASE(a_transfer_bypasses_leader_stickiness) {
    cluster_harness h(3, {}, cluster_harness::leader_stickiness{});
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.settle();
    // An election timeout of 2's own goes nowhere: 3 and 1 know their leader.
    h.election_timeout(2);
    h.deliver_all();
    h.settle();
    BOOST_TEST(h.leader() == 1u);
    BOOST_TEST(h.node(1).current_term() == 1u);
    // Asked by the leader, 2 takes over.
    h.transfer(1, 2);
    h.deliver_all();
    BOOST_TEST(h.leader() == 2u);
    BOOST_TEST(h.node(2).current_term() == 2u);
    BOOST_TEST(h.node(3).stats().votes_disregarded == 0u);
}

BOOST_AUTO_TEST_CASE(refused_transfers) {
    cluster_harness h(3);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    h.settle();
    const std::uint64_t to_self = h.transfer(1, 1);
    const std::uint64_t to_stranger = h.transfer(1, 9);
    const std::uint64_t on_follower = h.transfer(2, 3);
    h.cut(1, 3);
    const std::uint64_t first = h.transfer(1, 3);
    const std::uint64_t second = h.transfer(1, 2);
    using boost::system::error_code;
    BOOST_TEST((h.state(1).transfers == std::vector<outcome>{{to_self, error_code(errc::transfer_rejected)},
                                                             {to_stranger, error_code(errc::transfer_rejected)},
                                                             {second, error_code(errc::busy)}}));
    BOOST_TEST((h.state(2).transfers == std::vector<outcome>{{on_follower, error_code(errc::not_leader)}}));
    BOOST_TEST(h.node(1).transfer_target() == 3u);
    (void)first;
}

BOOST_AUTO_TEST_CASE(a_stale_timeout_now_is_ignored) {
    core c(make_config(2, 3), make_state(4, no_node, {}));
    output o = c.step(recv(1, 2, timeout_now{3}));
    BOOST_TEST(c.role() == role::follower);
    BOOST_TEST(c.current_term() == 4u);
    BOOST_TEST(o.messages.empty());
    BOOST_TEST(o.messages_after_sync.empty());
    // One of the current term starts an election at once, without pre-vote.
    o = c.step(recv(1, 2, timeout_now{4}));
    BOOST_TEST(c.role() == role::candidate);
    BOOST_TEST(c.current_term() == 5u);
    auto rq = of_type<vote_request>(o.messages_after_sync);
    BOOST_REQUIRE_EQUAL(rq.size(), 2u);
    BOOST_TEST(rq[0].second.leadership_transfer);
    BOOST_TEST(!rq[0].second.pre_vote);
}

// A lease (thesis §6.4.1) rests on the followers' promise to elect no one
// before their election timeout; a transfer's election is exempt from it.
BOOST_AUTO_TEST_CASE(a_leader_that_sent_timeout_now_has_no_lease_for_the_rest_of_its_term) {
    using std::chrono::nanoseconds;
    core_config tmpl;
    tmpl.lease_duration = nanoseconds(1000);
    core c(make_config(1, 3, tmpl));
    c.observe_clock(nanoseconds(0));
    establish_leader(c);
    output o = c.step(heartbeat_timeout{});
    const auto hb = of_type<log_request>(o.messages);
    BOOST_REQUIRE(!hb.empty());
    c.step(recv(2, 1, log_response{1, 1, true, 1, hb[0].second.read_round}));
    BOOST_REQUIRE(c.lease_valid());
    o = c.step(transfer_request{7, 2});
    BOOST_REQUIRE_EQUAL(of_type<timeout_now>(o.messages).size(), 1u);
    BOOST_TEST(!c.lease_valid());
    c.withdraw_transfer(7);   // given up: still none in this term
    o = c.step(heartbeat_timeout{});
    c.step(recv(2, 1, log_response{1, 1, true, 1, of_type<log_request>(o.messages).at(0).second.read_round}));
    BOOST_TEST(!c.lease_valid());
    o = c.step(read_request{1});
    BOOST_TEST(o.reads.empty());   // waits for a round
}

BOOST_AUTO_TEST_CASE(a_withdrawn_transfer_resumes_service) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(transfer_request{7, 2});
    BOOST_TEST(of_type<timeout_now>(o.messages).size() == 1u);   // 2 acknowledged everything
    c.withdraw_transfer(7);
    BOOST_TEST(c.transfer_target() == no_node);
    o = c.step(broadcast_request{8, make_bytes("x")});
    BOOST_TEST(o.completions.empty());   // appended, not busy
    BOOST_TEST(c.log().length() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
