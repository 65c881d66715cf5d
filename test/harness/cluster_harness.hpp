// raftlite tests — several cores wired by in-memory queues under manual time.
//
// Every node is driven by raftlite::runner, the same driver the production
// node runs, over a memory_persister. With auto-sync a node's disk rounds are
// written and synced at once (inline); without, a round is written and waits
// for the test's sync(), holding the messages that promise it.
//
// Nothing runs by itself: no real time, no threads. A test fires election and
// heartbeat timeouts explicitly and delivers messages one by one or until the
// network is quiet. Links can be cut (isolate, partition) and healed; a node
// can crash (losing unsynced writes) and restart from its durable state.
// Everything is deterministic: the network is one FIFO queue.
#ifndef RAFTLITE_TEST_CLUSTER_HARNESS_HPP
#define RAFTLITE_TEST_CLUSTER_HARNESS_HPP

#include <raftlite/core.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/runner.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace raftlite::test {

class cluster_harness;

/// One node: the runner (the production driver) over a memory_persister,
/// and what the test world saw of it.
struct sim_node final : runner_host {
    node_id id = no_node;
    core_config cfg;
    cluster_harness* world = nullptr;
    memory_persister disk;                   ///< survives crashes (minus unsynced writes)
    std::unique_ptr<runner> run;             ///< null while the node is down
    bool up = true;
    bool auto_sync = true;
    std::deque<disk_round> rounds;           ///< in flight; the first is written, waiting for sync()
    std::vector<log_entry> committed;        ///< delivered since the last (re)start or restore, in order
    std::string state;                       ///< the application: every payload applied, one per line
    std::optional<snapshot_meta> restored;   ///< the last snapshot restored (its data replaced `state`)
    std::size_t snapshots_taken = 0;
    std::vector<completion> completions;     ///< every completion reported, in order
    std::vector<read_completion> reads;      ///< every read outcome reported, in order
    /// Every membership change outcome reported, in order (error codes as the runner gives them).
    std::vector<std::pair<std::uint64_t, boost::system::error_code>> changes;
    std::vector<membership> configurations;  ///< every configuration_changed, in order
    std::vector<std::pair<std::uint64_t, boost::system::error_code>> transfers;   ///< every transfer outcome, in order
    std::optional<std::chrono::nanoseconds> clock;   ///< what now() reads (lease reads); none: no clock
    std::size_t election_timer_resets = 0;
    bool heartbeat_running = false;
    std::size_t restarts = 0;

    /// Messages waiting for a sync.
    std::size_t held_after_sync() const { return run ? run->after_sync_waiting() : 0; }
    /// The request id the next broadcast gets (ids stay unique across restarts).
    std::uint64_t next_request() const { return next_request_; }

    // runner_host
    void send(envelope message) override;
    void write_and_sync(disk_round r) override;
    void write_first_round();
    void deliver(const log_entry& entry) override;
    void restore(const snapshot_meta& meta) override;
    void take_snapshot(index_t index, term_t term, const membership& members) override;
    void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) override;
    void read_done(std::uint64_t request, boost::system::error_code ec, index_t index) override;
    void membership_done(std::uint64_t request, boost::system::error_code ec, index_t index) override;
    void configuration_changed(const membership& members) override { configurations.push_back(members); }
    void transfer_done(std::uint64_t request, boost::system::error_code ec) override {
        transfers.emplace_back(request, ec);
    }
    std::optional<std::chrono::nanoseconds> now() override { return clock; }
    void reset_election_timer() override { ++election_timer_resets; }
    void set_heartbeat(bool running) override { heartbeat_running = running; }
    void storage_failed(boost::system::error_code ec) override;

    std::uint64_t next_request_ = 1;
};

using envelope_pred = std::function<bool(const envelope&)>;

class cluster_harness {
public:
    /// `n` empty nodes with ids 1..n; `tmpl` supplies every parameter but self and members.
    ///
    /// The harness has no clock: a test fires one node's election timeout
    /// while the others' timers stand still, where in real time they would
    /// have run for as long. Leader stickiness (thesis §4.2.3) would then
    /// refuse every election a test forces, so the harness turns it off
    /// unless asked for with `leader_stickiness{}` (the tests of that rule).
    explicit cluster_harness(std::size_t n, core_config tmpl = {});
    struct leader_stickiness {};
    cluster_harness(std::size_t n, core_config tmpl, leader_stickiness);
    /// Nodes restarting from the given durable states (ids are the keys).
    explicit cluster_harness(std::map<node_id, persistent_state> restored, core_config tmpl = {});

    cluster_harness(const cluster_harness&) = delete;
    cluster_harness& operator=(const cluster_harness&) = delete;

    std::vector<node_id> ids() const;
    const raftlite::core& node(node_id n);
    sim_node& state(node_id n);
    const sim_node& state(node_id n) const;

    // ---- events --------------------------------------------------------------
    /// Feeds one event to node n and carries out the output (as a driver does).
    void feed(node_id n, const event& e);
    void election_timeout(node_id n);
    void heartbeat(node_id n);
    /// One heartbeat on every up node whose heartbeat timer runs.
    void heartbeat_all();
    /// Starts a broadcast on node n; returns its request id.
    std::uint64_t broadcast(node_id n, std::string payload);
    /// Starts a linearizable read on node n; returns its request id.
    std::uint64_t read(node_id n);
    /// Asks node n for a membership change; returns its request id.
    std::uint64_t change(node_id n, membership_change c);
    /// The outcome node n reported for change `request`; nothing while none.
    std::optional<boost::system::error_code> change_outcome(node_id n, std::uint64_t request) const;
    /// Adds node `id`, empty, with no bootstrap configuration: it waits to
    /// be added by a leader (a new machine joining the cluster).
    void add_joining_node(node_id id);
    /// Asks node n to hand its leadership to `target` (thesis §3.10);
    /// returns its request id (the outcome lands in state(n).transfers).
    std::uint64_t transfer(node_id n, node_id target);

    // ---- network -------------------------------------------------------------
    const std::deque<envelope>& queue() const { return net_; }
    std::size_t in_flight() const { return net_.size(); }
    /// Delivers the oldest message (dropped if its link is cut or its target down).
    bool deliver_one();
    /// Delivers the oldest message matching `pred` (others keep their order).
    bool deliver_first(const envelope_pred& pred);
    /// Delivers the message at position i of the queue (reordering); false if none.
    bool deliver_at(std::size_t i);
    /// Puts a copy of the message at position i at the end of the queue (duplication).
    void duplicate_at(std::size_t i);
    /// Delivers until the network is empty; returns the number of messages taken.
    std::size_t deliver_all(std::size_t limit = 1000000);
    /// Runs until no message is in flight (timers fire only when the test says so).
    std::size_t run_until_quiet() { return deliver_all(); }
    /// Removes matching messages from the network; returns how many.
    std::size_t drop_if(const envelope_pred& pred);
    void drop_all() { dropped_ += net_.size(); net_.clear(); }

    void cut(node_id a, node_id b);          ///< both directions
    void isolate(node_id n);
    void partition(const std::vector<std::vector<node_id>>& groups);
    void heal();
    bool link_up(node_id from, node_id to) const;

    /// Every envelope put on the network, in order (after-sync ones when released).
    const std::vector<envelope>& sent() const { return sent_; }
    /// Every envelope handed to its target, in order.
    const std::vector<envelope>& delivered_messages() const { return delivered_; }
    std::size_t dropped() const { return dropped_; }

    // ---- disks ---------------------------------------------------------------
    void set_auto_sync(node_id n, bool on);
    /// Completes node n's disk rounds: makes its writes durable, releases its
    /// held messages, reports log_synced.
    void sync(node_id n);

    // ---- crashes -------------------------------------------------------------
    /// The node stops; unsynced writes and held messages are lost.
    void crash(node_id n);
    /// Rebuilds the runner and core from the durable state.
    void restart(node_id n);

    // ---- helpers -------------------------------------------------------------
    /// The up node in role leader with the highest term, or no_node.
    node_id leader() const;
    /// Application payloads node n delivered since its last (re)start.
    std::vector<std::string> delivered(node_id n) const;
    /// Terms of node n's in-memory log, index 1 first (no compaction in tests).
    std::vector<term_t> log_terms(node_id n) const;
    /// heartbeat_all + deliver_all, `rounds` times.
    void settle(int rounds = 3);
    /// Election timeout on n, then deliver and settle; returns leader().
    node_id elect(node_id n);

private:
    friend struct sim_node;
    void add_node(node_id id, const core_config& tmpl, const persistent_state* restored);
    void boot(sim_node& s);
    void deliver(const envelope& e);
    void put_on_network(const envelope& e);

    std::map<node_id, sim_node> nodes_;
    std::deque<envelope> net_;
    std::set<std::pair<node_id, node_id>> cut_;
    std::vector<envelope> sent_;
    std::vector<envelope> delivered_;
    std::size_t dropped_ = 0;
};

// ---- small builders shared by the unit tests ----------------------------------

/// A config for node `self` in a cluster of ids 1..n, other parameters from `tmpl`.
core_config make_config(node_id self, std::size_t n, core_config tmpl = {});
/// An entry with the given term and index (payload "e<index>t<term>" unless given).
log_entry make_entry(term_t term, index_t index, std::string payload = {},
                     entry_kind kind = entry_kind::application, entry_origin origin = {});
/// A durable state whose log has one entry per term in `terms` (index 1 first).
persistent_state make_state(term_t current_term, node_id voted_for, const std::vector<term_t>& terms);
/// A received message addressed from -> to.
event recv(node_id from, node_id to, message m);

/// Messages of type T in `v` with their targets, in order.
template <class T>
std::vector<std::pair<node_id, T>> of_type(const std::vector<envelope>& v) {
    std::vector<std::pair<node_id, T>> r;
    for (const envelope& e : v)
        if (const T* m = std::get_if<T>(&e.msg)) r.emplace_back(e.to, *m);
    return r;
}

/// Messages of type T from `from` to `to` in `v`, in order.
template <class T>
std::vector<T> between(const std::vector<envelope>& v, node_id from, node_id to) {
    std::vector<T> r;
    for (const envelope& e : v)
        if (e.from == from && e.to == to)
            if (const T* m = std::get_if<T>(&e.msg)) r.push_back(*m);
    return r;
}

} // namespace raftlite::test

#endif
