// A short exhaustive exploration: 3 nodes, a broadcast, a crash, a lost and a
// duplicated message, every interleaving to depth 8, no violation.
#include "explorer.hpp"

#include <boost/test/unit_test.hpp>

using namespace raftlite::sim;

BOOST_AUTO_TEST_CASE(exploration_to_depth_8) {
    explore_config c;
    c.depth = 8;
    c.broadcasts = 1;
    c.max_crashes = 1;
    c.max_drops = 1;
    c.max_duplicates = 1;
    const explore_result r = explore(c);
    BOOST_TEST(r.ok, r.invariant << ": " << r.detail << "\n" << r.path);
    BOOST_TEST(!r.budget_exhausted);
    BOOST_TEST(r.max_depth == 8u);
    BOOST_TEST(r.distinct_states > 50000u);
    BOOST_TEST(r.states_with_leader > 0u);
    BOOST_TEST_MESSAGE("exploration: " << r.transitions << " transitions, " << r.distinct_states
                                       << " distinct states, depth " << r.max_depth);
}

// Snapshots at small depth: one election, the no-op committed, one node
// snapshots what it applied with no log kept below it (Raft §7), so a
// follower that lags is sent the snapshot; every interleaving to depth 14
// (about 20 k states).
BOOST_AUTO_TEST_CASE(exploration_with_a_snapshot_to_depth_14) {
    explore_config c;
    c.depth = 14;
    c.broadcasts = 0;
    c.max_crashes = 0;
    c.max_drops = 0;
    c.max_duplicates = 0;
    c.max_timeouts = 1;
    c.max_heartbeats = 2;
    c.max_snapshots = 1;
    c.max_membership = 0;   // (the membership exploration below has its own)
    c.core.log_keep_entries = 0;
    const explore_result r = explore(c);
    BOOST_TEST(r.ok, r.invariant << ": " << r.detail << "\n" << r.path);
    BOOST_TEST(!r.budget_exhausted);
    BOOST_TEST(r.states_with_snapshot > 0u);
    BOOST_TEST(r.restores > 0u);   // a follower installed the snapshot
    BOOST_TEST_MESSAGE("exploration with a snapshot: " << r.transitions << " transitions, " << r.distinct_states
                                                       << " distinct states, " << r.states_with_snapshot
                                                       << " with a snapshot, " << r.restores << " restores");
}

// One membership change (thesis §4): once a leader committed an entry of
// its term, it is asked to remove one of the three nodes (itself included);
// the configuration entry commits, a removed leader steps down, and every
// interleaving to depth 14 keeps every invariant (about 38 k states, a
// changed configuration in 14 k of them).
BOOST_AUTO_TEST_CASE(exploration_with_a_membership_change_to_depth_14) {
    explore_config c;
    c.depth = 14;
    c.broadcasts = 0;
    c.max_crashes = 0;
    c.max_drops = 0;
    c.max_duplicates = 0;
    c.max_timeouts = 1;
    c.max_heartbeats = 1;
    c.max_membership = 1;
    const explore_result r = explore(c);
    BOOST_TEST(r.ok, r.invariant << ": " << r.detail << "\n" << r.path);
    BOOST_TEST(!r.budget_exhausted);
    BOOST_TEST(r.states_with_change > 0u);
    BOOST_TEST_MESSAGE("exploration with a membership change: " << r.transitions << " transitions, "
                                                                << r.distinct_states << " distinct states, "
                                                                << r.states_with_change
                                                                << " with a configuration changed");
}
