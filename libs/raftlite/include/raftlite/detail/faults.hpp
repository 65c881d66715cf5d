// raftlite — deliberately broken rules, for the tests that prove the
// simulator's checks can fail.
//
// Every knob is off unless a test turns it on through a test-access class
// (detail::core_test_access, detail::runner_test_access, defined by the
// tests). The types are the same in every build, so a test program and the
// library never disagree about the layout of a public class.
#ifndef RAFTLITE_DETAIL_FAULTS_HPP
#define RAFTLITE_DETAIL_FAULTS_HPP

namespace raftlite::detail {

/// Broken protocol rules inside raftlite::core.
struct core_faults {
    /// Figure 8: commit an earlier term's entry by counting replicas, and
    /// skip the new leader's no-op (which would hide it).
    bool commit_earlier_term_by_count = false;
    /// A follower grants a second vote in a term it already voted in.
    bool double_vote = false;
};

/// Broken driver rules inside raftlite::runner.
struct runner_faults {
    /// Messages that promise durability leave with the immediate messages,
    /// before the writes they depend on are synced.
    bool after_sync_messages_before_sync = false;
};

struct core_test_access;
struct runner_test_access;

} // namespace raftlite::detail

#endif
