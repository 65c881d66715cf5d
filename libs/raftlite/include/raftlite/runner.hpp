// raftlite — the runner: the one driver of raftlite::core.
//
// core.hpp says in what order a driver must carry out the core's output:
// writes, immediate messages, one sync, after-sync messages and log_synced,
// deliveries and outcomes, timers. That order is what makes a vote or an
// acknowledgement a promise (Raft §5.1: respond only after updating stable
// storage), so it is written down once, here, and every world runs it:
//
//   node      = runner + strand + steady_timers + disk thread + transport
//   simulator = runner + virtual clock + virtual network + memory_persister
//   harness   = runner + manual time + memory_persister
//
// The runner is synchronous and deterministic: no threads, clocks, sockets
// or randomness. It talks to its world only through runner_host. Its writes
// go to the persister in disk rounds: a round takes every batch of writes
// queued so far (group commit: many events, one sync). Rounds run in order,
// one after another, and a round's after-sync messages leave only once its
// writes and every earlier one are durable. Several rounds may be in flight:
// while one syncs, the next wait at the disk, which can start the next sync
// as soon as one ends instead of waiting for the runner to hear of it (the
// hop back to the runner's context costs as much as a fast sync), and may
// take all that wait into one sync.
#ifndef RAFTLITE_RUNNER_HPP
#define RAFTLITE_RUNNER_HPP

#include <raftlite/core.hpp>
#include <raftlite/detail/faults.hpp>
#include <raftlite/error.hpp>
#include <raftlite/persister.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace raftlite {

/// Writes of one output and the messages that wait for them.
struct write_batch {
    std::optional<index_t> truncate_from;
    std::vector<log_entry> append;
    std::optional<snapshot_meta> use_snapshot;
    std::optional<std::pair<index_t, term_t>> remove_prefix;
    std::optional<hard_state> hard;
    std::vector<envelope> after_sync;
    index_t last_index = 0;   ///< the log's last entry when the batch was made
    term_t last_term = 0;

    bool has_writes() const noexcept {
        return truncate_from || !append.empty() || use_snapshot || remove_prefix || hard;
    }
};

/// One group commit: batches written in order, then made durable by one sync.
/// A host may run it on another thread (it touches only the persister) and
/// hands it back with runner::disk_round_done on the runner's own context.
class disk_round {
public:
    /// Applies every batch's writes in order (truncate, append, use_snapshot,
    /// remove_prefix, hard state).
    boost::system::error_code write(persister& storage) const;
    /// Makes the writes durable; a round without writes needs no sync.
    boost::system::error_code sync(persister& storage) const;
    /// write() then sync(): what a disk thread does.
    boost::system::error_code write_and_sync(persister& storage) const;

    bool has_writes() const noexcept;
    const std::vector<write_batch>& batches() const noexcept { return batches_; }

private:
    friend class runner;
    std::vector<write_batch> batches_;
};

class runner;

/// What a runner needs from the world around it. Every call comes from the
/// runner's own context (a strand, the simulator's loop), never concurrently.
class runner_host {
public:
    /// A message for another node.
    virtual void send(envelope message) = 0;
    /// Deferred disk mode: write and sync `round` (on a disk executor, or
    /// later in virtual time) and then call runner::disk_round_done with it,
    /// never from inside this call. Rounds are handed over in order and must
    /// be written, synced and handed back in that order: a round's writes
    /// start only after the previous round's sync.
    virtual void write_and_sync(disk_round round) = 0;
    /// A committed entry (application entries, the leaders' no-ops and
    /// configuration entries), in
    /// index order, each index at most once per runner.
    virtual void deliver(const log_entry& entry) = 0;
    /// The outcome of a broadcast: {} with the entry's index once committed,
    /// or errc::not_leader, superseded, busy, timed_out, stopped, storage_failed.
    virtual void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) = 0;
    /// The outcome of a read (runner::feed_read, thesis §6.4): {} with the
    /// read index once every entry up to it was delivered here, so the
    /// application's state may serve a linearizable read now; or
    /// errc::not_leader, busy, timed_out, stopped, storage_failed.
    virtual void read_done(std::uint64_t request, boost::system::error_code ec, index_t index) = 0;
    /// The outcome of a membership change (runner::feed_membership_change):
    /// {} with the configuration entry's index once committed, or
    /// errc::not_leader, busy, change_rejected, not_caught_up,
    /// outcome_unknown (leadership lost after the entry was appended: look at
    /// the configuration), stopped, storage_failed.
    virtual void membership_done(std::uint64_t request, boost::system::error_code ec, index_t index) {
        (void)request, (void)ec, (void)index;
    }
    /// The configuration in force changed (thesis §4.1: from the moment its
    /// entry is in the log), or the runner started: reach these servers.
    /// Called before the messages of the same step are sent.
    virtual void configuration_changed(const membership& members) { (void)members; }
    /// The outcome of a leadership transfer (runner::feed_transfer, thesis
    /// §3.10): {} once this leader saw a higher term and stepped down, or
    /// errc::not_leader, transfer_rejected, transfer_timed_out, busy,
    /// timed_out, stopped, storage_failed. Hosts that never transfer need
    /// not override it.
    virtual void transfer_done(std::uint64_t request, boost::system::error_code ec) {
        (void)request;
        (void)ec;
    }
    /// A monotonic clock, for lease reads (core_config::lease_duration).
    /// nullopt: the host has none, and no read is served under a lease.
    virtual std::optional<std::chrono::nanoseconds> now() { return std::nullopt; }
    /// Restart the election timer with a fresh random timeout.
    virtual void reset_election_timer() = 0;
    /// Start (true) or stop (false) the periodic heartbeat timer.
    virtual void set_heartbeat(bool running) = 0;
    /// A write or sync failed: the runner takes no more events and has failed
    /// every broadcast awaiting an outcome with errc::storage_failed.
    virtual void storage_failed(boost::system::error_code ec) = 0;
    /// Entries the log gained (not yet durable); for metrics and checks.
    virtual void appended(const std::vector<log_entry>& entries) { (void)entries; }
    /// Back-pressure: false while the application cannot take another
    /// delivery. The runner then keeps committed entries back, in order, until
    /// runner::resume_deliveries.
    virtual bool can_deliver() { return true; }
    /// Committed entries wait beyond what one turn delivers
    /// (runner_options::max_deliveries_per_turn): call
    /// runner::resume_deliveries in a later turn, so that timers and messages
    /// are handled in between.
    virtual void deliveries_pending() {}

    // ---- snapshots (Raft §7; thesis §5) -----------------------------------
    /// The application's state becomes snapshot `meta`'s (read its data with
    /// persister::read_snapshot): at a restart, and when the leader sent it.
    /// Committed entries after meta.index are delivered next.
    virtual void restore(const snapshot_meta& meta) = 0;
    /// Asks the application for a snapshot of its state as of entry `index`
    /// (the last one delivered), whose configuration was `members` (stored
    /// with it, thesis §5.1): it fills a persister::begin_snapshot writer,
    /// on any thread, while deliveries go on, and the host hands the result
    /// to runner::snapshot_done on the runner's context. A host that cannot
    /// take snapshots calls snapshot_done with an error.
    virtual void take_snapshot(index_t index, term_t term, const membership& members) = 0;
    /// Seals a snapshot received from the leader (writer->finish with
    /// `expected`, which fsyncs: off the runner's context where that blocks)
    /// and reports it with runner::received_snapshot_done, possibly from
    /// inside this call.
    virtual void finish_received_snapshot(runner& r, std::shared_ptr<snapshot_writer> writer,
                                          const snapshot_meta& expected);

protected:
    ~runner_host() = default;
};

/// The error code a broadcast completes with for a core outcome.
boost::system::error_code outcome_code(broadcast_result r) noexcept;
/// The core outcome an error code names; nullopt for the driver's own
/// outcomes (timed_out, stopped, storage_failed) and anything else.
std::optional<broadcast_result> core_outcome(boost::system::error_code ec) noexcept;

struct runner_options {
    core_config core;
    /// Entries up to here were applied before a restart: not delivered again.
    index_t applied_index = 0;
    /// Request ids start here (and above every id of this node in the log),
    /// so that an id never repeats across restarts: an old entry with the
    /// same origin would otherwise complete a new broadcast.
    std::uint64_t first_request = 1;
    /// Inline: writes and the sync happen inside step(), for storage that does
    /// not block (memory). Deferred: rounds go to runner_host::write_and_sync.
    bool sync_inline = false;
    /// Committed entries handed to the host per call (a strand turn); the
    /// rest waits for runner_host::deliveries_pending. 0: no bound.
    std::size_t max_deliveries_per_turn = 1024;
    /// Ask for a snapshot once this many entries were applied since the last
    /// one (0: never by count) ...
    index_t snapshot_entries = 0;
    /// ... or this many payload bytes (0: never by size).
    std::uint64_t snapshot_bytes = 0;
    /// Deferred rounds handed to the host and not yet back (at least 1);
    /// beyond it, writes queue in the runner and share the next round. Two
    /// or more keep the disk busy (the next round waits at the disk while
    /// one syncs); one makes every round wait for the runner to hear of the
    /// last.
    std::size_t max_rounds_in_flight = 16;
};

class runner {
public:
    runner(runner_options options, persister& storage, runner_host& host);

    /// Reads the persisted state and builds the core from it. Call once, first.
    boost::system::error_code load();
    /// The core's first actions (arming the election timer).
    void start();

    // ---- events ----------------------------------------------------------
    /// Steps one event and carries out the output.
    void step(const event& e) { feed(e); flush(); }
    /// Steps an event into the output being gathered, without carrying it
    /// out: a driver feeds what arrived together, then flushes once.
    void feed(const event& e);
    /// Starts a broadcast (fed, not flushed); returns its request id.
    std::uint64_t feed_broadcast(shared_bytes payload);
    /// Starts a broadcast and carries out the output; returns its request id.
    std::uint64_t broadcast(shared_bytes payload) {
        const std::uint64_t r = feed_broadcast(std::move(payload));
        flush();
        return r;
    }
    /// Starts the broadcasts that arrived together (one driver turn) as one
    /// core event (broadcast_batch: a leader appends them all, then
    /// replicates once); fed, not flushed. They get consecutive request ids,
    /// the first of which is returned; each completes on its own, as if fed
    /// alone by feed_broadcast.
    std::uint64_t feed_broadcasts(std::vector<shared_bytes> payloads);
    /// Starts broadcasts together and carries out the output; returns the
    /// first request id.
    std::uint64_t broadcasts(std::vector<shared_bytes> payloads) {
        const std::uint64_t r = feed_broadcasts(std::move(payloads));
        flush();
        return r;
    }
    /// Starts a linearizable read (fed, not flushed); returns its request id.
    /// runner_host::read_done reports it.
    std::uint64_t feed_read();
    /// Starts a read and carries out the output; returns its request id.
    std::uint64_t read() {
        const std::uint64_t r = feed_read();
        flush();
        return r;
    }
    /// Starts a membership change (fed, not flushed); returns its request id.
    /// runner_host::membership_done reports it.
    std::uint64_t feed_membership_change(membership_change change);
    /// Starts a membership change and carries out the output.
    std::uint64_t change_membership(membership_change change) {
        const std::uint64_t r = feed_membership_change(std::move(change));
        flush();
        return r;
    }
    /// Starts a leadership transfer to `target` (fed, not flushed; thesis
    /// §3.10); returns its request id. runner_host::transfer_done reports it.
    std::uint64_t feed_transfer(node_id target);
    /// Starts a leadership transfer and carries out the output.
    std::uint64_t transfer(node_id target) {
        const std::uint64_t r = feed_transfer(target);
        flush();
        return r;
    }
    /// Ends the core's turn (core::end_turn: what the turn's events left
    /// owing, such as the replication of the forwards it took) and carries
    /// out everything fed so far.
    void flush();
    /// A deferred round came back (on the runner's context).
    void disk_round_done(disk_round round, boost::system::error_code ec);
    /// The application's snapshot asked for by take_snapshot is finished
    /// (durable) with `meta`, or failed with `ec` (asked again later).
    void snapshot_done(const snapshot_meta& meta, boost::system::error_code ec);
    /// A received snapshot was sealed (or failed its checksum or write).
    void received_snapshot_done(const snapshot_meta& expected, boost::system::error_code ec);
    /// Asks for a snapshot now (if entries were applied since the last one
    /// and none is being taken); true if one was asked for.
    bool request_snapshot();

    /// The broadcast completes now with `ec` (e.g. errc::timed_out), and its
    /// later outcome, if any, is not reported.
    void abandon(std::uint64_t request, boost::system::error_code ec);
    /// The read completes now with `ec` (e.g. errc::timed_out) and is forgotten.
    void abandon_read(std::uint64_t request, boost::system::error_code ec);
    /// The membership change completes now with `ec` (e.g. errc::timed_out);
    /// the leader may still carry it out, and its outcome is not reported.
    void abandon_change(std::uint64_t request, boost::system::error_code ec);
    /// The transfer completes now with `ec` and the leader gives it up (it
    /// takes broadcasts again); a timeout_now already sent stays sent.
    void abandon_transfer(std::uint64_t request, boost::system::error_code ec);
    /// The caller gives up on a broadcast: one that never left this node is
    /// withdrawn and completes with operation_aborted; one that did completes
    /// with errc::outcome_unknown (it may still commit).
    void cancel(std::uint64_t request);
    /// Hands over committed entries kept back while the host could not take them.
    void resume_deliveries();
    /// Takes no more events; every broadcast awaiting an outcome completes
    /// with `reason`. The caller makes sure no round is in flight first, and
    /// may then call write_queued() to store what is still queued.
    void stop(boost::system::error_code reason);
    /// Writes and syncs the batches still queued (at stop, with no round in
    /// flight), and the commit index with the hard state; their messages
    /// are not sent.
    boost::system::error_code write_queued();

    /// Switches between inline and deferred disk mode (tests).
    void set_sync_inline(bool on);

    // ---- observers -------------------------------------------------------
    const core& raft() const { return *core_; }
    bool loaded() const noexcept { return core_.has_value(); }
    bool running() const noexcept { return running_; }
    bool failed() const noexcept { return failed_; }
    index_t applied() const noexcept { return applied_; }
    bool snapshot_in_progress() const noexcept { return snapshot_in_progress_; }
    std::uint64_t snapshots_taken() const noexcept { return snapshots_taken_; }
    std::uint64_t snapshots_installed() const noexcept { return snapshots_installed_; }
    /// Committed entries kept back by back-pressure.
    std::size_t deliveries_waiting() const noexcept { return undelivered_.size(); }
    std::uint64_t next_request() const noexcept { return next_request_; }
    std::size_t outstanding() const noexcept { return outstanding_.size(); }
    /// Reads awaiting an outcome (a read index, or the delivery up to it).
    std::size_t reads_outstanding() const noexcept { return reads_outstanding_.size(); }
    /// Leadership transfers awaiting an outcome.
    std::size_t transfers_outstanding() const noexcept { return transfers_outstanding_.size(); }
    /// Deferred rounds handed to the host and not yet back.
    std::size_t rounds_in_flight() const noexcept { return rounds_in_flight_; }
    /// Batches waiting for the next round.
    const std::deque<write_batch>& queued() const noexcept { return queued_; }
    /// Messages waiting for a sync (queued or in the round in flight).
    std::size_t after_sync_waiting() const noexcept { return after_sync_waiting_; }

    /// Hosts that copy themselves (the simulator's explorer) point the copy
    /// at their own persister and host.
    void rebind(persister& storage, runner_host& host) noexcept {
        storage_ = &storage;
        host_ = &host;
    }

private:
    friend struct detail::runner_test_access;

    void carry_out(output& o);
    bool start_round();
    void finish_round(const disk_round& round);
    void deliver(const std::vector<log_entry>& entries);
    void restore(const snapshot_meta& meta);
    void receive_snapshot_data(std::vector<install_snapshot>& chunks);
    void send_snapshot_chunks(std::vector<snapshot_send>& sends);
    void maybe_snapshot();
    void complete(const std::vector<completion>& done);
    void complete_reads(const std::vector<read_completion>& done);
    void complete_transfers(const std::vector<transfer_completion>& done);
    void release_applied_reads();
    void complete_changes(const std::vector<membership_completion>& done);
    void step_core(const event& e);
    void fail(boost::system::error_code ec);

    runner_options opts_;
    persister* storage_;
    runner_host* host_;
    std::optional<core> core_;
    output out_;                          ///< fed, not yet carried out
    std::deque<write_batch> queued_;      ///< waiting for the next round
    std::size_t rounds_in_flight_ = 0;
    std::size_t after_sync_waiting_ = 0;
    bool running_ = false;
    bool failed_ = false;
    bool flushing_ = false;
    index_t applied_ = 0;                 ///< handed to the host
    index_t committed_through_ = 0;       ///< handed to the host or kept back
    std::deque<log_entry> undelivered_;   ///< committed, kept back by back-pressure
    bool snapshot_in_progress_ = false;   ///< take_snapshot asked, snapshot_done not yet heard
    index_t applied_since_snapshot_ = 0;  ///< entries and bytes applied since the last snapshot
    std::uint64_t bytes_since_snapshot_ = 0;
    std::uint64_t snapshots_taken_ = 0;
    std::uint64_t snapshots_installed_ = 0;
    std::shared_ptr<snapshot_writer> receiving_;   ///< a snapshot being received from the leader (shared: hosts copy runners)
    snapshot_meta receiving_meta_;
    std::uint64_t next_request_ = 1;
    std::set<std::uint64_t> outstanding_;   ///< broadcasts awaiting an outcome
    std::set<std::uint64_t> reads_outstanding_;             ///< reads awaiting an outcome
    std::set<std::uint64_t> changes_outstanding_;           ///< membership changes awaiting an outcome
    std::multimap<index_t, std::uint64_t> reads_applying_;  ///< reads with their index, until delivered up to it
    std::set<std::uint64_t> transfers_outstanding_;         ///< leadership transfers awaiting an outcome
    detail::runner_faults faults_;          ///< all off outside the simulator's broken-driver tests
};

} // namespace raftlite

#endif
