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
    /// A candidate counts a vote granted in an earlier term of its own
    /// (votes are per term, §5.2); only a vote answer that arrives a whole
    /// election timeout late can carry one.
    bool count_stale_votes = false;
    /// A follower commits up to the leader's commit length even beyond the
    /// prefix the request matched (Figure 2, AppendEntries rule 5 caps it at
    /// the last new entry), so a stale suffix of an older term commits.
    bool commit_beyond_match = false;
    /// A leader or candidate ignores a higher term in a vote or log response:
    /// it neither adopts the term nor steps down (§5.1).
    bool ignore_higher_term_in_response = false;
    /// A follower does not reset its election timer on a valid log request
    /// from the leader of its term (§5.2), so it keeps calling elections.
    bool no_timer_reset_on_leader_message = false;
    /// A leader that has not heard from a majority for an election timeout
    /// does not step down (check-quorum, Raft thesis §6.2).
    bool no_check_quorum_step_down = false;
    /// A follower installs a snapshot the leader sent even when its own
    /// commit index is already beyond it (Raft §7 says discard it), so its
    /// state goes back in time and committed entries after the snapshot are
    /// lost from its log.
    bool install_older_snapshot = false;
    /// A leader whose snapshot chunks a follower leaves unanswered sends the
    /// whole window again every two heartbeats, and a whole window of each
    /// newer snapshot it takes, instead of empty chunks until the follower
    /// answers: a follower cut off mid-transfer costs the leader a window of
    /// snapshot reads and queued chunks every two heartbeats.
    bool resend_snapshot_window_unanswered = false;
    /// A leader answers a read with its commit index at once, without the
    /// heartbeat round that confirms it still leads (thesis §6.4), so a
    /// deposed leader that has not heard of its successor serves stale reads.
    bool read_without_round = false;
    /// A candidate counts the votes of learners (thesis §4.2.1: they never
    /// vote), so a minority of voters with learners elects a leader.
    bool count_learner_votes = false;
    /// A leader starts a membership change while the previous one is
    /// uncommitted, and reports a change done once appended (thesis §4.1
    /// allows one at a time): two changes apart may have disjoint majorities.
    bool concurrent_changes = false;
    /// A node starting a pre-election raises its own term (durably, voting
    /// for no one), as a real candidacy would; thesis §9.6 says a pre-vote
    /// changes no one's term. A node cut off by a partition then climbs
    /// terms again, and back, its answers depose a healthy leader (§5.1).
    bool pre_vote_raises_term = false;
    /// A server takes forwards from a server outside its configuration in
    /// force as from a member: a leader appends them, a follower answers
    /// not_leader. No leader replicates to that server (thesis §4.2.2), so
    /// it never learns how its broadcasts end. (core_tests show the
    /// difference; the standard sweep meets the case in one run of 690, main
    /// seed 86, too seldom to ask sim_fault_tests to find it.)
    bool accept_forwards_from_outside = false;
    /// A server that never stands for election (a learner, one outside its
    /// latest configuration) keeps what a leader saw (broadcasts it
    /// forwarded) until a leader tells it how they ended, as a voter does.
    /// Dropped from the configuration without learning it (a spare whose
    /// addition was undone after it received it), it hears from no leader
    /// again (thesis §4.2.2), so they wait for ever.
    bool hold_forwarded_forever = false;
    /// A leader replicates each forwarded entry as it appends it, so the
    /// forwards of one driver turn leave as a one-entry log_request each
    /// per follower instead of one for them all (core::end_turn).
    bool replicate_each_forward = false;
};

/// Broken driver rules inside raftlite::runner.
struct runner_faults {
    /// Messages that promise durability leave with the immediate messages,
    /// before the writes they depend on are synced.
    bool after_sync_messages_before_sync = false;
    /// The log prefix a snapshot will cover is dropped on the disk when the
    /// snapshot is asked for, before the application has written it, let
    /// alone made it durable (Raft §7 compacts only what a durable snapshot
    /// holds): until then the disk holds neither.
    bool compact_before_snapshot_durable = false;
};

struct core_test_access;
struct runner_test_access;

} // namespace raftlite::detail

#endif
