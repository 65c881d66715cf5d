// raftlite — the Raft protocol as a pure state machine.
//
// Structure and names follow Kleppmann's event-driven formulation (the one
// raft-lite implements); each rule of the Raft paper is cited where it is
// enforced. Everything here is deterministic: the same events give the same
// outputs.
#include <raftlite/core.hpp>
#include <raftlite/persistent_state.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace raftlite {


const char* role_name(role r) noexcept {
    switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre_candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
    }
    return "unknown";
}

const char* action_name(membership_change::action a) noexcept {
    switch (a) {
    case membership_change::action::add_learner: return "add_learner";
    case membership_change::action::promote: return "promote";
    case membership_change::action::demote: return "demote";
    case membership_change::action::remove: return "remove";
    }
    return "unknown";
}

const char* membership_result_name(membership_result r) noexcept {
    switch (r) {
    case membership_result::committed: return "committed";
    case membership_result::not_leader: return "not_leader";
    case membership_result::busy: return "busy";
    case membership_result::rejected: return "rejected";
    case membership_result::not_caught_up: return "not_caught_up";
    case membership_result::unknown: return "unknown";
    }
    return "unknown";
}

const char* transfer_result_name(transfer_result r) noexcept {
    switch (r) {
    case transfer_result::done: return "done";
    case transfer_result::not_leader: return "not_leader";
    case transfer_result::rejected: return "rejected";
    case transfer_result::timed_out: return "timed_out";
    case transfer_result::busy: return "busy";
    }
    return "unknown";
}

// ---- output -----------------------------------------------------------------

bool output::empty() const noexcept {
    return !has_writes() && messages.empty() && messages_after_sync.empty() &&
           committed.empty() && completions.empty() && reads.empty() && membership_changes.empty() &&
           transfers.empty() && !configuration && !reset_election_timer &&
           !heartbeat_timer && snapshot_data.empty() && snapshot_sends.empty() && !restore;
}

void output::truncate(index_t from) {
    // Entries appended earlier in this same output are simply withdrawn;
    // only a truncation reaching below them must be carried out on disk.
    while (!append.empty() && append.back().index >= from) append.pop_back();
    if (append.empty())
        truncate_from = truncate_from ? std::min(*truncate_from, from) : from;
}

void output::clear() {
    save_hard_state.reset();
    truncate_from.reset();
    append.clear();
    use_snapshot.reset();
    remove_prefix.reset();
    snapshot_data.clear();
    snapshot_sends.clear();
    restore.reset();
    messages.clear();
    messages_after_sync.clear();
    committed.clear();
    completions.clear();
    reads.clear();
    membership_changes.clear();
    configuration.reset();
    transfers.clear();
    reset_election_timer = false;
    heartbeat_timer.reset();
}

// ---- construction -------------------------------------------------------------

namespace {

void validate(const core_config& cfg) {
    if (cfg.self == no_node) throw std::invalid_argument("raftlite::core: self id must not be 0");
    // (membership's own constructor refuses duplicate and zero ids.) A
    // bootstrap configuration names this node as a voter; an empty one
    // means it joins a running cluster.
    if (!cfg.members.empty() && !cfg.members.is_voter(cfg.self))
        throw std::invalid_argument("raftlite::core: self id " + std::to_string(cfg.self) +
                                    " is not among the members");
    if (cfg.max_batch_entries == 0 || cfg.max_inflight == 0 || cfg.max_inflight_bytes == 0)
        throw std::invalid_argument("raftlite::core: batch and inflight limits must be positive");
    if (cfg.read_rounds_in_flight == 0)
        throw std::invalid_argument("raftlite::core: read_rounds_in_flight must be positive");
    if (cfg.snapshot_chunk_bytes == 0 || cfg.snapshot_chunks_inflight == 0)
        throw std::invalid_argument("raftlite::core: snapshot chunk size and window must be positive");
    if (cfg.lease_duration.count() < 0)
        throw std::invalid_argument("raftlite::core: lease_duration must not be negative");
    // A lease is only as good as the promise of the followers that answered
    // the round not to elect anyone else before it ends (thesis §6.4.1).
    if (cfg.lease_duration.count() > 0 && (!cfg.check_quorum || !cfg.leader_stickiness))
        throw std::invalid_argument("raftlite::core: lease reads need check_quorum and leader_stickiness");
}

} // namespace

core::core(core_config cfg) : cfg_(std::move(cfg)) { validate(cfg_); }

core::core(core_config cfg, const persistent_state& restored)
    : cfg_(std::move(cfg)),
      current_term_(restored.hard.current_term),
      voted_for_(restored.hard.voted_for),
      log_(restored.log_start, restored.prefix_term, restored.entries) {
    validate(cfg_);
    saved_ = restored.hard;
    if (restored.snapshot) snapshot_ = *restored.snapshot;
    // What the persister loaded is durable; compacted entries and what a
    // snapshot covers were committed, and so was the commit index last saved
    // (commitment is never undone), so the driver may deliver up to it before
    // hearing from a leader.
    durable_length_ = log_.length();
    commit_length_ = std::max({log_.start() - 1, snapshot_.index, std::min(restored.hard.commit, log_.length())});
    for (index_t i = log_.start(); i <= log_.length(); ++i) note_configuration(log_.at(i));
}

output core::start() {
    output out;
    out.reset_election_timer = true;
    out.configuration = configuration();
    return out;
}

void core::step(const event& e, output& out) {
    std::visit(
        [&](const auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, election_timeout>) on_election_timeout(out);
            else if constexpr (std::is_same_v<T, heartbeat_timeout>) on_heartbeat(out);
            else if constexpr (std::is_same_v<T, message_received>) on_message(ev.env, out);
            else if constexpr (std::is_same_v<T, broadcast_request>) on_broadcasts(&ev, 1, out);
            else if constexpr (std::is_same_v<T, broadcast_batch>) on_broadcasts(ev.requests.data(), ev.requests.size(), out);
            else if constexpr (std::is_same_v<T, log_synced>) on_log_synced(ev, out);
            else if constexpr (std::is_same_v<T, snapshot_taken>) on_snapshot_taken(ev.meta, out);
            else if constexpr (std::is_same_v<T, snapshot_received>) on_snapshot_received(ev, out);
            else if constexpr (std::is_same_v<T, read_request>) on_read(ev.request, out);
            else if constexpr (std::is_same_v<T, membership_request>) on_membership_request(ev, out);
            else if constexpr (std::is_same_v<T, transfer_request>) on_transfer(ev, out);
        },
        e);
    check_invariants();
}

void core::end_turn(output& out) {
    if (!replication_owed_) return;
    replication_owed_ = false;
    if (current_role_ == role::leader) replicate_to_all(out);
}

index_t core::acked_length(node_id f) const noexcept {
    if (f == cfg_.self) return current_role_ == role::leader ? durable_length_ : 0;
    auto it = followers_.find(f);
    return it == followers_.end() ? 0 : it->second.acked_length;
}

std::vector<std::string> core::describe_pending() const {
    std::vector<std::string> out;
    for (const auto& [req, p] : pending_) {
        std::string s = "request " + std::to_string(req) + ": ";
        switch (p.where) {
        case pending::state::held: s += "held"; break;
        case pending::state::forwarded: s += "forwarded to n" + std::to_string(p.forwarded_to); break;
        case pending::state::appended:
            s += "appended at " + std::to_string(p.index) + " term " + std::to_string(p.term);
            break;
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::size_t core::snapshot_transfers() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(followers_.begin(), followers_.end(), [](const auto& kv) { return kv.second.snapshotting; }));
}

index_t core::sent_length(node_id f) const noexcept {
    auto it = followers_.find(f);
    return it == followers_.end() ? 0 : it->second.sent_length;
}

// ---- timers -------------------------------------------------------------------

void core::on_election_timeout(output& out) {
    out.reset_election_timer = true;
    if (current_role_ == role::leader) {
        // Check-quorum (Raft thesis §6.2): a leader that has not heard from a
        // majority for a whole election timeout steps down, so that clients
        // cut off with it learn quickly that it cannot commit.
        // Only voters count (a leader being removed does not count itself).
        const membership& c = configuration();
        std::size_t active = c.is_voter(cfg_.self) ? 1 : 0;
        for (auto& [id, p] : followers_) {
            if (p.recently_active && c.is_voter(id)) ++active;
            p.recently_active = false;
        }
        if (cfg_.check_quorum && active < quorum() && !faults_.no_check_quorum_step_down) {
            leave_leadership(out);
            return;
        }
        // A learner being promoted gets rounds of one election timeout each
        // (thesis §4.2.1): a new round aims at the log's end as it is now.
        if (change_ && change_->at == change_in_progress::stage::catching_up) {
            if (++change_->rounds > cfg_.promote_rounds) finish_change(membership_result::not_caught_up, 0, out);
            else change_->round_target = log_.length();
        }
        // A leadership transfer the target has not completed within an
        // election timeout is given up, and this leader serves again
        // (thesis §3.10). The first expiry after the request may come at
        // once, so it is the second: at least one whole election timeout.
        if (transfer_ && ++transfer_->ticks >= 2) {
            ++stats_.transfers_timed_out;
            finish_transfer(transfer_result::timed_out, out);
        }
        return;
    }
    // The leader we heard from has been silent for an election timeout:
    // votes count again (thesis §4.2.3).
    heard_from_leader_ = false;
    // A broadcast or read held without a leader fails after a bounded
    // number of elections: the caller always hears back. What a leader saw
    // (forwarded, or appended while this server led) may sit in some log and
    // still commit, so a voter keeps it until a leader tells it how it ended:
    // it stands for election, so a leader of its configuration finds it. A
    // server that never stands (a learner, one outside its latest
    // configuration) may have been dropped without learning it (a spare
    // whose addition was undone after it received it): no leader replicates
    // to it again (thesis §4.2.2), and nothing it sends would tell it. After
    // the same bound it settles everything, `unknown` for what a leader saw
    // (thesis §6.3: a client retries it in its session, and it takes effect
    // at most once).
    const bool stranded = !may_stand() && !faults_.hold_forwarded_forever;
    const bool holding = std::any_of(pending_.begin(), pending_.end(), [&](const auto& kv) {
        return stranded || (kv.second.where == pending::state::held && !kv.second.ever_forwarded);
    }) || std::any_of(pending_reads_.begin(), pending_reads_.end(), [](const auto& kv) {
        return kv.second.asked == no_node;
    });
    if (holding && ++elections_without_leader_ >= cfg_.hold_elections) {
        elections_without_leader_ = 0;
        if (stranded) settle_pending(out);
        else fail_held(broadcast_result::not_leader, out);
        fail_held_reads(out);
    }
    // Learners, removed servers and servers waiting to join never stand
    // for election (thesis §4.2.1, §4.2.2).
    if (!may_stand()) return;
    // Thesis §9.6: ask first whether a majority would vote for us; a node
    // that cannot win (cut off, or behind) then never raises its term.
    if (cfg_.pre_vote) become_pre_candidate(out);
    else become_candidate(out);
}

bool core::withdraw(std::uint64_t request) {
    auto it = pending_.find(request);
    if (it == pending_.end() || it->second.where != pending::state::held || it->second.ever_forwarded)
        return false;
    pending_.erase(it);
    return true;
}

void core::on_heartbeat(output& out) {
    if (current_role_ != role::leader) return;   // a stale tick after stepping down
    // Every heartbeat begins a read round: reads waiting for the next round
    // are confirmed by it, and under a lease its answers extend the lease.
    start_read_round();
    for (auto& [f, p] : followers_) {
        // Snapshot chunks that brought no progress for two heartbeats were
        // probably lost, or the follower is cut off: go back to what it
        // acknowledged, but send data again only once it answers (etcd's
        // probe state). Until then each heartbeat carries an empty chunk, so
        // a follower cut off mid-transfer costs no snapshot reads and no
        // window of chunks queued for it every two heartbeats.
        if (p.snapshotting && ++p.heartbeats_without_progress >= 2) {
            p.snap_sent = p.snap_acked;
            p.snap_done_sent = false;
            p.heartbeats_without_progress = 0;
            p.snap_probing = !faults_.resend_snapshot_window_unanswered;
        }
        // Pipelined requests that brought no progress for two heartbeats were
        // probably lost: fall back to probing from what is known to match.
        if (!p.snapshotting && p.replicating && !p.inflight.empty() && ++p.heartbeats_without_progress >= 2) {
            p.replicating = false;
            p.clear_inflight();
            p.sent_length = p.acked_length;
            p.heartbeats_without_progress = 0;
        }
        replicate_log(f, p, true, out);
    }
    if (only_voter()) confirm_read_round(read_round_, out);
    // A timeout_now may have been lost: the target, caught up, is told again
    // (a copy reaching it after its election began is of an older term).
    if (transfer_ && transfer_->timeout_now_sent) {
        transfer_->timeout_now_sent = false;
        advance_transfer(out);
    }
}

// ---- elections (Raft §5.2, §5.4.1) ----------------------------------------------

void core::forget_leader(output& out) {
    set_leader(no_node, out);
    for (auto& [req, p] : pending_)   // the old leader may never answer: ask the next one
        if (p.where == pending::state::forwarded) p.where = pending::state::held;
    for (auto& [req, r] : pending_reads_) r.asked = no_node;
}

// Thesis §9.6 (pre-vote): the node asks whether the voters would vote for it
// in the next term, without raising its term or voting: nothing is written,
// so the requests leave at once. A majority of yes starts the real election.
void core::become_pre_candidate(output& out) {
    if (faults_.pre_vote_raises_term) {   // broken: a pre-election changes no term (thesis §9.6)
        current_term_ += 1;
        voted_for_ = no_node;
        save_hard_state(out);
    }
    current_role_ = role::pre_candidate;
    votes_received_ = {cfg_.self};
    ++stats_.pre_votes_started;
    forget_leader(out);
    followers_.clear();
    out.reset_election_timer = true;
    vote_request rq{current_term_ + 1, log_.length(), log_.last_term()};
    rq.pre_vote = true;
    for (const member& m : configuration().members())
        if (m.id != cfg_.self && (m.voter || faults_.count_learner_votes)) send(m.id, rq, out);
    if (votes_counted() >= quorum()) {   // a one-voter cluster
        ++stats_.pre_votes_won;
        become_candidate(out);
    }
}

void core::become_candidate(output& out, bool leadership_transfer) {
    // Kleppmann: currentTerm += 1; currentRole = candidate; votedFor = self;
    // votesReceived = {self}; send VoteRequest to all nodes.
    current_term_ += 1;
    current_role_ = role::candidate;
    voted_for_ = cfg_.self;
    votes_received_ = {cfg_.self};
    ++stats_.elections_started;
    save_hard_state(out);
    forget_leader(out);
    followers_.clear();
    out.reset_election_timer = true;
    vote_request rq{current_term_, log_.length(), log_.last_term()};
    rq.leadership_transfer = leadership_transfer;
    // The vote for ourselves must be durable before anyone can act on our
    // candidacy, or a restart could vote twice in this term. Only voters
    // are asked (learners' votes would not count).
    for (const member& m : configuration().members())
        if (m.id != cfg_.self && (m.voter || faults_.count_learner_votes)) send_after_sync(m.id, rq, out);
    if (votes_counted() >= quorum()) {
        // A one-voter cluster leads at once, in a term not durable yet: what
        // it sends its learners speaks for that term, so it leaves only after
        // the sync, like a vote (a crash before it would restart the node in
        // the term before and let it lead the new term again, differently).
        become_leader(out);
        for (envelope& m : out.messages) out.messages_after_sync.push_back(std::move(m));
        out.messages.clear();
    }
}

bool core::leader_known() const noexcept {
    return current_role_ == role::leader || (current_leader_ != no_node && heard_from_leader_);
}

void core::on_pre_vote_request(node_id from, const vote_request& m, output& out) {
    // Thesis §9.6: agree iff we would vote for it in that term: its log is
    // at least as up to date (§5.4.1) and, with leader stickiness, we have
    // not heard from a current leader since our last election timeout
    // (§4.2.3). Our term and vote stay as they are, so nothing is written.
    const term_t last_term = log_.last_term();
    const bool log_ok = m.last_log_term > last_term ||
                        (m.last_log_term == last_term && m.last_log_length >= log_.length());
    const bool granted = m.term > current_term_ && log_ok && !(cfg_.leader_stickiness && leader_known());
    // Granted: the term asked about, echoed; it promises nothing, so it
    // leaves at once. Refused: our own term, which the pre-candidate adopts
    // only if it is above its own (a genuinely newer term); like every term
    // a node sends, it leaves once durable.
    vote_response r{granted ? m.term : current_term_, granted};
    r.pre_vote = true;
    if (granted) send(from, r, out);
    else send_after_sync(from, r, out);
}

void core::on_pre_vote_response(node_id from, const vote_response& m, output& out) {
    if (!m.granted) {
        if (m.term > current_term_) become_follower(m.term, out);   // §5.1: a real, newer term
        return;
    }
    // A yes counts only for the pre-election of the term it was asked about.
    if (current_role_ != role::pre_candidate || m.term != current_term_ + 1) return;
    votes_received_.insert(from);
    if (votes_counted() >= quorum()) {
        ++stats_.pre_votes_won;
        become_candidate(out);
    }
}

void core::on_vote_request(node_id from, const vote_request& m, output& out) {
    if (m.pre_vote) {
        on_pre_vote_request(from, m, out);
        return;
    }
    // Thesis §4.2.3: while a current leader is known (a follower heard from
    // it since its last election timeout; a leader knows itself), a vote
    // request is disregarded: its term is not adopted and no vote granted.
    // A server cut off by a partition, back with a higher term, then cannot
    // depose a healthy leader; and a lease read relies on it (§6.4.1).
    // An election the leader itself asked for (timeout_now, thesis §3.10) is
    // the exception: it is not disregarded.
    if (m.term > current_term_ && cfg_.leader_stickiness && !m.leadership_transfer && leader_known()) {
        ++stats_.votes_disregarded;
        return;
    }
    if (m.term > current_term_) become_follower(m.term, out);
    // §5.4.1: grant only to a candidate whose log is at least as up to date.
    const term_t last_term = log_.last_term();
    const bool log_ok = m.last_log_term > last_term ||
                        (m.last_log_term == last_term && m.last_log_length >= log_.length());
    bool granted = false;
    // §5.2: at most one vote per term, first come first served.
    if (m.term == current_term_ && log_ok && (voted_for_ == from || voted_for_ == no_node ||
                                             (faults_.double_vote && current_role_ == role::follower))) {
        voted_for_ = from;
        save_hard_state(out);
        granted = true;
        out.reset_election_timer = true;   // raft-lite forgot this: granting a vote defers our own candidacy
    }
    send_after_sync(from, vote_response{current_term_, granted}, out);
}

void core::on_vote_response(node_id from, const vote_response& m, output& out) {
    if (m.pre_vote) {
        on_pre_vote_response(from, m, out);
        return;
    }
    if (m.term > current_term_) {
        if (faults_.ignore_higher_term_in_response) return;   // broken: §5.1 says adopt it and step down
        become_follower(m.term, out);
        return;
    }
    // §5.2: a vote counts only in the term it was granted in.
    if (current_role_ == role::candidate && (m.term == current_term_ || faults_.count_stale_votes) && m.granted) {
        votes_received_.insert(from);
        if (votes_counted() >= quorum()) become_leader(out);
    }
}

void core::become_follower(term_t term, output& out) {
    // A leader handing over its leadership is done once it sees a higher
    // term (normally the target's election; thesis §3.10).
    finish_transfer(term > current_term_ ? transfer_result::done : transfer_result::not_leader, out);
    if (term > current_term_) {
        // §5.1: a higher term always wins; a new term has no vote and no known leader.
        current_term_ = term;
        voted_for_ = no_node;
        save_hard_state(out);
        forget_leader(out);
    }
    if (current_role_ == role::leader) {
        abandon_change(out);
        leave_reads_behind(out);
        out.heartbeat_timer = false;
    }
    current_role_ = role::follower;
    followers_.clear();
    origins_.clear();
}

// A leader stops leading without a newer term: it lost touch with a
// majority (check-quorum), or the configuration it committed leaves it out.
void core::leave_leadership(output& out) {
    finish_transfer(transfer_result::not_leader, out);
    abandon_change(out);
    leave_reads_behind(out);
    current_role_ = role::follower;
    followers_.clear();
    origins_.clear();
    out.heartbeat_timer = false;
    set_leader(no_node, out);
}

void core::become_leader(output& out) {
    current_role_ = role::leader;
    ++stats_.terms_as_leader;
    index_origins();
    followers_.clear();
    // Every other server of the configuration, learners included, is
    // replicated to (Kleppmann: sentLength[f] = log.length, ackedLength[f] = 0).
    for (const member& m : configuration().members()) {
        if (m.id == cfg_.self) continue;
        progress p;
        p.sent_length = log_.length();
        followers_.emplace(m.id, p);
    }
    out.heartbeat_timer = true;
    out.reset_election_timer = true;     // from now on it paces the check-quorum
    set_leader(cfg_.self, out);
    // A lease or a confirmed round of an earlier term says nothing of this
    // one. Our own reads waiting for a leader: we are it now.
    confirmed_round_ = read_round_;
    round_starts_.clear();
    lease_until_ = std::chrono::nanoseconds{0};
    lease_forfeited_ = false;
    std::vector<std::uint64_t> own_reads;
    for (const auto& [req, r] : pending_reads_) own_reads.push_back(req);
    pending_reads_.clear();
    for (auto req : own_reads) take_up_read(cfg_.self, req, out);
    // Raft thesis §6.4: commit an entry of the new term at once, so that
    // entries of earlier terms commit (Figure 8 forbids counting them).
    // (The Figure 8 fault also skips it: the noop hides the unsafe counting.)
    if (!faults_.commit_earlier_term_by_count) append_local(entry_kind::noop, {}, make_bytes(std::string()), out);
    // Our own broadcasts waiting for a leader: we are it now.
    std::vector<std::uint64_t> hidden;
    for (auto& [req, p] : pending_) {
        if (p.where == pending::state::appended) continue;
        const entry_origin origin{cfg_.self, req};
        auto found = p.ever_forwarded ? find_origin(origin, p.search_from) : std::nullopt;
        if (!found && p.ever_forwarded && !origin_findable(p.search_from)) {
            hidden.push_back(req);   // may sit in the compacted prefix (thesis §6.3)
            continue;
        }
        p.index = found ? *found : append_local(entry_kind::application, origin, p.payload, out);
        p.term = log_.term_at(p.index);
        p.where = pending::state::appended;
        pending_by_index_.emplace(p.index, req);
    }
    for (auto req : hidden) complete(req, broadcast_result::unknown, 0, out);
}

void core::set_leader(node_id leader, output& out) {
    if (leader == current_leader_) return;
    current_leader_ = leader;
    if (leader != no_node) {
        elections_without_leader_ = 0;
        if (leader != cfg_.self) {
            forward_pending(out);
            ask_leader_for_reads(out);
        }
    }
}

// ---- replication (Raft §5.3) ---------------------------------------------------

log_request core::make_log_request(index_t prefix_len, bool with_entries) const {
    // Entries before the log start were compacted: their terms are gone, and
    // a follower that needs them is sent the snapshot (replicate_log).
    if (prefix_len + 1 < log_.start())
        throw std::logic_error("raftlite::core: a log_request below the log start");
    log_request r;
    r.term = current_term_;
    r.prefix_len = prefix_len;
    r.prefix_term = log_.term_at(prefix_len);
    r.leader_commit = commit_length_;
    r.read_round = read_round_;
    if (with_entries) {
        // A bounded batch (max_batch_entries, max_batch_bytes), never the whole
        // unacknowledged suffix: one message must stay small however far behind
        // the follower is.
        std::size_t bytes = 0;
        for (index_t i = prefix_len + 1; i <= log_.length(); ++i) {
            const log_entry& e = log_.at(i);
            if (r.suffix.size() >= cfg_.max_batch_entries) break;
            if (!r.suffix.empty() && bytes + e.size() > cfg_.max_batch_bytes) break;
            bytes += e.size();
            r.suffix.push_back(e);
        }
    }
    return r;
}

void core::replicate_log(node_id f, progress& p, bool heartbeat, output& out) {
    // Raft §7: the next entry the follower needs was compacted away, so it
    // gets the snapshot instead (etcd's tracker: the snapshot state).
    if (!p.snapshotting && p.sent_length + 1 < log_.start()) start_snapshot_transfer(p);
    if (p.snapshotting) {
        send_snapshot_chunks(f, p, heartbeat, out);
        return;
    }
    if (!p.replicating) {
        // Probing: one request at a time until the follower's log matches.
        // A heartbeat while the probe is out probes again without entries:
        // the batch may still be on its way, and re-sending up to
        // max_batch_bytes every heartbeat would crowd the link.
        if (p.probe_outstanding) {
            if (heartbeat) send_log_request(f, p, make_log_request(p.sent_length, false), out);
            return;
        }
        send_log_request(f, p, make_log_request(p.sent_length, true), out);
        p.probe_outstanding = true;
        return;
    }
    // Replicating: keep up to max_inflight batches in flight (pipelining),
    // holding at most max_inflight_bytes of payload (etcd's inflights: a
    // follower that stops answering cannot make the window hold unbounded
    // memory in the transport's queue); one batch may always leave.
    bool sent = false;
    while (p.inflight.size() < cfg_.max_inflight &&
           (p.inflight.empty() || p.inflight_bytes < cfg_.max_inflight_bytes) && p.sent_length < log_.length()) {
        log_request r = make_log_request(p.sent_length, true);
        p.sent_length = r.prefix_len + r.suffix.size();
        std::size_t bytes = 0;
        for (const log_entry& e : r.suffix) bytes += e.size();
        p.inflight.push_back({p.sent_length, bytes});
        p.inflight_bytes += bytes;
        send_log_request(f, p, std::move(r), out);
        sent = true;
    }
    // A heartbeat names a prefix known to match, so it is accepted whatever
    // is still in flight, and it carries the commit length.
    // (Below the log start the prefix is the snapshot's last entry: a
    // follower without it rejects, and is then sent the snapshot.)
    if (heartbeat && !sent) send_log_request(f, p, make_log_request(std::max(p.acked_length, log_.start() - 1), false), out);
}

void core::send_log_request(node_id f, progress& p, log_request r, output& out) {
    p.commit_sent = std::max(p.commit_sent, r.leader_commit);
    send(f, std::move(r), out);
}

// A follower learns of a commit from the next log_request; when no entries
// are on their way to it, that would be the next heartbeat, and a read
// index or a forwarded broadcast waiting on it would wait that long. So a
// new commit index goes out at once, in an empty log_request, to every
// follower that holds entries it does not know are committed (etcd's leader
// does the same after each commit).
void core::announce_commit(output& out) {
    for (auto& [f, p] : followers_) {
        if (p.snapshotting || p.commit_sent >= commit_length_ || p.acked_length <= p.commit_sent) continue;
        send_log_request(f, p, make_log_request(std::max(p.acked_length, log_.start() - 1), false), out);
    }
}

void core::start_snapshot_transfer(progress& p) {
    p.snapshotting = true;
    p.snap = snapshot_;
    p.snap_acked = 0;
    p.snap_sent = 0;
    p.snap_done_sent = false;
    p.snap_probing = false;
    p.replicating = false;
    p.probe_outstanding = false;
    p.clear_inflight();
    p.heartbeats_without_progress = 0;
}

// Chunks go in order, at most snapshot_chunks_inflight unacknowledged, so a
// transfer never floods the connection that heartbeats and other followers'
// replication share; none while probing (snap_probing). A heartbeat with
// nothing to send sends an empty chunk at the acknowledged offset: it keeps
// the follower from starting an election and asks where it stands.
void core::send_snapshot_chunks(node_id f, progress& p, bool heartbeat, output& out) {
    const std::uint64_t chunk = cfg_.snapshot_chunk_bytes;
    const std::uint64_t window = chunk * cfg_.snapshot_chunks_inflight;
    bool sent = false;
    while (!p.snap_probing && !p.snap_done_sent && p.snap_sent - std::min(p.snap_acked, p.snap_sent) < window) {
        const std::uint64_t length = std::min(chunk, p.snap.size - p.snap_sent);
        snapshot_send s;
        s.to = f;
        s.msg.term = current_term_;
        s.msg.meta = p.snap;
        s.msg.offset = p.snap_sent;
        s.msg.done = p.snap_sent + length == p.snap.size;
        s.length = length;
        out.snapshot_sends.push_back(std::move(s));
        p.snap_sent += length;
        p.snap_done_sent = s.msg.done;
        sent = true;
    }
    if (heartbeat && !sent) {
        snapshot_send probe;
        probe.to = f;
        probe.msg.term = current_term_;
        probe.msg.meta = p.snap;
        probe.msg.offset = std::min(p.snap_acked, p.snap.size);
        probe.msg.done = probe.msg.offset == p.snap.size;
        out.snapshot_sends.push_back(std::move(probe));
    }
}

void core::on_log_request(node_id from, const log_request& m, output& out) {
    if (m.term > current_term_) become_follower(m.term, out);
    if (m.term < current_term_) {
        // §5.1: reject a stale leader; our term in the answer makes it step down.
        send_after_sync(from, log_response{current_term_, 0, false, m.prefix_len, m.read_round}, out);
        return;
    }
    if (current_role_ == role::leader) {
        // Two leaders in one term cannot happen between correct nodes (§5.2).
        ++stats_.messages_rejected;
        return;
    }
    // A candidate learns that another node won this term (§5.2); so does a
    // pre-candidate (thesis §9.6).
    if (current_role_ == role::candidate || current_role_ == role::pre_candidate) become_follower(m.term, out);
    set_leader(from, out);
    heard_from_leader_ = true;
    // §5.2: a follower remains one while it hears from a valid leader.
    if (!faults_.no_timer_reset_on_leader_message) out.reset_election_timer = true;
    retry_forwards(out);

    // Kleppmann's logOk. A prefix inside our committed part always matches the
    // leader's log (Leader Completeness, §5.4), also where it was compacted.
    const bool log_ok = log_.length() >= m.prefix_len &&
                        (m.prefix_len <= commit_length_ || log_.term_at(m.prefix_len) == m.prefix_term);
    if (!log_ok) {
        // Conflict hint: retry from our log's end, or from the start of the
        // conflicting term, so catch-up costs a round trip per term.
        index_t hint = log_.length() < m.prefix_len ? log_.length()
                                                     : log_.first_index_of_term_run(m.prefix_len) - 1;
        hint = std::max(hint, commit_length_);
        send_after_sync(from, log_response{current_term_, hint, false, m.prefix_len, m.read_round}, out);
        return;
    }
    if (!append_entries(m, out)) {
        ++stats_.messages_rejected;
        return;
    }
    const index_t match = m.prefix_len + m.suffix.size();
    // Only entries known to match the leader's may be committed here: entries
    // beyond `match` could still be a stale suffix of an older term.
    const index_t new_commit = std::min(m.leader_commit, faults_.commit_beyond_match ? log_.length() : match);
    if (new_commit > commit_length_) advance_commit(new_commit, out);
    // The acknowledgement promises durability: it leaves only after the
    // appended entries are synced to stable storage, never before (§5.3).
    send_after_sync(from, log_response{current_term_, match, true, m.prefix_len, m.read_round}, out);
}

bool core::append_entries(const log_request& m, output& out) {
    // Validate before touching anything: indexes contiguous, terms never
    // decreasing and never above the leader's.
    term_t prev = m.prefix_term;
    for (std::size_t k = 0; k < m.suffix.size(); ++k) {
        const log_entry& e = m.suffix[k];
        if (e.index != m.prefix_len + 1 + k || e.term < prev || e.term > m.term || !e.payload)
            return false;
        if (e.kind == entry_kind::configuration && !decode_membership(e.data())) return false;
        prev = e.term;
    }
    bool config_changed = false;
    for (const log_entry& e : m.suffix) {
        if (e.index <= log_.length()) {
            if (e.index < log_.start() || log_.term_at(e.index) == e.term) continue;   // already have it
            // §5.3: a conflicting entry and all that follow it are deleted.
            // Committed entries never conflict with a legitimate leader.
            if (e.index <= commit_length_) return false;
            log_.truncate_suffix(e.index);
            out.truncate(e.index);
            durable_length_ = std::min(durable_length_, e.index - 1);
            // Thesis §4.1: a configuration removed from the log no longer applies.
            auto gone = configs_.lower_bound(e.index);
            if (gone != configs_.end()) {
                configs_.erase(gone, configs_.end());
                config_changed = true;
            }
        }
        log_.append(e);
        out.append.push_back(e);
        if (e.kind == entry_kind::configuration) {
            note_configuration(e);
            config_changed = true;
        }
    }
    if (config_changed) configuration_changed(out);
    return true;
}

// The progress of follower `from` for its answer of term `term` to this
// leader; null when there is nothing to do with the answer: a higher term
// (the leader steps down, §5.1), a stale term, or no longer the leader.
core::progress* core::answering_follower(node_id from, term_t term, output& out) {
    if (term > current_term_) {
        // (broken: §5.1 says adopt the higher term and step down)
        if (!faults_.ignore_higher_term_in_response) become_follower(term, out);
        return nullptr;
    }
    if (current_role_ != role::leader || term != current_term_) return nullptr;   // stale
    auto it = followers_.find(from);
    return it == followers_.end() ? nullptr : &it->second;
}

void core::on_log_response(node_id from, const log_response& m, output& out) {
    progress* follower = answering_follower(from, m.term, out);
    if (!follower) return;
    progress& p = *follower;
    // Any answer in our term, accepted or not, says the follower took us for
    // its leader when the request arrived (thesis §6.4).
    note_read_round(p, m.read_round, out);
    if (m.success) {
        if (m.ack > log_.length() || m.ack < m.prefix_len) {   // a lie: nobody acks what was not sent
            ++stats_.messages_rejected;
            return;
        }
        p.recently_active = true;
        if (m.ack > p.acked_length) {
            p.acked_length = m.ack;
            p.heartbeats_without_progress = 0;
        }
        p.sent_length = std::max(p.sent_length, m.ack);
        p.acked_inflight(m.ack);
        if (!p.replicating) {
            p.replicating = true;
            p.probe_outstanding = false;
            p.clear_inflight();
            p.sent_length = m.ack;
        }
        commit_log_entries(out);
        if (current_role_ == role::leader) {
            // (The commit may have let a change append a configuration that
            // drops `from`: its progress, and `p`, are then gone.)
            auto it = followers_.find(from);
            if (it != followers_.end()) replicate_log(from, it->second, false, out);   // new entries carry the new commit index
            announce_commit(out);
            if (change_ && change_->at == change_in_progress::stage::catching_up && change_->change.server.id == from)
                advance_change(out);
            if (transfer_ && transfer_->target == from) advance_transfer(out);
        }
        return;
    }
    // Rejected. The empty prefix always matches: a follower rejecting it is
    // confused or lying.
    if (m.prefix_len == 0) {
        ++stats_.messages_rejected;
        return;
    }
    p.recently_active = true;
    // A prefix the follower already acknowledged matches (its acknowledgement
    // was durable), so such a rejection answers an older request that arrived
    // late; so does one to a probe other than the current one.
    if (m.prefix_len <= p.acked_length) return;
    if (!p.replicating && m.prefix_len != p.sent_length) return;
    const index_t next = std::max(std::min(m.ack, m.prefix_len - 1), p.acked_length);
    p.replicating = false;
    p.clear_inflight();
    p.probe_outstanding = false;
    p.sent_length = next;
    replicate_log(from, p, false, out);
}

void core::commit_log_entries(output& out) {
    // Kleppmann's CommitLogEntries: the longest prefix acknowledged by a quorum.
    // The leader counts itself only for what is durable on its own disk.
    // Only the voters of the configuration in force count (thesis §4.1,
    // §4.2.1): not learners, and not the leader itself once it is out.
    const auto majority = majority_value(durable_length_, [](const progress& p) { return p.acked_length; });
    if (!majority) return;
    const index_t ready = *majority;
    // Figure 8 (§5.4.2): never commit an earlier term's entry by counting replicas.
    if (ready > commit_length_ && (log_.term_at(ready) == current_term_ || faults_.commit_earlier_term_by_count)) {
        advance_commit(ready, out);
        if (!read_waiters_.empty()) release_reads(out);   // reads waiting for our term's first commit
        if (change_) advance_change(out);
        // Thesis §4.2.2: a leader that is not a voter of its committed
        // configuration steps down; the others elect a leader among them.
        if (current_role_ == role::leader && !is_voter() && configuration_index() <= commit_length_) {
            announce_commit(out);   // the voters left learn at once that it committed
            leave_leadership(out);
        }
    }
}

void core::advance_commit(index_t new_commit, output& out) {
    // Did a configuration entry commit now that leaves us out of one we
    // were in? (Only then: a learner catching up commits older
    // configurations without it before the one that adds it.)
    auto next_config = configs_.upper_bound(commit_length_);
    const bool removed = next_config != configs_.end() && next_config->first <= new_commit &&
                         configuration_at(commit_length_).contains(cfg_.self) &&
                         !configuration_at(new_commit).contains(cfg_.self);
    for (index_t i = commit_length_ + 1; i <= new_commit; ++i) {
        const log_entry& e = log_.at(i);
        out.committed.push_back(e);
        if (e.origin.node == cfg_.self && pending_.count(e.origin.request))
            complete(e.origin.request, broadcast_result::committed, i, out);
    }
    commit_length_ = new_commit;
    // Ours were expected at these indexes but someone else's entry committed there.
    std::vector<std::uint64_t> displaced;
    for (auto it = pending_by_index_.begin(); it != pending_by_index_.end() && it->first <= commit_length_; ++it)
        displaced.push_back(it->second);
    for (auto request : displaced) displace(request, out);
    // Terms never decrease along a log, and every future leader's log holds
    // the committed entry (Leader Completeness, §5.4). So once an entry of
    // term T is committed, no entry of an earlier term can ever follow it:
    // ours of earlier terms above the commit length are dead too, even where
    // the log is too short for the commit length ever to reach them.
    const term_t committed_term = log_.term_at(commit_length_);
    if (committed_term > superseded_below_term_) {
        superseded_below_term_ = committed_term;
        std::vector<std::uint64_t> dead;
        for (const auto& [index, request] : pending_by_index_)
            if (pending_.at(request).term < committed_term) dead.push_back(request);
        for (auto request : dead) displace(request, out);
    }
    if (removed) settle_pending(out);
}

// Every pending broadcast gets its outcome now: `not_leader` for one no
// leader ever saw (held, never forwarded: it is in no log), `unknown` for
// the others (forwarded or appended, they may still commit). Once the
// configuration that removes this server commits (thesis §4.2.2: no leader
// replicates to it any more, so it would never see how they end), and on a
// server that never stands after hold_elections election timeouts without a
// leader.
void core::settle_pending(output& out) {
    std::vector<std::pair<std::uint64_t, broadcast_result>> outcomes;
    for (const auto& [req, p] : pending_) {
        const bool never_left = p.where == pending::state::held && !p.ever_forwarded;
        outcomes.emplace_back(req, never_left ? broadcast_result::not_leader : broadcast_result::unknown);
    }
    for (auto [req, r] : outcomes) complete(req, r, 0, out);
}

void core::displace(std::uint64_t request, output& out) {
    auto it = pending_.find(request);
    if (it == pending_.end()) return;
    pending& p = it->second;
    if (!p.ever_forwarded) {
        // Only this node ever appended it, at that index: every copy of the
        // entry is there, and dead. The failure is final.
        complete(request, broadcast_result::superseded, 0, out);
        return;
    }
    // A request we forwarded must not fail here. A copy of a forward may
    // still be on its way (a transport re-sends queued frames after a
    // reconnect, seconds later, in a later term), and a leader that receives
    // it appends the request anew: a caller told it failed would retry, and
    // the operation would take effect twice (Raft thesis §6.3: a client's
    // command must take effect at most once). So ask the current leader
    // again, exactly as after losing the leader: it finds the request if any
    // copy is in its log above search_from, and appends it otherwise, so it
    // commits exactly once.
    unindex(request, p);
    p.where = pending::state::held;
    if (current_role_ == role::leader) {
        const entry_origin origin{cfg_.self, request};
        auto found = find_origin(origin, p.search_from);
        if (!found && !origin_findable(p.search_from)) {
            complete(request, broadcast_result::unknown, 0, out);   // may sit in the compacted prefix
            return;
        }
        p.index = found ? *found : append_local(entry_kind::application, origin, p.payload, out);
        p.term = log_.term_at(p.index);
        p.where = pending::state::appended;
        pending_by_index_.emplace(p.index, request);
    } else if (current_leader_ != no_node) {
        send_forward(request, p, out);
    }
    // else: held, forwarded once a leader is known
}

void core::unindex(std::uint64_t request, const pending& p) {
    if (p.where != pending::state::appended) return;
    auto [lo, hi] = pending_by_index_.equal_range(p.index);
    for (auto j = lo; j != hi; ++j) {
        if (j->second == request) {
            pending_by_index_.erase(j);
            return;
        }
    }
}

void core::on_log_synced(const log_synced& s, output& out) {
    if (s.last_index == 0 || s.last_index > log_.length() || s.last_index < log_.start()) return;
    // Same index and term means same entry (Log Matching), so a sync report
    // about entries since replaced is recognised and ignored.
    if (log_.term_at(s.last_index) != s.last_term) return;
    if (s.last_index <= durable_length_) return;
    durable_length_ = s.last_index;
    if (current_role_ != role::leader) return;
    commit_log_entries(out);
    announce_commit(out);
}

// ---- snapshots (Raft §7; thesis §5) -------------------------------------------

void core::on_snapshot_taken(const snapshot_meta& meta, output& out) {
    if (meta.index <= snapshot_.index) return;   // an older one finished late
    // Only committed state may be snapshotted: a snapshot is never undone.
    const bool known = log_.holds(meta.index) || meta.index + 1 == log_.start();
    if (meta.index > commit_length_ || !known || log_.term_at(meta.index) != meta.term)
        throw std::invalid_argument("raftlite::core: snapshot_taken of an uncommitted or unknown entry");
    if (meta.members != configuration_at(meta.index))
        throw std::invalid_argument("raftlite::core: snapshot_taken with another configuration than configuration_at(index)");
    snapshot_ = meta;
    out.use_snapshot = meta;
    // The prefix the snapshot covers goes, but for a tail of log_keep_entries:
    // a follower slightly behind then catches up from the log, not by a
    // whole snapshot transfer. The driver writes use_snapshot first, so the
    // entries are never dropped before a durable snapshot holds them.
    const index_t upto = meta.index + 1 > cfg_.log_keep_entries ? meta.index + 1 - cfg_.log_keep_entries : 1;
    if (upto > log_.start()) {
        const term_t prefix_term = log_.term_at(upto - 1);
        if (current_role_ == role::leader) unindex_origins_below(upto);
        log_.remove_prefix(upto);
        out.remove_prefix = std::make_pair(upto, prefix_term);
        // Configurations compacted away are the snapshot's or older.
        configs_.erase(configs_.begin(), configs_.lower_bound(upto));
    }
    save_hard_state(out, true);
    // A transfer of an older snapshot cannot go on: its file is replaced.
    // The new one starts with an empty chunk, and its data follows the
    // follower's answer: a follower that has not answered the old transfer
    // (cut off, or slow) is not sent a window for every snapshot taken.
    for (auto& [f, p] : followers_) {
        if (p.snapshotting && p.snap != snapshot_) {
            start_snapshot_transfer(p);
            p.snap_probing = !faults_.resend_snapshot_window_unanswered;
            send_snapshot_chunks(f, p, true, out);
        }
    }
}

// Every answer carries our term, which may have just changed: like the
// answers to log requests, they leave after the sync (§5.1, §5.3).
void core::on_install_snapshot(node_id from, const install_snapshot& m, output& out) {
    if (m.term > current_term_) become_follower(m.term, out);
    if (m.term < current_term_) {
        // §5.1: reject a stale leader; our term in the answer makes it step down.
        send_after_sync(from, install_snapshot_response{current_term_, m.meta.index, 0, false}, out);
        return;
    }
    if (current_role_ == role::leader) {
        ++stats_.messages_rejected;   // two leaders in one term (§5.2)
        return;
    }
    const std::uint64_t size = m.data ? m.data->size() : 0;
    if (m.meta.index == 0 || m.meta.term == 0 || m.meta.term > m.term || m.offset > m.meta.size ||
        size > m.meta.size - m.offset || m.done != (m.offset + size == m.meta.size)) {
        ++stats_.messages_rejected;   // not a chunk of any snapshot a leader could hold
        return;
    }
    if (current_role_ == role::candidate || current_role_ == role::pre_candidate) become_follower(m.term, out);
    set_leader(from, out);
    heard_from_leader_ = true;
    if (!faults_.no_timer_reset_on_leader_message) out.reset_election_timer = true;
    // §7: a snapshot that holds nothing beyond what is committed here is not
    // needed; the answer lets the leader go on from the log.
    if (m.meta.index <= commit_length_ && !faults_.install_older_snapshot) {
        if (incoming_ && incoming_->meta == m.meta && !incoming_->finishing) incoming_.reset();
        send_after_sync(from, install_snapshot_response{current_term_, m.meta.index, m.meta.size, true}, out);
        return;
    }
    if (!incoming_ || incoming_->meta != m.meta) {
        // Another snapshot than the one being received: only its start begins one.
        if (m.offset != 0) {
            send_after_sync(from, install_snapshot_response{current_term_, m.meta.index, 0, false}, out);
            return;
        }
        incoming_ = incoming_snapshot{m.meta, 0, false};
    }
    if (incoming_->finishing) return;   // answered once the snapshot is durable
    if (m.offset != incoming_->next_offset || (size == 0 && !m.done)) {
        // A duplicate, a chunk after a lost one, or an empty probe: say where we stand.
        send_after_sync(from, install_snapshot_response{current_term_, m.meta.index, incoming_->next_offset, false}, out);
        return;
    }
    out.snapshot_data.push_back(m);
    incoming_->next_offset += size;
    if (m.done) {
        incoming_->finishing = true;   // the driver reports snapshot_received
        return;
    }
    send_after_sync(from, install_snapshot_response{current_term_, m.meta.index, incoming_->next_offset, false}, out);
}

void core::on_snapshot_received(const snapshot_received& r, output& out) {
    if (!incoming_ || incoming_->meta != r.meta || !incoming_->finishing) return;   // superseded meanwhile
    incoming_.reset();
    const node_id leader = current_leader_;
    if (!r.ok) {
        // Damaged in transit or not stored: start over.
        if (leader != no_node && leader != cfg_.self)
            send_after_sync(leader, install_snapshot_response{current_term_, r.meta.index, 0, false}, out);
        return;
    }
    if (r.meta.index > commit_length_ || faults_.install_older_snapshot) install_received_snapshot(r.meta, out);
    // The answer promises the snapshot is installed: after the sync.
    if (leader != no_node && leader != cfg_.self)
        send_after_sync(leader, install_snapshot_response{current_term_, r.meta.index, r.meta.size, true}, out);
}

void core::install_received_snapshot(const snapshot_meta& meta, output& out) {
    snapshot_ = meta;
    out.use_snapshot = meta;
    if (log_.holds(meta.index) && log_.term_at(meta.index) == meta.term) {
        // §7: our log has the snapshot's last entry: keep what follows it.
        log_.remove_prefix(meta.index + 1);
        configs_.erase(configs_.begin(), configs_.upper_bound(meta.index));
    } else {
        // §7: otherwise the whole log is discarded; it starts after the snapshot.
        out.truncate(log_.start());
        log_.reset(meta.index + 1, meta.term);
        configs_.clear();
    }
    configuration_changed(out);   // thesis §5.1: the snapshot carries the configuration
    out.remove_prefix = std::make_pair(meta.index + 1, meta.term);
    // The snapshot file is durable: what it covers counts as our own durable
    // log (for the leader this node may become).
    durable_length_ = std::max(std::min(durable_length_, log_.length()), meta.index);
    out.restore = meta;
    commit_length_ = std::max(commit_length_, meta.index);
    if (faults_.install_older_snapshot) commit_length_ = meta.index;
    // Our broadcasts appended at indexes the snapshot covers: whether each
    // committed there is hidden in the snapshot.
    std::vector<std::uint64_t> hidden;
    for (const auto& [index, request] : pending_by_index_)
        if (index <= meta.index) hidden.push_back(request);
    for (auto request : hidden) complete(request, broadcast_result::unknown, 0, out);
    save_hard_state(out, true);
}

void core::on_install_snapshot_response(node_id from, const install_snapshot_response& m, output& out) {
    progress* follower = answering_follower(from, m.term, out);
    if (!follower) return;
    progress& p = *follower;
    if (!p.snapshotting) return;
    p.recently_active = true;
    if (m.installed) {
        // The follower holds everything up to m.index (the snapshot's state
        // is committed, so its log matches ours there): on from the log.
        if (m.index > log_.length()) {
            ++stats_.messages_rejected;   // nobody installs what we never had
            return;
        }
        p.snapshotting = false;
        p.acked_length = std::max(p.acked_length, m.index);
        p.sent_length = p.acked_length;
        p.replicating = false;
        p.probe_outstanding = false;
        p.clear_inflight();
        p.heartbeats_without_progress = 0;
        commit_log_entries(out);
        if (current_role_ == role::leader) {
            auto it = followers_.find(from);   // (a configuration appended on commit may drop it)
            if (it != followers_.end()) replicate_log(from, it->second, false, out);
        }
        if (transfer_ && transfer_->target == from) advance_transfer(out);
        return;
    }
    if (m.index != p.snap.index) return;   // about another snapshot
    if (m.next_offset > p.snap.size) {
        ++stats_.messages_rejected;
        return;
    }
    if (m.next_offset > p.snap_acked) p.heartbeats_without_progress = 0;
    p.snap_probing = false;   // it answers: the window opens again
    // The follower says where it stands: behind what we sent (a lost chunk,
    // or it started over), or ahead of it (a stale answer we went back for).
    if (m.next_offset < p.snap_acked || m.next_offset > p.snap_sent) {
        p.snap_sent = m.next_offset;
        p.snap_done_sent = false;
    }
    p.snap_acked = m.next_offset;
    send_snapshot_chunks(from, p, false, out);
}

// ---- membership (thesis §4) -------------------------------------------------------
//
// Single-server changes: each configuration differs from the one before by
// one server, so any majority of the old and any majority of the new
// overlap, and no two leaders can be elected in one term across a change
// (§4.1). A server uses the latest configuration in its log, committed or
// not, and falls back to the one before when a truncation removes it. The
// leader starts a change only when the previous one has committed and an
// entry of its own term has committed (the fix of the single-server bug
// found after the thesis: without it, a new leader's change could overlap
// an uncommitted change of a deposed leader's term).

const membership& core::configuration() const noexcept {
    if (!configs_.empty()) return configs_.rbegin()->second;
    if (snapshot_.index > 0 && !snapshot_.members.empty()) return snapshot_.members;
    return cfg_.members;
}

index_t core::configuration_index() const noexcept {
    if (!configs_.empty()) return configs_.rbegin()->first;
    if (snapshot_.index > 0 && !snapshot_.members.empty()) return snapshot_.index;
    return 0;
}

membership core::configuration_at(index_t index) const {
    auto it = configs_.upper_bound(index);
    if (it != configs_.begin()) return std::prev(it)->second;
    if (snapshot_.index > 0 && !snapshot_.members.empty()) return snapshot_.members;
    return cfg_.members;
}

void core::note_configuration(const log_entry& e) {
    if (e.kind != entry_kind::configuration) return;
    auto c = decode_membership(e.data());
    // Entries are checked before they enter the log (append_entries); one
    // that does not decode came from our own disk, checksummed.
    if (!c) throw std::logic_error("raftlite::core: configuration entry " + std::to_string(e.index) + " does not decode");
    configs_[e.index] = std::move(*c);
}

void core::configuration_changed(output& out) {
    const membership& c = configuration();
    out.configuration = c;
    if (current_role_ != role::leader) return;
    // Replicate to every server now in the configuration, and only to them.
    for (auto it = followers_.begin(); it != followers_.end();) {
        if (c.contains(it->first)) ++it;
        else it = followers_.erase(it);
    }
    for (const member& m : c.members()) {
        if (m.id == cfg_.self || followers_.count(m.id)) continue;
        progress p;
        p.sent_length = log_.length();
        followers_.emplace(m.id, p);
    }
}

std::size_t core::votes_counted() const {
    const membership& c = configuration();
    return static_cast<std::size_t>(std::count_if(votes_received_.begin(), votes_received_.end(), [&](node_id v) {
        return c.is_voter(v) || (faults_.count_learner_votes && c.contains(v));
    }));
}

// A voter of the latest configuration stands for election; so does a voter
// of the committed one whose latest configuration leaves it out (its own
// removal or demotion, appended as leader and not committed when it lost the
// leadership). Otherwise, with two voters, the one left may never win: it
// needs the other's vote, which its longer log refuses. Votes are counted in
// the latest configuration, where its own does not count, so its election
// needs a majority of that configuration like any other (thesis §4.1); as
// leader it commits the change and steps down (§4.2.2).
bool core::may_stand() const {
    return is_voter() || configuration_at(commit_length_).is_voter(cfg_.self);
}

template <class Of>
std::optional<std::uint64_t> core::majority_value(std::uint64_t own, Of of) const {
    const membership& c = configuration();
    std::vector<std::uint64_t> values;
    values.reserve(c.size());
    for (const member& m : c.members()) {
        if (!m.voter) continue;   // learners never count (thesis §4.2.1)
        if (m.id == cfg_.self) {
            values.push_back(own);
            continue;
        }
        auto it = followers_.find(m.id);
        values.push_back(it == followers_.end() ? 0 : of(it->second));
    }
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end(), std::greater<>());
    return values[c.quorum() - 1];
}

bool core::only_voter() const noexcept {
    const membership& c = configuration();
    return c.voter_count() == 1 && c.is_voter(cfg_.self);
}

namespace {

// The configuration after `change`, or why there is none. `done`: the
// change is already in force (asking again is answered as committed).
struct change_plan {
    std::optional<membership> next;
    bool done = false;
    std::string why;
};

change_plan plan_change(const membership& c, const membership_change& ch) {
    change_plan plan;
    const node_id id = ch.server.id;
    const member* m = c.find(id);
    if (id == no_node) {
        plan.why = "server id 0 is reserved";
        return plan;
    }
    membership next = c;
    switch (ch.what) {
    case membership_change::action::add_learner:
        if (m) {
            if (!m->voter && m->address == ch.server.address && m->info == ch.server.info) plan.done = true;
            else plan.why = "server " + std::to_string(id) + " is already a member";
            return plan;
        }
        next.put(member{id, false, ch.server.address, ch.server.info});
        break;
    case membership_change::action::promote:
        if (!m) {
            plan.why = "server " + std::to_string(id) + " is not a member";
            return plan;
        }
        if (m->voter) {
            plan.done = true;
            return plan;
        }
        next.put(member{id, true, m->address, m->info});
        break;
    case membership_change::action::demote:
    case membership_change::action::remove:
        if (!m || (ch.what == membership_change::action::demote && !m->voter)) {
            plan.done = true;   // already out, or already a learner
            return plan;
        }
        if (m->voter && c.voter_count() == 1) {
            plan.why = "server " + std::to_string(id) + " is the last voter";
            return plan;
        }
        if (ch.what == membership_change::action::remove) next.erase(id);
        else next.put(member{id, false, m->address, m->info});
        break;
    }
    plan.next = std::move(next);
    return plan;
}

} // namespace

void core::on_membership_request(const membership_request& r, output& out) {
    if (r.request == 0) throw std::invalid_argument("raftlite::core: a membership change needs a non-zero request id");
    auto answer = [&](membership_result res, index_t index) {
        out.membership_changes.push_back({r.request, res, index});
    };
    if (current_role_ != role::leader) return answer(membership_result::not_leader, 0);
    if (change_) return answer(membership_result::busy, 0);
    const change_plan plan = plan_change(configuration(), r.change);
    if (plan.done) {
        // In force already: committed once its entry is.
        if (configuration_index() <= commit_length_) return answer(membership_result::committed, configuration_index());
        return answer(membership_result::busy, 0);
    }
    if (!plan.next) return answer(membership_result::rejected, 0);
    change_ = change_in_progress{r.request, r.change};
    advance_change(out);
}

// Moves the change under way as far as it can go now: it waits for an
// entry of our term and for the previous configuration to commit, then for
// the learner to catch up (promotions), then for its own entry to commit.
void core::advance_change(output& out) {
    if (!change_ || current_role_ != role::leader) return;
    change_in_progress& c = *change_;
    using stage = change_in_progress::stage;
    if (c.at == stage::waiting) {
        if (!own_term_committed()) return;
        if (configuration_index() > commit_length_ && !faults_.concurrent_changes) return;
        if (c.change.what == membership_change::action::promote) {
            c.at = stage::catching_up;
            c.round_target = log_.length();
            c.rounds = 0;
        } else {
            c.at = stage::appended;
        }
    }
    if (c.at == stage::catching_up) {
        // Thesis §4.2.1: promote only a learner within a round of the log's
        // end, so that the new voter does not hold up commits while it
        // catches up (with it counted, an even split could stall).
        auto it = followers_.find(c.change.server.id);
        if (it == followers_.end() || it->second.acked_length < c.round_target) return;
        c.at = stage::appended;
    }
    if (c.at == stage::appended && c.index == 0) {
        const change_plan plan = plan_change(configuration(), c.change);
        if (plan.done) return finish_change(membership_result::committed, configuration_index(), out);
        if (!plan.next) return finish_change(membership_result::rejected, 0, out);
        ++stats_.configurations_appended;
        c.index = append_local(entry_kind::configuration, {}, make_bytes(encode_membership(*plan.next)), out);
        if (faults_.concurrent_changes) return finish_change(membership_result::committed, c.index, out);   // broken
    }
    if (!change_) return;   // finished while appending (a one-voter cluster commits at once)
    if (change_->at == stage::appended && change_->index != 0 && change_->index <= commit_length_)
        finish_change(membership_result::committed, change_->index, out);
}

// Leadership lost with a change under way: once its entry is in the log it
// may still commit under another leader (unknown); before, nothing happened.
void core::abandon_change(output& out) {
    if (!change_) return;
    finish_change(change_->at == change_in_progress::stage::appended ? membership_result::unknown
                                                                     : membership_result::not_leader,
                  0, out);
}

void core::finish_change(membership_result r, index_t index, output& out) {
    if (!change_) return;
    out.membership_changes.push_back({change_->request, r, index});
    change_.reset();
}

// ---- broadcasts --------------------------------------------------------------

index_t core::append_local(entry_kind kind, entry_origin origin, shared_bytes payload, output& out,
                           bool replicate) {
    log_entry e;
    e.term = current_term_;
    e.index = log_.length() + 1;
    e.kind = kind;
    e.origin = origin;
    e.payload = std::move(payload);
    log_.append(e);
    index_origin(e);   // only a leader appends here
    if (kind == entry_kind::configuration) {
        // Thesis §4.1: in force from now on, before it commits, so that the
        // new server is replicated to (and counted) at once.
        note_configuration(e);
        configuration_changed(out);
    }
    out.append.push_back(std::move(e));
    if (replicate) replicate_to_all(out);
    return log_.length();
}

void core::replicate_to_all(output& out) {
    for (auto& [f, p] : followers_) replicate_log(f, p, false, out);
}

// One broadcast or a batch of them (broadcast_batch): a leader appends them
// all first and replicates once, so the broadcasts of one driver turn leave
// in one log_request per follower (while the window has room) instead of a
// request each.
void core::on_broadcasts(const broadcast_request* first, std::size_t count, output& out) {
    // A bad request refuses the whole batch before anything changes.
    for (std::size_t k = 0; k < count; ++k) {
        const broadcast_request& b = first[k];
        if (b.request == 0 || pending_.count(b.request) || !b.payload)
            throw std::invalid_argument("raftlite::core: broadcast needs a fresh non-zero request id and a payload");
    }
    if (count > 1) {
        std::vector<std::uint64_t> ids;
        ids.reserve(count);
        for (std::size_t k = 0; k < count; ++k) ids.push_back(first[k].request);
        std::sort(ids.begin(), ids.end());
        if (std::adjacent_find(ids.begin(), ids.end()) != ids.end())
            throw std::invalid_argument("raftlite::core: a broadcast batch names a request id twice");
    }
    bool appended = false;
    for (std::size_t k = 0; k < count; ++k) appended |= take_broadcast(first[k].request, first[k].payload, out);
    if (appended && current_role_ == role::leader) replicate_to_all(out);
}

bool core::take_broadcast(std::uint64_t request, const shared_bytes& payload, output& out) {
    // A leader handing over its leadership takes no new entries, so that
    // the target can catch up with a log that stands still (thesis §3.10).
    if (pending_.size() >= cfg_.max_pending ||
        (current_role_ == role::leader && (transfer_ || log_.length() - commit_length_ >= cfg_.max_uncommitted))) {
        out.completions.push_back({request, broadcast_result::busy, 0});
        return false;
    }
    pending& p = pending_[request];
    p.payload = payload;
    if (current_role_ == role::leader) {
        p.index = append_local(entry_kind::application, {cfg_.self, request}, payload, out, false);
        p.term = current_term_;
        p.where = pending::state::appended;
        pending_by_index_.emplace(p.index, request);
        return true;
    }
    if (current_leader_ != no_node) send_forward(request, p, out);
    // else: held until a leader is known (bounded by max_pending and hold_elections)
    return false;
}

void core::send_forward(std::uint64_t request, pending& p, output& out) {
    if (!p.ever_forwarded) {
        // Had it been appended already, it would be above what is committed now.
        p.search_from = commit_length_;
        p.ever_forwarded = true;
    }
    p.where = pending::state::forwarded;
    p.forwarded_to = current_leader_;
    p.forwarded_term = current_term_;
    p.forwarded_at = log_requests_seen_;
    schedule_retry(request, false, p.forwarded_at);
    send(current_leader_, forward_request{request, p.search_from, p.payload}, out);
}

void core::forward_pending(output& out) {
    for (auto& [req, p] : pending_)
        if (p.where == pending::state::held) send_forward(req, p, out);
}

void core::schedule_retry(std::uint64_t request, bool read, std::uint64_t sent_at) {
    retries_.push_back({sent_at, request, read});
    // Stale slots leave when they fall due; without log_requests they would
    // pile up (leaders coming and going), so drop them once they outnumber
    // the live requests.
    if (retries_.size() > 2 * (pending_.size() + pending_reads_.size()) + 64) {
        std::erase_if(retries_, [&](const retry_slot& s) {
            if (s.read) {
                auto it = pending_reads_.find(s.request);
                return it == pending_reads_.end() || it->second.asked == no_node || it->second.asked_at != s.sent_at;
            }
            auto it = pending_.find(s.request);
            return it == pending_.end() || it->second.where != pending::state::forwarded ||
                   it->second.forwarded_at != s.sent_at;
        });
    }
}

void core::retry_forwards(output& out) {
    // An unanswered forward was probably lost with a connection: ask again
    // after forward_retry_after log_requests. The leader recognises a request
    // it already appended (find_origin). Reads are idempotent: an unanswered
    // one is simply asked again.
    ++log_requests_seen_;
    std::vector<std::uint64_t> forwards, reads;
    while (!retries_.empty() && log_requests_seen_ - retries_.front().sent_at >= cfg_.forward_retry_after) {
        const retry_slot s = retries_.front();
        retries_.pop_front();
        if (s.read) {
            auto it = pending_reads_.find(s.request);
            if (it != pending_reads_.end() && it->second.asked != no_node && it->second.asked_at == s.sent_at)
                reads.push_back(s.request);
        } else {
            auto it = pending_.find(s.request);
            if (it != pending_.end() && it->second.where == pending::state::forwarded &&
                it->second.forwarded_at == s.sent_at)
                forwards.push_back(s.request);
        }
    }
    // In request order, as a walk of pending_ and pending_reads_ sends them
    // (a request sent twice at one count has two slots: once is enough).
    for (auto* v : {&forwards, &reads}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    for (auto req : forwards) send_forward(req, pending_.at(req), out);
    for (auto req : reads) {
        pending_read& r = pending_reads_.at(req);
        r.asked_at = log_requests_seen_;
        schedule_retry(req, true, r.asked_at);
        send(r.asked, read_index_request{req}, out);
    }
}

bool core::origin_findable(index_t search_from) const noexcept {
    return search_from + 1 >= log_.start();
}

void core::index_origins() {
    origins_.clear();
    for (index_t i = log_.start(); i <= log_.length(); ++i) index_origin(log_.at(i));
}

void core::index_origin(const log_entry& e) {
    if (e.origin != entry_origin{}) origins_.emplace(e.origin, e.index);
}

void core::unindex_origins_below(index_t upto) {
    for (index_t i = log_.start(); i < upto && i <= log_.length(); ++i) {
        const log_entry& e = log_.at(i);
        auto [lo, hi] = origins_.equal_range(e.origin);
        for (auto j = lo; j != hi; ++j) {
            if (j->second == i) {
                origins_.erase(j);
                break;
            }
        }
    }
}

std::optional<index_t> core::find_origin(entry_origin origin, index_t search_from) const {
    // The lowest index above search_from holding it (origins_ holds only
    // entries of the log, none below its start).
    std::optional<index_t> found;
    auto [lo, hi] = origins_.equal_range(origin);
    for (auto j = lo; j != hi; ++j)
        if (j->second > search_from && (!found || j->second < *found)) found = j->second;
    return found;
}

void core::on_forward_request(node_id from, const forward_request& m, output& out) {
    forward_response r;
    r.request = m.request;
    if (!configuration().contains(from) && !faults_.accept_forwards_from_outside) {
        // The sender is outside our configuration in force (removed, or its
        // addition undone by a truncation): it heard from us as leader once,
        // but no leader of this configuration replicates to it (thesis §4.1,
        // §4.2.2), so it would never see the entry commit, nor learn that it
        // did not. Nothing is appended; `unknown`, not a failure, because an
        // earlier copy of the forward may sit in some log.
        r.result = forward_response::status::unknown;
    } else if (current_role_ != role::leader) {
        r.result = forward_response::status::not_leader;
    } else if (!m.payload || m.request == 0) {
        ++stats_.messages_rejected;
        return;
    } else {
        const entry_origin origin{from, m.request};
        auto found = find_origin(origin, m.search_from);
        if (!found && !origin_findable(m.search_from)) {
            // It may be in the compacted prefix: appending it again could
            // make it take effect twice (thesis §6.3).
            r.result = forward_response::status::unknown;
        } else if (!found && transfer_) {
            // Handing over the leadership (thesis §3.10): no new entries,
            // and no answer either. A busy answer would fail the broadcast
            // for good, yet another copy of this forward (a retry, a
            // duplicate) may still reach a leader that appends it. The
            // follower forwards it again after forward_retry_after of our
            // messages, or at once to the next leader.
            return;
        } else if (!found && log_.length() - commit_length_ >= cfg_.max_uncommitted) {
            r.result = forward_response::status::busy;
        } else {
            if (found) {
                r.index = *found;
            } else {
                // Replicated at the end of the driver's turn with every
                // other forward of the turn (end_turn).
                r.index = append_local(entry_kind::application, origin, m.payload, out,
                                       faults_.replicate_each_forward);
                replication_owed_ = !faults_.replicate_each_forward;
            }
            r.term = log_.term_at(r.index);
            r.result = forward_response::status::accepted;
        }
    }
    send(from, std::move(r), out);
}

void core::on_forward_response(node_id from, const forward_response& m, output& out) {
    auto it = pending_.find(m.request);
    if (it == pending_.end() || it->second.where != pending::state::forwarded) return;
    pending& p = it->second;
    // Only the answer of the node we last asked, in this term, counts: a late
    // answer from a deposed leader describes an entry a newer leader may
    // already have replaced, while our request now waits on another copy.
    if (from != p.forwarded_to || p.forwarded_term != current_term_) return;
    switch (m.result) {
    case forward_response::status::accepted:
        if (m.index < log_.start()) {
            // Committed inside a snapshot we installed: whether that entry
            // was ours is no longer known here.
            complete(m.request, broadcast_result::unknown, 0, out);
            return;
        }
        if (m.index <= commit_length_) {
            // Committed before the answer arrived, and not ours (ours would
            // have completed in advance_commit): that copy is dead, but
            // another may not be (see displace).
            p.where = pending::state::appended;
            p.index = m.index;
            p.term = m.term;
            pending_by_index_.emplace(m.index, m.request);
            displace(m.request, out);
            return;
        }
        p.where = pending::state::appended;
        p.index = m.index;
        p.term = m.term;
        pending_by_index_.emplace(m.index, m.request);
        return;
    case forward_response::status::not_leader:
        p.where = pending::state::held;
        if (from == current_leader_) current_leader_ = no_node;   // our belief was stale
        return;
    case forward_response::status::busy:
        complete(m.request, broadcast_result::busy, 0, out);
        return;
    case forward_response::status::unknown:
        complete(m.request, broadcast_result::unknown, 0, out);
        return;
    }
    ++stats_.messages_rejected;   // an unknown status value
}

void core::complete(std::uint64_t request, broadcast_result r, index_t index, output& out) {
    auto it = pending_.find(request);
    if (it == pending_.end()) return;
    unindex(request, it->second);
    pending_.erase(it);
    out.completions.push_back({request, r, index});
}

void core::fail_held(broadcast_result r, output& out) {
    // Only requests no leader ever saw: one that was forwarded may sit in some
    // log and still commit, so it waits for its outcome (or for the driver's
    // deadline, which reports "unknown", not "failed").
    std::vector<std::uint64_t> held;
    for (const auto& [req, p] : pending_)
        if (p.where == pending::state::held && !p.ever_forwarded) held.push_back(req);
    for (auto req : held) complete(req, r, 0, out);
}

// ---- reads (thesis §6.4) ---------------------------------------------------------
//
// A read is linearizable if it is served from a state that has applied
// everything committed before the read began. The leader's commit index is
// such a point once (1) an entry of its own term has committed (before
// that, it may not know the latest commit), and (2) it has confirmed that it
// still leads, by a heartbeat round begun after the read arrived and
// answered by a majority (a newer leader would have kept them from answering
// in our term). Rounds are shared: every read waiting when one begins is
// confirmed by it, and at most one round is in flight for reads (every
// heartbeat begins one as well), so a burst of reads costs one round trip,
// not one each. Followers ask the leader for a read index and serve the read
// themselves once they have applied it.

bool core::own_term_committed() const noexcept {
    return commit_length_ > 0 && log_.term_at(commit_length_) == current_term_;
}

bool core::lease_valid() const noexcept {
    return cfg_.lease_duration.count() > 0 && has_clock_ && current_role_ == role::leader && now_ < lease_until_ &&
           !lease_forfeited_;
}

void core::on_read(std::uint64_t request, output& out) {
    if (request == 0 || pending_reads_.count(request))
        throw std::invalid_argument("raftlite::core: a read needs a fresh non-zero request id");
    if (current_role_ == role::leader) {
        take_up_read(cfg_.self, request, out);
        return;
    }
    if (pending_reads_.size() >= cfg_.max_pending_reads) {
        out.reads.push_back({request, read_result::busy, 0});
        return;
    }
    pending_read& r = pending_reads_[request];
    if (current_leader_ != no_node) {
        r.asked = current_leader_;
        r.asked_at = log_requests_seen_;
        schedule_retry(request, true, r.asked_at);
        send(current_leader_, read_index_request{request}, out);
    }
    // else: held until a leader is known (bounded by hold_elections)
}

void core::take_up_read(node_id from, std::uint64_t request, output& out) {
    if (read_waiters_.size() >= cfg_.max_pending_reads) {
        answer_read(from, request, read_result::busy, 0, out);
        return;
    }
    if (faults_.read_without_round) {   // broken: no confirmation that we still lead
        answer_read(from, request, read_result::ready, commit_length_, out);
        return;
    }
    if (!own_term_committed()) {
        read_waiters_.push_back({from, request, 0, 0});
        return;
    }
    if (lease_valid()) {
        ++stats_.lease_reads;
        answer_read(from, request, read_result::ready, commit_length_, out);
        return;
    }
    read_waiters_.push_back({from, request, commit_length_, read_round_ + 1});
    // Room for another round in flight: begin it now. Otherwise the read
    // waits for the next, begun when one in flight is confirmed (or at the
    // heartbeat).
    if (room_for_read_round()) begin_read_round(out);
}

bool core::room_for_read_round() const noexcept {
    return read_round_ - confirmed_round_ < cfg_.read_rounds_in_flight;
}

void core::start_read_round() {
    ++read_round_;
    if (cfg_.lease_duration.count() > 0 && has_clock_) round_starts_.emplace_back(read_round_, now_);
}

void core::begin_read_round(output& out) {
    // Counted here, not in start_read_round: the heartbeat's own rounds cost
    // reads nothing, and an idle leader's count stays still.
    ++stats_.read_rounds;
    start_read_round();
    for (auto& [f, p] : followers_) replicate_log(f, p, true, out);
    if (only_voter()) confirm_read_round(read_round_, out);
}

void core::note_read_round(progress& p, std::uint64_t round, output& out) {
    round = std::min(round, read_round_);   // nobody answers a round not begun
    if (round <= p.acked_round) return;
    p.acked_round = round;
    if (round <= confirmed_round_) return;
    // The highest round a majority of the voters answered, counting
    // ourselves if we vote.
    if (auto answered = majority_value(read_round_, [](const progress& q) { return q.acked_round; }))
        confirm_read_round(*answered, out);
}

void core::confirm_read_round(std::uint64_t round, output& out) {
    if (round <= confirmed_round_) return;
    confirmed_round_ = round;
    // Thesis §6.4.1: the followers that answered a round begun at time t
    // will not elect another leader before t plus their minimum election
    // timeout (leader_stickiness), which lease_duration stays below.
    while (!round_starts_.empty() && round_starts_.front().first <= round) {
        lease_until_ = std::max(lease_until_, round_starts_.front().second + cfg_.lease_duration);
        round_starts_.pop_front();
    }
    release_reads(out);
}

void core::release_reads(output& out) {
    if (current_role_ != role::leader) return;
    const bool own_committed = own_term_committed();
    bool need_round = false;
    std::deque<read_waiter> waiting;
    for (read_waiter& w : read_waiters_) {
        if (w.round == 0) {
            if (!own_committed) {
                waiting.push_back(w);
                continue;
            }
            if (lease_valid()) {
                ++stats_.lease_reads;
                answer_read(w.from, w.request, read_result::ready, commit_length_, out);
                continue;
            }
            w.index = commit_length_;
            w.round = read_round_ + 1;
        }
        if (w.round <= confirmed_round_) {
            answer_read(w.from, w.request, read_result::ready, w.index, out);
            continue;
        }
        if (w.round > read_round_) need_round = true;
        waiting.push_back(w);
    }
    read_waiters_.swap(waiting);
    if (need_round && room_for_read_round()) begin_read_round(out);
}

void core::answer_read(node_id from, std::uint64_t request, read_result r, index_t index, output& out) {
    if (from == cfg_.self) {
        out.reads.push_back({request, r, index});
        return;
    }
    read_index_response m;
    m.request = request;
    m.index = index;
    m.result = r == read_result::ready        ? read_index_response::status::ready
               : r == read_result::not_leader ? read_index_response::status::not_leader
                                              : read_index_response::status::busy;
    send(from, m, out);
}

void core::leave_reads_behind(output& out) {
    // Reads of our own wait for the next leader (they are idempotent, so
    // asking it is always safe); a follower's reads are sent back to it.
    for (const read_waiter& w : read_waiters_) {
        if (w.from == cfg_.self) pending_reads_[w.request];
        else answer_read(w.from, w.request, read_result::not_leader, 0, out);
    }
    read_waiters_.clear();
    round_starts_.clear();
    lease_until_ = std::chrono::nanoseconds{0};
}

void core::ask_leader_for_reads(output& out) {
    for (auto& [req, r] : pending_reads_) {
        if (r.asked == current_leader_) continue;
        r.asked = current_leader_;
        r.asked_at = log_requests_seen_;
        schedule_retry(req, true, r.asked_at);
        send(current_leader_, read_index_request{req}, out);
    }
}

void core::fail_held_reads(output& out) {
    for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
        if (it->second.asked != no_node) {
            ++it;
            continue;
        }
        out.reads.push_back({it->first, read_result::not_leader, 0});
        it = pending_reads_.erase(it);
    }
}

void core::withdraw_read(std::uint64_t request) {
    pending_reads_.erase(request);
    auto it = std::find_if(read_waiters_.begin(), read_waiters_.end(), [&](const read_waiter& w) {
        return w.from == cfg_.self && w.request == request;
    });
    if (it != read_waiters_.end()) read_waiters_.erase(it);
}

void core::on_read_index_request(node_id from, const read_index_request& m, output& out) {
    if (m.request == 0) {
        ++stats_.messages_rejected;
        return;
    }
    // A server outside our configuration would never apply the read index
    // (nothing is replicated to it, thesis §4.2.2): it fails the read once
    // no leader answers it (hold_elections), as reads held without a leader do.
    if (current_role_ != role::leader || !configuration().contains(from)) {
        answer_read(from, m.request, read_result::not_leader, 0, out);
        return;
    }
    take_up_read(from, m.request, out);
}

void core::on_read_index_response(node_id from, const read_index_response& m, output& out) {
    auto it = pending_reads_.find(m.request);
    if (it == pending_reads_.end() || it->second.asked != from) return;   // answered already, or asked elsewhere since
    switch (m.result) {
    case read_index_response::status::ready:
        out.reads.push_back({m.request, read_result::ready, m.index});
        pending_reads_.erase(it);
        return;
    case read_index_response::status::busy:
        out.reads.push_back({m.request, read_result::busy, 0});
        pending_reads_.erase(it);
        return;
    case read_index_response::status::not_leader:
        it->second.asked = no_node;   // asked again once a leader is known
        if (from == current_leader_) current_leader_ = no_node;   // our belief was stale
        return;
    }
    ++stats_.messages_rejected;   // an unknown status value
}

// ---- leadership transfer (thesis §3.10) ------------------------------------------

void core::on_transfer(const transfer_request& t, output& out) {
    transfer_result refused = transfer_result::done;
    if (current_role_ != role::leader) refused = transfer_result::not_leader;
    else if (transfer_) refused = transfer_result::busy;
    else if (t.target == cfg_.self || !configuration().is_voter(t.target)) refused = transfer_result::rejected;
    if (refused != transfer_result::done) {
        out.transfers.push_back({t.request, refused});
        return;
    }
    transfer_ = transfer_state{t.request, t.target};
    ++stats_.transfers_started;
    advance_transfer(out);
}

// The target's log must be as long as ours before it is told to stand: a
// voter grants only to a log at least as up to date (§5.4.1), and we take
// no new entries meanwhile, so our log stands still. Until then it is sent
// what it lacks, as any follower is.
void core::advance_transfer(output& out) {
    if (!transfer_ || current_role_ != role::leader || transfer_->timeout_now_sent) return;
    auto it = followers_.find(transfer_->target);
    if (it == followers_.end()) return;
    progress& p = it->second;
    if (p.acked_length < log_.length()) {
        replicate_log(transfer_->target, p, false, out);
        return;
    }
    transfer_->timeout_now_sent = true;
    // The election it starts is not disregarded by the followers that
    // answered our rounds (thesis §4.2.3 exception), so their promise a
    // lease rests on (§6.4.1) no longer holds, for the rest of this term: a
    // copy of this message may arrive long after the transfer is given up.
    // Reads then wait for a round, which the followers in the new term no
    // longer answer.
    lease_forfeited_ = true;
    send(transfer_->target, timeout_now{current_term_}, out);
}

void core::finish_transfer(transfer_result r, output& out) {
    if (!transfer_) return;
    out.transfers.push_back({transfer_->request, r});
    transfer_.reset();
}

void core::withdraw_transfer(std::uint64_t request) {
    if (transfer_ && transfer_->request == request) transfer_.reset();
}

void core::on_timeout_now(node_id from, const timeout_now& m, output& out) {
    (void)from;   // only the leader of m.term can have sent it in that term
    if (m.term > current_term_) become_follower(m.term, out);
    if (m.term < current_term_ || current_role_ == role::leader) return;   // stale
    if (!may_stand()) return;   // a learner, or a server removed meanwhile, never stands (thesis §4.2.1)
    // The leader asked us to take over: an election at once, with no
    // pre-vote, which voters do not disregard for stickiness (thesis §3.10,
    // §4.2.3): they heard from that leader just now.
    become_candidate(out, true);
}

// ---- messages -----------------------------------------------------------------

void core::on_message(const envelope& env, output& out) {
    // Any server of the cluster may write to us, member or not (the
    // transport authenticated it): a leader adds a server before the server
    // knows it, and a voter grants votes to candidates it does not know of
    // yet (thesis §4.1).
    if (env.to != cfg_.self || env.from == cfg_.self || env.from == no_node) {
        ++stats_.messages_rejected;
        return;
    }
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, vote_request>) on_vote_request(env.from, m, out);
            else if constexpr (std::is_same_v<T, vote_response>) on_vote_response(env.from, m, out);
            else if constexpr (std::is_same_v<T, log_request>) on_log_request(env.from, m, out);
            else if constexpr (std::is_same_v<T, log_response>) on_log_response(env.from, m, out);
            else if constexpr (std::is_same_v<T, forward_request>) on_forward_request(env.from, m, out);
            else if constexpr (std::is_same_v<T, forward_response>) on_forward_response(env.from, m, out);
            else if constexpr (std::is_same_v<T, install_snapshot>) on_install_snapshot(env.from, m, out);
            else if constexpr (std::is_same_v<T, install_snapshot_response>)
                on_install_snapshot_response(env.from, m, out);
            else if constexpr (std::is_same_v<T, read_index_request>) on_read_index_request(env.from, m, out);
            else if constexpr (std::is_same_v<T, read_index_response>) on_read_index_response(env.from, m, out);
            else if constexpr (std::is_same_v<T, timeout_now>) on_timeout_now(env.from, m, out);
        },
        env.msg);
}

// The commit index rides along with the term and vote, and is saved on its
// own only when asked (a snapshot): saving it at every commit would cost a
// file replacement per commit, and a stale value is still a safe lower bound.
void core::save_hard_state(output& out, bool with_commit) {
    const bool changed = current_term_ != saved_.current_term || voted_for_ != saved_.voted_for ||
                         (with_commit && commit_length_ != saved_.commit);
    if (!changed) return;
    saved_ = hard_state{current_term_, voted_for_, commit_length_};
    out.save_hard_state = saved_;
}

void core::send(node_id to, message m, output& out) {
    out.messages.push_back(envelope{cfg_.self, to, std::move(m)});
}

void core::send_after_sync(node_id to, message m, output& out) {
    out.messages_after_sync.push_back(envelope{cfg_.self, to, std::move(m)});
}


void core::check_invariants() const {
    // LogCabin-style self checks: cheap, always on. A failure is a bug in
    // raftlite, never a consequence of bad input (which is rejected above).
    auto fail = [](const char* what) { throw std::logic_error(std::string("raftlite::core invariant: ") + what); };
    if (commit_length_ > log_.length()) fail("commit_length <= log.length");
    if (durable_length_ > log_.length()) fail("durable_length <= log.length");
    if (current_role_ == role::leader && current_leader_ != cfg_.self) fail("a leader knows it leads");
    if (current_role_ != role::leader && current_leader_ == cfg_.self) fail("only a leader names itself leader");
    if (current_role_ == role::candidate && voted_for_ != cfg_.self) fail("a candidate votes for itself");
    if (commit_length_ < snapshot_.index) fail("a snapshot covers only committed entries");
    if (snapshot_.index != 0 && log_.start() > snapshot_.index + 1) fail("the log continues the snapshot without a gap");
    if (current_role_ != role::leader && !read_waiters_.empty()) fail("only a leader holds reads for a round");
    if (current_role_ != role::leader && !origins_.empty()) fail("only a leader indexes origins");
    if (origins_.size() > log_.length() + 1 - log_.start()) fail("origins_ indexes entries of the log only");
    if (confirmed_round_ > read_round_) fail("only a round begun is confirmed");
    if (current_role_ == role::leader) {
        const membership& c = configuration();
        if (followers_.size() + (c.contains(cfg_.self) ? 1 : 0) != c.size())
            fail("a leader replicates to every other server of its configuration");
        for (const auto& [f, p] : followers_)
            if (!c.contains(f)) fail("a leader replicates only to servers of its configuration");
    }
    if (change_ && current_role_ != role::leader) fail("only a leader carries out a membership change");
    if (transfer_ && current_role_ != role::leader) fail("only a leader transfers its leadership");
}

} // namespace raftlite
