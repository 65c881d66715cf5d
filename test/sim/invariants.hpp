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
// A violation throws sim::violation naming the property.
#ifndef RAFTLITE_SIM_INVARIANTS_HPP
#define RAFTLITE_SIM_INVARIANTS_HPP

#include "node_host.hpp"
#include "kv_machine.hpp"

#include <map>
#include <stdexcept>
#include <string>
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

    /// After a (re)boot: the core starts from what is durable.
    void on_boot(const node_host& h);
    /// Before a message leaves node h (durability promises, votes).
    void on_send(const node_host& h, const envelope& env);
    /// After one host turn. `hosts` is every node (index = id - 1).
    void after_turn(const std::vector<node_host>& hosts, const node_host& h, const host_effects& fx);
    /// After a crash: what survived on the disk still covers its log.
    void after_crash(const node_host& h) const;
    /// At the end of a run, once every node is up and caught up.
    void check_converged(const std::vector<node_host>& hosts) const;

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

    std::map<term_t, node_id> leaders_;
    std::map<std::pair<index_t, term_t>, std::pair<entry_sig, term_t>> appended_;
    std::vector<entry_sig> committed_;                      ///< index i at [i-1]
    kv_machine reference_;                                  ///< the committed log, applied once
    std::vector<std::uint64_t> digests_;                    ///< reference_'s map after entry i, at [i-1]
    /// (session, seq) -> the index at which the command was applied fresh
    std::map<std::pair<std::uint64_t, std::uint64_t>, index_t> fresh_at_;
    std::map<std::pair<term_t, node_id>, node_id> votes_;   ///< (term, voter) -> candidate
    std::vector<term_t> max_term_sent_;                     ///< by id - 1
    std::vector<index_t> delivered_;                        ///< by id - 1, since the last boot
    std::vector<std::pair<entry_origin, index_t>> acked_;
    std::map<std::pair<node_id, std::uint64_t>, int> failed_;   ///< (node, request) -> broadcast_result
public:
    bool check_false_failures = true;
};

} // namespace raftlite::sim

#endif
