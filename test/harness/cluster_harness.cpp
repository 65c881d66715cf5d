// raftlite tests — the in-memory cluster harness (see cluster_harness.hpp).
#include "cluster_harness.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace raftlite::test {

namespace {

[[noreturn]] void harness_error(const std::string& what) {
    throw std::logic_error("cluster_harness: " + what);
}

} // namespace

// ---- one node -----------------------------------------------------------------

void sim_node::send(envelope message) { world->put_on_network(message); }

// Rounds run in order, as on the node's disk thread: a round's writes reach
// the disk when the round before it has synced.
void sim_node::write_and_sync(disk_round r) {
    rounds.push_back(std::move(r));
    if (rounds.size() == 1) write_first_round();
}

void sim_node::write_first_round() {
    if (auto ec = rounds.front().write(disk)) harness_error("memory write failed: " + ec.message());
}

void sim_node::deliver(const log_entry& entry) {
    committed.push_back(entry);
    if (entry.kind == entry_kind::application) {
        state += entry.data();
        state += '\n';
    }
}

void sim_node::restore(const snapshot_meta& meta) {
    std::string data;
    if (auto ec = disk.read_snapshot(meta, 0, static_cast<std::size_t>(meta.size), data))
        harness_error("snapshot read failed: " + ec.message());
    state = std::move(data);
    committed.clear();
    restored = meta;
}

// The application snapshots at once: its state is a string.
void sim_node::take_snapshot(index_t index, term_t term, const membership& members) {
    std::unique_ptr<snapshot_writer> w;
    snapshot_meta meta;
    boost::system::error_code ec = disk.begin_snapshot(index, term, members, w);
    if (!ec) ec = w->write(state);
    if (!ec) ec = w->finish(meta);
    if (!ec) ++snapshots_taken;
    run->snapshot_done(meta, ec);
}

void sim_node::broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) {
    // The tests compare the core's outcome names.
    const auto result = core_outcome(ec);
    if (!result) harness_error("unexpected broadcast outcome " + ec.message());
    completions.push_back(completion{request, *result, index});
}

void sim_node::read_done(std::uint64_t request, boost::system::error_code ec, index_t index) {
    read_result r = read_result::ready;
    if (ec == errc::not_leader) r = read_result::not_leader;
    else if (ec == errc::busy) r = read_result::busy;
    else if (ec) harness_error("unexpected read outcome " + ec.message());
    reads.push_back(read_completion{request, r, index});
}

void sim_node::membership_done(std::uint64_t request, boost::system::error_code ec, index_t) {
    changes.emplace_back(request, ec);
}

void sim_node::storage_failed(boost::system::error_code ec) {
    harness_error("storage failed: " + ec.message());
}

// ---- construction -------------------------------------------------------------

cluster_harness::cluster_harness(std::size_t n, core_config tmpl) : cluster_harness(n, [&] {
        tmpl.leader_stickiness = false;   // see the header
        return tmpl;
    }(), leader_stickiness{}) {}

cluster_harness::cluster_harness(std::size_t n, core_config tmpl, leader_stickiness) {
    for (node_id id = 1; id <= n; ++id) tmpl.members.put(member{id, true, {}, {}});
    for (node_id id = 1; id <= n; ++id) add_node(id, tmpl, nullptr);
    for (auto& [id, s] : nodes_) boot(s);
}

cluster_harness::cluster_harness(std::map<node_id, persistent_state> restored, core_config tmpl) {
    tmpl.leader_stickiness = false;   // see the header
    tmpl.members = membership{};
    for (const auto& [id, ps] : restored) tmpl.members.put(member{id, true, {}, {}});
    for (const auto& [id, ps] : restored) add_node(id, tmpl, &ps);
    for (auto& [id, s] : nodes_) boot(s);
}

void cluster_harness::add_node(node_id id, const core_config& tmpl, const persistent_state* restored) {
    sim_node& s = nodes_[id];
    s.id = id;
    s.cfg = tmpl;
    s.cfg.self = id;
    s.world = this;
    if (restored) {
        // The disk holds the given state, durably.
        s.disk.save_hard_state(restored->hard);
        if (restored->log_start > 1) s.disk.remove_prefix(restored->log_start, restored->prefix_term);
        s.disk.append(restored->entries);
        s.disk.sync();
    }
}

void cluster_harness::boot(sim_node& s) {
    runner_options o;
    o.core = s.cfg;
    o.first_request = s.next_request_;
    o.sync_inline = s.auto_sync;
    s.rounds.clear();
    s.run = std::make_unique<runner>(std::move(o), s.disk, s);
    if (auto ec = s.run->load()) harness_error("load failed: " + ec.message());
    s.next_request_ = s.run->next_request();
    s.run->start();
}

void cluster_harness::add_joining_node(node_id id) {
    if (nodes_.count(id)) harness_error("node " + std::to_string(id) + " exists");
    core_config tmpl = nodes_.begin()->second.cfg;
    tmpl.members = membership{};
    add_node(id, tmpl, nullptr);
    boot(nodes_.at(id));
}

std::uint64_t cluster_harness::change(node_id n, membership_change c) {
    sim_node& s = state(n);
    if (!s.run) harness_error("node " + std::to_string(n) + " is down");
    return s.run->change_membership(std::move(c));
}

std::optional<boost::system::error_code> cluster_harness::change_outcome(node_id n, std::uint64_t request) const {
    for (const auto& [r, ec] : state(n).changes)
        if (r == request) return ec;
    return std::nullopt;
}

std::vector<node_id> cluster_harness::ids() const {
    std::vector<node_id> r;
    for (const auto& [id, s] : nodes_) r.push_back(id);
    return r;
}

sim_node& cluster_harness::state(node_id n) {
    auto it = nodes_.find(n);
    if (it == nodes_.end()) harness_error("no node " + std::to_string(n));
    return it->second;
}

const sim_node& cluster_harness::state(node_id n) const {
    auto it = nodes_.find(n);
    if (it == nodes_.end()) harness_error("no node " + std::to_string(n));
    return it->second;
}

const raftlite::core& cluster_harness::node(node_id n) {
    sim_node& s = state(n);
    if (!s.up) harness_error("node " + std::to_string(n) + " is down");
    return s.run->raft();
}

// ---- the driver -----------------------------------------------------------------

void cluster_harness::feed(node_id n, const event& e) {
    sim_node& s = state(n);
    if (!s.up) return;   // a crashed node takes no events
    s.run->step(e);
}

void cluster_harness::sync(node_id n) {
    sim_node& s = state(n);
    if (!s.up) return;
    // Completing a round may start the next (what queued up behind it).
    for (int done = 0; !s.rounds.empty(); ++done) {
        if (done == 1000) harness_error("disk rounds do not settle");
        disk_round r = std::move(s.rounds.front());
        s.rounds.pop_front();
        const boost::system::error_code ec = r.sync(s.disk);
        if (!s.rounds.empty()) s.write_first_round();
        s.run->disk_round_done(std::move(r), ec);
    }
}

void cluster_harness::set_auto_sync(node_id n, bool on) {
    sim_node& s = state(n);
    s.auto_sync = on;
    if (!s.up) return;
    if (on) sync(n);
    s.run->set_sync_inline(on);
}

void cluster_harness::put_on_network(const envelope& e) {
    sent_.push_back(e);
    net_.push_back(e);
}

void cluster_harness::deliver(const envelope& e) {
    auto it = nodes_.find(e.to);
    if (it == nodes_.end() || !it->second.up || !link_up(e.from, e.to)) {
        ++dropped_;
        return;
    }
    delivered_.push_back(e);
    feed(e.to, message_received{e});
}

bool cluster_harness::deliver_one() {
    if (net_.empty()) return false;
    envelope e = std::move(net_.front());
    net_.pop_front();
    deliver(e);
    return true;
}

bool cluster_harness::deliver_first(const envelope_pred& pred) {
    auto it = std::find_if(net_.begin(), net_.end(), pred);
    if (it == net_.end()) return false;
    envelope e = std::move(*it);
    net_.erase(it);
    deliver(e);
    return true;
}

bool cluster_harness::deliver_at(std::size_t i) {
    if (i >= net_.size()) return false;
    envelope e = std::move(net_[i]);
    net_.erase(net_.begin() + static_cast<std::ptrdiff_t>(i));
    deliver(e);
    return true;
}

void cluster_harness::duplicate_at(std::size_t i) {
    if (i < net_.size()) net_.push_back(net_[i]);
}

std::size_t cluster_harness::deliver_all(std::size_t limit) {
    std::size_t n = 0;
    while (!net_.empty()) {
        if (n++ >= limit) harness_error("network not quiet after " + std::to_string(limit) + " messages");
        deliver_one();
    }
    return n;
}

std::size_t cluster_harness::drop_if(const envelope_pred& pred) {
    const std::size_t before = net_.size();
    net_.erase(std::remove_if(net_.begin(), net_.end(), pred), net_.end());
    dropped_ += before - net_.size();
    return before - net_.size();
}

// ---- links ----------------------------------------------------------------------

void cluster_harness::cut(node_id a, node_id b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
}

void cluster_harness::isolate(node_id n) {
    for (const auto& [id, s] : nodes_)
        if (id != n) cut(n, id);
}

void cluster_harness::partition(const std::vector<std::vector<node_id>>& groups) {
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t h = g + 1; h < groups.size(); ++h)
            for (node_id a : groups[g])
                for (node_id b : groups[h]) cut(a, b);
}

void cluster_harness::heal() { cut_.clear(); }

bool cluster_harness::link_up(node_id from, node_id to) const {
    return cut_.count({from, to}) == 0;
}

// ---- timers and broadcasts ------------------------------------------------------

void cluster_harness::election_timeout(node_id n) { feed(n, raftlite::election_timeout{}); }

void cluster_harness::heartbeat(node_id n) { feed(n, heartbeat_timeout{}); }

void cluster_harness::heartbeat_all() {
    for (auto& [id, s] : nodes_)
        if (s.up && s.heartbeat_running) feed(id, heartbeat_timeout{});
}

std::uint64_t cluster_harness::broadcast(node_id n, std::string payload) {
    sim_node& s = state(n);
    if (!s.up) harness_error("broadcast on node " + std::to_string(n) + ", which is down");
    const std::uint64_t req = s.run->broadcast(make_bytes(std::move(payload)));
    s.next_request_ = s.run->next_request();
    return req;
}

std::uint64_t cluster_harness::transfer(node_id n, node_id target) {
    sim_node& s = state(n);
    if (!s.up) harness_error("transfer on node " + std::to_string(n) + ", which is down");
    const std::uint64_t req = s.run->transfer(target);
    s.next_request_ = s.run->next_request();
    return req;
}

std::uint64_t cluster_harness::read(node_id n) {
    sim_node& s = state(n);
    if (!s.up) harness_error("read on node " + std::to_string(n) + ", which is down");
    const std::uint64_t req = s.run->read();
    s.next_request_ = s.run->next_request();
    return req;
}

// ---- crashes --------------------------------------------------------------------

void cluster_harness::crash(node_id n) {
    sim_node& s = state(n);
    s.up = false;
    s.run.reset();
    s.rounds.clear();
    s.disk.crash();   // unsynced writes are lost
    s.heartbeat_running = false;
}

void cluster_harness::restart(node_id n) {
    sim_node& s = state(n);
    if (s.up) crash(n);
    s.up = true;
    ++s.restarts;
    s.committed.clear();   // the application's state is rebuilt from deliveries
    boot(s);
}

// ---- helpers --------------------------------------------------------------------

node_id cluster_harness::leader() const {
    node_id best = no_node;
    term_t best_term = 0;
    for (const auto& [id, s] : nodes_) {
        if (!s.up || s.run->raft().role() != role::leader) continue;
        if (best == no_node || s.run->raft().current_term() > best_term) {
            best = id;
            best_term = s.run->raft().current_term();
        }
    }
    return best;
}

std::vector<std::string> cluster_harness::delivered(node_id n) const {
    std::vector<std::string> r;
    for (const log_entry& e : state(n).committed)
        if (e.kind == entry_kind::application) r.emplace_back(e.data());
    return r;
}

std::vector<term_t> cluster_harness::log_terms(node_id n) const {
    const sim_node& s = state(n);
    std::vector<term_t> r;
    if (!s.up) return r;
    const raft_log& l = s.run->raft().log();
    for (index_t i = l.start(); i <= l.length(); ++i) r.push_back(l.term_at(i));
    return r;
}

void cluster_harness::settle(int rounds) {
    for (int i = 0; i < rounds; ++i) {
        heartbeat_all();
        deliver_all();
    }
}

node_id cluster_harness::elect(node_id n) {
    election_timeout(n);
    deliver_all();
    settle();
    return leader();
}

// ---- builders -------------------------------------------------------------------

core_config make_config(node_id self, std::size_t n, core_config tmpl) {
    tmpl.self = self;
    tmpl.members = membership{};
    for (node_id id = 1; id <= n; ++id) tmpl.members.put(member{id, true, {}, {}});
    return tmpl;
}

log_entry make_entry(term_t term, index_t index, std::string payload, entry_kind kind,
                     entry_origin origin) {
    log_entry e;
    e.term = term;
    e.index = index;
    e.kind = kind;
    e.origin = origin;
    if (payload.empty() && kind == entry_kind::application)
        payload = "e" + std::to_string(index) + "t" + std::to_string(term);
    e.payload = make_bytes(std::move(payload));
    return e;
}

persistent_state make_state(term_t current_term, node_id voted_for, const std::vector<term_t>& terms) {
    persistent_state ps;
    ps.hard = hard_state{current_term, voted_for};
    for (std::size_t i = 0; i < terms.size(); ++i) ps.entries.push_back(make_entry(terms[i], i + 1));
    return ps;
}

event recv(node_id from, node_id to, message m) {
    return message_received{envelope{from, to, std::move(m)}};
}

} // namespace raftlite::test
