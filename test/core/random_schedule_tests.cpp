// Seeded random schedules through the harness: message loss, duplication and
// reordering, partitions, crashes (losing unsynced writes) and restarts,
// concurrent broadcasts on every node. After every step the Raft safety
// properties are checked; at the end the cluster heals and must converge.
// Seeds are fixed and printed (BOOST_TEST_CONTEXT), so any failure replays.
#include "core_test_util.hpp"

#include <random>
#include <set>
#include <sstream>

using namespace raftlite;
using namespace raftlite::test;

namespace {

struct committed_fact {
    term_t term;
    std::string data;
    entry_origin origin;
    term_t observed_in;   ///< the term in which it was committed
};

struct outcome_report {
    std::size_t broadcasts = 0;
    std::size_t completed = 0;
    std::size_t untruthful = 0;   ///< completions contradicted by what committed
    std::vector<std::string> notes;
};

class fuzz {
public:
    fuzz(std::uint64_t seed, std::size_t n) : rng_(seed), h_(n, params()), n_(n) {}

    static core_config params() {
        core_config t;
        t.max_batch_entries = 4;
        t.max_inflight = 3;
        t.forward_retry_after = 4;
        t.hold_elections = 3;
        t.max_pending = 64;
        return t;
    }

    void run(std::size_t steps) {
        for (std::size_t s = 0; s < steps; ++s) {
            step_once();
            check_safety(s % 8 == 0);
        }
        check_safety(true);
    }

    index_t committed_entries() const { return facts_.size(); }

    // Heal everything, restart everyone, elect, settle: the cluster must converge.
    void converge() {
        h_.heal();
        for (node_id id : h_.ids()) {
            if (!h_.state(id).up) restart(id);
            h_.set_auto_sync(id, true);
        }
        h_.deliver_all();
        check_safety();
        for (int round = 0; round < 30 && !converged(); ++round) {
            if (h_.leader() == no_node || round % 5 == 4) {
                h_.election_timeout(pick_up_node());
                h_.deliver_all();
            }
            h_.settle(2);
            check_safety();
        }
        // Enough log_requests for every lost forward to be retried and committed.
        for (int round = 0; round < 3 * static_cast<int>(params().forward_retry_after); ++round) {
            h_.settle(1);
            check_safety();
        }
        BOOST_REQUIRE(converged());
        const node_id l = h_.leader();
        for (node_id id : h_.ids()) {
            BOOST_TEST(h_.log_terms(id) == h_.log_terms(l), boost::test_tools::per_element());
            BOOST_TEST(h_.node(id).commit_length() == h_.node(l).log().length());
            BOOST_TEST(h_.state(id).committed.size() == h_.node(l).log().length());
        }
    }

    // Every broadcast still owned by a live core got exactly one completion;
    // nothing committed twice. Untruthful completions are counted (see report).
    outcome_report outcomes() {
        outcome_report r;
        std::map<std::pair<node_id, std::uint64_t>, std::vector<index_t>> commits;
        for (const auto& [i, f] : facts_)
            if (f.origin.node != no_node) commits[{f.origin.node, f.origin.request}].push_back(i);
        for (const auto& [o, where] : commits) BOOST_TEST(where.size() == 1u, "origin committed twice");
        for (node_id id : h_.ids()) {
            BOOST_TEST(h_.node(id).pending_broadcasts() == 0u);
            std::map<std::uint64_t, std::vector<completion>> by_req;
            for (const auto& c : h_.state(id).completions) by_req[c.request].push_back(c);
            for (std::uint64_t req : live_requests_[id]) {
                ++r.broadcasts;
                auto it = by_req.find(req);
                BOOST_TEST((it != by_req.end() && it->second.size() == 1u),
                           "node " << id << " request " << req << " completions");
                if (it == by_req.end() || it->second.empty()) continue;
                ++r.completed;
                const completion& c = it->second.front();
                auto cm = commits.find({id, req});
                const bool did_commit = cm != commits.end();
                bool truthful = true;
                if (c.result == broadcast_result::committed)
                    truthful = did_commit && cm->second.front() == c.index;
                else
                    truthful = !did_commit;
                if (!truthful) {
                    ++r.untruthful;
                    std::ostringstream os;
                    os << "node " << id << " request " << req << ": completion "
                       << static_cast<int>(c.result) << " index " << c.index << ", committed "
                       << (did_commit ? "at " + std::to_string(cm->second.front()) : std::string("never"));
                    r.notes.push_back(os.str());
                }
            }
        }
        return r;
    }

private:
    std::size_t uniform(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    node_id pick_node() { return static_cast<node_id>(1 + uniform(n_)); }
    node_id pick_up_node() {
        std::vector<node_id> up;
        for (node_id id : h_.ids())
            if (h_.state(id).up) up.push_back(id);
        return up[uniform(up.size())];
    }
    std::size_t down_count() const {
        std::size_t k = 0;
        for (node_id id : h_.ids())
            if (!h_.state(id).up) ++k;
        return k;
    }

    void restart(node_id id) {
        h_.restart(id);
        seen_[id] = 0;
    }

    void step_once() {
        const std::size_t a = uniform(100);
        if (a < 45) {                                   // deliver, mostly in order
            if (h_.in_flight() == 0) return;
            const std::size_t window = std::min<std::size_t>(h_.in_flight(), 4);
            h_.deliver_at(uniform(window));
        } else if (a < 50) {                            // lose a message
            if (h_.in_flight() == 0) return;
            const std::size_t i = uniform(h_.in_flight());
            std::size_t k = 0;
            h_.drop_if([&](const envelope&) { return k++ == i; });
        } else if (a < 52) {                            // duplicate a message
            if (h_.in_flight() > 0) h_.duplicate_at(uniform(h_.in_flight()));
        } else if (a < 56) {                            // an election timeout
            h_.election_timeout(pick_up_node());
        } else if (a < 68) {                            // heartbeats
            h_.heartbeat_all();
        } else if (a < 78) {                            // a broadcast
            const node_id id = pick_up_node();
            const std::uint64_t req = h_.state(id).next_request();
            live_requests_[id].push_back(req);
            h_.broadcast(id, "n" + std::to_string(id) + "r" + std::to_string(req));
        } else if (a < 81) {                            // a slow disk
            h_.set_auto_sync(pick_up_node(), false);
        } else if (a < 87) {                            // its sync completes
            h_.set_auto_sync(pick_node(), true);
        } else if (a < 88) {                            // a crash (one step in 200)
            if (uniform(2) == 0 && down_count() + 1 < n_) {
                const node_id id = pick_up_node();
                h_.crash(id);
                live_requests_[id].clear();             // the driver's pending state died with it
            }
        } else if (a < 91) {                            // a restart
            for (node_id id : h_.ids())
                if (!h_.state(id).up) { restart(id); break; }
        } else if (a < 93) {                            // a partition
            h_.heal();
            std::vector<node_id> left, right;
            for (node_id id : h_.ids()) (uniform(2) ? left : right).push_back(id);
            h_.partition({left, right});
        } else if (a < 96) {                            // healing
            h_.heal();
        } else {                                        // a quiet moment
            h_.deliver_all();
        }
    }

    void check_safety(bool full = true) {
        // Election Safety: at most one leader per term.
        for (node_id id : h_.ids()) {
            if (!h_.state(id).up || h_.node(id).role() != role::leader) continue;
            auto [it, fresh] = leaders_.emplace(h_.node(id).current_term(), id);
            BOOST_REQUIRE_MESSAGE(fresh || it->second == id,
                                  "two leaders in term " << it->first << ": " << it->second << " and " << id);
        }
        // State Machine Safety: what any node delivered at an index is what
        // every node delivered there; deliveries are in index order.
        for (node_id id : h_.ids()) {
            const auto& c = h_.state(id).committed;
            for (std::size_t k = seen_[id]; k < c.size(); ++k) {
                const log_entry& e = c[k];
                BOOST_REQUIRE_MESSAGE(e.index == k + 1, "node " << id << " delivered index " << e.index
                                                                 << " at position " << k + 1);
                const term_t now = h_.state(id).up ? h_.node(id).current_term() : 0;
                auto [it, fresh] = facts_.emplace(e.index, committed_fact{e.term, std::string(e.data()), e.origin, now});
                BOOST_REQUIRE_MESSAGE(fresh || (it->second.term == e.term && it->second.data == e.data()),
                                      "node " << id << " delivered (" << e.index << ", term " << e.term
                                              << ") but (" << e.index << ", term " << it->second.term
                                              << ") was delivered elsewhere");
                if (!fresh) it->second.observed_in = std::min(it->second.observed_in, now);
            }
            seen_[id] = c.size();
        }
        // Log Matching between every pair of live nodes.
        std::vector<node_id> up;
        for (node_id id : h_.ids())
            if (h_.state(id).up) up.push_back(id);
        for (std::size_t x = 0; full && x < up.size(); ++x) {
            for (std::size_t y = x + 1; y < up.size(); ++y) {
                const raft_log& a = h_.node(up[x]).log();
                const raft_log& b = h_.node(up[y]).log();
                index_t i = std::min(a.length(), b.length());
                while (i > 0 && a.term_at(i) != b.term_at(i)) --i;
                for (index_t j = 1; j <= i; ++j)
                    BOOST_REQUIRE_MESSAGE(a.term_at(j) == b.term_at(j),
                                          "log matching broken between " << up[x] << " and " << up[y] << " at " << j);
            }
        }
        // Leader Completeness: a leader of a later term holds every committed entry.
        for (node_id id : up) {
            const core& l = h_.node(id);
            if (l.role() != role::leader) continue;
            for (const auto& [i, f] : facts_)
                if (f.observed_in < l.current_term())
                    BOOST_REQUIRE_MESSAGE(l.log().length() >= i && l.log().term_at(i) == f.term,
                                          "leader " << id << " of term " << l.current_term()
                                                    << " lacks committed entry " << i);
        }
    }

    bool converged() {
        const node_id l = h_.leader();
        if (l == no_node) return false;
        const index_t len = h_.node(l).log().length();
        if (h_.node(l).commit_length() != len) return false;
        for (node_id id : h_.ids()) {
            if (!h_.state(id).up || h_.node(id).leader() != l) return false;
            if (h_.node(id).commit_length() != len || h_.log_terms(id) != h_.log_terms(l)) return false;
            if (h_.node(id).pending_broadcasts() != 0) return false;
        }
        return true;
    }

    std::mt19937_64 rng_;
    cluster_harness h_;
    std::size_t n_;
    std::map<term_t, node_id> leaders_;
    std::map<index_t, committed_fact> facts_;
    std::map<node_id, std::size_t> seen_;
    std::map<node_id, std::vector<std::uint64_t>> live_requests_;
};

const std::uint64_t seeds[] = {1, 2, 3, 7, 42, 1234, 2024, 99991};

} // namespace

BOOST_AUTO_TEST_SUITE(random_schedules)

BOOST_AUTO_TEST_CASE(safety_and_convergence_3_nodes) {
    for (std::uint64_t seed : seeds) {
        BOOST_TEST_CONTEXT("seed " << seed << ", 3 nodes") {
            BOOST_TEST_MESSAGE("random schedule: seed " << seed << ", 3 nodes");
            fuzz f(seed, 3);
            f.run(2000);
            f.converge();
            const outcome_report r = f.outcomes();
            BOOST_TEST_MESSAGE("  committed entries " << f.committed_entries() << ", broadcasts "
                                                       << r.broadcasts << ", completed " << r.completed
                                                       << ", untruthful " << r.untruthful);
        }
    }
}

BOOST_AUTO_TEST_CASE(safety_and_convergence_5_nodes) {
    for (std::uint64_t seed : seeds) {
        BOOST_TEST_CONTEXT("seed " << seed << ", 5 nodes") {
            BOOST_TEST_MESSAGE("random schedule: seed " << seed << ", 5 nodes");
            fuzz f(seed, 5);
            f.run(2000);
            f.converge();
            const outcome_report r = f.outcomes();
            BOOST_TEST_MESSAGE("  committed entries " << f.committed_entries() << ", broadcasts "
                                                       << r.broadcasts << ", completed " << r.completed
                                                       << ", untruthful " << r.untruthful);
        }
    }
}

// Every completion must be the truth: `committed` at the index where the entry
// committed, anything else only for a broadcast that never commits.
BOOST_AUTO_TEST_CASE(completions_are_truthful) {
    for (std::uint64_t seed : seeds) {
        for (std::size_t n : {3u, 5u}) {
            BOOST_TEST_CONTEXT("seed " << seed << ", " << n << " nodes") {
                fuzz f(seed, n);
                f.run(2000);
                f.converge();
                const outcome_report r = f.outcomes();
                for (const auto& note : r.notes) BOOST_TEST_MESSAGE(note);
                BOOST_TEST(r.untruthful == 0u);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
