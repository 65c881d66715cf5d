// raftlite simulator — the driver around one core.
#include "node_host.hpp"

namespace raftlite::sim {

void node_host::boot(host_effects& fx) {
    if (incarnation_++ == 0) core_.emplace(cfg_);
    else core_.emplace(cfg_, disk_.durable());
    machine_.reset();
    output out = core_->start();
    carry_out(out, fx);
}

std::size_t node_host::crash(std::size_t keep) {
    core_.reset();
    syncs_.clear();
    machine_.reset();
    heartbeat_ = false;
    return disk_.crash_keeping(keep);
}

void node_host::step(const event& e, host_effects& fx) {
    output out;
    core_->step(e, out);
    carry_out(out, fx);
}

void node_host::step_many(const std::vector<event>& es, host_effects& fx) {
    output out;
    for (const event& e : es) core_->step(e, out);
    carry_out(out, fx);
}

void node_host::carry_out(output& out, host_effects& fx) {
    // 1. log writes (truncate, then append) and the hard state
    if (out.truncate_from) disk_.truncate_suffix(*out.truncate_from);
    for (const log_entry& e : out.append) {
        disk_.append(e);
        fx.appended.push_back(e);
    }
    if (out.save_hard_state) disk_.save_hard_state(*out.save_hard_state);
    // 2. messages that do not depend on the writes
    for (envelope& env : out.messages) fx.sent.push_back(std::move(env));
    // 3. the sync, as a batch the world completes later; a batch without
    // writes still waits behind earlier ones, whose durability its
    // messages may promise.
    if (out.has_writes() || !out.messages_after_sync.empty()) {
        const persistent_state& w = disk_.written_state();
        const index_t last = w.last_index();
        const term_t last_term = last >= w.log_start ? w.entries.back().term
                                 : (last + 1 == w.log_start ? w.prefix_term : 0);
        syncs_.push_back({disk_.written(), last, last_term, std::move(out.messages_after_sync)});
        ++fx.syncs_queued;
    }
    // 4. deliveries in order, then completions
    for (const log_entry& e : out.committed) {
        machine_.apply(e);
        fx.delivered.push_back(e);
    }
    for (const completion& c : out.completions) fx.completions.push_back(c);
    // 5. timers
    if (out.reset_election_timer) fx.reset_election_timer = true;
    if (out.heartbeat_timer) {
        heartbeat_ = *out.heartbeat_timer;
        fx.heartbeat_timer = out.heartbeat_timer;
    }
}

void node_host::complete_sync(host_effects& fx) {
    sync_batch b = std::move(syncs_.front());
    syncs_.pop_front();
    disk_.sync(b.mark);
    for (envelope& env : b.held) fx.sent.push_back(std::move(env));
    step(log_synced{b.last_index, b.last_term}, fx);
}

} // namespace raftlite::sim
