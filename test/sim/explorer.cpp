// raftlite simulator — depth-bounded exhaustive search with state dedup.
#include "explorer.hpp"

#include "describe.hpp"
#include "invariants.hpp"
#include "node_host.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_map>

namespace raftlite::sim {

namespace {

struct hasher {
    std::uint64_t h = 0x9e3779b97f4a7c15ull;
    void add(std::uint64_t v) {
        h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
};

std::uint64_t message_hash(const envelope& env) {
    hasher x;
    x.add(env.from);
    x.add(env.to);
    x.add(env.msg.index());
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, vote_request>) {
                x.add(m.term); x.add(m.last_log_length); x.add(m.last_log_term); x.add(m.pre_vote); x.add(m.leadership_transfer);
            }
            else if constexpr (std::is_same_v<T, vote_response>) { x.add(m.term); x.add(m.granted); x.add(m.pre_vote); }
            else if constexpr (std::is_same_v<T, log_request>) {
                x.add(m.term); x.add(m.prefix_len); x.add(m.prefix_term); x.add(m.leader_commit);
                for (const log_entry& e : m.suffix) { x.add(e.term); x.add(e.origin.node); x.add(e.origin.request); x.add(static_cast<std::uint64_t>(e.kind)); }
            }
            else if constexpr (std::is_same_v<T, log_response>) { x.add(m.term); x.add(m.ack); x.add(m.success); x.add(m.prefix_len); }
            else if constexpr (std::is_same_v<T, forward_request>) { x.add(m.request); x.add(m.search_from); }
            else if constexpr (std::is_same_v<T, forward_response>) { x.add(m.request); x.add(int(m.result)); x.add(m.term); x.add(m.index); }
            else if constexpr (std::is_same_v<T, install_snapshot>) {
                // Two chunks of one snapshot differ by where they start and
                // how long they are; their bytes follow from the snapshot.
                x.add(m.term); x.add(m.meta.index); x.add(m.meta.term); x.add(m.meta.size); x.add(m.meta.crc);
                x.add(m.meta.members.size());
                for (const member& mb : m.meta.members.members()) x.add(mb.id), x.add(mb.voter ? 1 : 0);
                x.add(m.offset); x.add(m.data ? m.data->size() : 0); x.add(m.done);
            }
            else if constexpr (std::is_same_v<T, install_snapshot_response>) { x.add(m.term); x.add(m.index); x.add(m.next_offset); x.add(m.installed); }
            // (Read rounds are left out: every heartbeat begins one, and the
            // explorer makes no reads, so they would only tell apart states
            // that behave alike.)
            else if constexpr (std::is_same_v<T, read_index_request>) { x.add(m.request); }
            else if constexpr (std::is_same_v<T, read_index_response>) { x.add(m.request); x.add(int(m.result)); x.add(m.index); }
            else if constexpr (std::is_same_v<T, timeout_now>) { x.add(m.term); }
            else static_assert(sizeof(T) == 0, "message_hash does not know this message");
        },
        env.msg);
    return x.h;
}

struct xstate {
    std::vector<node_host> hosts;
    std::vector<envelope> net;            // in flight, unordered
    std::vector<bool> election_armed;
    invariants inv{3};
    std::size_t crashes = 0, drops = 0, dups = 0, broadcasts = 0, timeouts = 0, heartbeats = 0, snapshots = 0;
    std::size_t changes = 0;
    std::uint64_t next_request = 1;

    std::uint64_t hash(std::vector<std::uint64_t> ms) const {   // ms: message hashes of net
        hasher x;
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            const node_host& h = hosts[i];
            x.add(h.up());
            const auto& d = h.disk().durable_state();
            x.add(d.hard.current_term); x.add(d.hard.voted_for); x.add(d.last_index());
            x.add(h.disk().unsynced_ops());
            x.add(d.log_start); x.add(d.snapshot ? d.snapshot->index : 0);
            if (!h.up()) continue;
            const raftlite::core& c = h.core();
            x.add(c.current_term()); x.add(c.voted_for()); x.add(static_cast<int>(c.role())); x.add(c.leader());
            x.add(c.commit_length()); x.add(c.durable_length()); x.add(c.pending_broadcasts());
            x.add(h.syncs_pending()); x.add(h.heartbeat_active()); x.add(election_armed[i]);
            x.add(c.log().start()); x.add(c.snapshot().index); x.add(h.runner().applied());
            for (index_t k = c.log().start(); k <= c.log().length(); ++k) {
                x.add(c.log().at(k).term);
                x.add(static_cast<std::uint64_t>(c.log().at(k).kind));
                x.add(c.log().at(k).origin.request);
            }
            for (node_id f = 1; f <= hosts.size(); ++f) { x.add(c.acked_length(f)); x.add(c.sent_length(f)); }
        }
        std::sort(ms.begin(), ms.end());   // the network is a multiset
        for (auto m : ms) x.add(m);
        x.add(crashes); x.add(drops); x.add(dups); x.add(broadcasts); x.add(timeouts); x.add(heartbeats);
        x.add(snapshots); x.add(changes);
        return x.h;
    }
};

struct step_label {
    const char* what;
    const envelope* env;   // into the parent state's network
    std::size_t node;
};

class explorer {
public:
    explicit explorer(const explore_config& cfg) : cfg_(cfg) { visited_.reserve(1 << 20); }

    explore_result run() {
        xstate s;
        std::vector<node_id> members{1, 2, 3};
        for (node_id i = 1; i <= 3; ++i) {
            core_config c = cfg_.core;
            c.self = i;
            c.members = members;
            s.hosts.emplace_back(c, cfg_.broken_core);
        }
        s.election_armed.assign(3, false);
        try {
            for (std::size_t i = 0; i < 3; ++i) boot(s, i);
            dfs(s, 0);
        } catch (const violation& v) {
            res_.ok = false;
            res_.invariant = v.invariant;
            res_.detail = v.what();
        } catch (const budget&) {
            res_.budget_exhausted = true;
        } catch (const std::exception& e) {
            res_.ok = false;
            res_.invariant = "exception";
            res_.detail = e.what();
        }
        res_.distinct_states = visited_.size();
        return res_;
    }

private:
    struct budget {};

    void carry_out(xstate& s, std::size_t i, host_effects& fx) {
        node_host& h = s.hosts[i];
        for (envelope& env : fx.sent) {
            s.inv.on_send(h, env);
            s.net.push_back(std::move(env));
        }
        if (fx.reset_election_timer) s.election_armed[i] = true;
        if (fx.restored) ++res_.restores;
        s.inv.after_turn(s.hosts, h, fx);
    }
    void boot(xstate& s, std::size_t i) {
        host_effects fx;
        s.hosts[i].boot(fx);
        s.inv.on_boot(s.hosts[i]);
        carry_out(s, i, fx);
    }
    void turn(xstate& s, std::size_t i, const event& e) {
        host_effects fx;
        s.hosts[i].step(e, fx);
        carry_out(s, i, fx);
    }

    // Visits `s` (already checked) at `depth`, then every successor.
    void dfs(const xstate& s, std::size_t depth) {
        std::vector<std::uint64_t> mh;
        mh.reserve(s.net.size());
        for (const envelope& e : s.net) mh.push_back(message_hash(e));
        const std::uint64_t h = s.hash(mh);
        auto [it, fresh] = visited_.try_emplace(h, depth);
        if (!fresh) {
            if (it->second <= depth) return;
            it->second = depth;   // reached sooner: its subtree goes deeper now
        } else {
            bool leader = false, commit = false, snapshot = false, changed = false;
            for (const node_host& n : s.hosts) {
                if (!n.up()) continue;
                changed |= n.core().configuration_index() != 0;
                leader |= n.core().role() == role::leader;
                commit |= n.core().commit_length() > 0;
                snapshot |= n.core().snapshot().index > 0;
            }
            res_.states_with_leader += leader;
            res_.states_with_commit += commit;
            res_.states_with_snapshot += snapshot;
            res_.states_with_change += changed;
            if (visited_.size() > cfg_.max_states) throw budget{};
        }
        res_.max_depth = std::max(res_.max_depth, depth);
        if (depth >= cfg_.depth) return;

        // Labels are made only for the path of a violation, while every
        // frame of the path is still alive (they point into parents' states).
        auto go = [&](step_label label, auto&& action) {
            xstate t = s;
            path_.push_back(label);
            ++res_.transitions;
            try {
                action(t);
                dfs(t, depth + 1);
            } catch (const violation&) {
                if (res_.path.empty()) res_.path = describe_path();
                throw;
            }
            path_.pop_back();
        };
        // messages: deliver, duplicate (deliver, keep a copy), drop
        for (std::size_t k = 0; k < s.net.size(); ++k) {
            // identical messages in flight are interchangeable
            bool seen = false;
            for (std::size_t j = 0; j < k && !seen; ++j) seen = mh[j] == mh[k];
            if (seen) continue;
            const envelope& env = s.net[k];
            const std::size_t to = env.to - 1;
            go({"deliver", &env, 0}, [&](xstate& t) {
                envelope e = std::move(t.net[k]);
                t.net.erase(t.net.begin() + static_cast<std::ptrdiff_t>(k));
                if (t.hosts[to].up()) turn(t, to, message_received{std::move(e)});
            });
            if (s.dups < cfg_.max_duplicates && s.hosts[to].up()) {
                go({"duplicate", &env, 0}, [&](xstate& t) {
                    ++t.dups;
                    turn(t, to, message_received{t.net[k]});
                });
            }
            if (s.drops < cfg_.max_drops && s.hosts[to].up()) {   // to a down node, deliver drops it already
                go({"drop", &env, 0}, [&](xstate& t) {
                    ++t.drops;
                    t.net.erase(t.net.begin() + static_cast<std::ptrdiff_t>(k));
                });
            }
        }
        for (std::size_t i = 0; i < s.hosts.size(); ++i) {
            if (!s.hosts[i].up()) {
                go({"restart", nullptr, i + 1}, [&](xstate& t) { boot(t, i); });
                continue;
            }
            if (s.hosts[i].syncs_pending() > 0)
                go({"sync", nullptr, i + 1}, [&](xstate& t) {
                    host_effects fx;
                    t.hosts[i].complete_sync(fx);
                    carry_out(t, i, fx);
                });
            if (s.election_armed[i] && s.timeouts < cfg_.max_timeouts)
                go({"election timeout at", nullptr, i + 1}, [&](xstate& t) {
                    ++t.timeouts;
                    t.election_armed[i] = false;
                    turn(t, i, election_timeout{});
                });
            if (s.hosts[i].heartbeat_active() && s.heartbeats < cfg_.max_heartbeats)
                go({"heartbeat at", nullptr, i + 1}, [&](xstate& t) {
                    ++t.heartbeats;
                    turn(t, i, heartbeat_timeout{});
                });
            if (s.broadcasts < cfg_.broadcasts)
                go({"broadcast at", nullptr, i + 1}, [&](xstate& t) {
                    ++t.broadcasts;
                    const std::uint64_t r = t.next_request++;
                    turn(t, i, broadcast_request{r, make_bytes("p k " + std::to_string(r))});
                });
            // The application snapshots what it has applied (Raft §7); the
            // snapshot finishes inside the step (copies of a host cannot share
            // a snapshot being written).
            if (s.snapshots < cfg_.max_snapshots && !s.hosts[i].runner().snapshot_in_progress() &&
                s.hosts[i].runner().applied() > s.hosts[i].core().snapshot().index)
                go({"snapshot at", nullptr, i + 1}, [&](xstate& t) {
                    ++t.snapshots;
                    host_effects fx;
                    t.hosts[i].request_snapshot(fx);
                    carry_out(t, i, fx);
                });
            // Single-server change (thesis §4): the leader is asked to
            // remove a node, itself included.
            if (s.changes < cfg_.max_membership && s.hosts[i].core().role() == role::leader)
                for (node_id k = 1; k <= s.hosts.size(); ++k)
                    go({"the leader is asked to remove a node: leader, node", nullptr, (i + 1) * 10 + k},
                       [&](xstate& t) {
                           ++t.changes;
                           host_effects fx;
                           t.hosts[i].change_membership(
                               membership_change{membership_change::action::remove, member{k, true, {}, {}}}, fx);
                           carry_out(t, i, fx);
                       });
            if (s.crashes < cfg_.max_crashes) {
                go({"crash, losing unsynced writes:", nullptr, i + 1}, [&](xstate& t) {
                    ++t.crashes;
                    t.hosts[i].crash(0);
                    t.election_armed[i] = false;
                });
                if (s.hosts[i].disk().unsynced_ops() > 0)
                    go({"crash, keeping unsynced writes:", nullptr, i + 1}, [&](xstate& t) {
                        ++t.crashes;
                        t.hosts[i].crash(t.hosts[i].disk().unsynced_ops());
                        t.election_armed[i] = false;
                    });
            }
        }
    }

    std::string describe_path() const {
        std::ostringstream p;
        char buf[160];
        for (std::size_t k = 0; k < path_.size(); ++k) {
            p << "  " << k + 1 << ". " << path_[k].what;
            if (path_[k].env) {
                describe(path_[k].env->msg, buf, sizeof buf);
                p << " n" << path_[k].env->from << " -> n" << path_[k].env->to << " " << buf;
            } else {
                p << " n" << path_[k].node;
            }
            p << "\n";
        }
        return p.str();
    }

    explore_config cfg_;
    explore_result res_;
    std::unordered_map<std::uint64_t, std::uint8_t> visited_;   // state hash -> smallest depth seen
    std::vector<step_label> path_;
};

} // namespace

explore_result explore(const explore_config& cfg) {
    explorer x(cfg);
    return x.run();
}

} // namespace raftlite::sim
