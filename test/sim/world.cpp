// raftlite simulator — the world: event queue, drivers, faults, clients, checks.
#include "world.hpp"

#include <raftlite/error.hpp>

#include "churn.hpp"
#include "describe.hpp"
#include "invariants.hpp"
#include "linearizability.hpp"
#include "network.hpp"
#include "node_host.hpp"
#include "prng.hpp"
#include "trace.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <queue>
#include <sstream>
#include <variant>

namespace raftlite::sim {

fault_kinds fault_kinds::parse(const std::string& s) {
    if (s == "all") return all();
    if (s == "none") return none();
    fault_kinds f = none();
    std::istringstream in(s);
    std::string w;
    while (std::getline(in, w, ',')) {
        if (w == "crash") f.crash = true;
        else if (w == "partition") f.partition = true;
        else if (w == "loss") f.loss = true;
        else if (w == "duplicate" || w == "dup") f.duplicate = true;
        else if (w == "late") f.late = true;
        else if (w == "transfer") f.transfer = true;
        else throw std::invalid_argument("unknown fault kind '" + w +
                                         "' (crash, partition, loss, duplicate, late, transfer, all, none)");
    }
    return f;
}

std::string fault_kinds::to_string() const {
    if (crash && partition && loss && duplicate && late && transfer) return "all";
    std::string s;
    if (crash) s += "crash,";
    if (partition) s += "partition,";
    if (loss) s += "loss,";
    if (duplicate) s += "duplicate,";
    if (late) s += "late,";
    if (transfer) s += "transfer,";
    if (s.empty()) return "none";
    s.pop_back();
    return s;
}

run_stats& run_stats::operator+=(const run_stats& o) {
    steps += o.steps; virtual_ms += o.virtual_ms; crashes += o.crashes; partitions += o.partitions;
    process_crashes += o.process_crashes;
    elections += o.elections; terms += o.terms; pre_votes += o.pre_votes; transfers += o.transfers;
    transfers_done += o.transfers_done; transfers_timed_out += o.transfers_timed_out;
    rejoins += o.rejoins; rejoin_terms += o.rejoin_terms; rejoin_leaders += o.rejoin_leaders;
    messages += o.messages; ops += o.ops; ops_determinate += o.ops_determinate;
    committed += o.committed; lost_writes += o.lost_writes;
    snapshots += o.snapshots; snapshot_chunks += o.snapshot_chunks; restores += o.restores;
    snapshots_deferred += o.snapshots_deferred; snapshots_abandoned += o.snapshots_abandoned;
    heal_to_commit_ms = std::max(heal_to_commit_ms, o.heal_to_commit_ms);
    reads += o.reads; read_rounds += o.read_rounds; lease_reads += o.lease_reads;
    retries += o.retries; duplicates += o.duplicates;
    membership_asked += o.membership_asked; membership_committed += o.membership_committed;
    configurations += o.configurations; readded += o.readded;
    return *this;
}

namespace {

// ---- scheduled events ---------------------------------------------------------
// (epochs: membership churn drops what a stopped server sent or was sent)
struct ev_deliver { envelope env; std::uint32_t from_epoch = 0, to_epoch = 0; };
struct ev_election { std::size_t node; std::uint64_t gen; };
struct ev_heartbeat { std::size_t node; std::uint64_t gen; };
struct ev_sync { std::size_t node; unsigned incarnation; };
struct ev_client { std::size_t client; };
struct ev_client_timeout { std::size_t client; std::uint64_t serial; };
struct ev_client_retry { std::size_t client; std::uint64_t serial; };   // retrying clients: the next attempt
struct ev_fault {};
struct ev_heal_network { std::uint64_t serial; };
struct ev_restart { std::size_t node; };
struct ev_drain { std::size_t node; unsigned incarnation; };
struct ev_snapshot_done { std::size_t node; unsigned incarnation; };   // deferred: the application finishes its snapshot
struct ev_seal { std::size_t node; unsigned incarnation; };            // deferred: a received snapshot is sealed
struct ev_churn {};                                                     // membership churn: ask for a change
using sched_payload = std::variant<ev_deliver, ev_election, ev_heartbeat, ev_sync, ev_client,
                                   ev_client_timeout, ev_client_retry, ev_fault, ev_heal_network, ev_restart,
                                   ev_drain, ev_snapshot_done, ev_seal, ev_churn>;

struct scheduled {
    std::uint64_t time;
    std::uint64_t seq;   // ties broken by scheduling order: deterministic
    sched_payload what;
    bool operator>(const scheduled& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

struct client_state {
    bool busy = false;
    bool reading = false;         // the operation is a read (read_index or lease mode)
    std::string key;              // reading: the key to read once the read index is applied
    std::size_t op = 0;           // handle in the history
    std::size_t node = 0;         // host index
    std::uint64_t request = 0;    // the attempt awaited (0: none, a retry is due)
    std::uint64_t serial = 0;     // distinguishes this attempt's timeout from older ones
    // retrying_clients: the operation is sent again until an attempt commits
    bool retrying = false;
    std::string payload;          // the command, (session, seq) included: the same in every attempt
    std::uint64_t seq = 0;        // the last seq used in the client's session
    std::uint64_t attempts = 0;   // of the operation, so far
};

// A client's request whose outcome is not known yet: its client and its
// operation in the history.
struct outstanding { std::size_t client; std::size_t op; };

// Every node's state machine, and the checks' reference machine, open a
// session for each client when clients retry (kv_machine.hpp).
kv_options machine_options(const world_config& cfg) {
    kv_options o;
    o.sessions = cfg.retrying_clients ? cfg.clients : 0;
    o.ignore_sessions = cfg.broken_sessions;
    return o;
}

class world {
public:
    explicit world(const world_config& cfg)
        : cfg_(cfg), rng_(cfg.seed), net_(cfg.nodes + cfg.spare_nodes),
          inv_(cfg.nodes + cfg.spare_nodes, machine_options(cfg), bootstrap(cfg)),
          trace_(cfg.trace_keep, cfg.trace_all), clients_(cfg.clients) {
        const std::size_t total = cfg.nodes + cfg.spare_nodes;
        net_.min_latency = cfg.min_latency;
        net_.max_latency = cfg.max_latency;
        net_.late_min = cfg.late_min;
        net_.late_max = cfg.late_max;
        std::vector<node_id> members;
        for (std::size_t i = 1; i <= cfg.nodes; ++i) members.push_back(i);
        core_config tmpl = cfg.core;
        if (cfg.reads == sim_read_mode::lease) {
            // Thesis §6.4.1 (as node::start computes it): the lease ends
            // before a follower's minimum election timeout can, however
            // clocks drift within the bound. One tick is one millisecond.
            const double b = cfg.lease_drift_bound;
            tmpl.lease_duration = std::chrono::nanoseconds(
                static_cast<std::int64_t>(1e6 * static_cast<double>(cfg.election_timeout) * (1 - b) / (1 + b)));
        }
        rate_.assign(total, 1.0);
        if (cfg.clock_drift > 0) {
            prng clocks(cfg.seed ^ 0x636c6f636bULL);   // its own stream: the main one stays as it was
            for (double& r : rate_)
                r = 1.0 - cfg.clock_drift + 2.0 * cfg.clock_drift * static_cast<double>(clocks.uniform(0, 1000000)) / 1e6;
        }
        for (std::size_t i = 1; i <= total; ++i) {
            core_config c = tmpl;
            c.self = i;
            if (i <= cfg.nodes) c.members = members;   // spares: none, waiting to be added
            hosts_.emplace_back(c, cfg.broken_core, cfg.broken_driver, cfg.broken_load);
            hosts_.back().set_snapshot_entries(cfg.snapshot_entries);
            hosts_.back().set_deferred_snapshots(cfg.snapshot_delay != 0);
            hosts_.back().set_machine(machine_options(cfg));
        }
        election_gen_.assign(total, 0);
        heard_.assign(total, std::vector<std::uint64_t>(total, 0));
        leader_since_.assign(total, 0);
        leader_term_.assign(total, 0);
        heartbeat_gen_.assign(total, 0);
        sync_free_at_.assign(total, 0);
        seal_free_at_.assign(total, 0);
        restart_pending_.assign(total, false);
        inbox_.resize(total);
        client_inbox_.resize(total);
        retired_.assign(total, false);
        leader_config_.assign(total, 0);
        epoch_.assign(total, 0);
        if (cfg.membership_changes != 0) {
            const std::size_t min_voters = std::max<std::size_t>(1, std::min(cfg.churn_min_voters, cfg.nodes));
            churn_.emplace(total, min_voters, std::min(total, cfg.nodes + 1));
        }
        inv_.check_false_failures = cfg.check_false_failures;
        inv_.check_membership_rule = cfg.check_membership_rule;
        base_loss_ = cfg.faults.loss ? 0.01 : 0;
        base_dup_ = cfg.faults.duplicate ? 0.01 : 0;
        base_late_ = cfg.faults.late ? 0.005 : 0;
        net_.loss = base_loss_;
        net_.duplicate = base_dup_;
        net_.late = base_late_;
    }

    run_result run();

private:
    void schedule(std::uint64_t at, sched_payload p) { queue_.push({at, seq_++, std::move(p)}); }
    void dispatch(const sched_payload& p);
    void boot(std::size_t i);
    void crash(std::size_t i);
    void turn(std::size_t i, const event& e);
    void sync(std::size_t i);
    void carry_out(std::size_t i, host_effects& fx);
    void arm_election(std::size_t i);
    void client_issue(std::size_t c);
    void client_send(std::size_t c, std::size_t i);
    void note_sent(std::size_t c, std::size_t i);
    void client_retry(std::size_t c);
    void client_done(std::size_t c);
    void answer(const outstanding& o, std::size_t i, index_t index, const kv_applied& a);
    void on_completion(std::size_t i, const completion& cp);
    void on_read(std::size_t i, const read_completion& rc);
    /// Ticks of true time that `local` ticks of node i's clock take.
    std::uint64_t true_ticks(std::size_t i, std::uint64_t local) const {
        return static_cast<std::uint64_t>(std::ceil(static_cast<double>(local) / effective_rate(i)));
    }
    double effective_rate(std::size_t i) const {
        const bool leads = hosts_[i].up() && hosts_[i].core().role() == role::leader;
        return rate_[i] * (leads ? cfg_.leader_clock_factor : 1.0);
    }
    void set_clocks();
    void fault();
    void heal();
    std::size_t leader_index() const;   // a host that believes it leads, or npos
    bool converged(index_t upto) const;
    bool quiescent() const;
    std::uint64_t catch_up_round_trips() const;
    std::uint64_t snapshot_round_trips(index_t longest, index_t to_come) const;
    void before_receive(std::size_t i, const std::vector<event>& es);
    void after_receive(std::size_t i);
    void check_quorum_rule(std::size_t i);
    void check_snapshot_traffic(const envelope& env);
    void check_stable() const;
    void check_history();
    // ---- membership churn (world_config::membership_changes; churn.hpp) ----
    static membership bootstrap(const world_config& cfg);
    void forget_host(std::size_t i);
    void churn();
    void churn_outcomes(std::size_t i, const host_effects& fx);
    void retire_removed();
    void bring_back(std::size_t i);
    /// The members the end-of-run checks cover: every node without churn,
    /// else the configuration of the leader (nothing while none leads).
    std::optional<membership> final_members() const;
    bool counts(std::size_t i) const;   // host i is one the end-of-run checks cover now

    world_config cfg_;
    prng rng_;
    network net_;
    invariants inv_;
    trace trace_;
    std::vector<node_host> hosts_;
    std::vector<client_state> clients_;
    std::priority_queue<scheduled, std::vector<scheduled>, std::greater<>> queue_;
    std::uint64_t seq_ = 0;
    std::uint64_t now_ = 0;
    std::vector<std::uint64_t> election_gen_, heartbeat_gen_, sync_free_at_, seal_free_at_;
    // Check-quorum: when each leader last heard a log_response of its term
    // from each node, and since when it leads (in which term).
    std::vector<std::vector<std::uint64_t>> heard_;
    std::vector<std::uint64_t> leader_since_;
    std::vector<term_t> leader_term_;
    // (leader, follower, term) -> snapshot data bytes the leader sent the
    // follower since the follower last answered a chunk (check_snapshot_traffic).
    std::map<std::tuple<node_id, node_id, term_t>, std::uint64_t> snapshot_unanswered_;
    std::vector<index_t> leader_config_;   // churn: the configuration index each leader was last checked in
    term_t received_term_ = 0;   // highest term in the messages of the turn being taken
    term_t vote_term_ = 0;       // ... in its vote requests (leader stickiness may disregard them, thesis §4.2.3)
    std::uint64_t disregarded_before_ = 0;   // the node's votes_disregarded before the turn
    std::uint64_t timeout_now_in_flight_ = 0;   // copies of timeout_now scheduled, not yet delivered
    std::uint64_t timeout_now_last_ = 0;        // ... the latest arrival among them
    // Leader stability, once quiesced: every node's term then.
    std::vector<term_t> stable_terms_;
    std::vector<bool> restart_pending_;
    std::vector<std::vector<event>> inbox_;   // group commit: messages waiting for one shared turn
    struct queued_send {
        std::size_t client;
        std::uint64_t serial;   // the attempt; a client that moved on is not sent
    };
    std::vector<std::vector<queued_send>> client_inbox_;   // group commit: broadcasts waiting for the same turn
    std::uint64_t net_serial_ = 0;
    double base_loss_ = 0, base_dup_ = 0, base_late_ = 0;
    bool faulting_ = true;
    bool clients_active_ = true;
    std::int64_t next_value_ = 0;
    // Every broadcast a client made whose outcome is not known yet, also after
    // the client gave up: a late `committed` still tells when it took effect.
    std::map<std::pair<std::size_t, std::uint64_t>, outstanding> by_request_;   // (host, request) ->
    std::map<std::pair<std::size_t, std::uint64_t>, outstanding> by_read_;      // reads: (host, request) ->
    std::vector<double> rate_;      // each node's clock rate (world_config::clock_drift)
    std::vector<double> local_ns_;  // each node's clock reading, advanced at its rate
    std::uint64_t clocks_at_ = 0;   // the true time the readings are for
    kv_history history_;
    std::vector<bool> no_effect_;   // by op: failed, and (checked separately) never committed
    run_stats stats_;
    // the liveness probe
    std::uint64_t probe_request_ = 0;
    std::size_t probe_node_ = 0;
    index_t probe_index_ = 0;
    std::uint64_t probe_sent_ = 0;
    // membership churn
    std::optional<churn_scheduler> churn_;
    std::vector<bool> retired_;              // removed (committed) and stopped, until added again
    std::vector<std::uint32_t> epoch_;       // each stop of a removed server: messages across it are dropped
    membership committed_seen_;              // the committed configuration the world last acted on
    index_t committed_seen_index_ = 0;
    std::map<std::pair<std::size_t, std::uint64_t>, membership_change> changes_asked_;   // (host, request) ->
};

void world::boot(std::size_t i) {
    restart_pending_[i] = false;
    host_effects fx;
    hosts_[i].boot(fx);
    inv_.on_boot(hosts_[i]);
    trace_.line(now_, "n%zu boots (incarnation %u, term %llu, log %llu)", i + 1, hosts_[i].incarnation(),
                static_cast<unsigned long long>(hosts_[i].core().current_term()),
                static_cast<unsigned long long>(hosts_[i].core().log().length()));
    carry_out(i, fx);
}

void world::crash(std::size_t i) {
    const std::size_t before = hosts_[i].disk().unsynced_ops();
    const std::uint64_t abandoned = hosts_[i].abandoned_snapshots();
    const std::size_t unfinished = hosts_[i].snapshot_pending() + hosts_[i].seals_pending();
    ++stats_.crashes;
    // (no draw when every crash is a power loss: such runs stay as they were)
    if (cfg_.process_crash_percent > 0 && rng_.uniform(0, 99) < cfg_.process_crash_percent) {
        hosts_[i].process_crash();
        ++stats_.process_crashes;
        trace_.line(now_, "n%zu PROCESS CRASHES (%zu unsynced disk writes stay in the page cache)", i + 1, before);
    } else {
        const std::size_t lost = hosts_[i].crash(rng_);
        stats_.lost_writes += lost;
        trace_.line(now_, "n%zu CRASHES (power loss: %zu of %zu unsynced disk writes lost)", i + 1, lost, before);
    }
    stats_.snapshots_abandoned += hosts_[i].abandoned_snapshots() - abandoned;
    if (unfinished != 0) trace_.line(now_, "n%zu abandons %zu unfinished snapshot(s)", i + 1, unfinished);
    // What survived on the disk must still hold every entry it held.
    inv_.after_crash(hosts_[i]);
    forget_host(i);
}

// Node i's process is gone: its timers, its clients' requests and reads.
void world::forget_host(std::size_t i) {
    // timers and syncs die with the process: their generations move on
    ++election_gen_[i];
    ++heartbeat_gen_[i];
    inbox_[i].clear();
    client_inbox_[i].clear();   // never reached the node: their clients are handled below
    leader_term_[i] = 0;
    for (std::size_t c = 0; c < clients_.size(); ++c) {
        if (!clients_[c].busy || clients_[c].node != i) continue;
        if (clients_[c].retrying) client_retry(c);   // outcome unknown: send it again elsewhere
        else client_done(c);                         // outcome unknown
    }
    // Its core is gone: no outcome will come for its broadcasts (they stay indeterminate).
    for (auto it = by_request_.begin(); it != by_request_.end();)
        it = it->first.first == i ? by_request_.erase(it) : std::next(it);
    // A read that never returned had no effect.
    for (auto it = by_read_.begin(); it != by_read_.end();) {
        if (it->first.first != i) {
            ++it;
            continue;
        }
        no_effect_[it->second.op] = true;
        it = by_read_.erase(it);
    }
}

void world::arm_election(std::size_t i) {
    const std::uint64_t t = cfg_.election_timeout;
    schedule(now_ + true_ticks(i, rng_.uniform(t, 2 * t - 1)), ev_election{i, ++election_gen_[i]});
}

void world::turn(std::size_t i, const event& e) {
    before_receive(i, {e});
    host_effects fx;
    hosts_[i].step(e, fx);
    carry_out(i, fx);
    after_receive(i);
}

// Notes what the messages of a turn tell the checks: the highest term they
// carry, and the answers a leader hears from its followers.
void world::before_receive(std::size_t i, const std::vector<event>& es) {
    received_term_ = 0;
    vote_term_ = 0;
    const raftlite::core& c = hosts_[i].core();
    disregarded_before_ = c.stats().votes_disregarded;
    for (const event& e : es) {
        const auto* m = std::get_if<message_received>(&e);
        if (!m) continue;
        std::visit(
            [&](const auto& msg) {
                using T = std::decay_t<decltype(msg)>;
                // Every term a message carries is its sender's current term
                // (install_snapshot and its answer too), except a
                // forward_response's: the term of the entry it appended.
                // A pre-vote asks about a term nobody is in yet, and its yes
                // echoes it (thesis §9.6): neither carries a term to adopt.
                if constexpr (std::is_same_v<T, vote_request>) {
                    if (!msg.pre_vote) vote_term_ = std::max(vote_term_, msg.term);
                } else if constexpr (std::is_same_v<T, vote_response>) {
                    if (!(msg.pre_vote && msg.granted)) received_term_ = std::max(received_term_, msg.term);
                }
                else if constexpr (requires { msg.term; }) {
                    if constexpr (!std::is_same_v<T, forward_response>)
                        received_term_ = std::max(received_term_, msg.term);
                }
                if constexpr (std::is_same_v<T, install_snapshot_response>) {
                    const node_id self = i + 1, from = m->env.from;
                    snapshot_unanswered_.erase(snapshot_unanswered_.lower_bound({self, from, 0}),
                                               snapshot_unanswered_.upper_bound({self, from, ~term_t{0}}));
                }
                // A follower taking a snapshot answers chunks, not entries: it
                // is in contact all the same (check-quorum counts any answer).
                if constexpr (std::is_same_v<T, log_response> || std::is_same_v<T, install_snapshot_response>) {
                    if (c.role() == role::leader && msg.term == c.current_term()) heard_[i][m->env.from - 1] = now_;
                }
            },
            m->env.msg);
    }
}

// A leader keeps at most one window of snapshot chunks unanswered per
// follower (core.hpp: send_snapshot_chunks). When chunks bring no answer
// for two heartbeats, or it takes a newer snapshot meanwhile, it probes with
// empty chunks until the follower answers: a follower cut off mid-transfer
// must not cost the leader a window of snapshot reads and queued chunks
// every two heartbeats.
void world::check_snapshot_traffic(const envelope& env) {
    const auto* chunk = std::get_if<install_snapshot>(&env.msg);
    if (!cfg_.check_snapshot_traffic || !chunk || !chunk->data || chunk->data->empty()) return;
    std::uint64_t& sent = snapshot_unanswered_[{env.from, env.to, chunk->term}];
    sent += chunk->data->size();
    const std::uint64_t window = cfg_.core.snapshot_chunk_bytes * cfg_.core.snapshot_chunks_inflight;
    if (sent > window)
        throw violation("snapshot traffic",
                        "leader n" + std::to_string(env.from) + " (term " + std::to_string(chunk->term) + ") sent n" +
                            std::to_string(env.to) + " " + std::to_string(sent) +
                            " bytes of snapshot chunks since its last answer; one window is " +
                            std::to_string(window) + " (" + std::to_string(cfg_.core.snapshot_chunks_inflight) +
                            " chunks of " + std::to_string(cfg_.core.snapshot_chunk_bytes) + ")");
}

// Raft §5.1: "If a server receives a request or response with a higher term,
// it updates its current term" (and a leader or candidate steps down).
void world::after_receive(std::size_t i) {
    // A vote request disregarded while a leader is known (thesis §4.2.3) is
    // the one message whose higher term a node does not adopt.
    if (hosts_[i].up() && hosts_[i].core().stats().votes_disregarded == disregarded_before_)
        received_term_ = std::max(received_term_, vote_term_);
    if (!cfg_.check_terms || !hosts_[i].up() || received_term_ <= hosts_[i].core().current_term()) return;
    throw violation("higher term", "node " + std::to_string(i + 1) + " received a message of term " +
                                       std::to_string(received_term_) + " and stays in term " +
                                       std::to_string(hosts_[i].core().current_term()));
}

// Check-quorum (thesis §6.2), see world_config::check_quorum_bound().
void world::check_quorum_rule(std::size_t i) {
    const raftlite::core& c = hosts_[i].core();
    if (c.role() != role::leader) {
        leader_term_[i] = 0;
        return;
    }
    if (leader_term_[i] != c.current_term()) {
        leader_term_[i] = c.current_term();
        leader_since_[i] = now_;
    }
    if (churn_ && leader_config_[i] != c.configuration_index()) {
        // A new configuration: the core's next check counts its voters,
        // which the leader may not have heard from yet (or only long ago).
        leader_config_[i] = c.configuration_index();
        leader_since_[i] = now_;
    }
    if (!cfg_.check_quorum_rule || !cfg_.core.check_quorum) return;
    // The voters of its configuration count, itself too when it is one (a
    // leader being removed is not).
    const membership& m = c.configuration();
    const std::size_t need = m.quorum() - (m.is_voter(i + 1) ? 1 : 0);
    if (need == 0) return;
    std::vector<std::uint64_t> contact;
    for (const member& mb : m.members())
        if (mb.voter && mb.id != i + 1 && mb.id <= hosts_.size())
            contact.push_back(std::max(heard_[i][mb.id - 1], leader_since_[i]));
    if (contact.size() < need) return;
    std::sort(contact.begin(), contact.end(), std::greater<>());
    const std::uint64_t last = contact[need - 1];
    if (now_ > last + cfg_.check_quorum_bound())
        throw violation("check quorum", "node " + std::to_string(i + 1) + " still leads term " +
                                            std::to_string(c.current_term()) + " at " + std::to_string(now_) +
                                            " ms; it last heard from a majority at " + std::to_string(last) +
                                            " ms (bound: " + std::to_string(cfg_.check_quorum_bound()) + " ms)");
}

void world::sync(std::size_t i) {
    host_effects fx;
    hosts_[i].complete_sync(fx);
    carry_out(i, fx);
}

void world::carry_out(std::size_t i, host_effects& fx) {
    node_host& h = hosts_[i];
    stats_.snapshots += fx.snapshots_taken;
    if (fx.restored) ++stats_.restores;
    // A server that left the leader's configuration has no progress there
    // any more: added back, it starts a transfer afresh.
    for (auto it = snapshot_unanswered_.lower_bound({i + 1, 0, 0});
         it != snapshot_unanswered_.end() && std::get<0>(it->first) == i + 1;) {
        if (h.up() && h.core().configuration().contains(std::get<1>(it->first))) ++it;
        else it = snapshot_unanswered_.erase(it);
    }
    for (envelope& env : fx.sent) {
        inv_.on_send(h, env);
        check_snapshot_traffic(env);
        ++stats_.messages;
        if (std::holds_alternative<install_snapshot>(env.msg)) ++stats_.snapshot_chunks;
        char buf[160];
        describe(env.msg, buf, sizeof buf);
        const auto copies = net_.route(env.from, env.to, rng_);
        const bool late = std::any_of(copies.begin(), copies.end(), [&](auto d) { return d >= net_.late_min; });
        trace_.line(now_, "n%llu -> n%llu %s%s%s", static_cast<unsigned long long>(env.from),
                    static_cast<unsigned long long>(env.to), buf,
                    copies.empty() ? " LOST" : copies.size() > 1 ? " DUP" : "", late ? " LATE" : "");
        if (std::holds_alternative<timeout_now>(env.msg)) {
            timeout_now_in_flight_ += copies.size();
            for (auto d : copies) timeout_now_last_ = std::max(timeout_now_last_, now_ + d);
        }
        const std::uint32_t fe = epoch_[env.from - 1], te = epoch_[env.to - 1];
        for (std::size_t k = 0; k < copies.size(); ++k) {
            if (k + 1 < copies.size()) schedule(now_ + copies[k], ev_deliver{env, fe, te});
            else schedule(now_ + copies[k], ev_deliver{std::move(env), fe, te});
        }
    }
    for (std::size_t k = 0; k < fx.syncs_queued; ++k) {
        // syncs of one node complete in order
        const std::uint64_t at = std::max(now_ + rng_.uniform(0, cfg_.max_sync), sync_free_at_[i]);
        sync_free_at_[i] = at;
        schedule(at, ev_sync{i, h.incarnation()});
    }
    // Deferred snapshots finish a while later (world_config::snapshot_delay);
    // received ones are sealed one after another, in order.
    if (fx.snapshot_started) {
        ++stats_.snapshots_deferred;
        schedule(now_ + rng_.uniform(1, cfg_.snapshot_delay), ev_snapshot_done{i, h.incarnation()});
    }
    for (std::size_t k = 0; k < fx.seals_queued; ++k) {
        ++stats_.snapshots_deferred;
        const std::uint64_t at = std::max(now_ + rng_.uniform(1, cfg_.snapshot_delay), seal_free_at_[i]);
        seal_free_at_[i] = at;
        schedule(at, ev_seal{i, h.incarnation()});
    }
    if (fx.reset_election_timer) arm_election(i);
    if (fx.heartbeat_timer) {
        ++heartbeat_gen_[i];
        if (*fx.heartbeat_timer) schedule(now_ + true_ticks(i, cfg_.heartbeat), ev_heartbeat{i, heartbeat_gen_[i]});
    }
    inv_.after_turn(hosts_, h, fx);
    if (h.up()) check_quorum_rule(i);
    if (!fx.delivered.empty())
        trace_.line(now_, "n%zu delivers %llu..%llu (term %llu, commit %llu)", i + 1,
                    static_cast<unsigned long long>(fx.delivered.front().index),
                    static_cast<unsigned long long>(fx.delivered.back().index),
                    static_cast<unsigned long long>(h.core().current_term()),
                    static_cast<unsigned long long>(h.core().commit_length()));
    for (const completion& cp : fx.completions) on_completion(i, cp);
    for (const read_completion& rc : fx.reads) on_read(i, rc);
    for (const auto& [request, ec] : fx.transfers) {
        trace_.line(now_, "n%zu transfer %llu: %s", i + 1, static_cast<unsigned long long>(request),
                    ec ? ec.message().c_str() : "done");
        if (!ec) ++stats_.transfers_done;
        else if (ec == errc::transfer_timed_out) ++stats_.transfers_timed_out;
        else if (ec != errc::not_leader && ec != errc::busy && ec != errc::transfer_rejected)
            throw violation("driver", "unexpected transfer outcome " + ec.message());
    }
    if (churn_) {
        churn_outcomes(i, fx);
        retire_removed();
    }
}

// A read's outcome: ready once node i applied the read index, so its state
// machine answers now (thesis §6.4); the history checks it was not stale.
void world::on_read(std::size_t i, const read_completion& rc) {
    static const char* names[] = {"ready", "not_leader", "busy"};
    trace_.line(now_, "n%zu read %llu: %s at %llu", i + 1, static_cast<unsigned long long>(rc.request),
                names[static_cast<int>(rc.result)], static_cast<unsigned long long>(rc.index));
    auto it = by_read_.find({i, rc.request});
    if (it == by_read_.end()) return;
    const outstanding o = it->second;
    by_read_.erase(it);
    client_state& cl = clients_[o.client];
    if (rc.result == read_result::ready) {
        if (hosts_[i].machine().applied() < rc.index)
            throw violation("driver", "a read reported at index " + std::to_string(rc.index) +
                                          " before the state machine applied it (" +
                                          std::to_string(hosts_[i].machine().applied()) + ")");
        history_.complete_get(o.op, now_, hosts_[i].machine().value(history_.ops()[o.op].key));
        ++stats_.ops_determinate;
    } else {
        no_effect_[o.op] = true;   // a read that failed read nothing
    }
    if (cl.busy && cl.node == i && cl.request == rc.request) client_done(o.client);
}

// Every node's clock, read before anything happens at this instant (lease
// reads judge their lease by it): it advances at the node's rate (slower
// while it leads, world_config::leader_clock_factor), one tick a millisecond.
void world::set_clocks() {
    if (local_ns_.size() != hosts_.size()) local_ns_.assign(hosts_.size(), 0.0);
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        local_ns_[i] += static_cast<double>(now_ - clocks_at_) * 1e6 * effective_rate(i);
        hosts_[i].set_clock(std::chrono::nanoseconds(static_cast<std::int64_t>(local_ns_[i])));
    }
    clocks_at_ = now_;
}

void world::on_completion(std::size_t i, const completion& cp) {
    static const char* names[] = {"committed", "not_leader", "superseded", "busy", "unknown"};
    trace_.line(now_, "n%zu completes request %llu: %s at %llu", i + 1, static_cast<unsigned long long>(cp.request),
                names[static_cast<int>(cp.result)], static_cast<unsigned long long>(cp.index));
    if (cp.request == probe_request_ && i == probe_node_) {
        if (cp.result == broadcast_result::committed) probe_index_ = cp.index;
        else probe_request_ = 0;   // resubmitted by the liveness loop
        return;
    }
    auto it = by_request_.find({i, cp.request});
    if (it == by_request_.end()) return;
    const outstanding o = it->second;
    by_request_.erase(it);
    client_state& cl = clients_[o.client];
    const bool awaited = cl.busy && cl.node == i && cl.request == cp.request;
    const bool answered = cp.result == broadcast_result::committed && hosts_[i].machine().has_result(cp.index);
    if (answered) {
        // The result is what this node's state machine computed at that index.
        answer(o, i, cp.index, hosts_[i].machine().outcome(cp.index));
    } else if (cp.result != broadcast_result::committed && cp.result != broadcast_result::unknown &&
               cfg_.check_false_failures && !cfg_.retrying_clients) {
        // A failed broadcast never commits ("failure is final", checked on
        // every delivery), so it had no effect. Unchecked, it stays
        // indeterminate: it may commit later. A retrying client's operation
        // stays indeterminate too: another attempt of it may commit.
        no_effect_[o.op] = true;
    }
    if (!awaited) return;
    if (cl.retrying && !answered) client_retry(o.client);   // not_leader, busy, superseded, unknown, no result here
    else client_done(o.client);
}

// Op o.op's attempt committed at `index` on node i, and its state machine
// made `a` of it. Sessions (thesis §6.3): only one attempt of a command
// applies (fresh); the others commit as duplicates, answered with the result
// saved then, or, once the client has moved on, as stale (no answer; the
// client no longer waits for one).
void world::answer(const outstanding& o, std::size_t i, index_t index, const kv_applied& a) {
    const client_state& cl = clients_[o.client];
    const bool current = cl.busy && cl.op == o.op;   // the client still waits for this operation
    auto where = [&] {
        return "client " + std::to_string(o.client) + "'s command " + std::to_string(a.session.seq) +
               " (session " + std::to_string(a.session.id) + ") committed at index " + std::to_string(index) +
               " on node " + std::to_string(i + 1);
    };
    switch (a.verdict) {
    case kv_verdict::unknown_session:
        // The sessions open before any entry and never expire.
        throw violation("exactly once", where() + " in a session the state machine does not know");
    case kv_verdict::stale:
        // A client has one command in flight: its session cannot have applied
        // a later one while it waits.
        if (current)
            throw violation("exactly once", where() + " as stale, while its client still waits for it");
        return;
    case kv_verdict::duplicate: ++stats_.duplicates; break;
    case kv_verdict::none:
    case kv_verdict::fresh: break;
    }
    const kv_op& op = history_.ops()[o.op];
    if (op.determinate) {
        // Answered before (by another attempt): a duplicate gets the same answer.
        if ((op.kind == kv_kind::get && op.observed != a.result.observed) ||
            (op.kind == kv_kind::cas && op.succeeded != a.result.succeeded))
            throw violation("exactly once", where() + " answered " + kv_verdict_name(a.verdict) + " with " +
                                                "another result than its first answer (" + to_string(op) + ")");
        return;
    }
    switch (op.kind) {
    case kv_kind::put: history_.complete_put(o.op, now_); break;
    case kv_kind::del: history_.complete_del(o.op, now_); break;
    case kv_kind::get: history_.complete_get(o.op, now_, a.result.observed); break;
    case kv_kind::cas: history_.complete_cas(o.op, now_, a.result.succeeded); break;
    }
    ++stats_.ops_determinate;
}

void world::client_done(std::size_t c) {
    client_state& cl = clients_[c];
    if (cl.busy && cl.reading) {
        // A read given up on has no effect; its late answer is not awaited.
        auto it = by_read_.find({cl.node, cl.request});
        if (it != by_read_.end()) {
            no_effect_[it->second.op] = true;
            by_read_.erase(it);
        }
    }
    cl.reading = false;
    cl.retrying = false;
    cl.busy = false;
    ++cl.serial;
    if (clients_active_) schedule(now_ + rng_.uniform(0, cfg_.client_think), ev_client{c});
}

void world::client_issue(std::size_t c) {
    client_state& cl = clients_[c];
    if (cl.busy || !clients_active_) return;
    const std::size_t i = rng_.uniform(0, hosts_.size() - 1);
    if (!hosts_[i].up()) {   // connection refused: nothing was invoked; try again soon
        schedule(now_ + rng_.uniform(1, 30), ev_client{c});
        return;
    }
    kv_command cmd;
    cmd.key = "k" + std::to_string(rng_.uniform(0, cfg_.keys - 1));
    const std::uint64_t r = rng_.uniform(0, 99);
    if (r < 35) { cmd.kind = kv_kind::put; cmd.value = next_value_++; }
    else if (r < 70) cmd.kind = kv_kind::get;
    else if (r < 95) {
        cmd.kind = kv_kind::cas;
        cmd.value = next_value_++;
        // compare against a recent value, so that some succeed
        cmd.expected = next_value_ < 4 ? kv_absent : next_value_ - 1 - static_cast<std::int64_t>(rng_.uniform(1, 3));
    } else cmd.kind = kv_kind::del;
    if (cfg_.local_reads && cmd.kind == kv_kind::get) {
        kv_op op;
        op.kind = kv_kind::get;
        op.key = cmd.key;
        op.invoke = now_;
        op.client = c;
        const std::size_t h = history_.invoke(op);
        no_effect_.push_back(false);
        history_.complete_get(h, now_, hosts_[i].machine().value(cmd.key));
        ++stats_.ops;
        ++stats_.ops_determinate;
        schedule(now_ + rng_.uniform(1, cfg_.client_think + 1), ev_client{c});
        return;
    }
    kv_op op;
    op.kind = cmd.kind;
    op.key = cmd.key;
    op.value = cmd.value;
    op.expected = cmd.expected;
    op.invoke = now_;
    op.client = c;
    cl.busy = true;
    cl.op = history_.invoke(op);
    no_effect_.push_back(false);
    cl.node = i;
    ++stats_.ops;
    if (cmd.kind == kv_kind::get && cfg_.reads != sim_read_mode::log) {
        cl.reading = true;
        ++stats_.reads;
        schedule(now_ + cfg_.client_timeout, ev_client_timeout{c, cl.serial});
        host_effects fx;
        cl.request = hosts_[i].read(fx);
        by_read_[{i, cl.request}] = {c, cl.op};
        trace_.line(now_, "client %zu -> n%zu read %llu: g %s", c, i + 1, static_cast<unsigned long long>(cl.request),
                    cmd.key.c_str());
        carry_out(i, fx);
        return;
    }
    if (cfg_.retrying_clients) {
        cl.retrying = true;
        cmd.session = {c + 1, ++cl.seq};   // client c's session (kv_machine.hpp), its next command
    }
    cl.payload = encode(cmd);
    cl.attempts = 0;
    client_send(c, i);
}

// One attempt of client c's operation, through node i.
void world::client_send(std::size_t c, std::size_t i) {
    client_state& cl = clients_[c];
    cl.node = i;
    ++cl.attempts;
    schedule(now_ + cfg_.client_timeout, ev_client_timeout{c, cl.serial});
    if (cfg_.group_commit && rng_.chance(0.5)) {
        // Waits for the node's next turn, with every broadcast sent to it
        // meanwhile (the node's drain: one broadcast_batch).
        if (inbox_[i].empty() && client_inbox_[i].empty())
            schedule(now_ + rng_.uniform(0, 2), ev_drain{i, hosts_[i].incarnation()});
        client_inbox_[i].push_back({c, cl.serial});
        cl.request = 0;
        return;
    }
    host_effects fx;
    cl.request = hosts_[i].broadcast(make_bytes(cl.payload), fx);   // ids are the node's, unique across its restarts
    note_sent(c, i);
    carry_out(i, fx);
}

// Client c's attempt reached node i as request cl.request.
void world::note_sent(std::size_t c, std::size_t i) {
    client_state& cl = clients_[c];
    by_request_[{i, cl.request}] = {c, cl.op};
    if (cl.attempts == 1)
        trace_.line(now_, "client %zu -> n%zu request %llu: %s", c, i + 1, static_cast<unsigned long long>(cl.request),
                    cl.payload.c_str());
    else
        trace_.line(now_, "client %zu -> n%zu request %llu: %s (attempt %llu)", c, i + 1,
                    static_cast<unsigned long long>(cl.request), cl.payload.c_str(),
                    static_cast<unsigned long long>(cl.attempts));
}

// A retrying client does not know whether its command took effect: it sends
// the same (session, seq) again shortly, through a node picked then (thesis
// §6.3: the session table answers a retry of an applied command with the
// saved result instead of applying it again).
void world::client_retry(std::size_t c) {
    client_state& cl = clients_[c];
    ++cl.serial;       // the abandoned attempt's timeout no longer applies ...
    cl.request = 0;    // ... nor does its outcome end the operation
    schedule(now_ + rng_.uniform(1, 30), ev_client_retry{c, cl.serial});
}

std::size_t world::leader_index() const {
    std::size_t best = hosts_.size();
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (hosts_[i].up() && hosts_[i].core().role() == role::leader &&
            (best == hosts_.size() || hosts_[i].core().current_term() > hosts_[best].core().current_term()))
            best = i;
    }
    return best;
}

void world::fault() {
    const std::size_t n = hosts_.size();
    std::vector<int> kinds;
    if (cfg_.faults.crash) kinds.push_back(0);
    if (cfg_.faults.partition) kinds.push_back(1);
    if (cfg_.faults.loss || cfg_.faults.duplicate || cfg_.faults.late) kinds.push_back(2);
    if (cfg_.faults.transfer) kinds.push_back(3);
    if (kinds.empty()) return;
    schedule(now_ + rng_.uniform(cfg_.fault_min_gap, cfg_.fault_max_gap), ev_fault{});
    const std::size_t leader = leader_index();
    switch (rng_.pick(kinds)) {
    case 0: {   // crash the leader or anyone; restart a while later
        std::size_t down = 0;
        for (auto& h : hosts_) down += !h.up();
        if (down > n / 2) return;   // keep a majority up most of the time, or nothing happens
        std::size_t v = (leader < n && rng_.chance(0.5)) ? leader : rng_.uniform(0, n - 1);
        if (!hosts_[v].up()) return;
        crash(v);
        restart_pending_[v] = true;
        schedule(now_ + rng_.uniform(0, 800), ev_restart{v});
        return;
    }
    case 1: {   // a partition of some shape, healed later
        net_.heal();
        std::vector<bool> group(n, false);
        const char* shape = "";
        switch (rng_.uniform(0, 4)) {
        case 0:   // random halves
            shape = "random halves";
            for (std::size_t k = 0; k < n; ++k) group[k] = rng_.chance(0.5);
            net_.split(group);
            break;
        case 1:   // one node alone
            shape = "one node isolated";
            group[rng_.uniform(0, n - 1)] = true;
            net_.split(group);
            break;
        case 2:   // the leader alone
            shape = "leader isolated";
            group[leader < n ? leader : rng_.uniform(0, n - 1)] = true;
            net_.split(group);
            break;
        case 3: {   // asymmetric: some directed links lose everything
            shape = "one-way loss";
            const std::size_t links = rng_.uniform(1, n);
            for (std::size_t k = 0; k < links; ++k) {
                const node_id a = rng_.uniform(1, n), b = rng_.uniform(1, n);
                if (a != b) net_.block(a, b);
            }
            break;
        }
        default: {   // bridge: two sides that only one node connects
            shape = "bridge";
            const std::size_t bridge = rng_.uniform(0, n - 1);
            for (std::size_t k = 0; k < n; ++k) group[k] = rng_.chance(0.5);
            for (node_id a = 1; a <= n; ++a)
                for (node_id b = 1; b <= n; ++b)
                    if (a - 1 != bridge && b - 1 != bridge && group[a - 1] != group[b - 1]) net_.block(a, b);
            break;
        }
        }
        ++stats_.partitions;
        trace_.line(now_, "PARTITION (%s): %s", shape, net_.describe().c_str());
        schedule(now_ + rng_.uniform(100, 1500), ev_heal_network{++net_serial_});
        return;
    }
    case 3: {   // the leader is asked to hand over to a node picked at random (thesis §3.10)
        if (leader >= n) return;
        const std::size_t target = rng_.uniform(0, n - 1);
        ++stats_.transfers;
        host_effects fx;
        const std::uint64_t request = hosts_[leader].transfer(static_cast<node_id>(target + 1), fx);
        trace_.line(now_, "TRANSFER n%zu -> n%zu (request %llu)", leader + 1, target + 1,
                    static_cast<unsigned long long>(request));
        carry_out(leader, fx);
        return;
    }
    default: {   // a bad patch of network: heavy loss, duplication and late delivery for a while
        net_.loss = cfg_.faults.loss ? static_cast<double>(rng_.uniform(0, 30)) / 100 : 0;
        net_.duplicate = cfg_.faults.duplicate ? static_cast<double>(rng_.uniform(0, 20)) / 100 : 0;
        net_.late = cfg_.faults.late ? static_cast<double>(rng_.uniform(0, 10)) / 100 : 0;
        trace_.line(now_, "NETWORK loss %.2f duplicate %.2f late %.2f", net_.loss, net_.duplicate, net_.late);
        schedule(now_ + rng_.uniform(100, 1500), ev_heal_network{++net_serial_});
        return;
    }
    }
}

void world::dispatch(const sched_payload& p) {
    std::visit(
        [&](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ev_deliver>) {
                const std::size_t i = e.env.to - 1;
                if (std::holds_alternative<timeout_now>(e.env.msg)) --timeout_now_in_flight_;
                char buf[160];
                describe(e.env.msg, buf, sizeof buf);
                const bool drop = !hosts_[i].up() || net_.blocked(e.env.from, e.env.to) ||
                                  e.from_epoch != epoch_[e.env.from - 1] || e.to_epoch != epoch_[i];
                trace_.line(now_, "n%llu <- n%llu %s%s", static_cast<unsigned long long>(e.env.to),
                            static_cast<unsigned long long>(e.env.from), buf, drop ? " (dropped)" : "");
                if (drop) return;
                if (cfg_.group_commit && rng_.chance(0.5)) {
                    if (inbox_[i].empty()) schedule(now_ + rng_.uniform(0, 2), ev_drain{i, hosts_[i].incarnation()});
                    inbox_[i].push_back(message_received{e.env});
                    return;
                }
                turn(i, message_received{e.env});
            } else if constexpr (std::is_same_v<T, ev_election>) {
                if (!hosts_[e.node].up() || e.gen != election_gen_[e.node]) return;
                trace_.line(now_, "n%zu election timeout (term %llu, %s)", e.node + 1,
                            static_cast<unsigned long long>(hosts_[e.node].core().current_term()),
                            role_name(hosts_[e.node].core().role()));
                turn(e.node, election_timeout{});
            } else if constexpr (std::is_same_v<T, ev_heartbeat>) {
                if (!hosts_[e.node].up() || e.gen != heartbeat_gen_[e.node]) return;
                schedule(now_ + true_ticks(e.node, cfg_.heartbeat), ev_heartbeat{e.node, e.gen});   // periodic until stopped
                turn(e.node, heartbeat_timeout{});
            } else if constexpr (std::is_same_v<T, ev_sync>) {
                if (!hosts_[e.node].up() || hosts_[e.node].incarnation() != e.incarnation ||
                    hosts_[e.node].syncs_pending() == 0)
                    return;
                trace_.line(now_, "n%zu sync", e.node + 1);
                sync(e.node);
            } else if constexpr (std::is_same_v<T, ev_client>) {
                client_issue(e.client);
            } else if constexpr (std::is_same_v<T, ev_client_timeout>) {
                client_state& cl = clients_[e.client];
                if (cl.busy && cl.serial == e.serial) {
                    trace_.line(now_, "client %zu %s request %llu", e.client,
                                cl.retrying ? "retries" : "gives up on", static_cast<unsigned long long>(cl.request));
                    if (cl.retrying) client_retry(e.client);
                    else client_done(e.client);
                }
            } else if constexpr (std::is_same_v<T, ev_client_retry>) {
                client_state& cl = clients_[e.client];
                if (!cl.busy || cl.serial != e.serial) return;
                const std::size_t i = rng_.uniform(0, hosts_.size() - 1);
                if (!hosts_[i].up()) {   // connection refused: try again soon
                    schedule(now_ + rng_.uniform(1, 30), ev_client_retry{e.client, cl.serial});
                    return;
                }
                ++stats_.retries;
                client_send(e.client, i);
            } else if constexpr (std::is_same_v<T, ev_fault>) {
                if (faulting_) fault();
            } else if constexpr (std::is_same_v<T, ev_heal_network>) {
                if (e.serial != net_serial_ || !faulting_) return;
                net_.heal();
                net_.loss = base_loss_;
                net_.duplicate = base_dup_;
                net_.late = base_late_;
                trace_.line(now_, "network heals");
            } else if constexpr (std::is_same_v<T, ev_drain>) {
                if (!hosts_[e.node].up() || hosts_[e.node].incarnation() != e.incarnation ||
                    (inbox_[e.node].empty() && client_inbox_[e.node].empty()))
                    return;
                std::vector<event> batch;
                batch.swap(inbox_[e.node]);
                std::vector<std::size_t> senders;
                std::vector<shared_bytes> payloads;
                for (const queued_send& q : client_inbox_[e.node]) {
                    const client_state& cl = clients_[q.client];
                    if (!cl.busy || cl.serial != q.serial || cl.node != e.node) continue;   // gave up meanwhile
                    senders.push_back(q.client);
                    payloads.push_back(make_bytes(cl.payload));
                }
                client_inbox_[e.node].clear();
                trace_.line(now_, "n%zu steps %zu messages and %zu broadcasts into one output", e.node + 1,
                            batch.size(), payloads.size());
                before_receive(e.node, batch);
                host_effects fx;
                const std::uint64_t first = hosts_[e.node].step_many(batch, std::move(payloads), fx);
                for (std::size_t k = 0; k < senders.size(); ++k) {
                    clients_[senders[k]].request = first + k;
                    note_sent(senders[k], e.node);
                }
                carry_out(e.node, fx);
                after_receive(e.node);
            } else if constexpr (std::is_same_v<T, ev_snapshot_done>) {
                node_host& h = hosts_[e.node];
                if (!h.up() || h.incarnation() != e.incarnation || !h.snapshot_pending()) return;
                trace_.line(now_, "n%zu finishes its snapshot", e.node + 1);
                host_effects fx;
                h.finish_snapshot(fx);
                carry_out(e.node, fx);
            } else if constexpr (std::is_same_v<T, ev_seal>) {
                node_host& h = hosts_[e.node];
                if (!h.up() || h.incarnation() != e.incarnation || h.seals_pending() == 0) return;
                trace_.line(now_, "n%zu seals a received snapshot", e.node + 1);
                host_effects fx;
                h.seal_received(fx);
                carry_out(e.node, fx);
            } else if constexpr (std::is_same_v<T, ev_restart>) {
                if (!hosts_[e.node].up() && restart_pending_[e.node]) boot(e.node);
            } else if constexpr (std::is_same_v<T, ev_churn>) {
                if (faulting_) churn();
            }
        },
        p);
}

void world::heal() {
    faulting_ = false;
    net_.heal();
    net_.loss = 0;
    net_.duplicate = 0;
    net_.late = 0;   // (late messages already on their way still arrive, up to late_max from now)
    trace_.line(now_, "HEAL: all faults end");
    for (std::size_t i = 0; i < hosts_.size(); ++i)
        if (!hosts_[i].up() && !retired_[i]) boot(i);
}

// A leadership transfer in progress, or a timeout_now on its way (a late
// copy may arrive long after the transfer timed out, and still starts an
// election in the leader's term, thesis §3.10), can change the term: not
// quiescent until both are over.
bool world::quiescent() const {
    const std::size_t l = leader_index();
    if (l == hosts_.size()) return false;
    const raftlite::core& lc = hosts_[l].core();
    if (lc.transfer_target() != no_node || timeout_now_in_flight_ != 0) return false;
    if (churn_ && !lc.is_voter()) return false;   // a leader on its way out
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (!counts(i)) continue;
        const node_host& h = hosts_[i];
        if (!h.up() || h.syncs_pending() != 0 || !h.runner().queued().empty() || h.runner().after_sync_waiting() != 0 ||
            h.seals_pending() != 0)
            return false;
        const raftlite::core& c = h.core();
        if (c.current_term() != lc.current_term() || c.log().length() != lc.log().length() ||
            c.log().last_term() != lc.log().last_term() || c.commit_length() != lc.log().length() ||
            h.machine().applied() != c.commit_length())
            return false;
    }
    return true;
}

void world::check_stable() const {
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (!hosts_[i].up()) continue;   // (a removed server, stopped)
        if (hosts_[i].core().current_term() != stable_terms_[i])
            throw violation("leader stability",
                            "node " + std::to_string(i + 1) + " moved from term " + std::to_string(stable_terms_[i]) +
                                " to " + std::to_string(hosts_[i].core().current_term()) +
                                " in a healed, quiescent cluster (followers hear the leader every " +
                                std::to_string(cfg_.heartbeat + cfg_.round_trip()) + " ms at most, and time out after " +
                                std::to_string(cfg_.election_timeout) + " ms at the earliest)");
    }
}

// The most round trips of replication any node needs to catch up, at the
// heal: the entries it lacks or holds wrongly (beyond the last entry it holds
// that is known committed), in batches, plus one rejected probe per term run
// of its log beyond that point. Entries yet to come (each client's last
// operation, sent once more by a retrying client, the next leader's no-op,
// the probe) count too. With snapshots, a node more than log_keep_entries
// behind may find what it needs compacted away: it gets a snapshot first.
std::uint64_t world::catch_up_round_trips() const {
    index_t longest = 0;
    for (const node_host& h : hosts_)
        if (h.up()) longest = std::max(longest, h.core().log().length());
    const index_t to_come = clients_.size() * (cfg_.retrying_clients ? 2 : 1) + 2;
    longest += to_come;
    const std::uint64_t snapshot = cfg_.snapshot_entries != 0 ? snapshot_round_trips(longest, to_come) : 0;
    const std::uint64_t batch = cfg_.core.max_batch_entries;
    std::uint64_t worst = 0;
    for (const node_host& h : hosts_) {
        if (!h.up()) {
            // Churn: a stopped removed server may be added again (a change
            // under way at the heal) and must catch up from nothing known.
            if (churn_) {
                std::uint64_t trips = (longest + batch - 1) / batch + 1;
                if (longest > cfg_.core.log_keep_entries) trips += snapshot;
                worst = std::max<std::uint64_t>(worst, trips);
            }
            continue;
        }
        const raft_log& log = h.core().log();
        index_t good = std::min<index_t>(inv_.committed_length(), log.length());
        while (good >= log.start() && log.term_at(good) != inv_.committed_term(good)) --good;
        if (good < log.start()) good = log.start() - 1;
        std::uint64_t runs = 1;
        for (index_t k = good + 1; k <= log.length(); ++k)
            if (k > log.start() && log.term_at(k) != log.term_at(k - 1)) ++runs;
        std::uint64_t trips = (longest - good + batch - 1) / batch + runs;
        if (longest - good > cfg_.core.log_keep_entries) trips += snapshot;
        worst = std::max<std::uint64_t>(worst, trips);
    }
    return worst;
}

// Round trips to send a lagging node the leader's snapshot (Raft §7): its
// bytes in chunks of snapshot_chunk_bytes, snapshot_chunks_inflight per round
// trip, one for the last answer and one for the empty chunk that probes
// first when the transfer was left unanswered; the leader starts over with
// each newer snapshot it takes meanwhile, one per snapshot_entries entries
// beyond the newest snapshot. The bytes: the largest state a node holds or snapshotted
// now, and 10 more for each entry yet to come (one adds at most a short key
// line, the probe's, or lengthens a value or a saved answer by a few digits).
// Client sessions make snapshots larger (each session's record), so with
// chunks of a few bytes this is what dominates a snapshot seed's bound.
std::uint64_t world::snapshot_round_trips(index_t longest, index_t to_come) const {
    std::uint64_t bytes = 0;
    index_t newest = 0;
    for (const node_host& h : hosts_) {
        if (h.up()) bytes = std::max<std::uint64_t>(bytes, h.machine().snapshot().size());
        if (const auto m = h.disk().current_snapshot()) {
            bytes = std::max(bytes, m->size);
            newest = std::max(newest, m->index);
        }
    }
    bytes += 10 * to_come;
    const std::uint64_t chunk = std::max<std::uint64_t>(cfg_.core.snapshot_chunk_bytes, 1);
    const std::uint64_t window = std::max<std::uint64_t>(cfg_.core.snapshot_chunks_inflight, 1);
    const std::uint64_t transfer = ((bytes + chunk - 1) / chunk + window - 1) / window + 2;
    const std::uint64_t transfers = 1 + (longest - std::min(newest, longest) + cfg_.snapshot_entries - 1) /
                                            cfg_.snapshot_entries;
    return transfer * transfers;
}

bool world::converged(index_t upto) const {
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (!counts(i)) continue;
        const node_host& h = hosts_[i];
        if (!h.up() || h.core().commit_length() < upto || h.machine().applied() < upto) return false;
    }
    return true;
}

void world::check_history() {
    std::vector<kv_op> ops;
    ops.reserve(history_.size());
    for (std::size_t k = 0; k < history_.size(); ++k)
        if (!no_effect_[k]) ops.push_back(history_.ops()[k]);
    const lin_result r = check_linearizable(ops);
    if (r.verdict != lin_verdict::linearizable)
        throw violation("linearizability", std::string(lin_verdict_name(r.verdict)) + "\n" + r.explanation);
}

run_result world::run() {
    run_result res;
    res.seed = cfg_.seed;
    try {
        trace_.line(0, "seed %llu, %zu nodes, faults %s", static_cast<unsigned long long>(cfg_.seed),
                    hosts_.size(), cfg_.faults.to_string().c_str());
        for (std::size_t i = 0; i < hosts_.size(); ++i) boot(i);
        for (std::size_t c = 0; c < clients_.size(); ++c) schedule(rng_.uniform(0, 50), ev_client{c});
        schedule(rng_.uniform(100, 400), ev_fault{});
        if (churn_) {
            committed_seen_ = inv_.committed_configuration();
            schedule(rng_.uniform(cfg_.membership_changes / 2, cfg_.membership_changes), ev_churn{});
        }

        auto step_once = [&] {
            scheduled s = queue_.top();
            queue_.pop();
            now_ = s.time;
            if (cfg_.reads == sim_read_mode::lease) set_clocks();
            ++stats_.steps;
            dispatch(s.what);
        };
        // Phase 1: faults.
        while (stats_.steps < cfg_.steps && !queue_.empty()) step_once();

        // The disruptive-rejoin scenario (world_config::rejoin_isolation).
        if (cfg_.rejoin_isolation > 0) {
            heal();   // the faults end; the clients go on
            const std::size_t n = hosts_.size();
            // Late copies arrive and transfers in progress give up first:
            // either may start an election of its own.
            const std::uint64_t calm = now_ + (cfg_.faults.late ? cfg_.late_max : 0) + cfg_.check_quorum_bound();
            const std::uint64_t give_up = calm + cfg_.liveness_bound(catch_up_round_trips());
            auto followed = [&] {
                const std::size_t l = leader_index();
                if (l == n || hosts_[l].core().transfer_target() != no_node || timeout_now_in_flight_ != 0) return false;
                std::size_t k = 0;
                for (const node_host& h : hosts_)
                    k += h.core().current_term() == hosts_[l].core().current_term() && h.core().leader() == l + 1;
                return k >= hosts_[l].core().quorum();
            };
            while (now_ < calm || !followed()) {
                if (queue_.empty() || queue_.top().time > give_up)
                    throw violation("liveness", "no leader a majority follows before the rejoin scenario");
                step_once();
            }
            const std::size_t l = leader_index();
            std::size_t v = n == 1 ? l : rng_.uniform(0, n - 2);
            if (n > 1 && v >= l) ++v;
            std::vector<bool> cut(n, false);
            cut[v] = true;
            net_.split(cut);
            term_t before = 0;
            for (const node_host& h : hosts_) before = std::max(before, h.core().current_term());
            const std::uint64_t leaders_before = inv_.leaders_elected();
            trace_.line(now_, "REJOIN: n%zu cut off for %llu ms (term %llu, leader n%zu)", v + 1,
                        static_cast<unsigned long long>(cfg_.rejoin_isolation),
                        static_cast<unsigned long long>(before), l + 1);
            const std::uint64_t back = now_ + cfg_.rejoin_isolation;
            while (!queue_.empty() && queue_.top().time <= back) step_once();
            net_.heal();
            trace_.line(now_, "REJOIN: n%zu back in term %llu", v + 1,
                        static_cast<unsigned long long>(hosts_[v].core().current_term()));
            const std::uint64_t until = now_ + cfg_.stability_window();
            while (!queue_.empty() && queue_.top().time <= until) step_once();
            term_t after = 0;
            for (const node_host& h : hosts_) after = std::max(after, h.core().current_term());
            ++stats_.rejoins;
            stats_.rejoin_terms += after - before;
            stats_.rejoin_leaders += inv_.leaders_elected() - leaders_before;
            trace_.line(now_, "REJOIN: %llu term(s) started, %llu leader(s) elected",
                        static_cast<unsigned long long>(after - before),
                        static_cast<unsigned long long>(inv_.leaders_elected() - leaders_before));
            if (cfg_.check_rejoin && cfg_.core.pre_vote && after > before)
                throw violation("disruptive rejoin",
                                "with pre-vote, node " + std::to_string(v + 1) + " cut off for " +
                                    std::to_string(cfg_.rejoin_isolation) + " ms and let back raised the term from " +
                                    std::to_string(before) + " to " + std::to_string(after) +
                                    " (a majority followed leader n" + std::to_string(l + 1) + " all along)");
        }

        // Phase 2: heal, then liveness: a broadcast commits everywhere within the bound.
        clients_active_ = false;
        heal();
        const std::uint64_t healed = now_;
        const std::uint64_t catch_up = catch_up_round_trips();
        const std::uint64_t bound = cfg_.liveness_bound(catch_up);
        const std::uint64_t deadline = healed + bound;
        trace_.line(now_, "liveness bound %llu ms (%llu round trips of catch-up)",
                    static_cast<unsigned long long>(bound), static_cast<unsigned long long>(catch_up));
        while (probe_index_ == 0 || !converged(probe_index_)) {
            if (probe_request_ != 0 && probe_index_ == 0 && now_ >= probe_sent_ + cfg_.client_timeout) {
                // Like any client, the probe gives up on a silent node and tries another.
                trace_.line(now_, "probe gives up on request %llu", static_cast<unsigned long long>(probe_request_));
                probe_request_ = 0;
            }
            if (probe_request_ == 0) {
                probe_sent_ = now_;
                if (churn_) {   // a member, up (a removed server is stopped)
                    std::vector<std::size_t> members;
                    for (std::size_t k = 0; k < hosts_.size(); ++k)
                        if (counts(k) && hosts_[k].up()) members.push_back(k);
                    if (members.empty())
                        for (std::size_t k = 0; k < hosts_.size(); ++k)
                            if (hosts_[k].up()) members.push_back(k);
                    probe_node_ = rng_.pick(members);
                } else {
                    probe_node_ = rng_.uniform(0, hosts_.size() - 1);
                }
                host_effects fx;
                probe_request_ = hosts_[probe_node_].broadcast(make_bytes("p probe 0"), fx);
                trace_.line(now_, "probe -> n%zu request %llu", probe_node_ + 1,
                            static_cast<unsigned long long>(probe_request_));
                carry_out(probe_node_, fx);
                continue;
            }
            if (queue_.empty() || queue_.top().time > deadline) {
                const std::size_t l = leader_index();
                std::ostringstream d;
                d << "no broadcast committed on every node within " << bound
                  << " ms of healing (world_config::liveness_bound: " << cfg_.election_rounds
                  << " election rounds, " << catch_up << " round trips of catch-up); leader: "
                  << (l < hosts_.size() ? "n" + std::to_string(l + 1) : std::string("none")) << "; commit/term/pending:";
                for (auto& h : hosts_) {
                    if (!h.up()) {
                        d << " down";
                        continue;
                    }
                    d << " " << h.core().commit_length() << "/t" << h.core().current_term() << "/"
                      << h.core().pending_broadcasts();
                }
                if (churn_)
                    d << "; committed configuration " << to_string(inv_.committed_configuration())
                      << (l < hosts_.size() ? "; leader's " + to_string(hosts_[l].core().configuration()) : "");
                throw violation("liveness", d.str());
            }
            step_once();
        }
        stats_.heal_to_commit_ms = now_ - healed;
        // Let the clients' outstanding operations finish or time out. A
        // retrying client goes on until its command commits, which in a
        // healed cluster takes the attempt under way (client_timeout at
        // most), then an attempt that commits within the liveness bound.
        const std::uint64_t clients_deadline =
            now_ + 2 * cfg_.client_timeout + cfg_.liveness_bound(catch_up_round_trips());
        while (!queue_.empty() && std::any_of(clients_.begin(), clients_.end(), [](auto& c) { return c.busy; })) {
            if (queue_.top().time > clients_deadline) {
                std::string busy;
                for (std::size_t c = 0; c < clients_.size(); ++c)
                    if (clients_[c].busy)
                        busy += " client " + std::to_string(c) + " (" + clients_[c].payload + ", " +
                                std::to_string(clients_[c].attempts) + " attempts)";
                throw violation("liveness", "clients still without an answer " +
                                                std::to_string(clients_deadline - healed) +
                                                " ms after the heal:" + busy);
            }
            step_once();
        }
        // Quiescence: one leader, every log equal to its log and committed,
        // nothing in flight on any disk. The end-of-run checks must not race
        // a commit still on its way.
        // (A late timeout_now on its way delays quiescence until it arrived.)
        const std::uint64_t settle =
            std::max(now_, timeout_now_in_flight_ ? timeout_now_last_ : 0) + cfg_.liveness_bound(catch_up_round_trips());
        while (!quiescent()) {
            if (queue_.empty() || queue_.top().time > settle)
                throw violation("liveness", "the healed cluster did not quiesce (one leader, every log equal to "
                                            "its log and committed, no disk write in flight) within " +
                                                std::to_string(settle - now_) + " ms");
            step_once();
        }
        const std::optional<membership> members = final_members();
        inv_.check_converged(hosts_, members ? &*members : nullptr);
        check_history();
        // From here on, no node's term may change (world_config::stability_window).
        const bool check_stability =
            cfg_.check_stability && cfg_.heartbeat + cfg_.round_trip() < cfg_.election_timeout;
        const std::uint64_t stable_until = now_ + cfg_.stability_window();
        stable_terms_.clear();
        for (const node_host& h : hosts_) stable_terms_.push_back(h.up() ? h.core().current_term() : 0);
        auto step_stable = [&] {
            step_once();
            if (check_stability) check_stable();
        };
        // Every broadcast a node accepted gets an outcome (raft-lite lost them
        // silently): once healed and idle, no core may still hold one.
        const std::uint64_t outcomes = now_ + cfg_.liveness_bound();
        auto pending = [&] {
            std::string s;
            for (const node_host& h : hosts_)
                if (h.up() && h.core().pending_broadcasts() > 0) {
                    s += " n" + std::to_string(h.id()) + ": " + std::to_string(h.core().pending_broadcasts()) + " (";
                    for (const std::string& d : h.core().describe_pending()) s += d + "; ";
                    s += ")";
                }
            return s;
        };
        while (cfg_.check_outcomes && !pending().empty()) {
            if (queue_.empty() || queue_.top().time > outcomes)
                throw violation("broadcast outcome", "healed and quiescent cluster, yet broadcasts still without an "
                                                     "outcome " + std::to_string(cfg_.liveness_bound()) +
                                                         " ms later:" + pending());
            step_stable();
        }
        while (check_stability && !queue_.empty() && queue_.top().time <= stable_until) step_stable();
    } catch (const violation& v) {
        res.ok = false;
        res.invariant = v.invariant;
        res.detail = v.what();
    } catch (const std::exception& e) {
        // e.g. the core's own invariant checks, or a disk contract breach
        res.ok = false;
        res.invariant = "exception";
        res.detail = e.what();
    }
    stats_.virtual_ms = now_;
    stats_.elections = inv_.leaders_elected();
    stats_.committed = inv_.committed_length();
    for (const node_host& h : hosts_) {
        if (!h.up()) continue;
        stats_.terms = std::max<std::uint64_t>(stats_.terms, h.core().current_term());
        stats_.pre_votes += h.core().stats().pre_votes_started;
        stats_.read_rounds += h.core().stats().read_rounds;
        stats_.lease_reads += h.core().stats().lease_reads;
    }
    res.stats = stats_;
    res.digest = trace_.digest();
    if (!res.ok) res.trace = trace_.last();
    return res;
}


// ---- membership churn (world_config::membership_changes; churn.hpp) -------------

membership world::bootstrap(const world_config& cfg) {
    std::vector<node_id> voters;
    for (node_id i = 1; i <= cfg.nodes; ++i) voters.push_back(i);
    return membership(voters);
}

std::optional<membership> world::final_members() const {
    if (!churn_) return std::nullopt;
    const std::size_t l = leader_index();
    if (l < hosts_.size()) return hosts_[l].core().configuration();
    return inv_.committed_configuration();
}

bool world::counts(std::size_t i) const {
    if (!churn_) return true;
    const std::size_t l = leader_index();
    const membership& m = l < hosts_.size() ? hosts_[l].core().configuration() : inv_.committed_configuration();
    return m.contains(i + 1);
}

// Asks the leader (or any node) for the scheduler's next change. Adding a
// removed server brings it back first, as a fresh machine.
void world::churn() {
    const std::uint64_t gap = cfg_.membership_changes;
    // Now and then a second change right after the first, to race it.
    schedule(now_ + (rng_.chance(0.2) ? rng_.uniform(1, 30) : rng_.uniform(gap / 2, gap + gap / 2)), ev_churn{});
    const std::size_t l = leader_index();
    // The leader's configuration (the latest, a change under way included),
    // else the committed one.
    const membership& view = l < hosts_.size() ? hosts_[l].core().configuration() : inv_.committed_configuration();
    const std::optional<membership_change> change = churn_->next(view, l < hosts_.size() ? l + 1 : no_node, rng_);
    if (!change) return;
    std::size_t ask = l;
    if (ask == hosts_.size() || rng_.chance(0.2)) {
        std::vector<std::size_t> up;
        for (std::size_t i = 0; i < hosts_.size(); ++i)
            if (hosts_[i].up()) up.push_back(i);
        if (up.empty()) return;
        ask = rng_.pick(up);
    }
    // A fresh machine is started before it is added, as an operator does
    // (with no configuration it never campaigns); one restarting from its
    // old disk waits for its addition to commit (retire_removed).
    const std::size_t target = change->server.id - 1;
    if (cfg_.wipe_removed && change->what == membership_change::action::add_learner && retired_[target]) {
        bring_back(target);
        if (!hosts_[ask].up()) return;
    }
    ++stats_.membership_asked;
    host_effects fx;
    const std::uint64_t request = hosts_[ask].change_membership(*change, fx);
    changes_asked_[{ask, request}] = *change;
    trace_.line(now_, "membership: n%zu asked to %s n%llu (request %llu)", ask + 1, action_name(change->what),
                static_cast<unsigned long long>(change->server.id), static_cast<unsigned long long>(request));
    carry_out(ask, fx);
}

void world::churn_outcomes(std::size_t i, const host_effects& fx) {
    if (fx.configuration)
        trace_.line(now_, "n%zu configuration: %s", i + 1, to_string(*fx.configuration).c_str());
    for (const host_effects::change_done& d : fx.changes) {
        auto it = changes_asked_.find({i, d.request});
        if (it == changes_asked_.end()) continue;
        trace_.line(now_, "membership: n%zu request %llu (%s n%llu): %s at %llu", i + 1,
                    static_cast<unsigned long long>(d.request), action_name(it->second.what),
                    static_cast<unsigned long long>(it->second.server.id),
                    d.ec ? d.ec.message().c_str() : "committed", static_cast<unsigned long long>(d.index));
        if (!d.ec) ++stats_.membership_committed;
        changes_asked_.erase(it);
    }
}

// A server whose removal committed is stopped (world_config::wipe_removed:
// its disk wiped too), and what it sent or was sent is dropped, as the
// transport drops a removed peer's connections.
void world::retire_removed() {
    if (inv_.committed_configuration_index() == committed_seen_index_) return;
    const membership now = inv_.committed_configuration();
    committed_seen_index_ = inv_.committed_configuration_index();
    ++stats_.configurations;
    trace_.line(now_, "configuration committed at %llu: %s", static_cast<unsigned long long>(committed_seen_index_),
                to_string(now).c_str());
    for (const member& m : committed_seen_.members()) {
        if (now.contains(m.id)) continue;
        const std::size_t i = m.id - 1;
        if (i == probe_node_ && probe_request_ != 0 && probe_index_ == 0) probe_request_ = 0;   // sent again
        if (hosts_[i].up()) {
            hosts_[i].process_crash();   // stopped; what it wrote stays on its disk
            inv_.after_crash(hosts_[i]);
            forget_host(i);
        }
        if (cfg_.wipe_removed) {
            hosts_[i].wipe();
            inv_.on_wipe(hosts_[i]);
        }
        retired_[i] = true;
        restart_pending_[i] = false;
        ++epoch_[i];
        trace_.line(now_, "n%zu removed: stopped%s", i + 1, cfg_.wipe_removed ? ", its disk wiped" : "");
    }
    committed_seen_ = now;
    // A stopped server added again restarts once its addition commits (the
    // leader replicates to it as to a learner that was down): started when
    // asked for, it would campaign in the configuration of its old log for as
    // long as the addition fails.
    for (const member& m : now.members())
        if (retired_[m.id - 1]) bring_back(m.id - 1);
}

void world::bring_back(std::size_t i) {
    ++stats_.readded;
    retired_[i] = false;
    trace_.line(now_, "n%zu comes back%s", i + 1, cfg_.wipe_removed ? " as a fresh machine" : " from its disk");
    boot(i);
}

} // namespace

const char* read_mode_name(sim_read_mode m) noexcept {
    switch (m) {
    case sim_read_mode::log: return "log";
    case sim_read_mode::read_index: return "read_index";
    case sim_read_mode::lease: return "lease";
    }
    return "unknown";
}

run_result run_world(const world_config& cfg) {
    world w(cfg);
    return w.run();
}

std::string describe_failure(const world_config& cfg, const run_result& r) {
    std::ostringstream s;
    s << "FAILED seed " << r.seed << " (" << cfg.nodes << " nodes, " << cfg.steps << " steps, faults "
      << cfg.faults.to_string() << "): " << r.invariant << "\n  " << r.detail << "\n"
      << "last events:\n" << r.trace
      << "replay: sim --seed " << r.seed << " --nodes " << cfg.nodes << " --steps " << cfg.steps
      << " --faults " << cfg.faults.to_string() << (cfg.group_commit ? " --group-commit" : "");
    if (cfg.reads != sim_read_mode::log) s << " --reads " << read_mode_name(cfg.reads);
    if (cfg.retrying_clients) s << " --retrying-clients";
    if (!cfg.core.pre_vote) s << " --pre-vote off";
    if (cfg.rejoin_isolation != 0) s << " --rejoin " << cfg.rejoin_isolation;
    if (cfg.clock_drift > 0) s << " --clock-drift " << cfg.clock_drift;
    if (cfg.lease_drift_bound != world_config{}.lease_drift_bound) s << " --lease-drift-bound " << cfg.lease_drift_bound;
    if (cfg.leader_clock_factor != 1.0) s << " --leader-clock-factor " << cfg.leader_clock_factor;
    const world_config d;
    if (cfg.core.max_batch_entries != d.core.max_batch_entries) s << " --batch " << cfg.core.max_batch_entries;
    if (cfg.core.max_inflight != d.core.max_inflight) s << " --inflight " << cfg.core.max_inflight;
    if (cfg.core.max_inflight_bytes != d.core.max_inflight_bytes) s << " --inflight-bytes " << cfg.core.max_inflight_bytes;
    if (cfg.late_min != d.late_min) s << " --late-min " << cfg.late_min;
    if (cfg.late_max != d.late_max) s << " --late-max " << cfg.late_max;
    if (cfg.max_sync != d.max_sync) s << " --max-sync " << cfg.max_sync;
    if (cfg.clients != d.clients) s << " --clients " << cfg.clients;
    if (cfg.process_crash_percent != d.process_crash_percent) s << " --process-crashes " << cfg.process_crash_percent;
    if (cfg.membership_changes != 0)
        s << " --membership-changes " << cfg.membership_changes << " --spares " << cfg.spare_nodes
          << (cfg.churn_min_voters != d.churn_min_voters ? " --churn-min-voters " + std::to_string(cfg.churn_min_voters)
                                                         : std::string())
          << (cfg.wipe_removed ? " --wipe-removed" : "");
    else if (cfg.spare_nodes != 0)
        s << " --spares " << cfg.spare_nodes;
    if (cfg.snapshot_entries != 0)
        s << " --snapshots " << cfg.snapshot_entries << " --snapshot-keep " << cfg.core.log_keep_entries
          << " --snapshot-chunk " << cfg.core.snapshot_chunk_bytes << " --snapshot-inflight "
          << cfg.core.snapshot_chunks_inflight << " --snapshot-delay " << cfg.snapshot_delay;
    std::string broken;
    const auto& b = cfg.broken_core;
    for (auto [on, name] : {std::pair{b.commit_earlier_term_by_count, "commit_earlier_term_by_count"},
                            std::pair{b.double_vote, "double_vote"},
                            std::pair{b.count_stale_votes, "count_stale_votes"},
                            std::pair{b.commit_beyond_match, "commit_beyond_match"},
                            std::pair{b.ignore_higher_term_in_response, "ignore_higher_term_in_response"},
                            std::pair{b.no_timer_reset_on_leader_message, "no_timer_reset_on_leader_message"},
                            std::pair{b.no_check_quorum_step_down, "no_check_quorum_step_down"},
                            std::pair{b.install_older_snapshot, "install_older_snapshot"},
                            std::pair{b.resend_snapshot_window_unanswered, "resend_snapshot_window_unanswered"},
                            std::pair{b.read_without_round, "read_without_round"},
                            std::pair{b.pre_vote_raises_term, "pre_vote_raises_term"},
                            std::pair{b.count_learner_votes, "count_learner_votes"},
                            std::pair{b.concurrent_changes, "concurrent_changes"},
                            std::pair{b.accept_forwards_from_outside, "accept_forwards_from_outside"},
                            std::pair{b.hold_forwarded_forever, "hold_forwarded_forever"},
                            std::pair{cfg.broken_driver.after_sync_messages_before_sync, "after_sync_messages_before_sync"},
                            std::pair{cfg.broken_driver.compact_before_snapshot_durable, "compact_before_snapshot_durable"},
                            std::pair{cfg.broken_load, "load_without_sync"},
                            std::pair{cfg.broken_sessions, "sessions_ignored"}})
        if (on) broken += (broken.empty() ? "" : ",") + std::string(name);
    if (!broken.empty()) s << " --broken " << broken;
    s
      << (cfg.check_outcomes ? "" : " --skip outcomes")
      << (cfg.check_false_failures ? "" : " --skip failures") << (cfg.check_terms ? "" : " --skip terms")
      << (cfg.check_quorum_rule ? "" : " --skip quorum") << (cfg.check_stability ? "" : " --skip stability")
      << (cfg.check_rejoin ? "" : " --skip rejoin")
      << (cfg.check_membership_rule ? "" : " --skip membership")
      << (cfg.check_snapshot_traffic ? "" : " --skip snapshot-traffic")
      << " --trace\n";
    return s.str();
}

} // namespace raftlite::sim
