// The harness itself: it must drive the core exactly as core.hpp says, or the
// other tests prove nothing.
#include "core_test_util.hpp"

using namespace raftlite;
using namespace raftlite::test;

BOOST_AUTO_TEST_SUITE(harness)

BOOST_AUTO_TEST_CASE(after_sync_messages_wait_for_the_sync_and_log_synced_is_reported) {
    cluster_harness h(3, without_pre_vote());   // a candidacy at once
    h.set_auto_sync(1, false);
    h.election_timeout(1);
    // The vote requests depend on the durable self-vote: held.
    BOOST_TEST(h.in_flight() == 0u);
    BOOST_TEST(h.state(1).held_after_sync() == 2u);
    BOOST_TEST(h.state(1).disk.written_state().hard == (hard_state{1, 1}));
    BOOST_TEST(h.state(1).disk.durable_state().hard == (hard_state{0, 0}));
    h.sync(1);
    BOOST_TEST(h.in_flight() == 2u);
    BOOST_TEST(h.state(1).disk.durable_state().hard == (hard_state{1, 1}));
    h.run_until_quiet();
    BOOST_REQUIRE_EQUAL(h.leader(), 1u);
    // The noop is written, not durable: the leader does not count itself.
    BOOST_TEST(h.node(1).durable_length() == 0u);
    BOOST_TEST(h.state(1).disk.written_state().entries.size() == 1u);
    BOOST_TEST(h.state(1).disk.durable_state().entries.empty());
    h.sync(1);   // reports log_synced{1, 1}
    BOOST_TEST(h.node(1).durable_length() == 1u);
}

BOOST_AUTO_TEST_CASE(disk_images_follow_truncations_and_appends) {
    std::map<node_id, persistent_state> st;
    st[1] = make_state(2, no_node, {1, 1});
    st[2] = make_state(1, no_node, {1, 1, 1, 1});
    st[3] = make_state(2, no_node, {1, 1});
    cluster_harness h(st);
    BOOST_REQUIRE_EQUAL(h.elect(1), 1u);
    std::vector<term_t> disk;
    for (const auto& e : h.state(2).disk.durable_state().entries) disk.push_back(e.term);
    BOOST_TEST(disk == (std::vector<term_t>{1, 1, 3}), boost::test_tools::per_element());
    BOOST_TEST(h.log_terms(2) == disk, boost::test_tools::per_element());
    BOOST_TEST(h.state(2).disk.durable_state().hard.current_term == 3u);
}

BOOST_AUTO_TEST_CASE(cut_links_drop_messages_and_heal_restores_them) {
    cluster_harness h(3);
    h.isolate(1);
    BOOST_TEST(!h.link_up(1, 2));
    BOOST_TEST(!h.link_up(3, 1));
    BOOST_TEST(h.link_up(2, 3));
    h.election_timeout(1);
    h.run_until_quiet();
    BOOST_TEST(h.leader() == no_node);
    BOOST_TEST(h.dropped() == 2u);
    h.heal();
    BOOST_TEST(h.elect(1) == 1u);
}

BOOST_AUTO_TEST_CASE(identical_runs_are_identical) {
    auto run = [] {
        cluster_harness h(5);
        h.elect(2);
        for (node_id n = 1; n <= 5; ++n) h.broadcast(n, "v" + std::to_string(n));
        h.run_until_quiet();
        h.settle();
        std::vector<std::string> trace;
        for (const auto& e : h.delivered_messages())
            trace.push_back(std::to_string(e.from) + ">" + std::to_string(e.to) + ":" + message_name(e.msg));
        return std::make_pair(trace, h.delivered(4));
    };
    const auto a = run();
    const auto b = run();
    BOOST_TEST(a.first == b.first, boost::test_tools::per_element());
    BOOST_TEST(a.second == b.second, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
