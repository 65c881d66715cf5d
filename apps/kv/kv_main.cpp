// raftlite-kv — a replicated key-value store peer: one process per peer.
//
//   raftlite-kv --config conf/local/n1.ini
//
// Every write goes through the Raft log: the peer that receives it
// broadcasts the encoded command (forwarded to the leader when this peer
// follows), and answers once the command is committed and applied here, in
// log order. Reads follow [kv] read_mode: through the log too (log), or by a
// read index (read_index, the default; lease): no log entry, and still never
// stale (Raft thesis §6.4). So any peer answers every request.
// The one exception is GET /kv/<key>?stale=1, answered at once from this
// peer's own state (possibly behind the cluster; it works without a leader).
//
// Snapshots: when the node asks (every [raft] snapshot_entries applied
// entries, 100000 by default, see kv_config.hpp) the store is frozen on the
// delivery path in O(shards) (kv_store.hpp) and written out on a thread of
// its own, so deliveries go on meanwhile; then the node drops the log prefix.
// At start the state is the newest snapshot plus the log entries after it; a
// follower too far behind gets the leader's snapshot (InstallSnapshot).
//
// Answers: a committed command answers only the HTTP request that broadcast
// it, on this peer. Its origin (this node's id, and a request number this
// process chose, never a client's header) is in the command, and apply()
// matches both. Client sessions (Raft thesis §6.3, kv_store.hpp) make a
// retried write apply once; their cluster time comes from `clock` commands
// the leader writes every [kv] session_tick_ms while sessions are open (none
// while none are, so an idle cluster's log does not grow; an open_session
// carries its opener's clock for that case).
//
// Feature levels (kv_levels.hpp): each peer writes the highest level it
// applies to its report key when the store does not hold it yet; the leader
// raises the cluster level once every member reported it, and drops the
// reports of removed servers; a command of a kind that needs a higher level
// than the cluster's is refused here (level_too_low, after a read index when
// this peer's own state says so) and never broadcast.
//
// The space guard (kv_space.hpp): a client write that would grow the state
// past [kv] quota_bytes, or past what this peer's disk or any member's (by
// its no_space alarm) has room for, is refused here (no_space) and never
// broadcast; each peer raises and drops its own alarm.
#include "../command_line.hpp"
#include "change_history.hpp"
#include "http_server.hpp"
#include "kv_admin.hpp"
#include "kv_command.hpp"
#include "kv_config.hpp"
#include "kv_levels.hpp"
#include "kv_snapshot.hpp"
#include "kv_space.hpp"
#include "kv_store.hpp"
#include "prometheus.hpp"
#include "read_batch.hpp"

#include <raftlite/config.hpp>
#include <raftlite/error.hpp>
#include <raftlite/file_persister.hpp>
#include <raftlite/log.hpp>
#include <raftlite/node.hpp>
#include <raftlite/version.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace po = boost::program_options;
namespace json = boost::json;

namespace {

using namespace raftlite;

/// Joins the HTTP front end to the node: a command waits, keyed by the
/// request number in its origin, until its committed entry is applied here.
class kv_peer {
public:
    /// `failed` runs (on the event loop) when the node stops by itself:
    /// storage or delivery failure, e.g. a snapshot that cannot be restored.
    kv_peer(boost::asio::io_context& ioc, const kv::kv_config& cfg, std::function<void()> failed)
        : cfg_(cfg),
          storage_(new file_persister(cfg.peer.data_dir.string())),
          node_(ioc, cfg.peer.node, std::unique_ptr<persister>(storage_)),
          server_(ioc, one_thread(cfg.http),
                  {.submit = [this](kv::kv_command c,
                                    std::function<void(kv::http_result)> done) { submit(std::move(c), std::move(done)); },
                   .status = [this] { return status_json(); },
                   .metrics = [this] {
                       return kv::format_prometheus(node_.metrics(), snapshot_gauges(), watch_gauges(),
                                                    kv::level_gauges{store_.level(), cfg_.max_level,
                                                                     kv::supported_level},
                                                    space_gauges());
                   },
                   .local_read = [this](const std::string& key) { return store_.get(key); },
                   .admin = [this](kv::admin_route r,
                                   std::function<void(kv::admin_reply)> done) { admin(std::move(r), std::move(done)); },
                   .health = [this](std::function<void(boost::system::error_code)> done) {
                       check_health(std::move(done));
                   },
                   .range = [this](kv::range_route r,
                                   std::function<void(kv::range_result)> done) { range(std::move(r), std::move(done)); },
                   .watch = cfg.watch_history_bytes == 0
                                ? kv::watch_fn{}
                                : [this](kv::watch_route r, std::function<void(kv::watch_result)> done) {
                                      watch(std::move(r), std::move(done));
                                  }}),
          store_(cfg.sessions.limits),
          history_(cfg.watch_history_bytes),
          // Random, so that an entry a previous run of this peer broadcast
          // (committing only now) does not answer a request of this run.
          next_request_(std::random_device{}() | (std::uint64_t(std::random_device{}()) << 32)),
          failed_(std::move(failed)),
          reads_([this](read_batch::done_fn done) {
                     node_.async_read_index([done = std::move(done)](boost::system::error_code ec, index_t) {
                         done(ec);
                     });
                 },
                 [this](boost::system::error_code ec, std::vector<pending_read>& batch) {
                     answer_reads(ec, batch);
                 }),
          clock_timer_(ioc),
          level_timer_(ioc),
          space_timer_(ioc),
          handover_timer_(ioc) {
        directory_.self = cfg.peer.node.core.self;
        directory_.self_kv = kv::listen_address(cfg.http).to_string();
        for (const auto& [id, address] : cfg.peer.node.transport.peers) directory_.raft_peers[id] = address.to_string();
        observe_store();
        node_.on_deliver([this](index_t index, const shared_bytes& payload) { apply(index, payload); });
        node_.on_snapshot([this](snapshot_sink sink) { take_snapshot(std::move(sink)); },
                          [this](snapshot_source& source) { restore(source); });
        node_.on_stop([this](boost::system::error_code reason) {
            if (reason == errc::stopped) return;
            RAFTLITE_LOG_APP(error) << "the node stopped: " << reason.message() << "; exiting";
            if (failed_) failed_();
        });
    }

    // main() runs the io_context on one thread (the node, the sessions and
    // the state machine share it).
    static kv::http_server_options one_thread(kv::http_server_options o) {
        o.one_thread = true;
        return o;
    }

    /// Why start() failed, in words (the file and what is wrong with it),
    /// when the storage knows.
    std::string storage_error() const { return storage_->last_error_message(); }

    boost::system::error_code start() {
        if (auto ec = node_.start()) return ec;
        server_.start();
        repeat(clock_timer_, cfg_.sessions.tick, &kv_peer::write_clock);
        repeat(level_timer_, level_check_interval, &kv_peer::check_level);
        repeat(space_timer_, free_space_refresh, &kv_peer::check_space);
        RAFTLITE_LOG_APP(info) << "serving clients on " << kv::listen_address(cfg_.http)
                               << (!kv::serves_https(cfg_.http)      ? " (plain HTTP)"
                                   : cfg_.http.client_ca_file.empty() ? " (HTTPS)"
                                                                      : " (HTTPS, client certificates required)");
        return {};
    }

    void stop() {
        // No timer may stay armed: the process ends when nothing holds the
        // io_context (the shutdown comment in main()).
        stopped_ = true;
        clock_timer_.cancel();
        level_timer_.cancel();
        space_timer_.cancel();
        handover_timer_.cancel();
        for (auto& [id, w] : watches_) w.timer->cancel();
        watches_.clear();
        server_.stop();
        node_.stop();
    }

    /// At most how long stop_gracefully() waits for the handover before it
    /// stops anyway: two election timeouts (the node gives a transfer one).
    std::chrono::milliseconds handover_limit() const { return 2 * cfg_.peer.node.election_timeout_max; }

    /// A leader hands the leadership to its most caught-up voter before it
    /// stops (thesis §3.10), so that a rolling restart costs the cluster no
    /// election timeout without a leader; then, or at once on a follower or
    /// the only voter, stop(). The handover is cancelled after
    /// handover_limit(): the peer stops anyway, as without it.
    void stop_gracefully() {
        const node_status s = node_.status();
        node_id target = no_node;
        index_t best = 0;
        if (s.role == role::leader) {
            for (const member& m : s.members.members()) {
                if (!m.voter || m.id == s.id) continue;
                const auto it = s.match_index.find(m.id);
                const index_t match = it == s.match_index.end() ? 0 : it->second;
                if (target == no_node || match > best) {
                    target = m.id;
                    best = match;
                }
            }
        }
        if (target == no_node) return stop();
        RAFTLITE_LOG_APP(info) << "stopping: handing the leadership to n" << target << " first";
        handover_timer_.expires_after(handover_limit());
        handover_timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) handover_cancel_.emit(boost::asio::cancellation_type::terminal);
        });
        node_.async_transfer_leadership(
            target, boost::asio::bind_cancellation_slot(
                        handover_cancel_.slot(), [this, target](boost::system::error_code ec) {
                            if (ec)
                                RAFTLITE_LOG_APP(warning) << "stopping: the leadership did not pass to n" << target
                                                          << " (" << ec.message() << "); stopping anyway";
                            else
                                RAFTLITE_LOG_APP(info) << "stopping: handed the leadership to n" << target;
                            stop();
                        }));
    }

private:
    // The admin API (kv_admin.hpp): GET /members from this peer's status;
    // changes go to the node, which completes them on the leader only (a
    // follower answers not_leader, naming the leader).
    void admin(kv::admin_route r, std::function<void(kv::admin_reply)> done) {
        using action = kv::admin_route::action;
        if (r.what == action::list) {
            done({200, json::serialize(kv::members_object(node_.status(), directory_)), {}});
            return;
        }
        membership before = node_.status().members;
        auto complete = [this, r, before, done = std::move(done)](boost::system::error_code ec, index_t index) {
            const node_status s = node_.status();
            kv::admin_reply reply = kv::change_reply(r, ec, index, s, directory_, before);
            RAFTLITE_LOG_APP(info) << "admin: " << kv::admin_action_name(r.what) << " n" << r.id << ": "
                                   << (ec ? ec.message() : "committed at " + std::to_string(index))
                                   << "; configuration: " << to_string(s.members);
            done(std::move(reply));
        };
        RAFTLITE_LOG_APP(info) << "admin: " << kv::admin_action_name(r.what) << " n" << r.id
                               << (r.what == action::add_learner ? " raft " + r.raft + " kv " + r.kv : std::string());
        switch (r.what) {
        case action::add_learner:
            // The member's info is its kv address: what clients (kvctl) use to
            // reach it once it is in the configuration.
            node_.async_add_learner(member{r.id, false, r.raft, r.kv}, std::move(complete));
            return;
        case action::promote: node_.async_promote(r.id, std::move(complete)); return;
        case action::demote: node_.async_demote(r.id, std::move(complete)); return;
        case action::remove: node_.async_remove(r.id, std::move(complete)); return;
        case action::transfer_leadership:
            node_.async_transfer_leadership(r.id, [complete = std::move(complete)](boost::system::error_code ec) {
                complete(ec, 0);
            });
            return;
        case action::list: return;
        }
    }

    void submit(kv::kv_command c, std::function<void(kv::http_result)> done) {
        if (auto refusal = kv::space_refusal(c, store_, cfg_.space, local_free_bytes()))
            return done({{}, std::move(*refusal)});
        // A command the cluster's level does not cover is not broadcast
        // (kv_levels.hpp). Levels only rise, so one this peer's state covers
        // goes at once; otherwise the state may just be behind (a peer
        // restarted has not applied the raise yet), so it is decided after a
        // read index (thesis §6.4): then this peer has applied everything
        // committed before the request came. apply() refuses it alike if the
        // level were still behind.
        if (const unsigned needed = kv::required_level(c.op); needed > kv::base_level && needed > store_.level()) {
            reads_.add([this, needed, c = std::move(c), done = std::move(done)](boost::system::error_code ec) {
                if (ec) return done({ec, {}});
                if (needed > store_.level()) return done({{}, kv::level_too_low(c.op, needed, store_.level())});
                submit_covered(c, done);
            });
            return;
        }
        submit_covered(std::move(c), std::move(done));
    }

    // A command whose level the cluster has reached: a read, or a broadcast.
    void submit_covered(kv::kv_command c, std::function<void(kv::http_result)> done) {
        if (c.op == kv::kv_op::get && cfg_.read_mode != kv::kv_read_mode::log) {
            read(std::move(c.key), std::move(done));
            return;
        }
        c.origin_node = cfg_.peer.node.core.self;
        c.origin_request = ++next_request_;
        if (c.op == kv::kv_op::open_session) c.clock_ms = unix_ms();
        const std::uint64_t id = c.origin_request;
        std::string bytes;
        try {
            bytes = kv::encode(c);
        } catch (const kv::bad_command& e) {
            done({make_error_code(errc::bad_message), {}});
            return;
        }
        waiting_[id] = std::move(done);
        node_.async_broadcast(std::move(bytes), [this, id](boost::system::error_code ec, index_t) {
            // On success the entry was applied before this runs (delivery
            // precedes completion) and apply() answered already, unless a
            // snapshot from the leader covered it: then its result is not
            // known here.
            auto it = waiting_.find(id);
            if (it == waiting_.end()) return;
            auto done = std::move(it->second);
            waiting_.erase(it);
            done({ec ? ec : make_error_code(errc::outcome_unknown), {}});
        });
    }

    // Raft thesis §6.4: a linearizable read without the log. The node
    // completes once this peer has applied everything up to a read index
    // that covers every write completed before the read began (confirmed by
    // the leader with a heartbeat round, or under its lease), so the local
    // store answers. The reads share read-index requests (read_batch.hpp):
    // one in flight per peer, serving every read that arrived before it
    // began. The handler runs on the node's strand, like apply(). A pending
    // read is the read itself, run with the request's outcome: a GET of one
    // key, or a range.
    using pending_read = std::function<void(boost::system::error_code)>;
    using read_batch = kv::read_batch<pending_read>;

    void read(std::string key, std::function<void(kv::http_result)> done) {
        reads_.add([this, key = std::move(key), done = std::move(done)](boost::system::error_code ec) {
            if (ec) return done({ec, {}});
            kv::kv_result result;
            result.value = store_.get(key);
            result.status = result.value ? kv::kv_status::ok : kv::kv_status::not_found;
            done({{}, std::move(result)});
        });
    }

    // GET /kv?...: a range is a read like a GET (thesis §6.4), in every
    // read mode: with read_mode = log too it takes a read index rather than
    // a log entry, since its answer (up to max_range_bytes) has no place in
    // a command's result. A stale one is answered from the local state now.
    void range(kv::range_route r, std::function<void(kv::range_result)> done) {
        auto answer = [this, count_only = r.count_only](const kv::kv_range_query& q) {
            kv::range_result out{{}, {}, state_index_};
            if (count_only)
                out.count = store_.count(q);
            else
                out.range = store_.range(q);
            return out;
        };
        if (r.stale) return done(answer(r.query));
        reads_.add([answer, query = std::move(r.query), done = std::move(done)](boost::system::error_code ec) {
            if (ec) return done({ec, {}, 0});
            done(answer(query));
        });
    }

    // Watches (change_history.hpp): every change the store makes is kept in
    // history_ with its entry's index; a watch is answered from there at
    // once when a change after its since is kept, else it waits here until
    // one is applied or its timeout passes. Changes come from this peer's
    // own applied entries: a watch is not a linearizable read, but with a
    // range's index as its since it misses nothing.
    struct pending_watch {
        kv::watch_route request;
        index_t since = 0;
        std::function<void(kv::watch_result)> done;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };

    void observe_store() {
        if (cfg_.watch_history_bytes == 0) return;
        store_.on_change([this](index_t index, std::string_view key, const std::string* value) {
            history_.record(index, key, value);
            if (!watches_.empty()) wake_watches(index, key);
        });
    }

    void watch(kv::watch_route r, std::function<void(kv::watch_result)> done) {
        // Stopping: no timer may be armed any more (see stop()).
        if (stopped_) return done({make_error_code(errc::stopped), false, {}, 0});
        // Without since: the changes after what this peer has applied now.
        const index_t since = r.since.value_or(state_index_);
        if (auto answer = watch_answer(since, r.range)) return done(std::move(*answer));
        const std::uint64_t id = ++next_watch_;
        pending_watch& w = watches_[id];
        w.timer = std::make_unique<boost::asio::steady_timer>(clock_timer_.get_executor(), r.timeout);
        w.request = std::move(r);
        w.since = since;
        w.done = std::move(done);
        w.timer->async_wait([this, id](boost::system::error_code ec) {
            if (ec) return;
            auto it = watches_.find(id);
            if (it == watches_.end()) return;
            pending_watch w = std::move(it->second);
            watches_.erase(it);
            // Nothing changed in the range up to here: the next watch goes
            // on from this peer's index (never back from the client's since,
            // which may come from a peer further ahead).
            w.done({{}, false, {}, std::max(w.since, state_index_)});
        });
    }

    // What the history answers a watch from `since` now: gone, or the
    // changes kept after it; nullopt while there are none (the watch waits).
    std::optional<kv::watch_result> watch_answer(index_t since, const kv::kv_range_query& range) const {
        auto events = history_.after(since, range);
        if (!events) return kv::watch_result{{}, true, {}, state_index_};
        if (events->empty()) return std::nullopt;
        const index_t last = events->back().index;
        return kv::watch_result{{}, false, std::move(*events), last};
    }

    // A change was applied at `index` (state_index_ already): every watch it
    // falls in is answered.
    void wake_watches(index_t index, std::string_view key) {
        for (auto it = watches_.begin(); it != watches_.end();) {
            pending_watch& w = it->second;
            std::optional<kv::watch_result> answer;
            if (index > w.since && kv::in_range(w.request.range, key)) answer = watch_answer(w.since, w.request.range);
            if (!answer) {
                ++it;
                continue;
            }
            w.timer->cancel();
            auto done = std::move(w.done);
            it = watches_.erase(it);
            done(std::move(*answer));
        }
    }

    // The state jumped to `index` (a snapshot restored): the changes before
    // it are not known here, so a watch from before it cannot be answered.
    void reset_history(index_t index) {
        history_.reset(index);
        for (auto it = watches_.begin(); it != watches_.end();) {
            if (it->second.since >= index) {
                ++it;
                continue;
            }
            it->second.timer->cancel();
            auto done = std::move(it->second.done);
            it = watches_.erase(it);
            done({{}, true, {}, index});
        }
    }

    // GET /health: healthy when a linearizable read would be served now, the
    // same read index a GET waits for (thesis §6.4), whatever the read mode:
    // a majority confirmed the leader (or its lease holds) and this peer has
    // applied that index. One request per probe, outside the GETs' batches
    // (probes are rare, and one that fails must not fail their GETs).
    void check_health(std::function<void(boost::system::error_code)> done) {
        node_.async_read_index(
            [done = std::move(done)](boost::system::error_code ec, index_t) { done(ec); });
    }

    static void answer_reads(boost::system::error_code ec, std::vector<pending_read>& batch) {
        for (pending_read& serve : batch) serve(ec);
    }

    void apply(index_t index, const shared_bytes& payload) {
        // Decoded in place: the key and value are copied once, into the
        // store (the payload outlives this call).
        std::string error;
        auto cmd = kv::try_decode_view(*payload, error);
        if (!cmd) {
            // Every peer sees the same bytes and reaches the same verdict.
            RAFTLITE_LOG_APP(warning) << "entry " << index << " is not a kv command: " << error;
            state_index_ = index;
            return;
        }
        kv::kv_result r = store_.apply(*cmd, index);
        if (r.status == kv::kv_status::unsupported_level) {
            // Applying on could diverge from the peers that understand what
            // follows: throwing stops the node (delivery_failed), and so
            // this process, before anything after this entry is applied.
            const std::string why = "entry " + std::to_string(index) + ": " + r.error;
            RAFTLITE_LOG_APP(error) << why;
            std::cerr << "raftlite-kv: " << why << "\n";
            throw std::runtime_error(why);
        }
        state_index_ = index;
        // A member's report may let the leader raise the level now.
        if (kv::is_system_key(cmd->key) && !level_check_posted_) {
            level_check_posted_ = true;
            boost::asio::post(level_timer_.get_executor(), [this] {
                level_check_posted_ = false;
                check_level();
            });
        }
        // Only the request that broadcast this entry, on this peer, waits
        // for it: another peer's request numbers are its own business.
        if (cmd->origin_node != cfg_.peer.node.core.self) return;
        auto it = waiting_.find(cmd->origin_request);
        if (it == waiting_.end()) return;
        auto done = std::move(it->second);
        waiting_.erase(it);
        done({{}, std::move(r)});
    }

    static std::uint64_t unix_ms() {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    }

    // Cluster time for session expiry (kv_store.hpp): every session_tick_ms
    // the leader, while sessions are open, writes its clock to the log; every
    // peer decides expiry when it applies that entry, so all decide alike.
    // One clock command at a time: a slow commit does not pile them up.
    void write_clock() {
        if (clock_in_flight_ || store_.sessions().empty() || node_.status().role != role::leader) return;
        kv::kv_command c;
        c.op = kv::kv_op::clock;
        c.origin_node = cfg_.peer.node.core.self;
        c.clock_ms = unix_ms();
        clock_in_flight_ = true;
        node_.async_broadcast(kv::encode(c), [this](boost::system::error_code, index_t) { clock_in_flight_ = false; });
    }

    // Runs `check` every `interval` on `timer`, until stop() cancels it.
    void repeat(boost::asio::steady_timer& timer, std::chrono::milliseconds interval, void (kv_peer::*check)()) {
        if (stopped_) return;
        timer.expires_after(interval);
        timer.async_wait([this, &timer, interval, check](boost::system::error_code ec) {
            if (ec || stopped_) return;
            (this->*check)();
            repeat(timer, interval, check);
        });
    }

    // Feature levels (kv_levels.hpp), checked every level_check_interval
    // and after a system key is applied. Each write is a plain put or cas,
    // one of each kind in flight, and only when the store differs from what
    // it should hold: a settled cluster writes nothing.
    static constexpr std::chrono::milliseconds level_check_interval{1000};

    // This peer is a member and its report is not in the store as [kv]
    // max_level sets it (a peer outside the configuration reports nothing:
    // it applies no entry of the cluster's until it is added).
    bool report_due(const node_status& s) const {
        const node_id self = cfg_.peer.node.core.self;
        return s.members.contains(self) && store_.reported_level(self) != cfg_.max_level;
    }

    // On the leader: the level every member of the configuration reported,
    // when it is above the cluster's (nullopt elsewhere, or nothing to raise).
    std::optional<unsigned> raise_target(const node_status& s) const {
        if (s.role != role::leader) return std::nullopt;
        std::vector<std::optional<unsigned>> reports;
        for (const member& m : s.members.members()) reports.push_back(store_.reported_level(m.id));
        return kv::level_to_raise(store_.level(), reports);
    }

    // On the leader: a server whose report the store holds but which is not
    // in the configuration (removed): its report goes, so that a server
    // added later under its id reports afresh (kv_levels.hpp).
    std::optional<node_id> stale_report(const node_status& s) const {
        return removed_holder(s, kv::level_reports_prefix());
    }

    // On the leader: a server that holds a per-member system key under
    // `prefix` (a level report, a no_space alarm) but is no longer in the
    // configuration.
    std::optional<node_id> removed_holder(const node_status& s, std::string_view prefix) const {
        if (s.role != role::leader) return std::nullopt;
        for (std::uint64_t id : store_.servers_under(prefix))
            if (!s.members.contains(id)) return id;
        return std::nullopt;
    }

    // On the leader: deletes the key (`key_of` its id) of one such server,
    // so that a server added later under its id starts afresh; one delete of
    // each kind in flight (`in_flight`). `what` names the key in the log.
    void drop_removed_holder(const node_status& s, std::string_view prefix, std::string (*key_of)(std::uint64_t),
                             bool& in_flight, const char* what) {
        if (in_flight) return;
        const auto removed = removed_holder(s, prefix);
        if (!removed) return;
        kv::kv_command c;
        c.op = kv::kv_op::del;
        c.key = key_of(*removed);
        in_flight = true;
        node_.async_broadcast(kv::encode(c), [&in_flight, id = *removed, what](boost::system::error_code ec,
                                                                                   index_t) {
            in_flight = false;
            if (!ec) RAFTLITE_LOG_APP(info) << "dropped the " << what << " of n" << id << ", no longer a member";
        });
    }

    // What the store shows is due is decided after a read index: a peer just
    // restarted, whose state is behind, would otherwise report again what its
    // log already holds (and a new leader raise from a level it has not
    // applied yet). One such check waits at a time.
    void check_level() {
        if (stopped_ || level_check_waiting_) return;
        const node_status s = node_.status();
        if (s.leader == no_node) return;
        if (!(report_due(s) && !report_in_flight_) && !(raise_target(s) && !raise_in_flight_) &&
            !(stale_report(s) && !drop_in_flight_))
            return;
        level_check_waiting_ = true;
        reads_.add([this](boost::system::error_code ec) {
            level_check_waiting_ = false;
            if (!ec && !stopped_) write_levels(node_.status());
        });
    }

    void write_levels(const node_status& s) {
        if (!report_in_flight_ && report_due(s)) {
            kv::kv_command c;
            c.op = kv::kv_op::put;
            c.key = kv::level_report_key(cfg_.peer.node.core.self);
            c.value = kv::format_level(cfg_.max_level);
            report_in_flight_ = true;
            node_.async_broadcast(kv::encode(c), [this](boost::system::error_code ec, index_t) {
                report_in_flight_ = false;
                if (!ec) RAFTLITE_LOG_APP(info) << "reported feature level " << cfg_.max_level;
            });
        }
        drop_removed_holder(s, kv::level_reports_prefix(), kv::level_report_key, drop_in_flight_,
                            "feature level report");
        if (raise_in_flight_) return;
        const auto target = raise_target(s);
        if (!target) return;
        // A cas from the level read here: a leader whose state is behind
        // fails it instead of writing an older level over a newer one.
        const unsigned current = store_.level();
        kv::kv_command c;
        c.op = kv::kv_op::cas;
        c.key = kv::cluster_level_key();
        c.value = kv::format_level(*target);
        c.expected = store_.get(c.key);   // nullopt: the key must still be absent
        raise_in_flight_ = true;
        node_.async_broadcast(kv::encode(c), [this, current, target = *target](boost::system::error_code ec, index_t) {
            raise_in_flight_ = false;
            if (!ec && store_.level() == target)
                RAFTLITE_LOG_APP(info) << "raised the cluster's feature level from " << current << " to " << target
                                       << ": every member applies it";
        });
    }

    // The space guard (kv_space.hpp). This peer's free disk, read at most
    // every free_space_refresh (and checked for the alarm as often): a
    // statvfs per write would cost more than the write's own work, and what
    // is written meanwhile is bounded by the reserve.
    static constexpr std::chrono::milliseconds free_space_refresh{100};

    std::optional<std::uint64_t> local_free_bytes() {
        if (cfg_.space.reserve_bytes == 0) return std::nullopt;
        const auto now = std::chrono::steady_clock::now();
        if (now - free_read_at_ >= free_space_refresh) {
            free_bytes_ = kv::free_bytes(cfg_.peer.data_dir);
            free_read_at_ = now;
        }
        return free_bytes_;
    }

    // Every free_space_refresh: raise this peer's no_space alarm when its
    // disk is short of room for the state and the reserve, drop it once the
    // disk has room again; on the leader, drop the alarms of servers no
    // longer in the configuration. One alarm write of each kind in flight;
    // a settled cluster writes nothing.
    void check_space() {
        const node_status s = node_.status();
        if (s.leader == no_node) return;
        const node_id self = cfg_.peer.node.core.self;
        const std::string key = kv::no_space_alarm_key(self);
        const bool raised = store_.entry_bytes(key) != 0;
        // nullopt when the disk is not watched (reserve_bytes = 0: an alarm
        // raised before goes) or cannot be read (nothing changes).
        const auto free = local_free_bytes();
        if (!alarm_in_flight_ && s.members.contains(self)) {
            if (!raised && free && kv::disk_low(*free, store_.bytes(), cfg_.space))
                write_alarm(key, "free " + std::to_string(*free) + " bytes, state " + std::to_string(store_.bytes()) +
                                     " bytes, reserve " + std::to_string(cfg_.space.reserve_bytes) + " bytes");
            else if (raised && (cfg_.space.reserve_bytes == 0 ||
                                (free && kv::disk_recovered(*free, store_.bytes(), cfg_.space))))
                write_alarm(key, std::nullopt);
        }
        drop_removed_holder(s, kv::no_space_alarms_prefix(), kv::no_space_alarm_key, alarm_drop_in_flight_,
                            "no_space alarm");
    }

    // Puts this peer's alarm with `why`, or deletes it (nullopt).
    void write_alarm(const std::string& key, std::optional<std::string> why) {
        kv::kv_command c;
        c.op = why ? kv::kv_op::put : kv::kv_op::del;
        c.key = key;
        if (why) c.value = *why;
        alarm_in_flight_ = true;
        node_.async_broadcast(kv::encode(c), [this, why](boost::system::error_code ec, index_t) {
            alarm_in_flight_ = false;
            if (ec) return;
            if (why)
                RAFTLITE_LOG_APP(warning) << "raised the no_space alarm: this peer's disk is short of space (" << *why
                                          << "); the cluster refuses writes that grow the state until it has room";
            else
                RAFTLITE_LOG_APP(info) << "dropped the no_space alarm: this peer's disk has room again";
        });
    }

    // The members whose no_space alarm is in the state.
    std::vector<std::uint64_t> alarmed_members() const { return store_.servers_under(kv::no_space_alarms_prefix()); }

    kv::space_gauges space_gauges() {
        return {store_.bytes(), cfg_.space.quota_bytes, local_free_bytes(), cfg_.space.reserve_bytes,
                alarmed_members().size()};
    }

    // Runs where deliveries run, right after entry sink.index() was applied:
    // freeze the store there (O(shards), nothing copied) and write it out on
    // the snapshot thread, so that deliveries are not held up by the writing
    // nor by finish()'s fsync.
    void take_snapshot(snapshot_sink sink) {
        auto image = std::make_shared<const kv::kv_image>(store_.snapshot());
        auto s = std::make_shared<snapshot_sink>(std::move(sink));
        boost::asio::post(snapshot_thread_, [image, s] {
            boost::system::error_code ec;
            try {
                kv::write_snapshot(*image, [&](std::string_view piece) {
                    if (auto e = s->write(piece)) throw boost::system::system_error(e, "writing the snapshot");
                });
            } catch (const boost::system::system_error& e) {
                ec = e.code();
                RAFTLITE_LOG_APP(error) << "snapshot of entries 1.." << s->index() << ": " << e.what();
            } catch (const std::exception& e) {
                ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
                RAFTLITE_LOG_APP(error) << "snapshot of entries 1.." << s->index() << ": " << e.what();
            }
            s->finish(ec);
        });
    }

    // Replaces the store by a snapshot's state, at start or from the leader.
    // Bytes that are not a valid snapshot throw, which stops the node
    // (delivery_failed) and so this process: it must not serve a state it
    // could not load.
    void restore(snapshot_source& source) {
        const snapshot_meta meta = source.meta();
        kv::kv_store loaded(cfg_.sessions.limits);
        try {
            loaded = kv::read_snapshot(
                [&](std::string& out) {
                    std::string piece;
                    if (auto ec = source.read(piece))
                        throw std::runtime_error(ec.message() + ": " + storage_->snapshot_error_message());
                    out += piece;
                },
                cfg_.sessions.limits);
        } catch (const std::exception& e) {
            const std::string why = "cannot restore the snapshot of entries 1.." + std::to_string(meta.index) +
                                    " (term " + std::to_string(meta.term) + ") in " + cfg_.peer.data_dir.string() +
                                    ": " + e.what();
            RAFTLITE_LOG_APP(error) << why;
            std::cerr << "raftlite-kv: " << why << "\n";
            throw std::runtime_error(why);
        }
        store_ = std::move(loaded);
        observe_store();
        reset_history(meta.index);
        state_index_ = meta.index;
        RAFTLITE_LOG_APP(info) << "restored " << store_.size() << " keys from the snapshot of entries 1.."
                               << meta.index;
    }

    std::optional<kv::watch_gauges> watch_gauges() const {
        if (cfg_.watch_history_bytes == 0) return std::nullopt;
        return kv::watch_gauges{watches_.size(), history_.size(), history_.bytes(), history_.horizon()};
    }

    kv::snapshot_gauges snapshot_gauges() const {
        const node_status s = node_.status();
        return {s.snapshot_index, s.log_start, log_entries(s), s.snapshots_taken, s.snapshots_installed};
    }

    static std::uint64_t log_entries(const node_status& s) {
        return s.last_log_index + 1 > s.log_start ? s.last_log_index + 1 - s.log_start : 0;
    }

    std::string status_json() {
        const node_status s = node_.status();
        json::object o;
        o["id"] = s.id;
        o["term"] = s.term;
        o["role"] = role_name(s.role);
        o["leader"] = s.leader;
        o["commit_index"] = s.commit_index;
        o["last_log_index"] = s.last_log_index;
        o["applied_index"] = s.applied_index;
        o["snapshot_index"] = s.snapshot_index;
        o["log_start"] = s.log_start;
        o["log_entries"] = log_entries(s);   // entries held: last_log_index - log_start + 1
        o["snapshots_taken"] = s.snapshots_taken;
        o["snapshots_installed"] = s.snapshots_installed;
        json::object match;
        for (const auto& [id, m] : s.match_index) match[std::to_string(id)] = m;
        o["match_index"] = std::move(match);
        o["read_mode"] = kv::read_mode_name(cfg_.read_mode);
        o["version"] = raftlite::version();
        o["reads_by_lease"] = s.core.lease_reads;
        o["read_rounds"] = s.core.read_rounds;
        // This peer's GETs and the read-index requests that served them
        // (read_batch.hpp): reads per request under load.
        o["reads"] = reads_.reads();
        o["read_index_requests"] = reads_.requests();
        // The clients' keys: all but the system keys (kv_levels.hpp).
        kv::kv_range_query system;
        system.from = kv::system_keys_begin();
        o["keys"] = store_.size() - store_.count(system);
        // Feature levels (kv_levels.hpp): the cluster's, what this peer
        // reports, and the highest it applies.
        // pending: a write of the level protocol is still to come from here
        // (this peer's report; on the leader a raise, or a removed server's
        // report to drop).
        o["level"] = json::object{{"cluster", store_.level()},
                                  {"max", cfg_.max_level},
                                  {"supported", kv::supported_level},
                                  {"pending", report_due(s) || raise_target(s).has_value() ||
                                                  stale_report(s).has_value()}};
        // The space guard (kv_space.hpp): alarms lists the members whose
        // disk is short of space.
        {
            const auto free = local_free_bytes();
            json::array alarms;
            for (std::uint64_t id : alarmed_members()) alarms.push_back(id);
            o["space"] = json::object{{"state_bytes", store_.bytes()},
                                      {"quota_bytes", cfg_.space.quota_bytes},
                                      {"free_bytes", free ? json::value(*free) : json::value(nullptr)},
                                      {"reserve_bytes", cfg_.space.reserve_bytes},
                                      {"alarms", std::move(alarms)}};
        }
        // Watches waiting here, and the least since they can start from.
        o["watches"] = watches_.size();
        o["watch_horizon"] = history_.horizon();
        // The digest is kept up to date by every write (kv_store.hpp): free
        // to read. state_index is the last entry it reflects (applied_index
        // comes from the node's published status and may be a moment older
        // or count entries that carry no command).
        o["state_index"] = state_index_;
        char digest[17];
        std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(store_.digest()));
        o["digest"] = digest;
        o["sessions"] = store_.sessions().count();
        o["cluster_time_ms"] = store_.sessions().now_ms();
        o["running"] = s.running;
        o["storage_failed"] = s.storage_failed;
        // For the status page and kvctl status: every member, what this
        // peer knows of each (progress only when it leads), recent leaders.
        // "members" (ids, learners included) and "voters" are the
        // configuration in force; "membership" is GET /members' list.
        const node_metrics m = node_.metrics();
        json::array members, voters;
        for (const member& mb : s.members.members()) {
            members.push_back(mb.id);
            if (mb.voter) voters.push_back(mb.id);
        }
        o["members"] = std::move(members);
        o["voters"] = std::move(voters);
        o["configuration_index"] = s.configuration_index;
        o["membership"] = kv::members_object(s, directory_).at("members");
        json::array peers;
        for (const peer_metrics& p : m.peers) {
            json::object po;
            po["id"] = p.id;
            po["connected"] = p.connected;
            po["connects"] = p.connects;
            po["connect_failures"] = p.connect_failures;
            po["handshake_ack_timeouts"] = p.handshake_ack_timeouts;
            if (p.has_match) {
                po["match_index"] = p.match_index;
                po["lag"] = p.match_lag;
            }
            peers.push_back(std::move(po));
        }
        o["peers"] = std::move(peers);
        json::array changes;
        for (const leader_change& c : m.recent_leader_changes)
            changes.push_back(json::object{{"term", c.term}, {"leader", c.leader}, {"unix_ms", c.unix_ms}});
        o["leader_changes"] = std::move(changes);
        return json::serialize(o);
    }

    kv::kv_config cfg_;
    kv::member_directory directory_;   // addresses beyond the configuration (kv_admin.hpp)
    file_persister* storage_;   // owned by node_
    node node_;
    kv::http_server server_;
    kv::kv_store store_;
    kv::change_history history_;   // the store's recent changes, for watches
    std::map<std::uint64_t, pending_watch> watches_;   // waiting for a change, by id
    std::uint64_t next_watch_ = 0;
    index_t state_index_ = 0;   // the last entry store_ reflects
    std::unordered_map<std::uint64_t, std::function<void(kv::http_result)>> waiting_;
    std::uint64_t next_request_;
    std::function<void()> failed_;
    read_batch reads_;
    boost::asio::steady_timer clock_timer_;   // cancelled by stop()
    boost::asio::steady_timer level_timer_;   // check_level(); cancelled by stop()
    boost::asio::steady_timer space_timer_;   // check_space(); cancelled by stop()
    boost::asio::steady_timer handover_timer_;   // bounds stop_gracefully's handover; cancelled by stop()
    boost::asio::cancellation_signal handover_cancel_;
    bool clock_in_flight_ = false;
    bool report_in_flight_ = false;   // this peer's level report
    bool raise_in_flight_ = false;    // the leader's raise of the cluster level
    bool drop_in_flight_ = false;     // the leader's delete of a removed server's report
    bool level_check_posted_ = false;
    bool level_check_waiting_ = false;   // check_level()'s read index
    bool alarm_in_flight_ = false;       // check_space(): this peer's alarm raised or dropped
    bool alarm_drop_in_flight_ = false;  // check_space(): a removed server's alarm dropped
    std::optional<std::uint64_t> free_bytes_;   // local_free_bytes()
    std::chrono::steady_clock::time_point free_read_at_{};
    bool stopped_ = false;
    // Last, so destroyed first: a snapshot being written finishes (its
    // queued successors are dropped, abandoning them) while the node and its
    // storage still exist.
    boost::asio::thread_pool snapshot_thread_{1};
};

} // namespace

int main(int argc, char** argv) {
    std::string config_path;
    bool join = false;
    bool check_config = false;
    po::options_description desc("raftlite-kv options");
    apps::add_standard_options(desc);
    desc.add_options()("config", po::value(&config_path)->required(),
                                               "peer config file (e.g. conf/local/n1.ini)")(
        "join", po::bool_switch(&join),
        "join an existing cluster (as [node] join = true): [peers] is only an address book, this peer "
        "starts with no membership and no vote, and waits for the leader to add it (kvctl add-learner "
        "ID RAFT_ADDR KV_ADDR, then kvctl promote ID). Ignored once its data directory holds a "
        "configuration")(
        "check-config", po::bool_switch(&check_config),
        "read and check the config file, print what it sets up and exit (status 0; 2 with the error): a "
        "deployment's test before it starts or restarts a peer");
    po::variables_map vm;
    if (auto status = apps::parse_command_line("raftlite-kv", argc, argv, desc, vm)) return *status;
    kv::kv_config cfg;
    try {
        cfg = kv::load_kv_config(config_path);
    } catch (const config_error& e) {
        std::cerr << "raftlite-kv: " << e.what() << "\n";
        return 2;
    }
    if (join) set_join(cfg.peer);   // as [node] join = true
    if (check_config) {
        const auto& t = cfg.peer.node.transport;
        std::cout << "raftlite-kv: " << config_path << " is valid: cluster '" << t.cluster_id << "', node "
                  << cfg.peer.node.core.self << " at " << t.listen.to_string() << ", " << t.peers.size()
                  << " peer address(es), " << (cfg.peer.node.core.members.empty() ? "joining" : "bootstrap")
                  << ", data in " << cfg.peer.data_dir.string() << ", HTTP" << (cfg.http.tls_cert_file.empty() ? "" : "S")
                  << " on " << kv::listen_address(cfg.http).to_string() << ", read_mode "
                  << kv::read_mode_name(cfg.read_mode) << ", quota "
                  << (cfg.space.quota_bytes ? std::to_string(cfg.space.quota_bytes) + " bytes" : std::string("none"))
                  << ", disk reserve "
                  << (cfg.space.reserve_bytes ? std::to_string(cfg.space.reserve_bytes) + " bytes"
                                              : std::string("none (not watched)"))
                  << "\n";
        return 0;
    }
    try {
        init_logging(cfg.peer.log);
    } catch (const std::exception& e) {
        std::cerr << "raftlite-kv: " << e.what() << "\n";
        return 2;
    }

    // One thread: the node's strand, the HTTP sessions and the state machine
    // share it, so the store needs no lock.
    boost::asio::io_context ioc(1);
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    // SIGHUP: the log file is opened again by its name, as daemons do after a
    // rotation (logrotate's create mode). Without a handler it would end the
    // process. Waited for until the wind-down begins.
    boost::asio::signal_set hangups(ioc, SIGHUP);
    std::function<void()> wait_for_hangup = [&] {
        hangups.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            try {
                reopen_log();
                RAFTLITE_LOG_APP(info) << "SIGHUP: log file reopened";
            } catch (const std::exception& e) {
                RAFTLITE_LOG_APP(error) << "SIGHUP: " << e.what() << "; still writing to the file open before";
            }
            wait_for_hangup();
        });
    };
    wait_for_hangup();
    bool node_failed = false;
    std::optional<kv_peer> peer_holder;
    peer_holder.emplace(ioc, cfg, [&] {
        // The node stopped by itself: no signal is coming, so stop waiting for one.
        node_failed = true;
        boost::system::error_code ignored;
        signals.cancel(ignored);
        hangups.cancel(ignored);
        peer_holder->stop();
    });
    kv_peer& peer = *peer_holder;
    try {
        if (auto ec = peer.start()) {
            const std::string detail = peer.storage_error();
            std::cerr << "raftlite-kv: cannot start node " << cfg.peer.node.core.self << ": " << ec.message()
                      << (detail.empty() ? "" : ": " + detail) << "\n";
            RAFTLITE_LOG_APP(error) << "cannot start: " << ec.message() << (detail.empty() ? "" : ": " + detail);
            return 1;
        }
    } catch (const std::exception& e) {
        std::cerr << "raftlite-kv: cannot start node " << cfg.peer.node.core.self << ": " << e.what() << "\n";
        return 1;
    }
    // SIGINT/SIGTERM: a leader first hands its leadership to another voter
    // (stop_gracefully), then stop the HTTP server (listener and every
    // session, idle keep-alive ones included) and the node (in-flight writes
    // synced, peer links and inbound sessions closed, the data directory's
    // lock released).
    // Then nothing holds the io_context and run() returns by itself. The
    // watchdog is a thread, not a timer on the io_context: a pending timer
    // would itself keep run() going until it fired.
    std::mutex wind_down_mutex;
    std::condition_variable wind_down_cv;
    bool wound_down = false;
    bool forced = false;
    std::thread watchdog;
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        RAFTLITE_LOG_APP(info) << "signal " << sig << " received: stopping";
        // Back to the default disposition: a second signal ends the process
        // at once, the usual way out when a shutdown is stuck.
        boost::system::error_code ignored;
        signals.clear(ignored);
        hangups.cancel(ignored);   // still handled (ignored) while winding down
        peer.stop_gracefully();
        // The wind-down's bound: 5 s, after the handover's own bound.
        const std::chrono::milliseconds bound = std::chrono::seconds(5) + peer.handover_limit();
        watchdog = std::thread([&, bound] {
            std::unique_lock lock(wind_down_mutex);
            if (wind_down_cv.wait_for(lock, bound, [&] { return wound_down; })) return;
            // Something still holds the io_context: a bug, reported as one.
            forced = true;
            RAFTLITE_LOG_APP(error) << "still winding down " << bound.count()
                                    << " ms after the signal: stopping the event loop";
            ioc.stop();
        });
    });
    ioc.run();
    {
        std::lock_guard lock(wind_down_mutex);
        wound_down = true;
    }
    wind_down_cv.notify_all();
    if (watchdog.joinable()) watchdog.join();
    if (forced || node_failed) return 1;
    RAFTLITE_LOG_APP(info) << "stopped";
    return 0;
}
