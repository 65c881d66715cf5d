// raftlite simulator — safety checks (see the header for the list).
#include "invariants.hpp"

#include <sstream>

namespace raftlite::sim {

namespace {
const char* const names[] = {"committed", "not_leader", "superseded", "busy", "unknown"};   // broadcast_result

std::string str(auto&&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    return s.str();
}
} // namespace

invariants::invariants(std::size_t nodes, const kv_options& machine)
    : invariants(nodes, machine, [nodes] {
          std::vector<node_id> all;
          for (node_id i = 1; i <= nodes; ++i) all.push_back(i);
          return membership(all);
      }()) {}

invariants::invariants(std::size_t nodes, const kv_options& machine, membership bootstrap)
    : reference_(machine), wipes_(nodes, 0), bootstrap_(bootstrap), committed_config_(std::move(bootstrap)),
      prev_config_(nodes), prev_commit_(nodes, 0), led_term_(nodes, 0), max_term_sent_(nodes, 0), delivered_(nodes, 0) {}

void invariants::on_wipe(const node_host& h) {
    const std::size_t k = h.id() - 1;
    ++wipes_[k];
    max_term_sent_[k] = 0;
    delivered_[k] = 0;
    prev_config_[k] = membership();
    prev_commit_[k] = 0;
    led_term_[k] = 0;
}

namespace {
// The servers whose record differs between two configurations (in one only,
// or a voter in one and a learner in the other).
std::size_t servers_apart(const membership& a, const membership& b) {
    std::size_t n = 0;
    for (const member& m : a.members()) {
        const member* o = b.find(m.id);
        if (!o || o->voter != m.voter) ++n;
    }
    for (const member& m : b.members())
        if (!a.contains(m.id)) ++n;
    return n;
}
} // namespace

// A leader needs the votes of a majority of its configuration's voters; the
// votes counted are those granted to it in its term (on_send), by voters of
// that configuration, and its own when it is one.
void invariants::election_quorum(const node_host& h) const {
    const raftlite::core& c = h.core();
    const membership& cfg = c.configuration();
    const term_t t = c.current_term();
    std::size_t granted = 0;
    std::string who;
    for (const member& m : cfg.members()) {
        if (!m.voter) continue;
        bool yes = m.id == h.id();
        for (unsigned g = 0; !yes && m.id - 1 < wipes_.size() && g <= wipes_[m.id - 1]; ++g) {
            auto it = votes_.find({t, m.id, g});
            yes = it != votes_.end() && it->second == h.id();
        }
        if (yes) {
            ++granted;
            who += " " + std::to_string(m.id);
        }
    }
    if (granted < cfg.quorum())
        throw violation("election quorum", str("node ", h.id(), " leads term ", t, " with the votes of voters {", who,
                                               " } only: ", granted, " of the ", cfg.voter_count(),
                                               " voters of its configuration (", to_string(cfg), "), a majority is ",
                                               cfg.quorum()));
}

// The entry at the leader's new commit length is durable on a majority of the
// voters of its configuration (before or after the turn).
void invariants::commit_quorum(const std::vector<node_host>& hosts, const node_host& h, const membership& before) const {
    const raftlite::core& c = h.core();
    const index_t at = c.commit_length();
    if (at < c.log().start() || at > c.log().length()) return;   // (a snapshot's, not an entry it committed)
    const term_t t = c.log().term_at(at);
    auto holds = [&](const node_host& o) {
        const memory_persister::image& d = o.disk().durable_state();
        if (d.snapshot && d.snapshot->index >= at) return true;
        if (at < d.log_start || at > d.last_index()) return false;
        return d.entries[at - d.log_start].term == t;
    };
    auto majority = [&](const membership& m, std::string* who) {
        std::size_t k = 0;
        for (const member& mb : m.members()) {
            if (!mb.voter || mb.id == no_node || mb.id > hosts.size() || !holds(hosts[mb.id - 1])) continue;
            ++k;
            if (who) *who += " " + std::to_string(mb.id);
        }
        return k >= m.quorum();
    };
    if (majority(c.configuration(), nullptr) || (!before.empty() && majority(before, nullptr))) return;
    std::string who;
    majority(c.configuration(), &who);
    throw violation("quorum overlap",
                    str("node ", h.id(), " leads term ", c.current_term(), " and commits entry ", at, " (term ", t,
                        ") but only voters {", who, " } of its configuration (", to_string(c.configuration()),
                        ") hold it durably; a majority is ", c.configuration().quorum(),
                        before.empty() ? std::string() : " (nor in the one before: " + to_string(before) + ")"));
}

// Thesis §4.1: a configuration entry changes one server, and a leader
// appends one only once the configuration before it has committed.
void invariants::configuration_entry(const node_host& h, const log_entry& e) const {
    const raftlite::core& c = h.core();
    const auto next = decode_membership(e.data());
    if (!next)
        throw violation("membership", str("node ", h.id(), " holds configuration entry ", e.index, " that does not decode"));
    if (e.index <= c.snapshot().index) return;
    // The configuration before it: the previous configuration entry in the
    // log, else the snapshot's, else the cluster's bootstrap one (a server
    // that joined empty has none of its own).
    index_t prev_at = 0;
    for (index_t k = e.index - 1; k >= c.log().start() && k > 0; --k)
        if (c.log().at(k).kind == entry_kind::configuration) {
            prev_at = k;
            break;
        }
    membership prev = bootstrap_;
    if (prev_at != 0) {
        if (auto m = decode_membership(c.log().at(prev_at).data())) prev = std::move(*m);
    } else if (c.snapshot().index > 0 && !c.snapshot().members.empty()) {
        prev = c.snapshot().members;
    }
    if (servers_apart(prev, *next) > 1)
        throw violation("membership", str("node ", h.id(), "'s configuration entry ", e.index, " (term ", e.term,
                                          ": ", to_string(*next), ") changes more than one server of the one before (",
                                          to_string(prev), ")"));
    if (c.role() != role::leader || e.term != c.current_term()) return;   // appended by this leader
    if (prev_at > c.commit_length())
        throw violation("membership", str("node ", h.id(), " leads term ", c.current_term(),
                                          " and appends configuration entry ", e.index, " (", to_string(*next),
                                          ") while the one before it, at ", prev_at, ", is not committed (commit ",
                                          c.commit_length(), "): one change at a time"));
}

invariants::entry_sig invariants::sig_of(const log_entry& e) {
    return {e.term, e.kind, e.origin, e.payload};
}

void invariants::on_boot(const node_host& h) {
    const raftlite::core& c = h.core();
    const hard_state& d = h.disk().durable_state().hard;
    if (c.current_term() != d.current_term || c.voted_for() != d.voted_for)
        throw violation("persistence", str("node ", h.id(), " restarted in term ", c.current_term(),
                                           " vote ", c.voted_for(), " but its disk holds term ",
                                           d.current_term, " vote ", d.voted_for));
    if (c.current_term() < max_term_sent_[h.id() - 1])
        throw violation("persistence", str("node ", h.id(), " restarted in term ", c.current_term(),
                                           " after it had sent messages of term ",
                                           max_term_sent_[h.id() - 1]));
    delivered_[h.id() - 1] = 0;
    prev_config_[h.id() - 1] = c.configuration();
    prev_commit_[h.id() - 1] = c.commit_length();
    led_term_[h.id() - 1] = 0;
}

void invariants::on_send(const node_host& h, const envelope& env) {
    const auto& d = h.disk().durable_state();
    const node_id self = h.id();
    term_t term = 0;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, vote_request>) {
                if (m.pre_vote) return;   // the term it would stand in: nobody's term (thesis §9.6)
                term = m.term;
                if (d.hard.current_term == m.term && d.hard.voted_for != self)
                    throw violation("durability", str("node ", self, " asks for votes in term ", m.term,
                                                      " before its own vote is durable"));
            } else if constexpr (std::is_same_v<T, vote_response>) {
                if (m.pre_vote && m.granted) return;   // echoes the pre-vote's term: no vote, no term
                term = m.term;
                if (m.granted) {
                    if (d.hard.current_term == m.term && d.hard.voted_for != env.to)
                        throw violation("durability", str("node ", self, " grants its term ", m.term,
                                                          " vote to ", env.to, " before the vote is durable"));
                    auto [it, fresh] = votes_.emplace(std::tuple(m.term, self, wipes_[self - 1]), env.to);
                    if (!fresh && it->second != env.to)
                        throw violation("election safety", str("node ", self, " voted twice in term ", m.term,
                                                               ": for ", it->second, " and for ", env.to));
                }
            } else if constexpr (std::is_same_v<T, log_request>) {
                term = m.term;
            } else if constexpr (std::is_same_v<T, log_response>) {
                term = m.term;
                if (m.success && d.last_index() < m.ack)
                    throw violation("durability", str("node ", self, " acknowledges ", m.ack,
                                                      " entries in term ", m.term, " but only ",
                                                      d.last_index(), " are durable"));
            } else if constexpr (std::is_same_v<T, install_snapshot> ||
                                 std::is_same_v<T, install_snapshot_response>) {
                term = m.term;   // the sender's current term, like every request and answer
            }
        },
        env.msg);
    if (term == 0) return;
    if (d.hard.current_term < term)
        throw violation("durability", str("node ", self, " sends a ", message_name(env.msg), " of term ",
                                          term, " while its durable term is ", d.hard.current_term));
    term_t& mx = max_term_sent_[self - 1];
    if (term > mx) mx = term;
}

// Entries below the log's start must be in the current snapshot: otherwise
// a restart from this image has lost entries the node stored and may have
// acknowledged, or voted with (its log looked longer than it is).
void invariants::covered(const node_host& h, const memory_persister::image& img, const char* which) {
    const index_t snap = img.snapshot ? img.snapshot->index : 0;
    if (img.log_start > snap + 1)
        throw violation("durability", str("node ", h.id(), "'s ", which, " log starts at entry ", img.log_start,
                                          " but its current snapshot covers only entries 1..", snap,
                                          ": entries ", snap + 1, "..", img.log_start - 1, " are gone"));
}

void invariants::after_crash(const node_host& h) const {
    covered(h, h.disk().durable_state(), "durable");
    covered(h, h.disk().written_state(), "written");
}

void invariants::leader_completeness(const node_host& h, index_t from) const {
    const raftlite::core& c = h.core();
    // Entries below the log start are in the leader's snapshot, which holds
    // only committed state; the snapshot must reach up to the log start.
    if (c.log().start() > c.snapshot().index + 1)
        throw violation("leader completeness", str("node ", h.id(), " leads term ", c.current_term(),
                                                   " with a log from ", c.log().start(), " but a snapshot only to ",
                                                   c.snapshot().index));
    if (c.snapshot().index != 0 && c.snapshot().index <= committed_.size() &&
        c.log().term_at(c.snapshot().index) != committed_[c.snapshot().index - 1].term &&
        c.log().start() <= c.snapshot().index + 1)
        throw violation("leader completeness", str("node ", h.id(), " leads term ", c.current_term(),
                                                   " with a snapshot whose last term differs from the committed entry's"));
    for (index_t i = std::max(from, c.log().start()); i <= committed_.size(); ++i) {
        if (!c.log().holds(i) || c.log().term_at(i) != committed_[i - 1].term)
            throw violation("leader completeness",
                            str("node ", h.id(), " leads term ", c.current_term(), " without committed entry ",
                                i, " (term ", committed_[i - 1].term, "); its log has ", c.log().length(),
                                " entries", c.log().holds(i) ? str(", term ", c.log().term_at(i), " there") : ""));
    }
}

void invariants::after_turn(const std::vector<node_host>& hosts, const node_host& h, const host_effects& fx) {
    if (!h.up()) return;
    const raftlite::core& c = h.core();
    const node_id n = h.id();

    // persistence: never below what is durable or what was ever said
    const hard_state& d = h.disk().durable_state().hard;
    if (c.current_term() < d.current_term)
        throw violation("persistence", str("node ", n, " is in term ", c.current_term(), " below its durable term ",
                                           d.current_term));
    if (c.current_term() == d.current_term && d.voted_for != no_node && c.voted_for() != d.voted_for)
        throw violation("persistence", str("node ", n, " changed its term ", d.current_term, " vote from ",
                                           d.voted_for, " to ", c.voted_for()));
    if (c.current_term() < max_term_sent_[n - 1])
        throw violation("persistence", str("node ", n, " is in term ", c.current_term(), " after sending term ",
                                           max_term_sent_[n - 1]));
    covered(h, h.disk().durable_state(), "durable");
    covered(h, h.disk().written_state(), "written");

    // the driver wrote what the core asked for
    // (Writes queued for a round, or in a round waiting behind the one
    // syncing, are not on the disk yet.)
    const auto& w = h.disk().written_state();
    if (h.runner().queued().empty() && h.syncs_pending() <= 1 &&
        (w.hard.current_term != c.current_term() || w.hard.voted_for != c.voted_for() || w.last_index() != c.log().length()))
        throw violation("driver", str("node ", n, " disk and core disagree"));

    // log matching, on every entry appended
    for (const log_entry& e : fx.appended) {
        if (!c.log().holds(e.index) || c.log().term_at(e.index) != e.term) continue;   // replaced in the same turn
        const term_t prev = c.log().term_at(e.index - 1);
        auto [it, fresh] = appended_.emplace(std::pair(e.index, e.term), std::pair(sig_of(e), prev));
        if (!fresh && (!(it->second.first == sig_of(e)) || it->second.second != prev))
            throw violation("log matching", str("node ", n, " holds a different entry ", e.index, " of term ",
                                                e.term, " than another node (or a different predecessor term ",
                                                prev, " vs ", it->second.second, ")"));
        if (e.kind == entry_kind::configuration && check_membership_rule) configuration_entry(h, e);
    }

    // A restored snapshot holds exactly the state the committed log builds up
    // to its index (Raft §7), and delivery goes on after it.
    if (fx.restored) {
        const index_t at = fx.restored->index;
        if (at == 0 || at > digests_.size())
            throw violation("snapshot", str("node ", n, " restored a snapshot of entries 1..", at, " but only ",
                                            digests_.size(), " entries were ever committed"));
        if (fx.restored_digest != digests_[at - 1])
            throw violation("snapshot", str("node ", n, " restored a snapshot of entries 1..", at,
                                            " whose state differs from the committed log's"));
        if (at < delivered_[n - 1])
            throw violation("snapshot", str("node ", n, " went back from entry ", delivered_[n - 1],
                                            " to a snapshot of entries 1..", at));
        delivered_[n - 1] = at;
    }

    // delivery and state machine safety
    const index_t first_new = committed_.size() + 1;
    for (std::size_t d = 0; d < fx.delivered.size(); ++d) {
        const log_entry& e = fx.delivered[d];
        index_t& k = delivered_[n - 1];
        if (e.index != k + 1)
            throw violation("delivery", str("node ", n, " delivered entry ", e.index, " after ", k));
        k = e.index;
        // (An entry the same turn compacted away is covered by the snapshot.)
        const bool compacted = e.index < c.log().start() && e.index <= c.snapshot().index;
        if (e.index > c.commit_length() || (!compacted && (!c.log().holds(e.index) || c.log().term_at(e.index) != e.term)))
            throw violation("delivery", str("node ", n, " delivered entry ", e.index,
                                            " that is not committed in its own log"));
        if (e.index <= committed_.size()) {
            if (!(committed_[e.index - 1] == sig_of(e)))
                throw violation("state machine safety",
                                str("node ", n, " delivered entry ", e.index, " of term ", e.term,
                                    " but another node delivered one of term ", committed_[e.index - 1].term,
                                    " there"));
        } else {
            committed_.push_back(sig_of(e));
            if (e.kind == entry_kind::configuration) {
                if (auto m = decode_membership(e.data())) {
                    committed_config_ = std::move(*m);
                    committed_config_index_ = e.index;
                }
            }
            reference_.apply(e);
            digests_.push_back(reference_.digest());
            auto f = failed_.find({e.origin.node, e.origin.request});
            if (check_false_failures && e.origin.node != no_node && f != failed_.end()) {
                throw violation("failure is final", str("request ", e.origin.request, " of node ", e.origin.node,
                                                        " completed ", names[f->second],
                                                        " but commits at index ", e.index));
            }
        }
        // Thesis §6.3: a command of a session takes effect once, however
        // often its client sent it. (State machine safety makes the entry at
        // an index the same on every node, so one index per command suffices.)
        const kv_applied& a = fx.applied.at(d);
        if (a.verdict == kv_verdict::fresh) {
            auto [it, first] = fresh_at_.emplace(std::pair(a.session.id, a.session.seq), e.index);
            if (!first && it->second != e.index)
                throw violation("exactly once", str("node ", n, " applied command ", a.session.seq, " of session ",
                                                    a.session.id, " at index ", e.index,
                                                    "; it was applied at index ", it->second, " already"));
        }
    }
    // newly known committed entries must be in every leader of a later term
    if (committed_.size() >= first_new) {
        for (const node_host& o : hosts) {
            if (o.up() && o.core().role() == role::leader && o.core().current_term() > c.current_term())
                leader_completeness(o, first_new);
        }
    }

    // election safety; a new leader holds everything committed
    if (c.role() == role::leader) {
        auto [it, fresh] = leaders_.emplace(c.current_term(), n);
        if (!fresh && it->second != n)
            throw violation("election safety", str("nodes ", it->second, " and ", n, " both lead term ",
                                                   c.current_term()));
        if (fresh) {
            leader_completeness(h, 1);
            election_quorum(h);
        }
    }

    // quorum overlap: what a leader commits is durable on a majority of its voters
    const std::size_t k = n - 1;
    const bool led = c.role() == role::leader || led_term_[k] == c.current_term();
    if (led && c.commit_length() > prev_commit_[k]) commit_quorum(hosts, h, prev_config_[k]);
    prev_commit_[k] = c.commit_length();
    led_term_[k] = c.role() == role::leader ? c.current_term() : 0;
    if (!(prev_config_[k] == c.configuration())) prev_config_[k] = c.configuration();

    // acknowledged broadcasts are what was committed at their index
    for (const completion& cp : fx.completions) {
        if (cp.result == broadcast_result::unknown) continue;   // may or may not have committed: nothing to check
        if (cp.result != broadcast_result::committed) {
            // committed already? then this failure was false
            for (index_t i = 1; check_false_failures && i <= committed_.size(); ++i)
                if (committed_[i - 1].origin == entry_origin{n, cp.request})
                    throw violation("failure is final",
                                    str("request ", cp.request, " of node ", n, " completed as failed (",
                                        names[static_cast<int>(cp.result)], ") but committed at index ", i));
            failed_.emplace(std::pair(n, cp.request), static_cast<int>(cp.result));
            continue;
        }
        const entry_origin origin{n, cp.request};
        if (cp.index == 0 || cp.index > committed_.size() || committed_[cp.index - 1].origin != origin)
            throw violation("acknowledged", str("node ", n, " completed request ", cp.request,
                                                " as committed at ", cp.index, " but that entry is not its own"));
        acked_.emplace_back(origin, cp.index);
    }
}

void invariants::check_converged(const std::vector<node_host>& hosts, const membership* members) const {
    for (const node_host& h : hosts) {
        if (members && !members->contains(h.id())) continue;
        if (!h.up()) {
            if (members) throw violation("acknowledged", str("node ", h.id(), " of the configuration is down at the end"));
            continue;
        }
        const raftlite::core& c = h.core();
        for (const auto& [origin, index] : acked_) {
            if (index > c.commit_length())
                throw violation("acknowledged", str("node ", h.id(), " has committed only ", c.commit_length(),
                                                    " entries after healing; acknowledged entry ", index,
                                                    " is missing"));
        }
        if (h.machine().applied() != c.commit_length())
            throw violation("delivery", str("node ", h.id(), " delivered ", h.machine().applied(), " of ",
                                            c.commit_length(), " committed entries"));
    }
}

} // namespace raftlite::sim
