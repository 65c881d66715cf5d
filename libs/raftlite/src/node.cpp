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
#include <boost/system/system_error.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_map>

namespace raftlite {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using handler_type = asio::any_completion_handler<node::broadcast_signature>;

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
    index_t applied;
    std::vector<event> inbox;                // events waiting for the next drain (group commit)
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

    void carry_out() {
        while (running) {
            const bool wrote = out.has_writes();
            if (wrote && !write(out)) return;
            for (envelope& m : out.messages) net->send(std::move(m));
            bool synced = false;
            if (wrote || !out.messages_after_sync.empty()) {
                // Nothing that promises durability leaves before this returns.
                if (auto ec = storage->sync()) {
                    storage_failure(ec, "sync");
                    return;
                }
                synced = wrote;
                for (envelope& m : out.messages_after_sync) net->send(std::move(m));
            }
            deliver_committed(out.committed);
            complete_all(out.completions);
            apply_timers(out);
            out.clear();
            if (!synced) break;
            raft->step(log_synced{raft->log().length(), raft->log().last_term()}, out);
        }
        publish_status();
    }

    bool write(const output& o) {
        boost::system::error_code ec;
        if (o.truncate_from) ec = storage->truncate_suffix(*o.truncate_from);
        if (!ec && !o.append.empty()) ec = storage->append(o.append);
        if (!ec && o.save_hard_state) ec = storage->save_hard_state(*o.save_hard_state);
        if (ec) {
            storage_failure(ec, "write");
            return false;
        }
        return true;
    }

    // The node stops taking writes rather than acknowledging what it could not store.
    void storage_failure(const boost::system::error_code& ec, const char* what) {
        RAFTLITE_LOG_DISK(error) << "storage " << what << " failed: " << ec.message()
                                 << "; the node stops (term=" << raft->current_term() << ")";
        failed = true;
        shutdown(errc::storage_failed);
    }

    void deliver_committed(const std::vector<log_entry>& entries) {
        for (const log_entry& e : entries) {
            if (e.index <= applied) continue;
            applied = e.index;
            if (e.kind != entry_kind::application || !deliver) continue;
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

boost::system::error_code node::start() {
    impl& d = *impl_;
    if (d.running || d.raft) return {};
    persistent_state state;
    if (auto ec = d.storage->load(state)) return ec;
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
