// raftlite simulator — the safety properties checked after every step.
//
// Raft's five guarantees (paper, Figure 3) plus the driver-level promises the
// design makes, each checked incrementally so that a run of hundreds of
// thousands of steps stays cheap:
//   election safety      at most one leader per term
//   log matching         an (index, term) names one entry with one predecessor term
//   leader completeness  a new leader holds every entry known committed
//   state machine safety no two nodes deliver different entries at one index
//   delivery             gap-free and in order on every node, only committed entries
//   acknowledged         a broadcast completed `committed` is the entry at its index
//   failure is final     a broadcast completed not_leader, superseded or busy never
//                        commits afterwards (optional: see check_false_failures)
//   durability           a vote, a candidacy, an acknowledgement or any term a node
//                        speaks is on its disk (synced) when the message leaves
//   persistence          term and vote never go back, across restarts included
//   durability (log)     a node's disk, written or durable, holds every entry
//                        from 1 to its last, in its log or in its current
//                        snapshot: a log prefix goes only once a snapshot that
//                        covers it is durably current (Raft §7; thesis §5.1)
//   exactly once         a client session's command (session, seq) is applied
//                        fresh at one index only, on every node that applies
//                        it: a retry that commits elsewhere in the log is a
//                        duplicate (thesis §6.3)
// and, with membership changes (thesis §4; every check above holds across
// them, with node ids 1..nodes of which only some are members):
//   election quorum      a new leader was granted votes (its own included) by a
//                        majority of the voters of the configuration it has in
//                        force: a learner's, a non-member's or a removed
//                        server's vote never makes up that majority
//   quorum overlap       when a leader's commit length grows to c, entry c is
//                        durable (synced on the disk, in the log or in a
//                        durable snapshot) on a majority of the voters of the
//                        configuration the leader had in force (before or
//                        after the turn that committed it): learners and
//                        removed servers never count
//   membership           a configuration entry differs from the configuration
//                        in force before it by one server at most (added,
//                        removed, promoted or demoted: §4.1's single-server
//                        rule), and a leader appends one only once the
//                        configuration before it is committed (one change at
//                        a time)
// A server removed and added again comes back as a fresh machine (an empty
// disk, on_wipe): its votes and terms before are kept apart from its new ones.
// A violation throws sim::violation naming the property.
#ifndef RAFTLITE_SIM_INVARIANTS_HPP
#define RAFTLITE_SIM_INVARIANTS_HPP

#include "node_host.hpp"
#include "kv_machine.hpp"

#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace raftlite::sim {

class violation : public std::runtime_error {
public:
    violation(std::string invariant, const std::string& detail)
        : std::runtime_error(invariant + ": " + detail), invariant(std::move(invariant)) {}
    std::string invariant;
};

class invariants {
public:
    /// Node ids are 1..nodes; `machine`: the options of every node's state
    /// machine (the reference replays the committed log with the same ones).
    explicit invariants(std::size_t nodes, const kv_options& machine = {});
    /// Node ids are 1..nodes; `bootstrap`: the configuration the members
    /// start with (the others wait, with none, to be added).
    invariants(std::size_t nodes, const kv_options& machine, membership bootstrap);

    /// Node h's disk and state were wiped (a fresh machine with its id).
    void on_wipe(const node_host& h);
    /// The configuration of the newest committed configuration entry (the
    /// bootstrap one before any), and that entry's index.
    const membership& committed_configuration() const noexcept { return committed_config_; }
    index_t committed_configuration_index() const noexcept { return committed_config_index_; }

    /// After a (re)boot: the core starts from what is durable.
    void on_boot(const node_host& h);
    /// Before a message leaves node h (durability promises, votes).
    void on_send(const node_host& h, const envelope& env);
    /// After one host turn. `hosts` is every node (index = id - 1).
    void after_turn(const std::vector<node_host>& hosts, const node_host& h, const host_effects& fx);
    /// After a crash: what survived on the disk still covers its log.
    void after_crash(const node_host& h) const;
    /// At the end of a run, once every node is up and caught up (with
    /// `members`, every node of that configuration; the others are left out).
    void check_converged(const std::vector<node_host>& hosts, const membership* members = nullptr) const;

    std::size_t leaders_elected() const noexcept { return leaders_.size(); }
    index_t committed_length() const noexcept { return committed_.size(); }
    /// Term of committed entry i (1 <= i <= committed_length()).
    term_t committed_term(index_t i) const { return committed_[i - 1].term; }
    std::size_t acknowledged() const noexcept { return acked_.size(); }

private:
    struct entry_sig {
        term_t term = 0;
        entry_kind kind = entry_kind::application;
        entry_origin origin;
        shared_bytes data;   // shared with the log: copying a signature copies no bytes
        bool operator==(const entry_sig& o) const {
            return term == o.term && kind == o.kind && origin == o.origin &&
                   (data == o.data || (data && o.data && *data == *o.data));
        }
    };
    static entry_sig sig_of(const log_entry& e);
    void leader_completeness(const node_host& h, index_t from) const;
    static void covered(const node_host& h, const memory_persister::image& img, const char* which);
    void election_quorum(const node_host& h) const;
    void commit_quorum(const std::vector<node_host>& hosts, const node_host& h, const membership& before) const;
    void configuration_entry(const node_host& h, const log_entry& e) const;

    std::map<term_t, node_id> leaders_;
    std::map<std::pair<index_t, term_t>, std::pair<entry_sig, term_t>> appended_;
    std::vector<entry_sig> committed_;                      ///< index i at [i-1]
    kv_machine reference_;                                  ///< the committed log, applied once
    std::vector<std::uint64_t> digests_;                    ///< reference_'s map after entry i, at [i-1]
    /// (session, seq) -> the index at which the command was applied fresh
    std::map<std::pair<std::uint64_t, std::uint64_t>, index_t> fresh_at_;
    /// (term, voter, voter's wipes so far) -> candidate
    std::map<std::tuple<term_t, node_id, unsigned>, node_id> votes_;
    std::vector<unsigned> wipes_;                           ///< by id - 1
    membership bootstrap_;
    membership committed_config_;
    index_t committed_config_index_ = 0;
    std::vector<membership> prev_config_;                   ///< by id - 1: in force after its last turn
    std::vector<index_t> prev_commit_;                      ///< by id - 1: commit length after its last turn
    std::vector<term_t> led_term_;                          ///< by id - 1: the term it led after its last turn (0: none)
    std::vector<term_t> max_term_sent_;                     ///< by id - 1
    std::vector<index_t> delivered_;                        ///< by id - 1, since the last boot
    std::vector<std::pair<entry_origin, index_t>> acked_;
    std::map<std::pair<node_id, std::uint64_t>, int> failed_;   ///< (node, request) -> broadcast_result
public:
    bool check_false_failures = true;
    /// The configuration entries check (membership); off to see what else
    /// catches a broken change rule (sim --skip membership).
    bool check_membership_rule = true;
};

} // namespace raftlite::sim

#endif
