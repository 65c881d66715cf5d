// raftlite tests — helpers for driving one core by hand.
#ifndef RAFTLITE_TEST_CORE_TEST_UTIL_HPP
#define RAFTLITE_TEST_CORE_TEST_UTIL_HPP

#include "harness/cluster_harness.hpp"

#include <raftlite/core.hpp>
#include <raftlite/persister.hpp>

#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace raftlite {

// Printing for Boost.Test (found by ADL; no operator<< added to the library's namespace).
inline std::ostream& boost_test_print_type(std::ostream& os, role r) { return os << role_name(r); }
inline std::ostream& boost_test_print_type(std::ostream& os, broadcast_result r) {
    switch (r) {
    case broadcast_result::committed: return os << "committed";
    case broadcast_result::not_leader: return os << "not_leader";
    case broadcast_result::superseded: return os << "superseded";
    case broadcast_result::busy: return os << "busy";
    case broadcast_result::unknown: return os << "unknown";
    }
    return os << "?";
}
inline std::ostream& boost_test_print_type(std::ostream& os, read_result r) {
    switch (r) {
    case read_result::ready: return os << "ready";
    case read_result::not_leader: return os << "not_leader";
    case read_result::busy: return os << "busy";
    }
    return os << "?";
}
/// The classic rules of the Raft paper (§5), without leader stickiness
/// (thesis §4.2.3), for tests of the rules it would mask.
inline core_config without_stickiness(core_config c = {}) {
    c.leader_stickiness = false;
    return c;
}
/// Without pre-vote (thesis §9.6): an election timeout makes a candidate at
/// once, for tests of the election rules of the Raft paper (§5.2) step by step.
inline core_config without_pre_vote(core_config c = {}) {
    c.pre_vote = false;
    return c;
}
inline std::ostream& boost_test_print_type(std::ostream& os, entry_kind k) {
    return os << (k == entry_kind::noop ? "noop" : "application");
}
inline std::ostream& boost_test_print_type(std::ostream& os, const hard_state& h) {
    return os << "{term " << h.current_term << ", vote " << h.voted_for << "}";
}

} // namespace raftlite

namespace raftlite::test {

/// Terms of a core's in-memory log, index start() first.
inline std::vector<term_t> terms_of(const raft_log& l) {
    std::vector<term_t> r;
    for (index_t i = l.start(); i <= l.length(); ++i) r.push_back(l.term_at(i));
    return r;
}

/// Indexes of a vector of entries.
inline std::vector<index_t> indexes_of(const std::vector<log_entry>& v) {
    std::vector<index_t> r;
    for (const auto& e : v) r.push_back(e.index);
    return r;
}

/// Reports the sync of everything in the core's log (as a driver does after syncing).
inline output synced(core& c) {
    return c.step(log_synced{c.log().length(), c.log().last_term()});
}

/// Makes `c` (self 1) leader of the next term: election timeout, its own sync,
/// granted votes from `voters`. Returns the output of the winning step.
/// With pre-vote (thesis §9.6) on, the voters first agree in a pre-election.
inline output win_election(core& c, const std::vector<node_id>& voters) {
    c.step(election_timeout{});
    if (c.role() == role::pre_candidate) {
        const term_t next = c.current_term() + 1;
        for (node_id v : voters) {
            vote_response yes{next, true};
            yes.pre_vote = true;
            c.step(recv(v, c.id(), yes));
            if (c.role() == role::candidate) break;
        }
    }
    const term_t t = c.current_term();
    output won;
    for (node_id v : voters) {
        won = c.step(recv(v, c.id(), vote_response{t, true}));
        if (c.role() == role::leader) break;
    }
    BOOST_REQUIRE(c.role() == role::leader);
    return won;
}

/// A 3-node leader (self 1) in term 1 whose noop (index 1) is durable on itself
/// and acknowledged by both followers, so committed, and both followers in
/// replicating mode.
inline void establish_leader(core& c) {
    win_election(c, {2});
    synced(c);
    const term_t t = c.current_term();
    const index_t n = c.log().length();
    for (node_id f : c.configuration().voters()) {
        if (f == c.id()) continue;
        c.step(recv(f, c.id(), log_response{t, n, true, c.sent_length(f) < n ? c.sent_length(f) : n - 1}));
    }
    BOOST_REQUIRE_EQUAL(c.commit_length(), n);
}

/// A follower (self) that has accepted `leader` as leader of `term` with an empty suffix.
inline void follow(core& c, node_id leader, term_t term, index_t commit = 0) {
    c.step(recv(leader, c.id(),
                log_request{term, c.log().length(), c.log().last_term(), commit, {}}));
    BOOST_REQUIRE_EQUAL(c.leader(), leader);
}

} // namespace raftlite::test

#endif
