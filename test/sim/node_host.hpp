// raftlite simulator — one node: the production runner over a
// memory_persister, with its state machine, in virtual time.
//
// The runner carries out the core's output exactly as the real node does.
// The host gives it a deferred disk that works as the node's disk thread
// does: rounds run one after another, in order; a round's writes reach the
// disk (unsynced, as a write() into the page cache would) when the round
// before it has synced, and its sync completes when the world says so, so a
// crash can fall between a write and its sync.
// Timers and the network are reported to the world, which owns time.
#ifndef RAFTLITE_SIM_NODE_HOST_HPP
#define RAFTLITE_SIM_NODE_HOST_HPP

#include "kv_machine.hpp"
#include "prng.hpp"

#include <raftlite/core.hpp>
#include <raftlite/detail/faults.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/runner.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <optional>
#include <vector>

namespace raftlite::sim {

/// What one host turn did, for the world (timers, network) and the checks.
struct host_effects {
    std::vector<envelope> sent;          ///< messages that left the node, in order
    std::vector<log_entry> appended;     ///< entries the core appended
    std::vector<log_entry> delivered;    ///< entries applied to the state machine
    std::vector<kv_applied> applied;     ///< what the state machine made of each, in the same order
    std::vector<completion> completions;
    std::vector<read_completion> reads;  ///< read outcomes; ready ones after the deliveries up to their index
    std::vector<std::pair<std::uint64_t, boost::system::error_code>> transfers;   ///< leadership transfer outcomes
    bool reset_election_timer = false;
    std::optional<bool> heartbeat_timer;
    std::size_t syncs_queued = 0;        ///< new disk rounds (the world schedules their completion)
    std::optional<snapshot_meta> restored;   ///< the state machine was replaced by this snapshot ...
    std::uint64_t restored_digest = 0;       ///< ... and then held this map
    std::size_t snapshots_taken = 0;
    /// Deferred snapshots: the application captured its state for a snapshot
    /// (the world schedules finish_snapshot) ...
    bool snapshot_started = false;
    /// ... and received snapshots wait to be sealed (the world schedules
    /// seal_received, once for each, in order).
    std::size_t seals_queued = 0;
    /// Membership changes answered (runner_host::membership_done): request,
    /// outcome ({} once committed) and the configuration entry's index.
    struct change_done {
        std::uint64_t request = 0;
        boost::system::error_code ec;
        index_t index = 0;
    };
    std::vector<change_done> changes;
    /// The configuration in force changed (runner_host::configuration_changed).
    std::optional<membership> configuration;

    void clear() { *this = host_effects(); }
};

class node_host final : public runner_host {
public:
    /// `broken_load`: a deliberately broken restart (for the test that
    /// shows the checks catch it): the runner is handed what the disk's page
    /// cache holds (memory_persister::written_state) without making it
    /// durable first, so after a process crash the node acts on writes a
    /// later power loss takes back. The correct load() syncs them (see
    /// persister.hpp).
    explicit node_host(core_config cfg, detail::core_faults broken_core = {},
                       detail::runner_faults broken_driver = {}, bool broken_load = false)
        : cfg_(std::move(cfg)), broken_core_(broken_core), broken_driver_(broken_driver),
          broken_load_(broken_load) {}
    /// Copies (the explorer's branching) drive their own disk.
    node_host(const node_host& o);
    node_host& operator=(const node_host& o);

    node_id id() const noexcept { return cfg_.self; }
    bool up() const noexcept { return run_.has_value(); }
    /// Starts the node from what its disk holds (nothing on the first boot).
    void boot(host_effects& fx);
    /// Power loss: the node stops at once, keeping `keep` of the disk's
    /// unsynced writes (a disk may persist any prefix of what it was given).
    /// Unsent after-sync messages and the state machine are lost.
    /// Returns how many disk writes were lost. Snapshots being taken or
    /// sealed are abandoned (abandoned_snapshots() counts them).
    std::size_t crash(std::size_t keep);
    std::size_t crash(prng& rng) { return crash(rng.uniform(0, disk_.unsynced_ops())); }
    /// Process crash: the process dies, the operating system does not. Every
    /// write stays readable in the page cache, and what was not synced stays
    /// not durable until the restart's load() syncs it (or a power loss
    /// before that takes it). After-sync messages and the state machine are
    /// lost, as with a power loss.
    void process_crash();

    /// Feeds one event and carries out the output.
    void step(const event& e, host_effects& fx);
    /// Feeds several events into one output, as a driver that group-commits
    /// does (one write batch and one sync for all of them), and carries it out.
    void step_many(const std::vector<event>& es, host_effects& fx) { step_many(es, {}, fx); }
    /// The same, then starts `broadcasts` together (runner::feed_broadcasts:
    /// one core event, replicated once), as the node's drain of a strand turn
    /// does; returns the first one's request id (the others follow it).
    std::uint64_t step_many(const std::vector<event>& es, std::vector<shared_bytes> broadcasts, host_effects& fx);
    /// Starts a broadcast; returns its request id (unique across restarts).
    std::uint64_t broadcast(shared_bytes payload, host_effects& fx);
    /// Starts a linearizable read (thesis §6.4); returns its request id.
    std::uint64_t read(host_effects& fx);
    /// Asks the node to hand its leadership to `target` (thesis §3.10);
    /// returns its request id.
    std::uint64_t transfer(node_id target, host_effects& fx);
    /// Asks for a membership change (thesis §4); returns its request id
    /// (host_effects::changes reports the outcome).
    std::uint64_t change_membership(const membership_change& change, host_effects& fx);
    /// A fresh machine in place of this one (membership churn: a removed
    /// server comes back only with an empty disk): the node stops, its disk
    /// and state machine are emptied and it boots next with an empty
    /// bootstrap configuration (a server waiting to be added). Incarnations
    /// and request ids go on counting, so nothing of the old machine's can be
    /// taken for the new one's.
    void wipe();
    /// The node's own clock (what runner_host::now() reads, for lease reads);
    /// the world sets it before each turn. None: the node has no clock.
    void set_clock(std::optional<std::chrono::nanoseconds> now) noexcept { clock_ = now; }
    /// Completes the oldest disk round in flight: its writes become durable,
    /// the next round's writes reach the disk, its after-sync messages leave
    /// and the core hears log_synced.
    void complete_sync(host_effects& fx);
    std::size_t syncs_pending() const noexcept { return rounds_.size(); }

    const raftlite::core& core() const { return run_->raft(); }
    const raftlite::runner& runner() const { return *run_; }
    const memory_persister& disk() const noexcept { return disk_; }
    const kv_machine& machine() const noexcept { return machine_; }
    /// The state machine starts over with these options (sessions, the
    /// broken machine that ignores them); set before the first boot.
    void set_machine(const kv_options& o) { machine_ = kv_machine(o); }
    /// Snapshots after this many applied entries (0: none), from the next boot on.
    void set_snapshot_entries(index_t n) noexcept { snapshot_entries_ = n; }
    /// Deferred snapshots, as a real application takes them: take_snapshot
    /// only captures the state machine's bytes (a frozen copy) and the world
    /// writes and finishes the snapshot later (finish_snapshot) while
    /// deliveries go on; a received snapshot is sealed later too
    /// (seal_received). A crash in between abandons them: the writer's data
    /// was never durable. Off: both finish inside the runner's call.
    void set_deferred_snapshots(bool on) noexcept { deferred_snapshots_ = on; }
    bool snapshot_pending() const noexcept { return taking_.has_value(); }
    std::size_t seals_pending() const noexcept { return sealing_.size(); }
    /// Asks the runner for a snapshot at the applied index now (the explorer's
    /// snapshot event); false if it takes none (nothing new applied, or one
    /// is being taken).
    bool request_snapshot(host_effects& fx);
    /// Writes the captured state into the snapshot, finishes it (durable) and
    /// tells the runner (runner::snapshot_done).
    void finish_snapshot(host_effects& fx);
    /// Seals the oldest received snapshot waiting (writer->finish checks it
    /// against what the leader announced) and tells the runner.
    void seal_received(host_effects& fx);
    unsigned incarnation() const noexcept { return incarnation_; }
    /// Snapshots (taken or received) a crash abandoned before they were durable.
    std::uint64_t abandoned_snapshots() const noexcept { return abandoned_; }
    bool heartbeat_active() const noexcept { return heartbeat_; }

private:
    // runner_host
    void send(envelope message) override { fx_->sent.push_back(std::move(message)); }
    void write_and_sync(disk_round round) override;
    void deliver(const log_entry& entry) override;
    void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) override;
    void read_done(std::uint64_t request, boost::system::error_code ec, index_t index) override;
    void transfer_done(std::uint64_t request, boost::system::error_code ec) override {
        fx_->transfers.emplace_back(request, ec);
    }
    void membership_done(std::uint64_t request, boost::system::error_code ec, index_t index) override;
    void configuration_changed(const membership& members) override;
    std::optional<std::chrono::nanoseconds> now() override { return clock_; }
    void reset_election_timer() override { fx_->reset_election_timer = true; }
    void set_heartbeat(bool running) override;
    void storage_failed(boost::system::error_code ec) override;
    void appended(const std::vector<log_entry>& entries) override;
    void write_round(const disk_round& round);
    void restore(const snapshot_meta& meta) override;
    void take_snapshot(index_t index, term_t term, const membership& members) override;
    void finish_received_snapshot(raftlite::runner& r, std::shared_ptr<snapshot_writer> writer,
                                  const snapshot_meta& expected) override;
    std::size_t abandon_snapshots();
    void copy_pending(const node_host& o);

    core_config cfg_;
    detail::core_faults broken_core_;
    detail::runner_faults broken_driver_;
    bool broken_load_ = false;
    memory_persister disk_;
    std::optional<raftlite::runner> run_;
    std::deque<disk_round> rounds_;      ///< in flight; the first is written and syncing
    kv_machine machine_;
    host_effects* fx_ = nullptr;         ///< the turn being carried out
    unsigned incarnation_ = 0;           ///< boots so far
    bool heartbeat_ = false;
    std::optional<std::chrono::nanoseconds> clock_;
    std::uint64_t next_request_ = 1;
    index_t snapshot_entries_ = 0;
    bool deferred_snapshots_ = false;
    std::uint64_t abandoned_ = 0;
    /// A snapshot the application is taking: the state captured at the call.
    struct taking {
        index_t index = 0;
        term_t term = 0;
        membership members;
        std::string data;
        std::shared_ptr<snapshot_writer> writer;
    };
    std::optional<taking> taking_;
    /// Received snapshots waiting to be sealed, oldest first.
    struct sealing {
        std::shared_ptr<snapshot_writer> writer;
        snapshot_meta expected;
    };
    std::deque<sealing> sealing_;
};

} // namespace raftlite::sim

#endif
