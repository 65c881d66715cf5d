// raftlite — the node: the runner on an Asio strand, with timers, a disk
// thread, the transport and the application's handlers. Every event is fed on
// the strand; the runner carries out the core's actions in the order the
// durability rules demand (runner.hpp).
#include <raftlite/node.hpp>

#include <raftlite/log.hpp>
#include <raftlite/persister.hpp>
#include <raftlite/runner.hpp>
#include <raftlite/transport.hpp>

#include "detail/broadcast_waiters.hpp"
#include "detail/disk_writer.hpp"
#include "detail/metrics_recorder.hpp"
#include "detail/strand_executor.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

namespace raftlite {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using broadcast_handler = asio::any_completion_handler<node::broadcast_signature>;
using receive_handler = asio::any_completion_handler<node::receive_signature>;
using stop_handler_type = asio::any_completion_handler<node::stop_signature>;
using snapshot_handler_type = asio::any_completion_handler<node::snapshot_signature>;

namespace {

// Committed entries a pull-style consumer has not taken yet; beyond this the
// runner holds them back (back-pressure), so nothing is lost and memory stays
// bounded by the log.
constexpr std::size_t max_received = 1024;

// Frame bytes around one entry's payload in a log_request (frame header,
// message tag, the request's fields, the entry's fields and length), with
// room to spare; a forward_request needs less.
constexpr std::size_t max_entry_frame_overhead = 256;

} // namespace

// The node is the runner's Asio world: a strand for every event, steady
// timers, a disk thread and the transport. The order in which the core's
// actions are carried out lives in the runner, not here.
struct node::impl : std::enable_shared_from_this<impl>, runner_host {
    impl(asio::any_io_executor ex, node_options o, std::unique_ptr<persister> p)
        : strand(detail::make_strand_executor(ex)),
          executor(ex),
          opts(std::move(o)),
          storage(std::move(p)),
          election_timer(strand),
          heartbeat_timer(strand),
          deadline_timer(strand),
          rng(opts.seed ? opts.seed : std::random_device{}()) {}

    // ---- strand only ----
    asio::any_io_executor strand;   // detail::make_strand_executor
    asio::any_io_executor executor;            // the transport's sockets run on it too
    node_options opts;
    std::unique_ptr<persister> storage;
    std::optional<runner> run;
    std::unique_ptr<transport> net;
    detail::metrics_recorder metrics;          // outlives `disk`, which records into it
    std::optional<detail::disk_writer> disk;   // only for storage that blocks
    asio::steady_timer election_timer;
    asio::steady_timer heartbeat_timer;
    asio::steady_timer deadline_timer;
    std::uint64_t election_generation = 0;     // an expiry of a timer since re-armed is ignored
    clock_type::time_point election_deadline{}; // when the election timeout fires (the last reset + its pick)
    bool election_waiting = false;              // election_timer has a wait of election_generation pending
    bool heartbeat_running = false;
    bool deadline_running = false;
    std::mt19937_64 rng;
    delivery_handler deliver_handler;
    std::optional<asio::any_io_executor> deliver_executor;   // none: the strand
    std::shared_ptr<std::atomic<bool>> deliveries_poisoned = std::make_shared<std::atomic<bool>>(false);
    node::stop_handler on_stop_handler;
    node::snapshot_handler take_snapshot_handler;
    node::restore_handler restore_handler;
    std::vector<detail::pending_handler<snapshot_signature>> snapshot_waiters;   // async_snapshot
    std::optional<asio::thread_pool> snapshot_thread;   // seals received snapshots (fsync) off the strand
    bool pull_mode = false;                    // no delivery handler: entries wait for async_receive
    std::deque<log_entry> received;            // pull mode: committed, not yet taken
    std::optional<detail::pending_handler<receive_signature>> receiver;
    std::vector<event> inbox;                  // events waiting for the next drain (group commit)
    struct cancel_state;
    struct queued_broadcast;
    std::vector<queued_broadcast> broadcasts_queued;   // broadcasts waiting for the next drain, in arrival order
    bool drain_scheduled = false;
    std::size_t completions_since_drain = 0;   // completions posted since the last drain was posted among them
    detail::broadcast_waiters waiters;
    detail::broadcast_waiters read_waiters;     // async_read_index (same signature and deadlines)
    detail::broadcast_waiters change_waiters;   // async_change_membership (same signature and deadlines)
    detail::transfer_waiters transfer_waiters;  // async_transfer_leadership
    std::atomic<bool> running{false};          // written by start() on the caller's thread
    bool failed = false;                       // storage failed
    boost::system::error_code stop_reason;
    role last_role = role::follower;
    term_t last_term = 0;
    node_id last_leader = no_node;

    // ---- shared with other threads ----
    mutable std::mutex status_mutex;
    node_status snapshot;
    transport* net_for_status = nullptr;       // its counters are read when status() is asked for

    node_id self() const { return opts.core.self; }

    // Runs `f` on the strand's behalf; an exception out of raftlite's own
    // code (a broken self-check) stops the node instead of escaping into the
    // application's run() with the node half-way through an output.
    template <class F>
    void guarded(F&& f) {
        try {
            f();
        } catch (const std::exception& e) {
            fail_stop(errc::internal_error, e.what());
        }
    }

    // -- events ------------------------------------------------------------
    void enqueue(event e) {
        if (!running) return;
        inbox.push_back(std::move(e));
        schedule_drain();
    }

    void schedule_drain() {
        if (drain_scheduled) return;
        drain_scheduled = true;
        asio::post(strand, [self = shared_from_this()] { self->drain(); });
    }

    // Everything that arrived since the last drain is stepped into one output
    // and carried out together: one disk round for all of it. The broadcasts
    // among it are one core event (broadcast_batch), so a leader replicates
    // them in one log_request per follower, not one each.
    void drain() {
        drain_scheduled = false;
        if (!running) return;   // shutdown completed the queued broadcasts
        std::vector<event> events;
        events.swap(inbox);
        std::vector<queued_broadcast> broadcasts;
        broadcasts.swap(broadcasts_queued);
        guarded([&] {
            for (const event& e : events) run->feed(e);
        });
        if (!broadcasts.empty()) start_broadcasts(broadcasts);
        guarded([&] { run->flush(); });
        publish_status();
    }

    // -- runner_host ---------------------------------------------------------
    void send(envelope message) override { net->send(std::move(message)); }

    void write_and_sync(disk_round round) override {
        // The disk thread holds no reference to the node: were it to hold the
        // last one, the node (and the disk thread with it) would be destroyed
        // on the disk thread itself.
        disk->run(std::move(round),
                  [weak = weak_from_this(), strand = strand](disk_round r, boost::system::error_code ec) {
                      asio::post(strand, [weak, r = std::move(r), ec]() mutable {
                          auto self = weak.lock();
                          if (!self || !self->running) return;
                          self->guarded([&] { self->run->disk_round_done(std::move(r), ec); });
                          self->publish_status();
                      });
                  });
    }

    void deliver(const log_entry& e) override {
        if (e.kind == entry_kind::configuration) update_peers();   // a configuration committed: who may go
        if (e.kind != entry_kind::application) return;
        if (pull_mode) {
            if (receiver) {
                auto r = std::move(*receiver);
                receiver.reset();
                complete(std::move(r), boost::system::error_code{}, e.index, e.payload);
            } else {
                received.push_back(e);
            }
            return;
        }
        if (!deliver_handler) return;
        if (deliver_executor) {
            // Posted in index order; after a failure the later ones are skipped,
            // so the application never applies past the entry that failed.
            asio::post(*deliver_executor, [weak = weak_from_this(), strand = strand, h = deliver_handler,
                                           poisoned = deliveries_poisoned, i = e.index, p = e.payload] {
                if (*poisoned) return;
                try {
                    h(i, p);
                } catch (const std::exception& ex) {
                    *poisoned = true;
                    asio::post(strand, [weak, i, what = std::string(ex.what())] {
                        if (auto self = weak.lock()) self->delivery_failed(i, what);
                    });
                }
            });
            return;
        }
        try {
            deliver_handler(e.index, e.payload);
        } catch (const std::exception& ex) {
            *deliveries_poisoned = true;
            delivery_failed(e.index, ex.what());
        }
    }

    bool can_deliver() override { return !pull_mode || received.size() < max_received; }

    void deliveries_pending() override {
        asio::post(strand, [weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self || !self->running) return;
            self->guarded([&] { self->run->resume_deliveries(); });
            self->publish_status();
        });
    }

    // -- snapshots -------------------------------------------------------------
    // Runs `f` where deliveries run: on the strand, or posted in order to the
    // delivery executor; a throw stops the node as a failed delivery would.
    template <class F>
    void where_deliveries_run(index_t index, F f) {
        auto guarded_call = [weak = weak_from_this(), strand = strand, poisoned = deliveries_poisoned, index,
                             f = std::move(f)]() mutable {
            if (*poisoned) return;
            try {
                f();
            } catch (const std::exception& ex) {
                *poisoned = true;
                asio::post(strand, [weak, index, what = std::string(ex.what())] {
                    if (auto self = weak.lock()) self->delivery_failed(index, what);
                });
            }
        };
        if (deliver_executor) asio::post(*deliver_executor, std::move(guarded_call));
        else guarded_call();
    }

    void restore(const snapshot_meta& meta) override {
        RAFTLITE_LOG_CORE(info) << "restoring the snapshot of entries 1.." << meta.index << " (term " << meta.term
                                << ", " << meta.size << " bytes)";
        if (!restore_handler) {
            fail_stop(errc::internal_error, "a snapshot to restore, but no restore handler (node::on_snapshot)");
            return;
        }
        where_deliveries_run(meta.index, [h = restore_handler, storage = storage.get(), meta] {
            snapshot_source source(*storage, meta);
            h(source);
        });
    }

    void take_snapshot(index_t index, term_t term, const membership& members) override {
        std::unique_ptr<snapshot_writer> writer;
        boost::system::error_code ec;
        if (!take_snapshot_handler) ec = boost::system::errc::make_error_code(boost::system::errc::operation_not_supported);
        else ec = storage->begin_snapshot(index, term, members, writer);
        if (ec) {
            asio::post(strand, [weak = weak_from_this(), ec] {
                if (auto self = weak.lock()) self->snapshot_finished(snapshot_meta{}, ec);
            });
            return;
        }
        // The sink reports back on the strand, from whatever thread finishes it.
        snapshot_sink sink(index, term, std::move(writer),
                           [weak = weak_from_this(), strand = strand](const snapshot_meta& meta, boost::system::error_code e) {
                               asio::post(strand, [weak, meta, e] {
                                   if (auto self = weak.lock()) self->snapshot_finished(meta, e);
                               });
                           });
        auto shared_sink = std::make_shared<snapshot_sink>(std::move(sink));
        where_deliveries_run(index, [h = take_snapshot_handler, shared_sink] { h(std::move(*shared_sink)); });
    }

    void snapshot_finished(const snapshot_meta& meta, boost::system::error_code ec) {
        if (!running) return;
        if (ec) RAFTLITE_LOG_CORE(warning) << "snapshot failed: " << ec.message() << " (asked again later)";
        else RAFTLITE_LOG_CORE(info) << "snapshot of entries 1.." << meta.index << " taken (" << meta.size << " bytes)";
        guarded([&] { run->snapshot_done(meta, ec); });
        auto waiting = std::move(snapshot_waiters);
        snapshot_waiters.clear();
        for (auto& w : waiting) complete(std::move(w), ec, ec ? index_t{0} : meta.index);
        publish_status();
    }

    void finish_received_snapshot(runner&, std::shared_ptr<snapshot_writer> writer,
                                  const snapshot_meta& expected) override {
        if (!snapshot_thread) snapshot_thread.emplace(1);
        asio::post(*snapshot_thread, [weak = weak_from_this(), strand = strand, w = std::move(writer), expected] {
            snapshot_meta sealed;
            const boost::system::error_code ec = w->finish(sealed, &expected);
            asio::post(strand, [weak, expected, ec] {
                auto self = weak.lock();
                if (!self || !self->running) return;
                if (ec) RAFTLITE_LOG_CORE(warning) << "snapshot from the leader rejected: " << ec.message();
                self->guarded([&] { self->run->received_snapshot_done(expected, ec); });
                self->publish_status();
            });
        });
    }

    void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        metrics.broadcast_finished(request, ec);
        if (auto w = waiters.take(request)) complete(std::move(*w), ec, index);
    }

    void read_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        metrics.read_finished(request, ec);
        auto w = read_waiters.take(request);
        if (!w) return;
        // With a delivery executor, the deliveries up to `index` were posted
        // there: the completion follows them, so the application's state
        // has them when the handler runs.
        if (deliver_executor && !ec) {
            asio::post(*deliver_executor, [self = shared_from_this(), w = std::move(*w), ec, index]() mutable {
                self->complete(std::move(w), ec, index);
            });
            return;
        }
        complete(std::move(*w), ec, index);
    }

    void membership_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        if (auto w = change_waiters.take(request)) complete(std::move(*w), ec, index);
    }

    // Thesis §4.1: a configuration is in force from the moment it is in the
    // log. The transport reaches every server it names from now on.
    void configuration_changed(const membership& m) override {
        RAFTLITE_LOG_CORE(info) << "configuration: " << to_string(m) << " (term=" << run->raft().current_term() << ")";
        update_peers();
    }

    // The transport reaches every other server of the configuration in
    // force and of the last committed one, at the address the configuration
    // gives (or, for a server it gives none, the config file's), and no one
    // else. Until a configuration that removes a server commits, that server
    // may still be needed: a leader removing itself leads until then (thesis
    // §4.2.2). Once it committed, the removed server's connections close and
    // its frames are refused. A node that joins has no configuration until a
    // leader adds it: the config file's peers are how it answers.
    void update_peers() {
        if (!net || !run || !run->loaded()) return;
        const core& raft = run->raft();
        const membership& latest = raft.configuration();
        if (latest.empty()) {
            net->set_peers(opts.transport.peers);
            return;
        }
        std::vector<member> reach = latest.members();
        const membership committed = raft.configuration_at(raft.commit_length());
        for (const member& x : committed.members())
            if (!latest.contains(x.id)) reach.push_back(x);
        std::map<node_id, endpoint_address> peers;
        for (const member& x : reach) {
            if (x.id == self()) continue;
            if (auto a = endpoint_address::parse(x.address)) {
                peers.emplace(x.id, *a);
            } else if (auto it = opts.transport.peers.find(x.id); it != opts.transport.peers.end()) {
                peers.emplace(x.id, it->second);
            } else {
                RAFTLITE_LOG_NET(warning) << "server " << x.id << " has no usable address ('" << x.address
                                          << "'): it cannot be reached";
            }
        }
        net->set_peers(peers);
    }

    void transfer_done(std::uint64_t request, boost::system::error_code ec) override {
        if (auto w = transfer_waiters.take(request)) complete(std::move(*w), ec);
    }

    std::optional<std::chrono::nanoseconds> now() override { return clock_type::now().time_since_epoch(); }

    void reset_election_timer() override { arm_election_timer(); }

    void set_heartbeat(bool on) override {
        if (on && !heartbeat_running) {
            heartbeat_running = true;
            arm_heartbeat_timer();
        } else if (!on) {
            heartbeat_running = false;
            heartbeat_timer.cancel();
        }
    }

    void storage_failed(boost::system::error_code ec) override {
        if (!running) return;
        failed = true;
        fail_stop(errc::storage_failed, "storage write or sync failed: " + ec.message());
    }

    // -- fail-stop -----------------------------------------------------------
    void delivery_failed(index_t index, const std::string& what) {
        fail_stop(errc::delivery_failed, "delivery handler threw at index " + std::to_string(index) + ": " + what);
    }

    void fail_stop(errc reason, const std::string& what) {
        if (!running) return;
        RAFTLITE_LOG_CORE(error) << what << "; the node stops (term="
                                 << (run && run->loaded() ? run->raft().current_term() : 0) << ")";
        shutdown(reason);
    }

    // -- completions ---------------------------------------------------------
    // A handler runs on its associated executor (the strand by default),
    // posted, never inline, so it may call back into the node freely; the
    // post uses the handler's associated allocator and keeps its executor
    // busy until it has run.
    template <class Signature, class... Args>
    void complete(detail::pending_handler<Signature> w, Args... args) {
        asio::post(strand, [self = shared_from_this(), w = std::move(w), args...]() mutable {
            // w.work is the handler's associated executor (with outstanding
            // work, released once the handler is dispatched to it).
            const asio::any_completion_executor ex = std::move(w.work);
            asio::dispatch(ex, asio::append(std::move(w.handler), std::move(args)...));
        });
        // A closed loop of clients answers each completion with its next
        // broadcast. With the drain posted only behind all of a commit's
        // completions, the whole burst leaves in one log_request after the
        // last of them ran, and every entry waits for all the others'
        // handlers: a lock step that costs a wide-area cluster about a tenth
        // of its throughput. A drain among every few completions
        // (completions_per_drain) sends what their handlers broadcast while
        // the rest still run; on one machine with fsync the smaller disk
        // rounds cost more than that, so it is opt-in.
        if (opts.completions_per_drain != 0 && ++completions_since_drain >= opts.completions_per_drain) {
            completions_since_drain = 0;
            asio::post(strand, [self = shared_from_this()] {
                if (!self->broadcasts_queued.empty()) self->drain();
            });
        }
    }

    // -- timers ------------------------------------------------------------
    // A follower resets its election timer on every message of the leader
    // (thesis §3.4): thousands of times a second under load. Cancelling and
    // arming an Asio timer each time costs a timer-queue update and a
    // completion per reset, so the reset only moves `election_deadline`; the
    // wait already armed, on expiry, waits again until the deadline if it
    // moved later. Only a deadline earlier than the armed expiry re-arms at
    // once. The timeout still fires at the last reset plus its random pick.
    void arm_election_timer() {
        const auto lo = opts.election_timeout_min.count();
        const auto hi = std::max(opts.election_timeout_max.count(), lo + 1);
        std::uniform_int_distribution<long long> pick(lo, hi - 1);
        election_deadline = clock_type::now() + std::chrono::milliseconds(pick(rng));
        if (election_waiting && election_timer.expiry() <= election_deadline) return;
        ++election_generation;   // a cancelled wait's completion is ignored
        wait_for_election_deadline();
    }

    void wait_for_election_deadline() {
        election_waiting = true;
        election_timer.expires_at(election_deadline);
        election_timer.async_wait([self = shared_from_this(), generation = election_generation](boost::system::error_code ec) {
            if (ec || generation != self->election_generation) return;
            if (clock_type::now() < self->election_deadline) {
                self->wait_for_election_deadline();   // reset since this wait was armed
                return;
            }
            self->election_waiting = false;
            self->enqueue(election_timeout{});
        });
    }

    void arm_heartbeat_timer() {
        heartbeat_timer.expires_after(opts.heartbeat_interval);
        heartbeat_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || !self->heartbeat_running || !self->running) return;
            self->enqueue(heartbeat_timeout{});
            self->arm_heartbeat_timer();
        });
    }

    // Broadcasts without an outcome by their deadline complete with timed_out.
    void arm_deadline_timer() {
        if (deadline_running) return;
        auto next = waiters.next_deadline();
        if (auto r = read_waiters.next_deadline(); r && (!next || *r < *next)) next = r;
        if (auto r = change_waiters.next_deadline(); r && (!next || *r < *next)) next = r;
        if (auto r = transfer_waiters.next_deadline(); r && (!next || *r < *next)) next = r;
        if (!next) return;
        deadline_running = true;
        deadline_timer.expires_at(*next);
        deadline_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->deadline_running = false;
            if (ec || !self->running) return;
            for (std::uint64_t request : self->waiters.expired(clock_type::now()))
                self->run->abandon(request, errc::timed_out);
            for (std::uint64_t request : self->read_waiters.expired(clock_type::now()))
                self->run->abandon_read(request, errc::timed_out);
            for (std::uint64_t request : self->change_waiters.expired(clock_type::now()))
                self->run->abandon_change(request, errc::timed_out);
            for (std::uint64_t request : self->transfer_waiters.expired(clock_type::now()))
                self->run->abandon_transfer(request, errc::timed_out);
            self->arm_deadline_timer();
        });
    }

    // -- application -------------------------------------------------------
    // A cancellation that may arrive before the broadcast has a request id
    // (it is emitted from the caller's context, the id is made on the strand).
    struct cancel_state {
        std::uint64_t request = 0;   // strand only, like `requested`
        bool requested = false;
    };

    // A broadcast accepted on the strand, fed at the next drain.
    struct queued_broadcast {
        shared_bytes payload;
        detail::broadcast_waiters::waiter w;
        std::shared_ptr<cancel_state> cancel;
        clock_type::time_point deadline;   // broadcast_timeout from its arrival
    };

    // Connects the waiter's cancellation slot, if it has one: a cancellation
    // (emitted from the caller's context) is posted to the strand, where it
    // calls `cancel` with the operation's request id once it has one.
    template <class Waiter>
    std::shared_ptr<cancel_state> connect_cancellation(Waiter& w,
                                                       void (impl::*cancel)(std::uint64_t)) {
        auto state = std::make_shared<cancel_state>();
        auto slot = w.handler.get_cancellation_slot();
        if (slot.is_connected()) {
            slot.assign([weak = weak_from_this(), strand = strand, state, cancel](asio::cancellation_type) {
                asio::post(strand, [weak, state, cancel] {
                    state->requested = true;
                    auto self = weak.lock();
                    if (self && self->running && state->request) ((*self).*cancel)(state->request);
                });
            });
        }
        return state;
    }

    // On the caller's thread, as Asio's own initiating functions do: the
    // handler's executor has outstanding work and its cancellation slot is
    // connected before async_broadcast returns.
    void initiate_broadcast(shared_bytes payload, broadcast_handler h) {
        detail::broadcast_waiters::waiter w(std::move(h), strand);
        auto cancel = connect_cancellation(w, &impl::cancel_broadcast);
        asio::dispatch(strand, [self = shared_from_this(), p = std::move(payload), w = std::move(w), cancel]() mutable {
            self->broadcast(std::move(p), std::move(w), std::move(cancel));
        });
    }

    // The largest payload every hop takes: one entry alone in a log_request
    // or a forward_request frame, the peers' decoder (configured alike
    // across the cluster) and the storage. A larger one would be appended
    // and then dropped by every transport on every retry, wedging
    // replication behind it; it is refused at once instead.
    std::size_t max_payload() const {
        const auto& t = opts.transport;
        const std::size_t frame = t.max_frame_bytes > max_entry_frame_overhead
                                      ? t.max_frame_bytes - max_entry_frame_overhead
                                      : 0;
        return std::min({t.limits.max_payload_bytes, frame, storage->max_entry_bytes()});
    }

    // Queued for the next drain with every other broadcast of this strand
    // turn (replicate once per turn, as etcd's Ready loop and braft do).
    void broadcast(shared_bytes payload, detail::broadcast_waiters::waiter w, std::shared_ptr<cancel_state> cancel) {
        if (!running || !run->running()) {
            metrics.broadcast_refused(closed_reason());
            complete(std::move(w), closed_reason(), index_t{0});
            return;
        }
        if (payload && payload->size() > max_payload()) {
            metrics.broadcast_refused(errc::payload_too_large);
            complete(std::move(w), boost::system::error_code(errc::payload_too_large), index_t{0});
            return;
        }
        broadcasts_queued.push_back(
            {std::move(payload), std::move(w), std::move(cancel), clock_type::now() + opts.broadcast_timeout});
        schedule_drain();
    }

    // Feeds the queued broadcasts to the runner as one batch and registers
    // their waiters (deadlines from their arrival, so still in order).
    void start_broadcasts(std::vector<queued_broadcast>& batch) {
        if (!running || !run->running()) {   // stopped (a broken self-check) earlier in this drain
            for (auto& b : batch) {
                metrics.broadcast_refused(closed_reason());
                complete(std::move(b.w), closed_reason(), index_t{0});
            }
            return;
        }
        std::vector<shared_bytes> payloads;
        payloads.reserve(batch.size());
        for (auto& b : batch) payloads.push_back(std::move(b.payload));
        std::uint64_t first = 0;
        guarded([&] { first = run->feed_broadcasts(std::move(payloads)); });
        if (!running) {   // a broken self-check stopped the node inside
            for (auto& b : batch) complete(std::move(b.w), closed_reason(), index_t{0});
            return;
        }
        for (std::size_t k = 0; k < batch.size(); ++k) {
            const std::uint64_t request = first + k;
            metrics.broadcast_started(request);
            waiters.add(request, std::move(batch[k].w), batch[k].deadline);
            batch[k].cancel->request = request;
        }
        // Cancellations that came before the ids, once every waiter is in.
        for (std::size_t k = 0; k < batch.size(); ++k)
            if (batch[k].cancel->requested) cancel_broadcast(first + k);
        arm_deadline_timer();
    }

    // As initiate_broadcast: work and cancellation slot on the caller's thread.
    void initiate_read(asio::any_completion_handler<read_signature> h) {
        detail::broadcast_waiters::waiter w(std::move(h), strand);
        auto cancel = connect_cancellation(w, &impl::cancel_read);
        asio::dispatch(strand, [self = shared_from_this(), w = std::move(w), cancel]() mutable {
            self->read(std::move(w), *cancel);
        });
    }

    void read(detail::broadcast_waiters::waiter w, cancel_state& cancel) {
        if (!running || !run->running()) {
            metrics.read_refused(closed_reason());
            complete(std::move(w), closed_reason(), index_t{0});
            return;
        }
        // The waiter is registered first: the runner may report the read
        // from inside feed_read (a leader of one, or under its lease).
        const std::uint64_t request = run->next_request();
        read_waiters.add(request, std::move(w), clock_type::now() + opts.broadcast_timeout);
        metrics.read_started(request);
        guarded([&] {
            if (run->feed_read() != request) throw std::logic_error("raftlite::node: read ids out of step");
        });
        cancel.request = request;
        if (cancel.requested) cancel_read(request);
        arm_deadline_timer();
        schedule_drain();
    }

    // As initiate_broadcast: work and cancellation slot on the caller's thread.
    void initiate_change(asio::any_completion_handler<membership_signature> h, membership_change change) {
        detail::broadcast_waiters::waiter w(std::move(h), strand);
        auto cancel = connect_cancellation(w, &impl::cancel_change);
        asio::dispatch(strand, [self = shared_from_this(), w = std::move(w), cancel, c = std::move(change)]() mutable {
            self->change_membership(std::move(c), std::move(w), *cancel);
        });
    }

    void change_membership(membership_change change, detail::broadcast_waiters::waiter w, cancel_state& cancel) {
        if (!running || !run->running()) {
            complete(std::move(w), closed_reason(), index_t{0});
            return;
        }
        RAFTLITE_LOG_CORE(info) << "membership change asked: " << action_name(change.what) << " " << change.server.id
                                << " (term=" << run->raft().current_term() << ")";
        // Registered first: the runner may answer from inside the call.
        const std::uint64_t request = run->next_request();
        change_waiters.add(request, std::move(w), clock_type::now() + opts.broadcast_timeout);
        guarded([&] {
            if (run->feed_membership_change(std::move(change)) != request)
                throw std::logic_error("raftlite::node: membership change ids out of step");
        });
        cancel.request = request;
        if (cancel.requested) cancel_change(request);
        arm_deadline_timer();
        schedule_drain();
    }

    // As initiate_read.
    void initiate_transfer(node_id target, asio::any_completion_handler<transfer_signature> h) {
        detail::transfer_waiters::waiter w(std::move(h), strand);
        auto cancel = connect_cancellation(w, &impl::cancel_transfer);
        asio::dispatch(strand, [self = shared_from_this(), target, w = std::move(w), cancel]() mutable {
            self->transfer(target, std::move(w), *cancel);
        });
    }

    void transfer(node_id target, detail::transfer_waiters::waiter w, cancel_state& cancel) {
        if (!running || !run->running()) {
            complete(std::move(w), closed_reason());
            return;
        }
        // Registered first: the runner may answer inside feed_transfer (a
        // follower, a refused target, a target already caught up and won).
        const std::uint64_t request = run->next_request();
        transfer_waiters.add(request, std::move(w), clock_type::now() + opts.broadcast_timeout);
        guarded([&] {
            if (run->feed_transfer(target) != request)
                throw std::logic_error("raftlite::node: transfer ids out of step");
        });
        cancel.request = request;
        if (cancel.requested) cancel_transfer(request);
        arm_deadline_timer();
        schedule_drain();
    }

    void cancel_change(std::uint64_t request) {
        guarded([&] {
            run->abandon_change(request, boost::system::error_code(ECANCELED, boost::system::system_category()));
            run->flush();
        });
    }

    void cancel_transfer(std::uint64_t request) {
        guarded([&] {
            run->abandon_transfer(request, boost::system::error_code(ECANCELED, boost::system::system_category()));
            run->flush();
        });
    }

    void cancel_read(std::uint64_t request) {
        guarded([&] {
            run->abandon_read(request, boost::system::error_code(ECANCELED, boost::system::system_category()));
            run->flush();
        });
    }

    void cancel_broadcast(std::uint64_t request) {
        guarded([&] {
            run->cancel(request);
            run->flush();
        });
    }

    void receive(detail::pending_handler<receive_signature> w) {
        if (!pull_mode && run) {
            complete(std::move(w), boost::system::error_code(asio::error::operation_not_supported), index_t{0},
                     shared_bytes{});
            return;
        }
        if (!received.empty()) {
            log_entry e = std::move(received.front());
            received.pop_front();
            complete(std::move(w), boost::system::error_code{}, e.index, e.payload);
            if (running) guarded([&] { run->resume_deliveries(); });
            return;
        }
        if (!running || !run) {
            complete(std::move(w), closed_reason(), index_t{0}, shared_bytes{});
            return;
        }
        if (receiver) {   // one receive at a time, as with an Asio socket's reads
            complete(std::move(w), boost::system::error_code(errc::busy), index_t{0}, shared_bytes{});
            return;
        }
        receiver.emplace(std::move(w));
    }

    // Why operations fail once the node is not running.
    boost::system::error_code closed_reason() const {
        if (stop_reason) return stop_reason;
        return failed ? errc::storage_failed : errc::stopped;
    }

    void shutdown(errc reason) {
        if (!running) return;
        running = false;
        stop_reason = reason;
        election_timer.cancel();
        election_waiting = false;
        heartbeat_timer.cancel();
        deadline_timer.cancel();
        heartbeat_running = false;
        if (net) net->stop();
        if (disk) disk->wait_idle();
        if (snapshot_thread) snapshot_thread->join();   // a received snapshot being sealed
        if (run->running()) run->stop(reason);   // completes every broadcast awaiting an outcome
        if (reason == errc::stopped || reason == errc::delivery_failed) {
            // What was handed to the runner is stored before the directory is
            // released (not after a storage failure or a broken self-check).
            if (auto ec = run->write_queued())
                RAFTLITE_LOG_DISK(error) << "final write failed: " << ec.message();
            else if (auto ec = storage->sync())
                RAFTLITE_LOG_DISK(error) << "final sync failed: " << ec.message();
        }
        // Release the data directory (its lock) now, not when the last
        // queued handler lets go of this object: a restart may follow at once.
        storage.reset();
        auto queued = std::move(broadcasts_queued);   // never fed: refused like a broadcast after the stop
        broadcasts_queued.clear();
        for (auto& b : queued) {
            metrics.broadcast_refused(boost::system::error_code(reason));
            complete(std::move(b.w), boost::system::error_code(reason), index_t{0});
        }
        for (std::uint64_t request : waiters.requests())
            if (auto w = waiters.take(request)) complete(std::move(*w), boost::system::error_code(reason), index_t{0});
        for (std::uint64_t request : read_waiters.requests())
            if (auto w = read_waiters.take(request)) complete(std::move(*w), boost::system::error_code(reason), index_t{0});
        for (std::uint64_t request : change_waiters.requests())
            if (auto w = change_waiters.take(request)) complete(std::move(*w), boost::system::error_code(reason), index_t{0});
        for (std::uint64_t request : transfer_waiters.requests())
            if (auto w = transfer_waiters.take(request)) complete(std::move(*w), boost::system::error_code(reason));
        auto snapshot_waiting = std::move(snapshot_waiters);
        snapshot_waiters.clear();
        for (auto& w : snapshot_waiting) complete(std::move(w), boost::system::error_code(reason), index_t{0});
        if (receiver) {
            auto r = std::move(*receiver);
            receiver.reset();
            complete(std::move(r), boost::system::error_code(reason), index_t{0}, shared_bytes{});
        }
        RAFTLITE_LOG_CORE(info) << "stopped: " << make_error_code(reason).message()
                                << " (term=" << run->raft().current_term() << ")";
        publish_status();
        if (on_stop_handler) {
            auto h = std::move(on_stop_handler);
            on_stop_handler = nullptr;
            h(make_error_code(reason));
        }
    }

    void publish_status() {
        const core& raft = run->raft();
        if (raft.current_term() != last_term || raft.role() != last_role || raft.leader() != last_leader) {
            RAFTLITE_LOG_CORE(info) << role_name(raft.role()) << " term=" << raft.current_term()
                                    << " leader=" << raft.leader() << " commit=" << raft.commit_length()
                                    << " last=" << raft.log().length();
            last_term = raft.current_term();
            last_role = raft.role();
            last_leader = raft.leader();
        }
        metrics.leader_seen(raft.current_term(), raft.leader());
        node_status s;
        s.id = self();
        s.term = raft.current_term();
        s.role = raft.role();
        s.leader = raft.leader();
        s.commit_index = raft.commit_length();
        s.last_log_index = raft.log().length();
        s.applied_index = run->applied();
        s.snapshot_index = raft.snapshot().index;
        s.log_start = raft.log().start();
        s.snapshots_taken = run->snapshots_taken();
        s.snapshots_installed = run->snapshots_installed();
        if (raft.role() == role::leader)
            for (const member& m : raft.configuration().members())
                if (m.id != self()) s.match_index[m.id] = raft.acked_length(m.id);
        s.members = raft.configuration();
        s.configuration_index = raft.configuration_index();
        s.running = running;
        s.storage_failed = failed;
        s.stop_reason = stop_reason;
        s.core = raft.stats();
        std::lock_guard<std::mutex> lock(status_mutex);
        snapshot = std::move(s);
    }
};

node::node(asio::any_io_executor executor, node_options options, std::unique_ptr<persister> storage)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options), std::move(storage))) {
    impl_->snapshot.id = impl_->self();
}

node::node(asio::io_context& ioc, node_options options, std::unique_ptr<persister> storage)
    : node(ioc.get_executor(), std::move(options), std::move(storage)) {}

node::~node() { stop(); }

void node::on_deliver(delivery_handler handler) { impl_->deliver_handler = std::move(handler); }

void node::on_deliver(boost::asio::any_io_executor executor, delivery_handler handler) {
    impl_->deliver_handler = std::move(handler);
    impl_->deliver_executor = std::move(executor);
}

void node::on_stop(stop_handler handler) { impl_->on_stop_handler = std::move(handler); }

void node::on_snapshot(snapshot_handler take, restore_handler restore) {
    impl_->take_snapshot_handler = std::move(take);
    impl_->restore_handler = std::move(restore);
}

boost::system::error_code node::start() {
    impl& d = *impl_;
    if (d.running || d.run) return {};
    runner_options ro;
    ro.core = d.opts.core;
    if (d.opts.lease_reads) {
        // Thesis §6.4.1: the lease must end before any follower that answered
        // the round may time out, on its clock, however the clocks drift
        // within the bound: a leader's d_L spans at most d_L / (1 - d) of
        // true time, a follower's minimum timeout at least min / (1 + d).
        const double drift = d.opts.max_clock_drift;
        if (!(drift >= 0.0 && drift < 1.0)) return make_error_code(boost::system::errc::invalid_argument);
        const auto min = std::chrono::duration_cast<std::chrono::nanoseconds>(d.opts.election_timeout_min);
        ro.core.lease_duration = std::chrono::nanoseconds(
            static_cast<std::int64_t>(static_cast<double>(min.count()) * (1.0 - drift) / (1.0 + drift)));
    }
    ro.applied_index = d.opts.applied_index;
    ro.max_deliveries_per_turn = d.opts.max_deliveries_per_turn;
    if (d.take_snapshot_handler) {
        ro.snapshot_entries = d.opts.snapshot_entries;
        ro.snapshot_bytes = d.opts.snapshot_bytes;
    }
    // Request ids must not repeat across runs (see runner_options): they start
    // at the wall clock in nanoseconds (no run issues a billion broadcasts a
    // second), and the runner moves them above every id of ours in the log
    // should the clock have gone back.
    ro.first_request = static_cast<std::uint64_t>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count()));
    // Storage that does not block (memory) is written inline, saving two
    // thread hand-offs per round; files get a disk thread of their own.
    ro.sync_inline = !d.storage->blocks();
    d.pull_mode = !d.deliver_handler;
    d.run.emplace(std::move(ro), *d.storage, d);
    if (auto ec = d.run->load()) {
        d.run.reset();
        return ec;
    }
    if (d.run->raft().snapshot().index > d.opts.applied_index && !d.restore_handler) {
        RAFTLITE_LOG_CORE(error) << "the data directory holds a snapshot (entries 1.." << d.run->raft().snapshot().index
                                 << ") but no restore handler is set (node::on_snapshot)";
        d.run.reset();
        return errc::bad_config;
    }
    if (d.storage->blocks()) d.disk.emplace(*d.storage, &d.metrics);
    d.last_term = d.run->raft().current_term();

    d.running = true;
    std::weak_ptr<impl> weak = impl_;
    d.opts.transport.self = d.self();
    d.net = std::make_unique<transport>(d.executor, d.opts.transport, [weak](envelope env) {
        if (auto self = weak.lock()) {
            asio::post(self->strand, [self, env = std::move(env)]() mutable {
                self->enqueue(message_received{std::move(env)});
            });
        }
    });
    {
        std::lock_guard<std::mutex> lock(d.status_mutex);
        d.net_for_status = d.net.get();
    }
    try {
        d.net->start();
    } catch (const boost::system::system_error& e) {
        // what() names the address that cannot be bound or the TLS file that cannot be used.
        RAFTLITE_LOG_NET(error) << e.what();
        d.running = false;
        {
            std::lock_guard<std::mutex> lock(d.status_mutex);
            d.net_for_status = nullptr;
        }
        d.net.reset();
        d.run.reset();
        return e.code();
    }
    const core& raft = d.run->raft();
    RAFTLITE_LOG_CORE(info) << "starting: term=" << raft.current_term() << " log=" << raft.log().start()
                            << ".." << raft.log().length() << " members=" << d.opts.core.members.size();
    asio::dispatch(d.strand, [self = impl_] {
        self->guarded([&] { self->run->start(); });
        self->publish_status();
    });
    return {};
}

void node::do_broadcast(broadcast_handler handler, shared_bytes payload) {
    impl_->initiate_broadcast(std::move(payload), std::move(handler));
}

void node::do_read_index(asio::any_completion_handler<read_signature> handler) {
    impl_->initiate_read(std::move(handler));
}

void node::do_change_membership(asio::any_completion_handler<membership_signature> handler,
                                membership_change change) {
    impl_->initiate_change(std::move(handler), std::move(change));
}

void node::do_transfer(asio::any_completion_handler<transfer_signature> handler, node_id target) {
    impl_->initiate_transfer(target, std::move(handler));
}

void node::do_receive(receive_handler handler) {
    detail::pending_handler<receive_signature> w(std::move(handler), impl_->strand);
    asio::dispatch(impl_->strand, [self = impl_, w = std::move(w)]() mutable { self->receive(std::move(w)); });
}

void node::do_stop(stop_handler_type handler) {
    detail::pending_handler<stop_signature> w(std::move(handler), impl_->strand);
    asio::dispatch(impl_->strand, [self = impl_, w = std::move(w)]() mutable {
        self->shutdown(errc::stopped);   // nothing if it stopped already
        self->complete(std::move(w), self->closed_reason());
    });
}

void node::do_snapshot(snapshot_handler_type handler) {
    detail::pending_handler<snapshot_signature> w(std::move(handler), impl_->strand);
    asio::dispatch(impl_->strand, [self = impl_, w = std::move(w)]() mutable {
        if (!self->running || !self->run) {
            self->complete(std::move(w), boost::system::error_code(self->closed_reason()), index_t{0});
            return;
        }
        if (!self->take_snapshot_handler) {
            self->complete(std::move(w),
                           boost::system::errc::make_error_code(boost::system::errc::operation_not_supported),
                           index_t{0});
            return;
        }
        bool asked = false;
        self->guarded([&] { asked = self->run->request_snapshot(); });
        if (asked || self->run->snapshot_in_progress()) self->snapshot_waiters.push_back(std::move(w));
        else self->complete(std::move(w), boost::system::error_code{}, self->run->raft().snapshot().index);
    });
}

node_status node::status() const {
    std::lock_guard<std::mutex> lock(impl_->status_mutex);
    node_status s = impl_->snapshot;
    if (impl_->net_for_status) s.transport = impl_->net_for_status->stats();   // atomics: safe from any thread
    return s;
}

node_metrics node::metrics() const { return impl_->metrics.snapshot(status()); }

std::uint16_t node::listen_port() const { return impl_->net ? impl_->net->listen_port() : 0; }

void node::stop() {
    asio::dispatch(impl_->strand, [self = impl_] { self->shutdown(errc::stopped); });
}

} // namespace raftlite
