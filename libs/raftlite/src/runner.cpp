// raftlite — the runner (see runner.hpp): the driver order of core.hpp, once.
#include <raftlite/runner.hpp>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace raftlite {

using boost::system::error_code;

// ---- disk rounds --------------------------------------------------------------

error_code disk_round::write(persister& storage) const {
    for (const write_batch& b : batches_) {
        // A truncation comes before the appends that replace the entries it removes.
        if (b.truncate_from)
            if (auto ec = storage.truncate_suffix(*b.truncate_from)) return ec;
        if (!b.append.empty())
            if (auto ec = storage.append(b.append)) return ec;
        // The snapshot becomes current before the prefix it covers goes, so
        // that no crash leaves neither (Raft §7; thesis §5.1).
        if (b.use_snapshot)
            if (auto ec = storage.use_snapshot(*b.use_snapshot)) return ec;
        if (b.remove_prefix)
            if (auto ec = storage.remove_prefix(b.remove_prefix->first, b.remove_prefix->second)) return ec;
        if (b.hard)
            if (auto ec = storage.save_hard_state(*b.hard)) return ec;
    }
    return {};
}

error_code disk_round::sync(persister& storage) const {
    return has_writes() ? storage.sync() : error_code{};
}

error_code disk_round::write_and_sync(persister& storage) const {
    if (auto ec = write(storage)) return ec;
    return sync(storage);
}

bool disk_round::has_writes() const noexcept {
    return std::any_of(batches_.begin(), batches_.end(), [](const write_batch& b) { return b.has_writes(); });
}

// ---- outcomes -----------------------------------------------------------------

error_code outcome_code(broadcast_result r) noexcept {
    switch (r) {
    case broadcast_result::committed: return {};
    case broadcast_result::not_leader: return errc::not_leader;
    case broadcast_result::superseded: return errc::superseded;
    case broadcast_result::busy: return errc::busy;
    case broadcast_result::unknown: return errc::outcome_unknown;
    }
    return errc::not_leader;
}

std::optional<broadcast_result> core_outcome(error_code ec) noexcept {
    if (!ec) return broadcast_result::committed;
    if (ec == errc::not_leader) return broadcast_result::not_leader;
    if (ec == errc::superseded) return broadcast_result::superseded;
    if (ec == errc::busy) return broadcast_result::busy;
    if (ec == errc::outcome_unknown) return broadcast_result::unknown;
    return std::nullopt;
}

void runner_host::finish_received_snapshot(runner& r, std::shared_ptr<snapshot_writer> writer,
                                           const snapshot_meta& expected) {
    snapshot_meta sealed;
    const error_code ec = writer->finish(sealed, &expected);
    r.received_snapshot_done(expected, ec);
}

// ---- the runner ---------------------------------------------------------------

runner::runner(runner_options options, persister& storage, runner_host& host)
    : opts_(std::move(options)), storage_(&storage), host_(&host) {}

error_code runner::load() {
    persistent_state state;
    if (auto ec = storage_->load(state)) return ec;
    const persistent_state& restored = state;
    next_request_ = std::max<std::uint64_t>(opts_.first_request, 1);
    for (const log_entry& e : restored.entries)
        if (e.origin.node == opts_.core.self && e.origin.request >= next_request_)
            next_request_ = e.origin.request + 1;
    core_.emplace(opts_.core, restored);
    applied_ = opts_.applied_index;
    committed_through_ = applied_;
    return {};
}

// A restart goes on from the newest snapshot (restored into the application)
// and delivers the committed entries after it, a bounded number per turn.
void runner::start() {
    running_ = true;
    out_ = core_->start();
    const core& c = *core_;
    if (c.snapshot().index > applied_) restore(c.snapshot());
    for (index_t i = std::max(applied_ + 1, c.log().start()); i <= c.commit_length(); ++i)
        out_.committed.push_back(c.log().at(i));
    flush();
}

void runner::feed(const event& e) {
    if (!running_) return;
    step_core(e);
}

// Every step sees the clock as it is now: a lease is judged (and a round's
// start recorded) by the time of the event, never by an older reading.
void runner::step_core(const event& e) {
    if (opts_.core.lease_duration.count() > 0)
        if (auto t = host_->now()) core_->observe_clock(*t);
    core_->step(e, out_);
}

std::uint64_t runner::feed_read() {
    const std::uint64_t request = next_request_++;
    if (!running_) {
        host_->read_done(request, failed_ ? errc::storage_failed : errc::stopped, 0);
        return request;
    }
    reads_outstanding_.insert(request);
    step_core(read_request{request});
    return request;
}

std::uint64_t runner::feed_membership_change(membership_change change) {
    const std::uint64_t request = next_request_++;
    if (!running_) {
        host_->membership_done(request, failed_ ? errc::storage_failed : errc::stopped, 0);
        return request;
    }
    changes_outstanding_.insert(request);
    step_core(membership_request{request, std::move(change)});
    return request;
}

std::uint64_t runner::feed_transfer(node_id target) {
    const std::uint64_t request = next_request_++;
    if (!running_) {
        host_->transfer_done(request, failed_ ? errc::storage_failed : errc::stopped);
        return request;
    }
    transfers_outstanding_.insert(request);
    step_core(transfer_request{request, target});
    return request;
}

std::uint64_t runner::feed_broadcast(shared_bytes payload) {
    std::vector<shared_bytes> one;
    one.push_back(std::move(payload));
    return feed_broadcasts(std::move(one));
}

std::uint64_t runner::feed_broadcasts(std::vector<shared_bytes> payloads) {
    const std::uint64_t first = next_request_;
    next_request_ += payloads.size();
    if (!running_) {
        for (std::uint64_t k = 0; k < payloads.size(); ++k)
            host_->broadcast_done(first + k, failed_ ? errc::storage_failed : errc::stopped, 0);
        return first;
    }
    broadcast_batch batch;
    batch.requests.reserve(payloads.size());
    for (std::uint64_t k = 0; k < payloads.size(); ++k) {
        outstanding_.insert(first + k);
        batch.requests.push_back({first + k, std::move(payloads[k])});
    }
    step_core(batch);
    return first;
}

// Carries out what was fed. Host calls made meanwhile may feed more events
// (a delivery handler that broadcasts, say): they gather in out_ and the loop
// carries them out in turn, never nested.
void runner::flush() {
    if (flushing_) return;
    flushing_ = true;
    while (running_) {
        core_->end_turn(out_);
        if (out_.empty()) break;
        output o;
        std::swap(o, out_);
        carry_out(o);
    }
    flushing_ = false;
}

// One output, in the order of core.hpp.
void runner::carry_out(output& o) {
    if (faults_.after_sync_messages_before_sync) {
        for (envelope& m : o.messages_after_sync) o.messages.push_back(std::move(m));
        o.messages_after_sync.clear();
    }
    // 1. The writes join the queue for the next disk round, with the messages
    // that promise them (a vote, an acknowledgement: §5.1, respond only after
    // stable storage is updated).
    // A promise needs no disk round when nothing is left to make durable: this
    // output writes nothing and every earlier write is synced (none queued,
    // no round on the disk). A follower's answer to a heartbeat under a read
    // load is the common case: it then confirms the read round (thesis §6.4)
    // without a trip through the disk thread.
    const bool all_durable = !o.has_writes() && o.snapshot_data.empty() && queued_.empty() &&
                             rounds_in_flight_ == 0;
    if (all_durable && !o.messages_after_sync.empty()) {
        for (envelope& m : o.messages_after_sync) o.messages.push_back(std::move(m));
        o.messages_after_sync.clear();
    }
    const bool to_disk = o.has_writes() || !o.messages_after_sync.empty();
    if (to_disk) {
        write_batch b;
        b.truncate_from = o.truncate_from;
        b.append = std::move(o.append);
        b.use_snapshot = o.use_snapshot;
        b.remove_prefix = o.remove_prefix;
        b.hard = o.save_hard_state;
        b.after_sync = std::move(o.messages_after_sync);
        b.last_index = core_->log().length();
        b.last_term = core_->log().last_term();
        after_sync_waiting_ += b.after_sync.size();
        if (!b.append.empty()) host_->appended(b.append);
        queued_.push_back(std::move(b));
    }
    // A received snapshot's data goes to its own file, not the log.
    receive_snapshot_data(o.snapshot_data);
    // The host reaches a new server before the first message to it leaves.
    if (o.configuration) host_->configuration_changed(*o.configuration);
    // 2. Messages that depend on no write leave now, so that a leader's
    // replication runs while its own write is in flight (thesis §10.2.1).
    for (envelope& m : o.messages) host_->send(std::move(m));
    send_snapshot_chunks(o.snapshot_sends);
    // 3. The sync: now (inline) or as a round the host completes later.
    if (to_disk) start_round();
    if (!running_) return;
    // 4. A snapshot from the leader replaces the application's state, then
    // deliveries in index order, then outcomes. (A delivery handler may stop
    // the node.)
    if (o.restore) {
        ++snapshots_installed_;
        restore(*o.restore);
    }
    if (!running_) return;
    deliver(o.committed);
    if (!running_) return;
    complete(o.completions);
    complete_reads(o.reads);
    complete_changes(o.membership_changes);
    complete_transfers(o.transfers);
    // 5. Timers.
    if (o.reset_election_timer) host_->reset_election_timer();
    if (o.heartbeat_timer) host_->set_heartbeat(*o.heartbeat_timer);
}

// Starts a round with every queued batch, unless the disk already has as
// many as it may. The host runs rounds strictly one after another, in order,
// so a round's messages leave only once its writes and all earlier writes are
// durable (runner_host::write_and_sync).
bool runner::start_round() {
    if (queued_.empty() || !running_) return false;
    if (!opts_.sync_inline && rounds_in_flight_ >= std::max<std::size_t>(opts_.max_rounds_in_flight, 1))
        return false;
    disk_round round;
    round.batches_.assign(std::make_move_iterator(queued_.begin()), std::make_move_iterator(queued_.end()));
    queued_.clear();
    if (opts_.sync_inline) {
        if (auto ec = round.write_and_sync(*storage_)) {
            fail(ec);
            return false;
        }
        finish_round(round);
        return true;
    }
    ++rounds_in_flight_;
    host_->write_and_sync(std::move(round));
    return false;
}

void runner::finish_round(const disk_round& round) {
    for (const write_batch& b : round.batches_) {
        after_sync_waiting_ -= b.after_sync.size();
        for (const envelope& m : b.after_sync) host_->send(m);
    }
    if (round.has_writes()) {
        const write_batch& last = round.batches_.back();
        step_core(log_synced{last.last_index, last.last_term});
    }
}

void runner::disk_round_done(disk_round round, error_code ec) {
    if (rounds_in_flight_ > 0) --rounds_in_flight_;
    if (!running_) return;
    if (ec) {
        fail(ec);
        return;
    }
    finish_round(round);
    start_round();   // what queued up meanwhile: the next group commit
    flush();
}

void runner::deliver(const std::vector<log_entry>& entries) {
    for (const log_entry& e : entries) {
        if (e.index <= committed_through_) continue;
        committed_through_ = e.index;
        undelivered_.push_back(e);
    }
    resume_deliveries();
}

// At most max_deliveries_per_turn at a time (as etcd bounds the committed
// entries of one Ready): a long catch-up must not hold up timers and
// messages, or a restarted leader stops heartbeating and is deposed.
void runner::resume_deliveries() {
    std::size_t n = 0;
    while (running_ && !undelivered_.empty() && host_->can_deliver()) {
        if (opts_.max_deliveries_per_turn != 0 && n == opts_.max_deliveries_per_turn) {
            host_->deliveries_pending();
            break;
        }
        log_entry e = std::move(undelivered_.front());
        undelivered_.pop_front();
        applied_ = e.index;
        ++applied_since_snapshot_;
        bytes_since_snapshot_ += e.size();
        ++n;
        host_->deliver(e);
    }
    release_applied_reads();
    if (running_) maybe_snapshot();
}

// ---- snapshots ------------------------------------------------------------------

void runner::restore(const snapshot_meta& meta) {
    while (!undelivered_.empty() && undelivered_.front().index <= meta.index) undelivered_.pop_front();
    applied_ = meta.index;
    committed_through_ = std::max(committed_through_, meta.index);
    applied_since_snapshot_ = 0;
    bytes_since_snapshot_ = 0;
    host_->restore(meta);
    release_applied_reads();
}

void runner::maybe_snapshot() {
    const bool by_count = opts_.snapshot_entries != 0 && applied_since_snapshot_ >= opts_.snapshot_entries;
    const bool by_size = opts_.snapshot_bytes != 0 && bytes_since_snapshot_ >= opts_.snapshot_bytes;
    if (by_count || by_size) request_snapshot();
}

bool runner::request_snapshot() {
    if (!running_ || snapshot_in_progress_ || applied_ <= core_->snapshot().index) return false;
    // The application snapshots what it has applied: committed entries only,
    // whose terms the log still holds (compaction stops at the last snapshot).
    snapshot_in_progress_ = true;
    applied_since_snapshot_ = 0;
    bytes_since_snapshot_ = 0;
    if (faults_.compact_before_snapshot_durable) {
        // Broken: the prefix the core will drop once the snapshot is taken
        // (all but log_keep_entries) goes to the disk now, in its own round.
        const index_t keep = opts_.core.log_keep_entries;
        const index_t upto = applied_ + 1 > keep ? applied_ + 1 - keep : 1;
        if (upto > core_->log().start()) {
            write_batch b;
            b.remove_prefix = std::make_pair(upto, core_->log().term_at(upto - 1));
            b.last_index = core_->log().length();
            b.last_term = core_->log().last_term();
            queued_.push_back(std::move(b));
            start_round();
        }
    }
    host_->take_snapshot(applied_, core_->log().term_at(applied_), core_->configuration_at(applied_));
    return true;
}

void runner::snapshot_done(const snapshot_meta& meta, error_code ec) {
    snapshot_in_progress_ = false;
    if (!running_ || ec) return;   // asked again after as many more entries
    ++snapshots_taken_;
    feed(snapshot_taken{meta});
    flush();
}

void runner::receive_snapshot_data(std::vector<install_snapshot>& chunks) {
    for (install_snapshot& c : chunks) {
        if (c.offset == 0) {
            receiving_.reset();   // abandons one broken off
            receiving_meta_ = c.meta;
            std::unique_ptr<snapshot_writer> w;
            if (auto ec = storage_->begin_snapshot(c.meta.index, c.meta.term, c.meta.members, w)) {
                feed(snapshot_received{c.meta, false});
                continue;
            }
            receiving_ = std::move(w);
        }
        if (!receiving_ || receiving_meta_ != c.meta) continue;   // the core asks only for what continues it
        if (c.data && !c.data->empty()) {
            if (auto ec = receiving_->write(*c.data)) {
                receiving_.reset();
                feed(snapshot_received{c.meta, false});
                continue;
            }
        }
        if (c.done) host_->finish_received_snapshot(*this, std::move(receiving_), c.meta);
    }
}

void runner::received_snapshot_done(const snapshot_meta& expected, error_code ec) {
    if (!running_) return;
    feed(snapshot_received{expected, !ec});
    flush();
}

// The core names the range; the bytes come from the stored snapshot. A chunk
// that cannot be read (its snapshot was just replaced) is not sent: the
// transfer goes on with the new snapshot, or from the last acknowledged
// offset after two heartbeats without progress.
void runner::send_snapshot_chunks(std::vector<snapshot_send>& sends) {
    for (snapshot_send& s : sends) {
        std::string data;
        if (s.length != 0)
            if (auto ec = storage_->read_snapshot(s.msg.meta, s.msg.offset, s.length, data)) continue;
        if (data.size() != s.length) continue;
        s.msg.data = make_bytes(std::move(data));
        host_->send(envelope{core_->id(), s.to, std::move(s.msg)});
    }
}

void runner::complete(const std::vector<completion>& done) {
    for (const completion& c : done) {
        if (outstanding_.erase(c.request) == 0) continue;   // abandoned earlier
        host_->broadcast_done(c.request, outcome_code(c.result),
                              c.result == broadcast_result::committed ? c.index : 0);
    }
}

// A read index is a point in the log: the read may be served once the
// application has everything up to it (thesis §6.4, step 4), so a ready
// read waits here until the deliveries reach it.
void runner::complete_reads(const std::vector<read_completion>& done) {
    for (const read_completion& r : done) {
        if (!reads_outstanding_.count(r.request)) continue;   // abandoned earlier
        if (r.result == read_result::ready) {
            reads_applying_.emplace(r.index, r.request);
            continue;
        }
        reads_outstanding_.erase(r.request);
        host_->read_done(r.request, r.result == read_result::busy ? errc::busy : errc::not_leader, 0);
    }
    release_applied_reads();
}

void runner::complete_transfers(const std::vector<transfer_completion>& done) {
    for (const transfer_completion& t : done) {
        if (!transfers_outstanding_.erase(t.request)) continue;   // abandoned earlier
        error_code ec;
        switch (t.result) {
        case transfer_result::done: break;
        case transfer_result::not_leader: ec = errc::not_leader; break;
        case transfer_result::rejected: ec = errc::transfer_rejected; break;
        case transfer_result::timed_out: ec = errc::transfer_timed_out; break;
        case transfer_result::busy: ec = errc::busy; break;
        }
        host_->transfer_done(t.request, ec);
    }
}

void runner::abandon_transfer(std::uint64_t request, error_code ec) {
    if (!transfers_outstanding_.erase(request)) return;
    if (core_) core_->withdraw_transfer(request);
    host_->transfer_done(request, ec);
}

void runner::release_applied_reads() {
    while (running_ && !reads_applying_.empty() && reads_applying_.begin()->first <= applied_) {
        const auto [index, request] = *reads_applying_.begin();
        reads_applying_.erase(reads_applying_.begin());
        if (reads_outstanding_.erase(request)) host_->read_done(request, {}, index);
    }
}

void runner::complete_changes(const std::vector<membership_completion>& done) {
    for (const membership_completion& c : done) {
        if (!changes_outstanding_.erase(c.request)) continue;
        error_code ec;
        switch (c.result) {
        case membership_result::committed: break;
        case membership_result::not_leader: ec = errc::not_leader; break;
        case membership_result::busy: ec = errc::busy; break;
        case membership_result::rejected: ec = errc::change_rejected; break;
        case membership_result::not_caught_up: ec = errc::not_caught_up; break;
        case membership_result::unknown: ec = errc::outcome_unknown; break;
        }
        host_->membership_done(c.request, ec, ec ? 0 : c.index);
    }
}

void runner::abandon_change(std::uint64_t request, error_code ec) {
    if (changes_outstanding_.erase(request)) host_->membership_done(request, ec, 0);
}

void runner::abandon_read(std::uint64_t request, error_code ec) {
    if (!reads_outstanding_.erase(request)) return;
    if (core_) core_->withdraw_read(request);
    for (auto it = reads_applying_.begin(); it != reads_applying_.end(); ++it) {
        if (it->second == request) {
            reads_applying_.erase(it);
            break;
        }
    }
    host_->read_done(request, ec, 0);
}

void runner::cancel(std::uint64_t request) {
    if (!running_ || !outstanding_.count(request)) return;
    if (!core_->withdraw(request)) {
        abandon(request, errc::outcome_unknown);
        return;
    }
    outstanding_.erase(request);
    // Asio's operation_aborted: nothing happened, as a cancelled operation promises.
    host_->broadcast_done(request, error_code(ECANCELED, boost::system::system_category()), 0);
}

void runner::abandon(std::uint64_t request, error_code ec) {
    if (outstanding_.erase(request)) host_->broadcast_done(request, ec, 0);
}

void runner::stop(error_code reason) {
    running_ = false;
    out_.clear();
    std::set<std::uint64_t> pending;
    pending.swap(outstanding_);
    for (std::uint64_t r : pending) host_->broadcast_done(r, reason, 0);
    std::set<std::uint64_t> reads;
    reads.swap(reads_outstanding_);
    reads_applying_.clear();
    for (std::uint64_t r : reads) host_->read_done(r, reason, 0);
    std::set<std::uint64_t> changes;
    changes.swap(changes_outstanding_);
    for (std::uint64_t r : changes) host_->membership_done(r, reason, 0);
    std::set<std::uint64_t> transfers;
    transfers.swap(transfers_outstanding_);
    for (std::uint64_t r : transfers) host_->transfer_done(r, reason);
}

// Also saves the commit index with the hard state (it is otherwise saved
// only with a term, a vote or a snapshot), so that after a clean stop the
// restart delivers everything committed before it hears from a leader.
error_code runner::write_queued() {
    disk_round round;
    round.batches_.assign(std::make_move_iterator(queued_.begin()), std::make_move_iterator(queued_.end()));
    queued_.clear();
    after_sync_waiting_ = 0;
    if (core_ && !failed_) {
        write_batch last;
        last.hard = hard_state{core_->current_term(), core_->voted_for(), core_->commit_length()};
        round.batches_.push_back(std::move(last));
    }
    return round.write_and_sync(*storage_);
}

// The node stops taking writes rather than acknowledging what it could not store.
void runner::fail(error_code ec) {
    if (failed_) return;
    failed_ = true;
    stop(errc::storage_failed);
    host_->storage_failed(ec);
}

void runner::set_sync_inline(bool on) {
    opts_.sync_inline = on;
    if (on && running_ && start_round()) flush();
}

} // namespace raftlite
