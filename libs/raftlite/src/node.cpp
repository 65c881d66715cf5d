// raftlite — the node: the core on an Asio strand, with timers, transport and
// persister. Every event is fed to the core on the strand; the core's actions
// are carried out in the order the durability rules demand (core.hpp).
#include <raftlite/node.hpp>

#include <raftlite/log.hpp>
#include <raftlite/persister.hpp>
#include <raftlite/transport.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

namespace raftlite {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using handler_type = asio::any_completion_handler<node::broadcast_signature>;

/// Writes for the disk thread, with the messages that wait for them.
struct disk_batch {
    std::optional<index_t> truncate_from;
    std::vector<log_entry> append;
    std::optional<hard_state> hard;
    std::vector<envelope> after_sync;
    index_t last_index = 0;      // the log's last entry when the batch was made
    term_t last_term = 0;
    bool has_writes() const { return truncate_from || !append.empty() || hard; }
};

struct node::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& ioc, node_options o, std::unique_ptr<persister> p)
        : strand(asio::make_strand(ioc)),
          ioc(ioc),
          opts(std::move(o)),
          storage(std::move(p)),
          election_timer(strand),
          heartbeat_timer(strand),
          deadline_timer(strand),
          rng(opts.seed ? opts.seed : std::random_device{}()),
          applied(opts.applied_index) {}

    // ---- driver state (strand only) ----
    asio::strand<asio::io_context::executor_type> strand;
    asio::io_context& ioc;
    node_options opts;
    std::unique_ptr<persister> storage;
    std::unique_ptr<core> raft;
    std::unique_ptr<transport> net;
    asio::steady_timer election_timer;
    asio::steady_timer heartbeat_timer;
    asio::steady_timer deadline_timer;
    std::uint64_t election_generation = 0;   // a stale timer expiry is ignored (raft-lite's defect 7)
    bool heartbeat_running = false;
    bool deadline_running = false;
    std::mt19937_64 rng;
    delivery_handler deliver;
    std::optional<asio::any_io_executor> deliver_executor;   // none: the strand
    index_t applied;
    std::vector<event> inbox;                // events waiting for the next drain (group commit)
    asio::thread_pool disk_pool{1};          // the persister's own thread
    std::mutex disk_mutex;                   // guards the three below
    std::deque<disk_batch> disk_queue;
    bool disk_busy = false;
    bool disk_failed = false;
    bool drain_scheduled = false;
    output out;
    std::uint64_t next_request = 1;
    struct waiter {
        handler_type handler;
        clock_type::time_point deadline;
    };
    std::unordered_map<std::uint64_t, waiter> waiting;
    std::deque<std::pair<clock_type::time_point, std::uint64_t>> deadlines;   // in request order
    std::atomic<bool> running{false};   // written by start() on the caller's thread
    bool failed = false;
    role last_role = role::follower;
    term_t last_term = 0;
    node_id last_leader = no_node;

    // ---- shared with other threads ----
    mutable std::mutex status_mutex;
    node_status snapshot;

    node_id self() const { return opts.core.self; }

    // -- events ------------------------------------------------------------
    void enqueue(event e) {
        if (!running) return;
        inbox.push_back(std::move(e));
        if (!drain_scheduled) {
            drain_scheduled = true;
            asio::post(strand, [self = shared_from_this()] { self->drain(); });
        }
    }

    // Everything that arrived since the last drain is stepped into one output
    // and carried out together: one sync for all of it.
    void drain() {
        drain_scheduled = false;
        if (!running) return;
        std::vector<event> events;
        events.swap(inbox);
        for (const event& e : events) raft->step(e, out);
        carry_out();
    }

    // Carries out `out`. Writes and the messages that wait for them go to the
    // disk thread; everything else happens now, so the leader's replication
    // to followers runs while its own write is in flight (Raft thesis §10.2.1).
    void carry_out() {
        while (running) {
            output o;
            std::swap(o, out);   // steps taken while carrying these out collect in `out` again
            for (envelope& m : o.messages) net->send(std::move(m));
            bool synced_inline = false;
            if (o.has_writes() || !o.messages_after_sync.empty()) {
                disk_batch b;
                b.truncate_from = o.truncate_from;
                b.append = std::move(o.append);
                b.hard = o.save_hard_state;
                b.after_sync = std::move(o.messages_after_sync);
                b.last_index = raft->log().length();
                b.last_term = raft->log().last_term();
                synced_inline = persist(std::move(b));
            }
            deliver_committed(o.committed);
            complete_all(o.completions);
            apply_timers(o);
            if (!synced_inline) break;
        }
        publish_status();
    }

    // Writes in-memory storage at once (true: `out` has new actions to carry
    // out); hands anything else to the disk thread (false).
    bool persist(disk_batch b) {
        if (storage->blocks()) {
            submit_to_disk(std::move(b));
            return false;
        }
        std::vector<disk_batch> one;
        const bool wrote = b.has_writes();
        one.push_back(std::move(b));
        if (auto ec = write_batches(one)) {
            storage_failure(ec);
            return false;
        }
        for (envelope& m : one.front().after_sync) net->send(std::move(m));
        if (wrote) raft->step(log_synced{one.front().last_index, one.front().last_term}, out);
        return true;
    }

    // ---- the disk thread ----------------------------------------------------
    // Batches are written in order; each round takes every batch queued so far
    // and makes them durable with one sync (group commit), then hands their
    // messages back to the strand. A batch's messages therefore leave only
    // once its writes and all earlier ones are durable.
    void submit_to_disk(disk_batch b) {
        std::lock_guard<std::mutex> lock(disk_mutex);
        disk_queue.push_back(std::move(b));
        if (!disk_busy) {
            disk_busy = true;
            asio::post(disk_pool, [self = shared_from_this()] { self->disk_round(); });
        }
    }

    void disk_round() {   // on the disk thread
        for (;;) {
            std::vector<disk_batch> batches;
            {
                std::lock_guard<std::mutex> lock(disk_mutex);
                if (disk_queue.empty() || disk_failed) {
                    disk_busy = false;
                    return;
                }
                batches.assign(std::make_move_iterator(disk_queue.begin()),
                               std::make_move_iterator(disk_queue.end()));
                disk_queue.clear();
            }
            const bool wrote = std::any_of(batches.begin(), batches.end(),
                                           [](const disk_batch& b) { return b.has_writes(); });
            if (auto ec = write_batches(batches)) {
                {
                    std::lock_guard<std::mutex> lock(disk_mutex);
                    disk_failed = true;
                    disk_busy = false;
                }
                asio::post(strand, [self = shared_from_this(), ec] { self->storage_failure(ec); });
                return;
            }
            asio::post(strand, [self = shared_from_this(), batches = std::move(batches), wrote]() mutable {
                self->on_durable(std::move(batches), wrote);
            });
        }
    }

    // Applies the batches' writes in order and makes them durable with one sync.
    boost::system::error_code write_batches(const std::vector<disk_batch>& batches) {
        boost::system::error_code ec;
        bool wrote = false;
        for (const disk_batch& b : batches) {
            if (!ec && b.truncate_from) ec = storage->truncate_suffix(*b.truncate_from);
            if (!ec && !b.append.empty()) ec = storage->append(b.append);
            if (!ec && b.hard) ec = storage->save_hard_state(*b.hard);
            wrote = wrote || b.has_writes();
        }
        if (!ec && wrote) ec = storage->sync();
        return ec;
    }

    void on_durable(std::vector<disk_batch> batches, bool wrote) {
        if (!running) return;
        for (disk_batch& b : batches)
            for (envelope& m : b.after_sync) net->send(std::move(m));
        if (wrote) {
            const disk_batch& last = batches.back();
            raft->step(log_synced{last.last_index, last.last_term}, out);
        }
        carry_out();
    }

    // Waits until the disk thread is idle (used when stopping).
    void drain_disk() {
        for (;;) {
            {
                std::lock_guard<std::mutex> lock(disk_mutex);
                if (!disk_busy) return;
            }
            std::this_thread::yield();
        }
    }

    // The node stops taking writes rather than acknowledging what it could not store.
    void storage_failure(const boost::system::error_code& ec) {
        if (!running) return;
        RAFTLITE_LOG_DISK(error) << "storage write or sync failed: " << ec.message()
                                 << "; the node stops (term=" << raft->current_term() << ")";
        failed = true;
        shutdown(errc::storage_failed);
    }

    void deliver_committed(const std::vector<log_entry>& entries) {
        for (const log_entry& e : entries) {
            if (e.index <= applied) continue;
            applied = e.index;
            if (e.kind != entry_kind::application || !deliver) continue;
            if (deliver_executor) {
                asio::post(*deliver_executor, [h = deliver, i = e.index, p = e.payload] { h(i, p); });
                continue;
            }
            try {
                deliver(e.index, e.payload);
            } catch (const std::exception& ex) {
                RAFTLITE_LOG_APP(error) << "delivery handler threw at index " << e.index << ": " << ex.what();
            }
        }
    }

    void complete_all(const std::vector<completion>& done) {
        for (const completion& c : done) {
            boost::system::error_code ec;
            switch (c.result) {
            case broadcast_result::committed: break;
            case broadcast_result::not_leader: ec = errc::not_leader; break;
            case broadcast_result::superseded: ec = errc::superseded; break;
            case broadcast_result::busy: ec = errc::busy; break;
            }
            finish(c.request, ec, c.index);
        }
    }

    void finish(std::uint64_t request, boost::system::error_code ec, index_t index) {
        auto it = waiting.find(request);
        if (it == waiting.end()) return;   // timed out earlier
        handler_type h = std::move(it->second.handler);
        waiting.erase(it);
        invoke(std::move(h), ec, index);
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
    void apply_timers(const output& o) {
        if (o.reset_election_timer) arm_election_timer();
        if (o.heartbeat_timer) {
            if (*o.heartbeat_timer && !heartbeat_running) {
                heartbeat_running = true;
                arm_heartbeat_timer();
            } else if (!*o.heartbeat_timer) {
                heartbeat_running = false;
                heartbeat_timer.cancel();
            }
        }
    }

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
        if (deadline_running || deadlines.empty()) return;
        deadline_running = true;
        deadline_timer.expires_at(deadlines.front().first);
        deadline_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->deadline_running = false;
            if (ec || !self->running) return;
            const auto now = clock_type::now();
            while (!self->deadlines.empty() && self->deadlines.front().first <= now) {
                self->finish(self->deadlines.front().second, errc::timed_out, 0);
                self->deadlines.pop_front();
            }
            while (!self->deadlines.empty() && !self->waiting.count(self->deadlines.front().second))
                self->deadlines.pop_front();
            self->arm_deadline_timer();
        });
    }

    // -- application -------------------------------------------------------
    void broadcast(shared_bytes payload, handler_type h) {
        if (!running) {
            invoke(std::move(h), failed ? errc::storage_failed : errc::stopped, 0);
            return;
        }
        const std::uint64_t request = next_request++;
        const auto deadline = clock_type::now() + opts.broadcast_timeout;
        waiting.emplace(request, waiter{std::move(h), deadline});
        deadlines.emplace_back(deadline, request);
        arm_deadline_timer();
        enqueue(broadcast_request{request, std::move(payload)});
    }

    void shutdown(errc reason) {
        if (!running) return;
        running = false;
        election_timer.cancel();
        heartbeat_timer.cancel();
        deadline_timer.cancel();
        heartbeat_running = false;
        if (net) net->stop();
        drain_disk();
        if (!failed) {
            if (auto ec = storage->sync())
                RAFTLITE_LOG_DISK(error) << "final sync failed: " << ec.message();
        }
        // Release the data directory (its lock) now, not when the last
        // queued handler lets go of this object: a restart may follow at once.
        storage.reset();
        auto pending = std::move(waiting);
        waiting.clear();
        deadlines.clear();
        for (auto& [req, w] : pending) invoke(std::move(w.handler), reason, 0);
        RAFTLITE_LOG_CORE(info) << "stopped (term=" << raft->current_term() << ")";
        publish_status();
    }

    void publish_status() {
        if (raft->current_term() != last_term || raft->role() != last_role || raft->leader() != last_leader) {
            RAFTLITE_LOG_CORE(info) << role_name(raft->role()) << " term=" << raft->current_term()
                                    << " leader=" << raft->leader() << " commit=" << raft->commit_length()
                                    << " last=" << raft->log().length();
            last_term = raft->current_term();
            last_role = raft->role();
            last_leader = raft->leader();
        }
        node_status s;
        s.id = self();
        s.term = raft->current_term();
        s.role = raft->role();
        s.leader = raft->leader();
        s.commit_index = raft->commit_length();
        s.last_log_index = raft->log().length();
        s.applied_index = applied;
        if (raft->role() == role::leader)
            for (node_id m : opts.core.members)
                if (m != self()) s.match_index[m] = raft->acked_length(m);
        s.running = running;
        s.storage_failed = failed;
        std::lock_guard<std::mutex> lock(status_mutex);
        snapshot = std::move(s);
    }
};

node::node(asio::io_context& ioc, node_options options, std::unique_ptr<persister> storage)
    : impl_(std::make_shared<impl>(ioc, std::move(options), std::move(storage))) {
    impl_->snapshot.id = impl_->self();
}

node::~node() { stop(); }

void node::on_deliver(delivery_handler handler) { impl_->deliver = std::move(handler); }

void node::on_deliver(boost::asio::any_io_executor executor, delivery_handler handler) {
    impl_->deliver = std::move(handler);
    impl_->deliver_executor = std::move(executor);
}

boost::system::error_code node::start() {
    impl& d = *impl_;
    if (d.running || d.raft) return {};
    persistent_state state;
    if (auto ec = d.storage->load(state)) return ec;
    // Request ids must not repeat across runs: an entry of an earlier run with
    // the same origin (self, request) would complete a new broadcast with the
    // old entry's index when it commits again after the restart, and a leader
    // would take a new forwarded broadcast for the old one (find_origin) and
    // never append it. So ids start at the wall clock in nanoseconds (no run
    // issues a billion broadcasts a second) and above every id of ours in the
    // log (should the clock have gone back). Found by disk_full_tests.
    d.next_request = static_cast<std::uint64_t>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count()));
    for (const log_entry& e : state.entries)
        if (e.origin.node == d.opts.core.self && e.origin.request >= d.next_request)
            d.next_request = e.origin.request + 1;
    d.raft = std::make_unique<core>(d.opts.core, state);
    d.last_term = d.raft->current_term();

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
    try {
        d.net->start();
    } catch (const boost::system::system_error& e) {
        // what() names the address that cannot be bound or the TLS file that cannot be used.
        RAFTLITE_LOG_NET(error) << e.what();
        d.running = false;
        d.net.reset();
        d.raft.reset();
        return e.code();
    }
    RAFTLITE_LOG_CORE(info) << "starting: term=" << state.hard.current_term << " log=" << state.log_start
                            << ".." << state.last_index() << " members=" << d.opts.core.members.size();
    asio::dispatch(d.strand, [self = impl_] {
        self->out = self->raft->start();
        self->carry_out();
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
    return impl_->snapshot;
}

std::uint16_t node::listen_port() const { return impl_->net ? impl_->net->listen_port() : 0; }

void node::stop() {
    asio::dispatch(impl_->strand, [self = impl_] { self->shutdown(errc::stopped); });
}

} // namespace raftlite
