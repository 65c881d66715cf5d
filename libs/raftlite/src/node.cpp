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

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>

namespace raftlite {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using handler_type = asio::any_completion_handler<node::broadcast_signature>;

// The node is the runner's Asio world: a strand for every event, steady
// timers, a disk thread and the transport. The order in which the core's
// actions are carried out lives in the runner, not here.
struct node::impl : std::enable_shared_from_this<impl>, runner_host {
    impl(asio::io_context& ioc, node_options o, std::unique_ptr<persister> p)
        : strand(asio::make_strand(ioc)),
          ioc(ioc),
          opts(std::move(o)),
          storage(std::move(p)),
          election_timer(strand),
          heartbeat_timer(strand),
          deadline_timer(strand),
          rng(opts.seed ? opts.seed : std::random_device{}()) {}

    // ---- strand only ----
    asio::strand<asio::io_context::executor_type> strand;
    asio::io_context& ioc;
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
    bool heartbeat_running = false;
    bool deadline_running = false;
    std::mt19937_64 rng;
    delivery_handler deliver_handler;
    std::optional<asio::any_io_executor> deliver_executor;   // none: the strand
    std::vector<event> inbox;                  // events waiting for the next drain (group commit)
    bool drain_scheduled = false;
    detail::broadcast_waiters waiters;
    std::atomic<bool> running{false};          // written by start() on the caller's thread
    bool failed = false;
    role last_role = role::follower;
    term_t last_term = 0;
    node_id last_leader = no_node;

    // ---- shared with other threads ----
    mutable std::mutex status_mutex;
    node_status snapshot;
    transport* net_for_status = nullptr;       // its counters are read when status() is asked for

    node_id self() const { return opts.core.self; }

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
    // and carried out together: one disk round for all of it.
    void drain() {
        drain_scheduled = false;
        if (!running) return;
        std::vector<event> events;
        events.swap(inbox);
        for (const event& e : events) run->feed(e);
        run->flush();
        publish_status();
    }

    // -- runner_host ---------------------------------------------------------
    void send(envelope message) override { net->send(std::move(message)); }

    void write_and_sync(disk_round round) override {
        // The disk thread holds no reference to the node: were it to hold the
        // last one, the node (and the disk thread with it) would be destroyed
        // on the disk thread itself.
        disk->run(*storage, std::move(round),
                  [weak = weak_from_this(), strand = strand](disk_round r, boost::system::error_code ec) {
                      asio::post(strand, [weak, r = std::move(r), ec]() mutable {
                          auto self = weak.lock();
                          if (!self || !self->running) return;
                          self->run->disk_round_done(std::move(r), ec);
                          self->publish_status();
                      });
                  });
    }

    void deliver(const log_entry& e) override {
        if (e.kind != entry_kind::application || !deliver_handler) return;
        if (deliver_executor) {
            asio::post(*deliver_executor, [h = deliver_handler, i = e.index, p = e.payload] { h(i, p); });
            return;
        }
        try {
            deliver_handler(e.index, e.payload);
        } catch (const std::exception& ex) {
            RAFTLITE_LOG_APP(error) << "delivery handler threw at index " << e.index << ": " << ex.what();
        }
    }

    void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        metrics.broadcast_finished(request, ec);
        if (auto h = waiters.take(request)) invoke(std::move(*h), ec, index);
    }

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
        RAFTLITE_LOG_DISK(error) << "storage write or sync failed: " << ec.message()
                                 << "; the node stops (term=" << run->raft().current_term() << ")";
        failed = true;
        shutdown(errc::storage_failed);
    }

    // Handlers run on their own associated executor (the strand by default),
    // never inline, so a handler may call back into the node freely.
    void invoke(handler_type h, boost::system::error_code ec, index_t index) {
        asio::post(strand, [self = shared_from_this(), h = std::move(h), ec, index]() mutable {
            auto ex = asio::get_associated_executor(h, self->strand);
            asio::dispatch(ex, [h = std::move(h), ec, index]() mutable { std::move(h)(ec, index); });
        });
    }

    // -- timers ------------------------------------------------------------
    void arm_election_timer() {
        const auto lo = opts.election_timeout_min.count();
        const auto hi = std::max(opts.election_timeout_max.count(), lo + 1);
        std::uniform_int_distribution<long long> pick(lo, hi - 1);
        const std::uint64_t generation = ++election_generation;
        election_timer.expires_after(std::chrono::milliseconds(pick(rng)));
        election_timer.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
            if (ec || generation != self->election_generation) return;
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
        const auto next = waiters.next_deadline();
        if (!next) return;
        deadline_running = true;
        deadline_timer.expires_at(*next);
        deadline_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->deadline_running = false;
            if (ec || !self->running) return;
            for (std::uint64_t request : self->waiters.expired(clock_type::now()))
                self->run->abandon(request, errc::timed_out);
            self->arm_deadline_timer();
        });
    }

    // -- application -------------------------------------------------------
    void broadcast(shared_bytes payload, handler_type h) {
        if (!running || !run->running()) {
            metrics.broadcast_refused(failed ? errc::storage_failed : errc::stopped);
            invoke(std::move(h), failed ? errc::storage_failed : errc::stopped, 0);
            return;
        }
        const std::uint64_t request = run->feed_broadcast(std::move(payload));
        metrics.broadcast_started(request);
        waiters.add(request, std::move(h), clock_type::now() + opts.broadcast_timeout);
        arm_deadline_timer();
        schedule_drain();
    }

    void shutdown(errc reason) {
        if (!running) return;
        running = false;
        election_timer.cancel();
        heartbeat_timer.cancel();
        deadline_timer.cancel();
        heartbeat_running = false;
        if (net) net->stop();
        if (disk) disk->wait_idle();
        if (run->running()) run->stop(reason);   // completes every broadcast awaiting an outcome
        if (!failed) {
            // What was handed to the runner is stored before the directory is released.
            if (auto ec = run->write_queued())
                RAFTLITE_LOG_DISK(error) << "final write failed: " << ec.message();
            else if (auto ec = storage->sync())
                RAFTLITE_LOG_DISK(error) << "final sync failed: " << ec.message();
        }
        // Release the data directory (its lock) now, not when the last
        // queued handler lets go of this object: a restart may follow at once.
        storage.reset();
        for (handler_type& h : waiters.take_all()) invoke(std::move(h), reason, 0);
        RAFTLITE_LOG_CORE(info) << "stopped (term=" << run->raft().current_term() << ")";
        publish_status();
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
        if (raft.role() == role::leader)
            for (node_id m : opts.core.members)
                if (m != self()) s.match_index[m] = raft.acked_length(m);
        s.running = running;
        s.storage_failed = failed;
        s.core = raft.stats();
        std::lock_guard<std::mutex> lock(status_mutex);
        snapshot = std::move(s);
    }
};

node::node(asio::io_context& ioc, node_options options, std::unique_ptr<persister> storage)
    : impl_(std::make_shared<impl>(ioc, std::move(options), std::move(storage))) {
    impl_->snapshot.id = impl_->self();
}

node::~node() { stop(); }

void node::on_deliver(delivery_handler handler) { impl_->deliver_handler = std::move(handler); }

void node::on_deliver(boost::asio::any_io_executor executor, delivery_handler handler) {
    impl_->deliver_handler = std::move(handler);
    impl_->deliver_executor = std::move(executor);
}

boost::system::error_code node::start() {
    impl& d = *impl_;
    if (d.running || d.run) return {};
    runner_options ro;
    ro.core = d.opts.core;
    ro.applied_index = d.opts.applied_index;
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
    d.run.emplace(std::move(ro), *d.storage, d);
    if (auto ec = d.run->load()) {
        d.run.reset();
        return ec;
    }
    if (d.storage->blocks()) d.disk.emplace(&d.metrics);
    d.last_term = d.run->raft().current_term();

    d.running = true;
    std::weak_ptr<impl> weak = impl_;
    d.opts.transport.self = d.self();
    d.net = std::make_unique<transport>(d.ioc, d.opts.transport, [weak](envelope env) {
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
        self->run->start();
        self->publish_status();
    });
    return {};
}

void node::do_broadcast(shared_bytes payload, handler_type handler) {
    asio::dispatch(impl_->strand, [self = impl_, p = std::move(payload), h = std::move(handler)]() mutable {
        self->broadcast(std::move(p), std::move(h));
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
