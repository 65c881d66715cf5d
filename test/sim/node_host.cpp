// raftlite simulator — one node over the production runner.
#include "node_host.hpp"

#include "invariants.hpp"
#include "test_access.hpp"

namespace raftlite::sim {

namespace {

// The broken restart: load() hands out the page cache's contents without
// making them durable. Every other call is the disk's own.
class unsynced_load final : public persister {
public:
    explicit unsynced_load(memory_persister& d) : d_(d) {}
    boost::system::error_code load(persistent_state& out) override {
        out = d_.written_state().to_state();
        return {};
    }
    boost::system::error_code save_hard_state(const hard_state& hs) override { return d_.save_hard_state(hs); }
    boost::system::error_code append(const std::vector<log_entry>& e) override { return d_.append(e); }
    boost::system::error_code truncate_suffix(index_t from) override { return d_.truncate_suffix(from); }
    boost::system::error_code remove_prefix(index_t upto, term_t t) override { return d_.remove_prefix(upto, t); }
    boost::system::error_code sync() override { return d_.sync(); }
    boost::system::error_code begin_snapshot(index_t index, term_t term, membership members,
                                             std::unique_ptr<snapshot_writer>& out) override {
        return d_.begin_snapshot(index, term, std::move(members), out);
    }
    boost::system::error_code use_snapshot(const snapshot_meta& meta) override { return d_.use_snapshot(meta); }
    std::optional<snapshot_meta> current_snapshot() const override { return d_.current_snapshot(); }
    boost::system::error_code read_snapshot(const snapshot_meta& meta, std::uint64_t offset, std::size_t max,
                                            std::string& out) const override {
        return d_.read_snapshot(meta, offset, max, out);
    }
    bool blocks() const noexcept override { return false; }

private:
    memory_persister& d_;
};

// Points the host's effects at `fx` for one turn.
struct turn_scope {
    turn_scope(host_effects*& slot, host_effects& fx) : slot(slot) { slot = &fx; }
    ~turn_scope() { slot = nullptr; }
    host_effects*& slot;
};

} // namespace

node_host::node_host(const node_host& o)
    : cfg_(o.cfg_), broken_core_(o.broken_core_), broken_driver_(o.broken_driver_),
      broken_load_(o.broken_load_), disk_(o.disk_),
      run_(o.run_), rounds_(o.rounds_), machine_(o.machine_), incarnation_(o.incarnation_),
      heartbeat_(o.heartbeat_), next_request_(o.next_request_), snapshot_entries_(o.snapshot_entries_),
      deferred_snapshots_(o.deferred_snapshots_), abandoned_(o.abandoned_) {
    copy_pending(o);
    if (run_) run_->rebind(disk_, *this);
}

// A snapshot being taken gets a writer of the copy's own disk (nothing was
// written to the original's yet: the data goes in at finish_snapshot). A
// received snapshot's writer holds data already and cannot be split: the
// explorer, which copies hosts, runs with snapshots finishing inline.
void node_host::copy_pending(const node_host& o) {
    if (!o.sealing_.empty()) throw std::logic_error("node_host: cannot copy a host with received snapshots unsealed");
    sealing_.clear();
    taking_.reset();
    if (!o.taking_) return;
    taking_ = taking{o.taking_->index, o.taking_->term, o.taking_->members, o.taking_->data, nullptr};
    std::unique_ptr<snapshot_writer> w;
    if (!disk_.begin_snapshot(taking_->index, taking_->term, taking_->members, w)) taking_->writer = std::move(w);
}

node_host& node_host::operator=(const node_host& o) {
    if (this == &o) return *this;
    cfg_ = o.cfg_;
    broken_core_ = o.broken_core_;
    broken_driver_ = o.broken_driver_;
    broken_load_ = o.broken_load_;
    disk_ = o.disk_;
    run_ = o.run_;
    rounds_ = o.rounds_;
    machine_ = o.machine_;
    incarnation_ = o.incarnation_;
    heartbeat_ = o.heartbeat_;
    next_request_ = o.next_request_;
    snapshot_entries_ = o.snapshot_entries_;
    deferred_snapshots_ = o.deferred_snapshots_;
    abandoned_ = o.abandoned_;
    copy_pending(o);
    if (run_) run_->rebind(disk_, *this);
    return *this;
}

void node_host::boot(host_effects& fx) {
    turn_scope t(fx_, fx);
    ++incarnation_;
    machine_.reset();
    rounds_.clear();
    runner_options o;
    o.core = cfg_;
    o.first_request = next_request_;
    o.snapshot_entries = snapshot_entries_;
    o.max_deliveries_per_turn = 0;   // the world's turns are not timed: no need to split them
    unsynced_load broken(disk_);
    run_.emplace(std::move(o), broken_load_ ? static_cast<persister&>(broken) : disk_, *this);
    detail::runner_test_access::faults(*run_) = broken_driver_;
    if (auto ec = run_->load()) throw violation("driver", "load failed: " + ec.message());
    run_->rebind(disk_, *this);
    detail::core_test_access::faults(detail::runner_test_access::raft(*run_)) = broken_core_;
    next_request_ = run_->next_request();
    run_->start();
}

// A snapshot not yet finished or sealed dies with the process: its writer
// buffered the data, none of it is durable (a file writer's temporary file
// is discarded at the next start).
std::size_t node_host::abandon_snapshots() {
    std::size_t n = 0;
    if (taking_) {
        if (taking_->writer) taking_->writer->abandon();
        taking_.reset();
        ++n;
    }
    for (sealing& s : sealing_) s.writer->abandon();
    n += sealing_.size();
    sealing_.clear();
    abandoned_ += n;
    return n;
}

std::size_t node_host::crash(std::size_t keep) {
    abandon_snapshots();
    run_.reset();
    rounds_.clear();
    machine_.reset();
    heartbeat_ = false;
    const std::size_t before = disk_.unsynced_ops();
    disk_.crash_keeping(keep);
    return before - std::min(keep, before);
}

void node_host::process_crash() {
    abandon_snapshots();
    run_.reset();
    rounds_.clear();
    machine_.reset();
    heartbeat_ = false;
    disk_.process_crash();
}

void node_host::step(const event& e, host_effects& fx) {
    turn_scope t(fx_, fx);
    run_->step(e);
}

std::uint64_t node_host::step_many(const std::vector<event>& es, std::vector<shared_bytes> broadcasts,
                                   host_effects& fx) {
    turn_scope t(fx_, fx);
    for (const event& e : es) run_->feed(e);
    std::uint64_t first = 0;
    if (!broadcasts.empty()) {
        first = run_->feed_broadcasts(std::move(broadcasts));
        next_request_ = run_->next_request();
    }
    run_->flush();
    return first;
}

std::uint64_t node_host::broadcast(shared_bytes payload, host_effects& fx) {
    turn_scope t(fx_, fx);
    const std::uint64_t request = run_->broadcast(std::move(payload));
    next_request_ = run_->next_request();
    return request;
}

std::uint64_t node_host::transfer(node_id target, host_effects& fx) {
    turn_scope t(fx_, fx);
    const std::uint64_t request = run_->transfer(target);
    next_request_ = run_->next_request();
    return request;
}

std::uint64_t node_host::read(host_effects& fx) {
    turn_scope t(fx_, fx);
    const std::uint64_t request = run_->read();
    next_request_ = run_->next_request();
    return request;
}

std::uint64_t node_host::change_membership(const membership_change& change, host_effects& fx) {
    turn_scope t(fx_, fx);
    const std::uint64_t request = run_->change_membership(change);
    next_request_ = run_->next_request();
    return request;
}

void node_host::wipe() {
    abandon_snapshots();
    run_.reset();
    rounds_.clear();
    machine_.reset();
    heartbeat_ = false;
    disk_ = memory_persister();
    cfg_.members = membership();
}

void node_host::membership_done(std::uint64_t request, boost::system::error_code ec, index_t index) {
    if (fx_) fx_->changes.push_back({request, ec, index});
}

void node_host::configuration_changed(const membership& members) {
    if (fx_) fx_->configuration = members;
}

void node_host::complete_sync(host_effects& fx) {
    if (rounds_.empty()) return;
    turn_scope t(fx_, fx);
    disk_round r = std::move(rounds_.front());
    rounds_.pop_front();
    const boost::system::error_code ec = r.sync(disk_);
    // The disk moves on to the next round before the runner hears of this one.
    if (!rounds_.empty()) write_round(rounds_.front());
    run_->disk_round_done(std::move(r), ec);
}

// The world completes each round's sync later (fx.syncs_queued), in order.
void node_host::write_and_sync(disk_round round) {
    rounds_.push_back(std::move(round));
    if (rounds_.size() == 1) write_round(rounds_.front());
    ++fx_->syncs_queued;
}

// A round's writes reach the disk, unsynced.
void node_host::write_round(const disk_round& round) {
    if (auto ec = round.write(disk_)) throw violation("driver", "disk write refused: " + ec.message());
}

void node_host::deliver(const log_entry& entry) {
    fx_->applied.push_back(machine_.apply(entry));
    fx_->delivered.push_back(entry);
}

void node_host::broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) {
    const auto result = core_outcome(ec);
    if (!result) throw violation("driver", "unexpected broadcast outcome " + ec.message());
    fx_->completions.push_back(completion{request, *result, index});
}

void node_host::read_done(std::uint64_t request, boost::system::error_code ec, index_t index) {
    read_result r = read_result::ready;
    if (ec == errc::not_leader) r = read_result::not_leader;
    else if (ec == errc::busy) r = read_result::busy;
    else if (ec) throw violation("driver", "unexpected read outcome " + ec.message());
    fx_->reads.push_back(read_completion{request, r, index});
}

void node_host::set_heartbeat(bool running) {
    heartbeat_ = running;
    fx_->heartbeat_timer = running;
}

void node_host::storage_failed(boost::system::error_code ec) {
    throw violation("driver", "storage failed: " + ec.message());
}

void node_host::appended(const std::vector<log_entry>& entries) {
    fx_->appended.insert(fx_->appended.end(), entries.begin(), entries.end());
}

// The state machine is replaced by the snapshot's; its data must decode.
void node_host::restore(const snapshot_meta& meta) {
    std::string data;
    if (auto ec = disk_.read_snapshot(meta, 0, static_cast<std::size_t>(meta.size), data))
        throw violation("snapshot", "node " + std::to_string(id()) + " cannot read its snapshot of entries 1.." +
                                        std::to_string(meta.index) + ": " + ec.message());
    if (!machine_.restore(data, meta.index))
        throw violation("snapshot", "node " + std::to_string(id()) + " holds a snapshot that does not decode");
    fx_->restored = meta;
    fx_->restored_digest = machine_.digest();
}

// The application captures its state at the call: the map as of entry
// `index`, the last one delivered (Raft §7: a snapshot holds committed state
// only). Inline, the snapshot is written and finished (durable) before the
// call returns; deferred, the world finishes it later while deliveries go
// on, as an application writing on another thread does (thesis §5.1).
void node_host::take_snapshot(index_t index, term_t term, const membership& members) {
    std::unique_ptr<snapshot_writer> w;
    boost::system::error_code ec = disk_.begin_snapshot(index, term, members, w);
    if (!ec && machine_.applied() != index)
        throw violation("snapshot", "node " + std::to_string(id()) + " asked for a snapshot at " +
                                        std::to_string(index) + " having applied " +
                                        std::to_string(machine_.applied()));
    if (ec) {
        run_->snapshot_done(snapshot_meta{}, ec);
        return;
    }
    if (deferred_snapshots_) {
        if (taking_) throw violation("driver", "node " + std::to_string(id()) +
                                                   " asked for a snapshot while one is being taken");
        taking_ = taking{index, term, members, machine_.snapshot(), std::move(w)};
        fx_->snapshot_started = true;
        return;
    }
    snapshot_meta meta;
    ec = w->write(machine_.snapshot());
    if (!ec) ec = w->finish(meta);
    if (!ec) ++fx_->snapshots_taken;
    run_->snapshot_done(meta, ec);
}

bool node_host::request_snapshot(host_effects& fx) {
    if (!run_) return false;
    turn_scope t(fx_, fx);
    return run_->request_snapshot();
}

void node_host::finish_snapshot(host_effects& fx) {
    if (!taking_ || !run_) return;
    turn_scope t(fx_, fx);
    taking done = std::move(*taking_);
    taking_.reset();
    snapshot_meta meta;
    boost::system::error_code ec =
        done.writer ? boost::system::error_code{} : boost::system::errc::make_error_code(boost::system::errc::io_error);
    if (!ec) ec = done.writer->write(done.data);
    if (!ec) ec = done.writer->finish(meta);
    if (!ec) ++fx.snapshots_taken;
    run_->snapshot_done(meta, ec);
}

// Sealing fsyncs: a real host does it off the runner's context, and the
// core answers the leader only once it hears snapshot_received (§5.1: the
// answer promises the snapshot is durable).
void node_host::finish_received_snapshot(raftlite::runner& r, std::shared_ptr<snapshot_writer> writer,
                                         const snapshot_meta& expected) {
    if (!deferred_snapshots_) {
        runner_host::finish_received_snapshot(r, std::move(writer), expected);
        return;
    }
    sealing_.push_back(sealing{std::move(writer), expected});
    ++fx_->seals_queued;
}

void node_host::seal_received(host_effects& fx) {
    if (sealing_.empty() || !run_) return;
    turn_scope t(fx_, fx);
    sealing s = std::move(sealing_.front());
    sealing_.pop_front();
    snapshot_meta sealed;
    const boost::system::error_code ec = s.writer->finish(sealed, &s.expected);
    run_->received_snapshot_done(s.expected, ec);
}

} // namespace raftlite::sim
