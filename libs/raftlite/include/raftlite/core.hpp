// raftlite — the Raft protocol as a pure, deterministic state machine.
//
// Events in, actions out: no sockets, clocks, threads, files or randomness.
// A driver (raftlite::runner, under the node and the simulator) feeds events
// to step() and carries out the returned output in this order:
//   1. apply the log writes (truncate_from, append, use_snapshot,
//      remove_prefix) and save_hard_state; append `snapshot_data` to the
//      snapshot being received;
//   2. send `messages` and `snapshot_sends` (they do not depend on the writes);
//   3. make the writes durable (one sync for everything in the output), then
//      send `messages_after_sync` and report the sync with a log_synced event
//      (naming the last log index and its term at the time of the sync).
//      `messages_after_sync` may leave only once every write handed to the
//      driver so far, by this output or an earlier one, is durable;
//   4. replace the application's state by the snapshot `restore` names, then
//      deliver `committed` entries past it in order, then report `completions`
//      (and `reads`, `membership_changes`); take up `configuration`, the
//      membership now in force (its peers' addresses);
//   5. reset the election timer / start or stop the heartbeat timer.
// The algorithm follows Kleppmann's event-driven formulation of Raft
// (variable names included), with the Raft paper's rules cited where enforced.
#ifndef RAFTLITE_CORE_HPP
#define RAFTLITE_CORE_HPP

#include <raftlite/detail/faults.hpp>
#include <raftlite/messages.hpp>
#include <raftlite/raft_log.hpp>
#include <raftlite/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace raftlite {

struct persistent_state;

/// Parameters of the algorithm. Timer durations live in the driver
/// (node_options / the simulator); the core only counts timer events.
struct core_config {
    node_id self = no_node;
    /// The bootstrap configuration: in force only while neither the log nor
    /// a snapshot holds one (a cluster's first start). Usually every peer of
    /// the config file, as voters, self included. Empty: this node joins an
    /// existing cluster and waits, holding no vote, until a leader adds it.
    membership members;

    std::size_t max_batch_entries = 512;   ///< entries per log_request
    std::size_t max_batch_bytes = 1 << 20; ///< payload bytes per log_request (at least one entry is sent)
    /// Pipelined log_requests per follower. Wide enough that a long link
    /// keeps its pipe full (a closed loop of C clients at round trip R
    /// approaches C / R only if a batch can leave every R / max_inflight);
    /// max_inflight_bytes bounds what a slow follower's window holds.
    std::size_t max_inflight = 64;
    /// Payload bytes of the log_requests in flight to one follower (etcd's
    /// MaxInflightBytes): no new batch leaves while this many are
    /// unacknowledged, but one batch always may, whatever its size.
    std::size_t max_inflight_bytes = std::size_t(8) << 20;
    std::size_t max_pending = 4096;        ///< this node's broadcasts awaiting an outcome
    std::size_t max_uncommitted = 65536;   ///< leader refuses new entries beyond this many uncommitted
    unsigned hold_elections = 3;           ///< election timeouts a broadcast no leader has seen waits for one before failing with not_leader
    unsigned forward_retry_after = 32;     ///< log_requests from the leader before an unanswered forward is sent again
    bool check_quorum = true;              ///< a leader not heard from a majority for an election timeout steps down
    std::size_t snapshot_chunk_bytes = 1 << 20;  ///< snapshot data per install_snapshot message
    std::size_t snapshot_chunks_inflight = 4;    ///< unacknowledged snapshot chunks per follower
    index_t log_keep_entries = 1024;             ///< entries kept below a new snapshot's index, so a follower slightly behind catches up from the log
    std::size_t max_pending_reads = 4096;        ///< reads awaiting a read index: this node's own, and on the leader those of followers
    /// Read rounds (thesis §6.4) a leader keeps unconfirmed for reads: a read
    /// that arrives while fewer are in flight begins its own at once, so it
    /// waits one round trip, not the rest of the round in flight and then
    /// its own. Reads arriving meanwhile share the next round. (A round
    /// confirms every round begun before it, so rounds in flight overlap
    /// safely; the heartbeat begins one whatever this says.)
    std::size_t read_rounds_in_flight = 2;
    /// Thesis §4.2.3: a follower that heard from a current leader since its
    /// last election timeout disregards vote requests (neither adopts their
    /// term nor grants), and so does a leader, so that a server cut off and
    /// back cannot depose a healthy leader. Lease reads rely on it.
    bool leader_stickiness = true;
    /// Pre-vote (thesis §9.6): on an election timeout a node first asks the
    /// voters whether they would vote for it in the next term (vote_request
    /// with pre_vote, term = its own + 1), changing no term and no vote, and
    /// stands for election only once a majority would. A voter agrees iff the
    /// candidate's log is at least as up to date as its own and, with
    /// leader_stickiness, it has not heard from a current leader since its
    /// last election timeout. So a node cut off by a partition does not raise
    /// its term and, back, does not depose a healthy leader.
    bool pre_vote = true;
    /// Lease reads (thesis §6.4.1): once a majority answered a heartbeat
    /// round begun at time t on the leader's clock, it serves reads without a
    /// round until t + lease_duration. Safe only if lease_duration is below
    /// the minimum election timeout by the clocks' drift bound (the driver
    /// computes it: node_options::max_clock_drift), and only with
    /// check_quorum and leader_stickiness. 0: every read waits for a round.
    std::chrono::nanoseconds lease_duration{0};
    /// Catch-up rounds a learner gets before its promotion fails (thesis
    /// §4.2.1): a round begins at each election timeout with the leader's
    /// last index as its target, and the learner is promoted as soon as it
    /// reaches the target of the round in progress.
    unsigned promote_rounds = 10;
};

/// pre_candidate: asking for pre-votes (thesis §9.6), in the term it had as
/// a follower; it has not voted for itself.
enum class role { follower, pre_candidate, candidate, leader };
const char* role_name(role r) noexcept;

/// The outcome of a broadcast, as the core sees it. `unknown`: the entry may
/// have committed, but inside a snapshot this node installed or behind a
/// leader's compacted log, where its origin can no longer be looked up.
enum class broadcast_result { committed, not_leader, superseded, busy, unknown };

/// A chunk of the current snapshot for the driver to read and send: `msg`
/// with `length` bytes of data from msg.offset (the core holds no snapshot
/// data).
struct snapshot_send {
    node_id to = no_node;
    install_snapshot msg;
    std::uint64_t length = 0;
};

struct completion {
    std::uint64_t request = 0;
    broadcast_result result = broadcast_result::committed;
    index_t index = 0;   ///< the committed entry's index (committed only)
};

/// The outcome of a read (thesis §6.4). `ready`: a linearizable read may be
/// served from the application's state once it has applied `index`.
enum class read_result { ready, not_leader, busy };

struct read_completion {
    std::uint64_t request = 0;
    read_result result = read_result::ready;
    index_t index = 0;   ///< the read index (ready only)
};

/// One single-server membership change (thesis §4.1, §4.2.1).
struct membership_change {
    enum class action : std::uint8_t {
        add_learner,   ///< a new server that receives the log without voting
        promote,       ///< a learner becomes a voter, once it has caught up
        demote,        ///< a voter becomes a learner
        remove,        ///< a server leaves the configuration
    };
    action what = action::add_learner;
    member server;     ///< add_learner: the whole record; otherwise its id
};
const char* action_name(membership_change::action a) noexcept;

/// The outcome of a membership change, as the leader sees it.
///   committed      the configuration holding the change is committed (or
///                  already was: asking again for a change in force is safe)
///   not_leader     this node does not lead; nothing was appended
///   busy           another change is under way (one at a time, §4.1)
///   rejected       the change makes no sense for the configuration (an id
///                  taken, no such learner, the last voter removed)
///   not_caught_up  the learner did not catch up within promote_rounds
///   unknown        leadership was lost after the entry was appended: it
///                  may still commit; look at the configuration
enum class membership_result { committed, not_leader, busy, rejected, not_caught_up, unknown };
const char* membership_result_name(membership_result r) noexcept;

struct membership_completion {
    std::uint64_t request = 0;
    membership_result result = membership_result::committed;
    index_t index = 0;   ///< the configuration entry's index (committed only)
};

/// The outcome of a leadership transfer (thesis §3.10). `done`: this leader
/// saw a higher term and stepped down (normally the target's election);
/// `not_leader`: this node does not lead (or stopped leading otherwise);
/// `rejected`: the target is this node or not a voter; `timed_out`: the
/// target did not take over within an election timeout, and this leader
/// serves again; `busy`: another transfer is in progress.
enum class transfer_result { done, not_leader, rejected, timed_out, busy };
const char* transfer_result_name(transfer_result r) noexcept;

struct transfer_completion {
    std::uint64_t request = 0;
    transfer_result result = transfer_result::done;
};

/// What a driver must do after step() (see the file comment for the order).
struct output {
    std::optional<hard_state> save_hard_state;
    std::optional<index_t> truncate_from;      ///< remove log entries with index >= this, before appending
    std::vector<log_entry> append;
    std::optional<snapshot_meta> use_snapshot;  ///< make this durable snapshot the current one (before remove_prefix)
    std::optional<std::pair<index_t, term_t>> remove_prefix;  ///< remove entries below .first; .second is the term of .first-1
    std::vector<install_snapshot> snapshot_data;  ///< follower: chunks for the snapshot being received (offset 0 starts one)
    std::vector<envelope> messages;
    std::vector<snapshot_send> snapshot_sends;    ///< leader: chunks to read from the current snapshot and send
    std::vector<envelope> messages_after_sync;
    std::optional<snapshot_meta> restore;      ///< the application's state becomes this snapshot's (before `committed`)
    std::vector<log_entry> committed;          ///< newly committed, in index order (noops included)
    std::vector<completion> completions;
    std::vector<read_completion> reads;        ///< read indexes (after `committed`: wait until applied)
    std::vector<membership_completion> membership_changes;
    /// The configuration in force changed (a configuration entry appended or
    /// truncated, a snapshot installed), or the core started: this one.
    std::optional<membership> configuration;
    std::vector<transfer_completion> transfers;   ///< outcomes of leadership transfers
    bool reset_election_timer = false;
    std::optional<bool> heartbeat_timer;       ///< true: start (leader), false: stop

    bool has_writes() const noexcept {
        return save_hard_state || truncate_from || !append.empty() || use_snapshot || remove_prefix;
    }
    bool empty() const noexcept;
    /// Records a suffix truncation, merging with writes already in this output.
    void truncate(index_t from);
    /// Clears everything (so that one output object can be reused).
    void clear();
};

// ---- events ----------------------------------------------------------------
struct election_timeout {};
struct heartbeat_timeout {};
struct message_received { envelope env; };
struct broadcast_request { std::uint64_t request = 0; shared_bytes payload; };
/// Several broadcasts that arrived together (one turn of the driver): the
/// leader appends them all and then replicates once, one log_request per
/// follower for the lot (etcd's Ready loop, braft's batching), instead of a
/// request per broadcast. Each gets its own outcome, exactly as if it had
/// been stepped alone.
struct broadcast_batch { std::vector<broadcast_request> requests; };
/// A linearizable read (thesis §6.4): answered with a read index in `reads`.
struct read_request { std::uint64_t request = 0; };
/// A membership change (thesis §4.1): answered in `membership_changes`.
struct membership_request { std::uint64_t request = 0; membership_change change; };
/// Hand this leader's leadership to voter `target` (thesis §3.10): the
/// leader brings the target's log up to date and then tells it to start an
/// election at once (timeout_now). Meanwhile the leader refuses new
/// broadcasts (broadcast_result::busy; reads go on). Answered in
/// `transfers`.
struct transfer_request { std::uint64_t request = 0; node_id target = no_node; };
/// The driver made the log durable up to `last_index`, whose term was `last_term`.
struct log_synced { index_t last_index = 0; term_t last_term = 0; };
/// A snapshot of this node's application state is durable (its writer
/// finished). It covers committed entries only.
struct snapshot_taken { snapshot_meta meta; };
/// The snapshot received from the leader is written and durable (ok), or
/// failed its checksum or its write (!ok: the transfer starts over).
struct snapshot_received { snapshot_meta meta; bool ok = false; };

using event = std::variant<election_timeout, heartbeat_timeout, message_received,
                           broadcast_request, log_synced, snapshot_taken, snapshot_received, read_request,
                           membership_request, transfer_request, broadcast_batch>;

/// Counters a driver can export.
struct core_stats {
    std::uint64_t elections_started = 0;
    std::uint64_t terms_as_leader = 0;
    std::uint64_t messages_rejected = 0;   ///< from unknown senders or violating the protocol
    std::uint64_t votes_disregarded = 0;   ///< vote requests ignored while a leader was known (thesis §4.2.3)
    std::uint64_t read_rounds = 0;         ///< rounds begun out of the heartbeat's turn because reads waited (leader)
    std::uint64_t lease_reads = 0;         ///< reads served under the leader's lease, without a round
    std::uint64_t configurations_appended = 0;  ///< membership changes this node appended as leader
    std::uint64_t pre_votes_started = 0;   ///< pre-elections begun (thesis §9.6)
    std::uint64_t pre_votes_won = 0;       ///< pre-elections a majority agreed to: real elections followed
    std::uint64_t transfers_started = 0;   ///< leadership transfers begun as leader (thesis §3.10)
    std::uint64_t transfers_timed_out = 0; ///< of those, given up after an election timeout
};

class core {
public:
    /// A node starting with empty state.
    explicit core(core_config cfg);
    /// A node restarting from what its persister loaded.
    core(core_config cfg, const persistent_state& restored);

    /// Feeds one event; appends the actions to `out` (which may already hold
    /// actions of earlier events of the same driver turn: group commit).
    void step(const event& e, output& out);
    /// One event that is a driver turn of its own (step, then end_turn).
    output step(const event& e) {
        output o;
        step(e, o);
        end_turn(o);
        return o;
    }
    /// The driver's turn is over: appends the actions the turn's events left
    /// owing. A leader appends the forwards of a turn as they arrive and
    /// replicates them here, together: one log_request per follower for the
    /// lot, as for the broadcasts of a turn (broadcast_batch). A driver calls
    /// it after feeding what arrived together, before carrying the output
    /// out (runner::flush does).
    void end_turn(output& out);

    /// The first actions after construction: arms the election timer.
    output start();

    /// Withdraws a broadcast that never left this node (held for want of a
    /// leader, never forwarded nor appended): it will never be in any log.
    /// Returns false, changing nothing, for any other request, whose outcome
    /// the cluster may still decide. Takes no actions, so it needs no output.
    bool withdraw(std::uint64_t request);
    /// Forgets a read this node asked for (its caller gave up): no answer
    /// will be reported for it. Takes no actions.
    void withdraw_read(std::uint64_t request);
    /// Gives up the leadership transfer `request` (its caller gave up): the
    /// leader serves broadcasts again and reports nothing for it. A
    /// timeout_now already sent stays sent. Takes no actions.
    void withdraw_transfer(std::uint64_t request);

    /// The driver's monotonic clock, read before an event is stepped; only
    /// lease reads use it (the time a heartbeat round began). Without it,
    /// no read is served under a lease.
    void observe_clock(std::chrono::nanoseconds now) noexcept {
        now_ = now;
        has_clock_ = true;
    }

    // ---- observers (for the driver's status and for tests) ----
    node_id id() const noexcept { return cfg_.self; }
    term_t current_term() const noexcept { return current_term_; }
    node_id voted_for() const noexcept { return voted_for_; }
    enum role role() const noexcept { return current_role_; }
    node_id leader() const noexcept { return current_leader_; }
    index_t commit_length() const noexcept { return commit_length_; }
    index_t durable_length() const noexcept { return durable_length_; }
    const raft_log& log() const noexcept { return log_; }
    /// The current snapshot (index 0: none yet).
    const snapshot_meta& snapshot() const noexcept { return snapshot_; }
    /// Followers being sent a snapshot (leader only).
    std::size_t snapshot_transfers() const noexcept;
    const core_config& config() const noexcept { return cfg_; }
    const core_stats& stats() const noexcept { return stats_; }
    /// The voter this leader is handing its leadership to (no_node: none).
    node_id transfer_target() const noexcept { return transfer_ ? transfer_->target : no_node; }
    std::size_t pending_broadcasts() const noexcept { return pending_.size(); }
    /// Reads awaiting a read index: this node's own, and a leader's waiters.
    std::size_t pending_reads() const noexcept { return pending_reads_.size() + read_waiters_.size(); }
    /// True while this leader's lease holds (lease reads on, clock observed).
    bool lease_valid() const noexcept;
    /// This node's broadcasts awaiting an outcome and where each waits
    /// ("request 7: held", "... forwarded to n2", "... appended at 12 term 3"); for diagnostics.
    std::vector<std::string> describe_pending() const;
    /// Kleppmann's ackedLength[f] (leader only; 0 otherwise).
    index_t acked_length(node_id f) const noexcept;
    /// Kleppmann's sentLength[f] (leader only; 0 otherwise).
    index_t sent_length(node_id f) const noexcept;
    /// The configuration in force: the latest in the log, committed or not
    /// (thesis §4.1), else the snapshot's, else the bootstrap one.
    const membership& configuration() const noexcept;
    /// The index of the entry that holds it (the snapshot's index; 0: bootstrap).
    index_t configuration_index() const noexcept;
    /// The configuration as of entry `index` (for a snapshot taken there):
    /// the latest configuration entry at or below it. Precondition: index
    /// is not below the current snapshot's.
    membership configuration_at(index_t index) const;
    /// True when this node votes in the configuration in force.
    bool is_voter() const noexcept { return configuration().is_voter(cfg_.self); }
    /// The votes or acknowledgements that make a majority of the voters.
    std::size_t quorum() const noexcept { return configuration().quorum(); }

private:
    friend struct detail::core_test_access;

    // replication progress of one follower (leader only)
    struct progress {
        index_t sent_length = 0;       ///< next entry to send is sent_length+1
        index_t acked_length = 0;      ///< known to match the leader's log
        bool replicating = false;      ///< false: probing (one request at a time)
        bool probe_outstanding = false;
        struct batch_in_flight {
            index_t end = 0;           ///< the batch's last index
            std::size_t bytes = 0;     ///< its payload bytes
        };
        std::deque<batch_in_flight> inflight;   ///< pipelined batches, oldest first
        std::size_t inflight_bytes = 0;         ///< payload bytes of `inflight`
        void clear_inflight() noexcept {
            inflight.clear();
            inflight_bytes = 0;
        }
        /// Forgets the batches an acknowledgement of `ack` covers.
        void acked_inflight(index_t ack) noexcept {
            while (!inflight.empty() && inflight.front().end <= ack) {
                inflight_bytes -= inflight.front().bytes;
                inflight.pop_front();
            }
        }
        unsigned heartbeats_without_progress = 0;
        bool recently_active = false;  ///< heard from since the last quorum check
        // Snapshot state (etcd's tracker: probe / replicate / snapshot): the
        // entries the follower needs were compacted, so it is sent the
        // snapshot first (Raft §7).
        bool snapshotting = false;
        snapshot_meta snap;            ///< the snapshot being sent
        std::uint64_t snap_acked = 0;  ///< bytes the follower has, in order
        std::uint64_t snap_sent = 0;   ///< next byte to send
        bool snap_done_sent = false;   ///< the last chunk is out
        bool snap_probing = false;     ///< unanswered: empty chunks only, until the follower answers
        std::uint64_t acked_round = 0; ///< the highest read round it answered in this term
        index_t commit_sent = 0;       ///< the highest leader_commit sent to it
    };

    // a read waiting on the leader for its round (thesis §6.4)
    struct read_waiter {
        node_id from = no_node;        ///< the node that asked (self: a read of our own)
        std::uint64_t request = 0;
        index_t index = 0;             ///< the read index: the commit length when the read was taken up
        std::uint64_t round = 0;       ///< the round that confirms it; 0: waits for an entry of our term to commit
    };

    // a read of our own waiting for the leader's read index (not leader)
    struct pending_read {
        node_id asked = no_node;       ///< no_node: held until a leader is known
        std::uint64_t asked_at = 0;    ///< log_requests_seen_ when last asked
    };

    // the snapshot a follower is receiving
    struct incoming_snapshot {
        snapshot_meta meta;
        std::uint64_t next_offset = 0;   ///< bytes received in order
        bool finishing = false;          ///< the last chunk is being made durable
    };

    // a broadcast accepted on this node and not yet resolved
    struct pending {
        enum class state { held, forwarded, appended } where = state::held;
        shared_bytes payload;
        bool ever_forwarded = false;
        index_t search_from = 0;       ///< commit length when first forwarded
        index_t index = 0;             ///< appended: entry index
        term_t term = 0;               ///< appended: entry term
        std::uint64_t forwarded_at = 0;  ///< forwarded: log_requests_seen_ when last sent
        node_id forwarded_to = no_node;  ///< forwarded: the leader asked
        term_t forwarded_term = 0;       ///< forwarded: in which term
    };

    // events
    void on_election_timeout(output& out);
    void on_heartbeat(output& out);
    void on_message(const envelope& env, output& out);
    void on_broadcasts(const broadcast_request* first, std::size_t count, output& out);
    /// Appends (leader), forwards or holds one broadcast; true if appended.
    bool take_broadcast(std::uint64_t request, const shared_bytes& payload, output& out);
    void on_log_synced(const log_synced& s, output& out);
    void on_snapshot_taken(const snapshot_meta& meta, output& out);
    void on_snapshot_received(const snapshot_received& r, output& out);
    void on_read(std::uint64_t request, output& out);
    void on_membership_request(const membership_request& r, output& out);
    void on_transfer(const transfer_request& t, output& out);

    void on_vote_request(node_id from, const vote_request& m, output& out);
    void on_vote_response(node_id from, const vote_response& m, output& out);
    void on_log_request(node_id from, const log_request& m, output& out);
    void on_log_response(node_id from, const log_response& m, output& out);
    void on_forward_request(node_id from, const forward_request& m, output& out);
    void on_forward_response(node_id from, const forward_response& m, output& out);
    void on_install_snapshot(node_id from, const install_snapshot& m, output& out);
    void on_install_snapshot_response(node_id from, const install_snapshot_response& m, output& out);
    void on_read_index_request(node_id from, const read_index_request& m, output& out);
    void on_read_index_response(node_id from, const read_index_response& m, output& out);
    void on_timeout_now(node_id from, const timeout_now& m, output& out);
    void on_pre_vote_request(node_id from, const vote_request& m, output& out);
    void on_pre_vote_response(node_id from, const vote_response& m, output& out);
    bool leader_known() const noexcept;
    progress* answering_follower(node_id from, term_t term, output& out);

    // transitions
    void become_follower(term_t term, output& out);
    void become_pre_candidate(output& out);
    void become_candidate(output& out, bool leadership_transfer = false);
    void forget_leader(output& out);
    // leadership transfer (thesis §3.10)
    void advance_transfer(output& out);
    void finish_transfer(transfer_result r, output& out);
    void become_leader(output& out);
    void set_leader(node_id leader, output& out);

    // replication
    void replicate_log(node_id f, progress& p, bool heartbeat, output& out);
    void send_log_request(node_id f, progress& p, log_request r, output& out);
    void announce_commit(output& out);
    log_request make_log_request(index_t prefix_len, bool with_entries) const;
    bool append_entries(const log_request& m, output& out);
    void commit_log_entries(output& out);
    void advance_commit(index_t new_commit, output& out);
    /// Appends an entry of the current term. With `replicate`, sends it on
    /// to the followers at once; without, the caller replicates once after
    /// appending several (a broadcast batch).
    index_t append_local(entry_kind kind, entry_origin origin, shared_bytes payload, output& out,
                         bool replicate = true);
    void replicate_to_all(output& out);
    void start_snapshot_transfer(progress& p);
    void send_snapshot_chunks(node_id f, progress& p, bool heartbeat, output& out);
    void install_received_snapshot(const snapshot_meta& meta, output& out);

    // reads (thesis §6.4)
    void take_up_read(node_id from, std::uint64_t request, output& out);
    bool own_term_committed() const noexcept;
    void start_read_round();
    void begin_read_round(output& out);
    bool room_for_read_round() const noexcept;
    void note_read_round(progress& p, std::uint64_t round, output& out);
    void confirm_read_round(std::uint64_t round, output& out);
    void release_reads(output& out);
    void answer_read(node_id from, std::uint64_t request, read_result r, index_t index, output& out);
    void ask_leader_for_reads(output& out);
    void leave_reads_behind(output& out);   ///< this node stops leading
    void fail_held_reads(output& out);
    // membership (thesis §4)
    void note_configuration(const log_entry& e);
    void configuration_changed(output& out);
    std::size_t votes_counted() const;
    bool only_voter() const noexcept;
    /// The highest value a majority of the voters of the configuration in
    /// force has reached: `own` for this node (if it votes), `of(progress)`
    /// for the others (0 without progress); nothing without voters.
    template <class Of>
    std::optional<std::uint64_t> majority_value(std::uint64_t own, Of of) const;
    bool may_stand() const;
    void advance_change(output& out);
    void finish_change(membership_result r, index_t index, output& out);
    void abandon_change(output& out);   ///< leadership lost: unknown once appended, else not_leader
    void leave_leadership(output& out);   ///< a leader stops leading without a new term
    // broadcasts
    void forward_pending(output& out);
    void retry_forwards(output& out);
    void send_forward(std::uint64_t request, pending& p, output& out);
    void complete(std::uint64_t request, broadcast_result r, index_t index, output& out);
    void displace(std::uint64_t request, output& out);   ///< its expected entry lost to another
    void unindex(std::uint64_t request, const pending& p);
    void fail_held(broadcast_result r, output& out);
    void settle_pending(output& out);   ///< every pending broadcast gets its outcome: not_leader if no leader saw it, else unknown
    std::optional<index_t> find_origin(entry_origin origin, index_t search_from) const;
    void index_origins();                              ///< becoming leader: origins_ from the whole log
    void index_origin(const log_entry& e);             ///< leader: an entry appended
    void unindex_origins_below(index_t upto);          ///< leader: the prefix below upto compacted
    /// Queues a retry of `request` (a forward, or a read when `read`) sent
    /// at `sent_at` (log_requests_seen_), due forward_retry_after later.
    void schedule_retry(std::uint64_t request, bool read, std::uint64_t sent_at);
    /// False when entries after search_from were compacted: a request found
    /// nowhere in the log may still be in that prefix.
    bool origin_findable(index_t search_from) const noexcept;

    void save_hard_state(output& out, bool with_commit = false);
    void send(node_id to, message m, output& out);
    void send_after_sync(node_id to, message m, output& out);
    void check_invariants() const;

    core_config cfg_;
    // Kleppmann's state; the first three are durable (through output::save_hard_state and the log writes)
    term_t current_term_ = 0;
    node_id voted_for_ = no_node;
    raft_log log_;
    snapshot_meta snapshot_;                  ///< the current snapshot (index 0: none)
    std::optional<incoming_snapshot> incoming_;   ///< follower: the snapshot being received
    index_t commit_length_ = 0;
    enum role current_role_ = role::follower;
    node_id current_leader_ = no_node;
    std::set<node_id> votes_received_;
    std::map<node_id, progress> followers_;   ///< sentLength[] and ackedLength[] per follower

    hard_state saved_;                 ///< last hard state handed to the driver
    index_t durable_length_ = 0;       ///< own log durable up to here (the leader's own ack)
    unsigned elections_without_leader_ = 0;
    term_t superseded_below_term_ = 0;  ///< appended broadcasts of earlier terms were resolved up to this committed term

    std::deque<read_waiter> read_waiters_;                ///< leader: reads awaiting their round, in order
    std::map<std::uint64_t, pending_read> pending_reads_; ///< not leader: our reads awaiting a leader's read index
    std::uint64_t read_round_ = 0;                        ///< leader: the last round begun
    std::uint64_t confirmed_round_ = 0;                   ///< leader: the last round a majority answered
    std::deque<std::pair<std::uint64_t, std::chrono::nanoseconds>> round_starts_;   ///< leader: rounds begun since the last confirmed one, and when
    std::chrono::nanoseconds lease_until_{0};             ///< leader: the lease holds before this time
    std::chrono::nanoseconds now_{0};                     ///< the driver's clock (observe_clock)
    bool has_clock_ = false;
    bool lease_forfeited_ = false;                        ///< leader: a timeout_now went out in this term (no lease until the next)
    bool heard_from_leader_ = false;                      ///< since our last election timeout (thesis §4.2.3)

    // a membership change the leader is carrying out (one at a time, §4.1)
    struct change_in_progress {
        std::uint64_t request = 0;
        membership_change change;
        enum class stage { waiting, catching_up, appended } at = stage::waiting;
        index_t round_target = 0;      ///< catching_up: the index the learner must reach
        unsigned rounds = 0;           ///< catching_up: rounds begun
        index_t index = 0;             ///< appended: the configuration entry
    };
    std::map<index_t, membership> configs_;               ///< configuration entries in the log, by index
    std::optional<change_in_progress> change_;            ///< leader: the change under way
    // a leadership transfer in progress (leader only, thesis §3.10)
    struct transfer_state {
        std::uint64_t request = 0;
        node_id target = no_node;
        unsigned ticks = 0;            ///< election timer expiries since it began
        bool timeout_now_sent = false;
    };
    std::optional<transfer_state> transfer_;

    std::map<std::uint64_t, pending> pending_;            ///< this node's broadcasts by request id
    // Leader: where each entry with an origin sits in log_, so that a
    // forwarded broadcast (and a retry of it) is recognised in constant time
    // instead of a scan of up to max_uncommitted entries. Kept in step with
    // append_local and compaction (a leader never truncates, §5.3), built
    // when this node becomes leader, empty otherwise. A multimap because a
    // faulty history may hold two copies; find_origin takes the lowest index
    // above search_from, as the scan did.
    struct origin_hash {
        std::size_t operator()(const entry_origin& o) const noexcept {
            return std::hash<std::uint64_t>{}(o.request * 0x9E3779B97F4A7C15ull ^ o.node);
        }
    };
    std::unordered_multimap<entry_origin, index_t, origin_hash> origins_;
    // Not leader: retries of forwards and read index requests, in the order
    // they fall due (sent_at + forward_retry_after log_requests), so that a
    // log_request costs what is due, not a walk of every pending request.
    // An entry whose request was answered or sent again since is stale and
    // skipped when it comes up (its sent_at no longer matches).
    struct retry_slot {
        std::uint64_t sent_at = 0;
        std::uint64_t request = 0;
        bool read = false;
    };
    std::deque<retry_slot> retries_;
    std::uint64_t log_requests_seen_ = 0;                 ///< log_requests taken as follower, ever
    std::multimap<index_t, std::uint64_t> pending_by_index_;   ///< appended ones, by entry index (two may claim one index: a stale answer and our own entry)
    core_stats stats_;
    bool replication_owed_ = false;    ///< leader: forwards appended this turn, not yet replicated (end_turn)
    detail::core_faults faults_;       ///< all off outside the simulator's broken-core tests
};

} // namespace raftlite

#endif
