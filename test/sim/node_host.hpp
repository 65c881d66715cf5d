// raftlite simulator — one node: a core, its disk, its state machine, and the
// driver that carries out the core's output exactly as core.hpp prescribes.
//
// The host does steps 1, 2 and 4 of the driver order at once and queues step 3
// (sync, then messages_after_sync, then log_synced) as a separate sync batch
// that the world completes later, so a crash can fall between a write and its
// sync. Timers (step 5) are reported to the world, which owns time.
#ifndef RAFTLITE_SIM_NODE_HOST_HPP
#define RAFTLITE_SIM_NODE_HOST_HPP

#include "disk.hpp"
#include "kv_machine.hpp"

#include <raftlite/core.hpp>

#include <deque>
#include <optional>
#include <vector>

namespace raftlite::sim {

/// What one host turn did, for the world (timers, network) and the checks.
struct host_effects {
    std::vector<envelope> sent;          ///< messages that left the node, in order
    std::vector<log_entry> appended;     ///< entries the core appended
    std::vector<log_entry> delivered;    ///< entries applied to the state machine
    std::vector<completion> completions;
    bool reset_election_timer = false;
    std::optional<bool> heartbeat_timer;
    std::size_t syncs_queued = 0;        ///< new sync batches (the world schedules their completion)

    void clear() { *this = host_effects(); }
};

class node_host {
public:
    explicit node_host(core_config cfg) : cfg_(std::move(cfg)) {}

    node_id id() const noexcept { return cfg_.self; }
    bool up() const noexcept { return core_.has_value(); }
    /// Starts the node: empty on the first boot, from the durable disk after a crash.
    void boot(host_effects& fx);
    /// Stops the node at once, keeping `keep` of the disk's unsynced operations.
    /// Unsent messages_after_sync and the state machine are lost.
    /// Returns how many disk operations were lost.
    std::size_t crash(std::size_t keep);
    std::size_t crash(prng& rng) { return crash(rng.uniform(0, disk_.pending())); }

    /// Feeds one event to the core and carries out its output.
    void step(const event& e, host_effects& fx);
    /// Feeds several events into one output, as a driver that group-commits
    /// does (one write batch and one sync for all of them), and carries it out.
    void step_many(const std::vector<event>& es, host_effects& fx);
    /// Completes the oldest sync batch: makes its writes durable, sends its
    /// messages_after_sync, and reports log_synced to the core.
    void complete_sync(host_effects& fx);
    std::size_t syncs_pending() const noexcept { return syncs_.size(); }

    const raftlite::core& core() const { return *core_; }
    const sim_disk& disk() const noexcept { return disk_; }
    const kv_machine& machine() const noexcept { return machine_; }
    unsigned incarnation() const noexcept { return incarnation_; }
    bool heartbeat_active() const noexcept { return heartbeat_; }

private:
    struct sync_batch {
        std::size_t mark;          ///< disk operations written before this sync started
        index_t last_index;
        term_t last_term;
        std::vector<envelope> held;
    };
    void carry_out(output& out, host_effects& fx);

    core_config cfg_;
    std::optional<raftlite::core> core_;
    sim_disk disk_;
    kv_machine machine_;
    std::deque<sync_batch> syncs_;
    unsigned incarnation_ = 0;     ///< boots so far
    bool heartbeat_ = false;
};

} // namespace raftlite::sim

#endif
