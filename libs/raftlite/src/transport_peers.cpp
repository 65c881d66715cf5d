// raftlite — the transport's set of peers: changes while it runs (cluster
// membership changes) and how the connections follow them.
//
// add_peer, remove_peer and set_peers change peers_ under the exclusive lock
// on the calling thread, so that send(), stats() and handshakes see the new
// set at once, and post reconcile() to the strand. reconcile() compares what
// the strand runs (active_) with peers_ and closes, starts or re-points links
// and sessions until they agree. It reads the current set rather than
// replaying the changes, so it is idempotent and reconciles posted from
// several threads in any order come to the same end.
#include "detail/inbound_session.hpp"
#include "detail/peer_link.hpp"
#include "detail/transport_state.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace raftlite::detail {

void fold_counters(const peer_counters& from, peer_counters& to) noexcept {
    auto add = [](const counter& f, counter& t) { count(t, f.load(std::memory_order_relaxed)); };
    add(from.messages_sent, to.messages_sent);
    add(from.bytes_sent, to.bytes_sent);
    add(from.dropped_queue_full, to.dropped_queue_full);
    add(from.dropped_too_large, to.dropped_too_large);
    add(from.dropped_stopped, to.dropped_stopped);
    add(from.connects, to.connects);
    add(from.connect_failures, to.connect_failures);
    add(from.ack_timeouts, to.ack_timeouts);
    add(from.messages_received, to.messages_received);
    add(from.bytes_received, to.bytes_received);
}

// ---- any thread ----------------------------------------------------------------

std::shared_ptr<peer_link> transport_state::find_link(node_id id) const {
    std::shared_lock lock(peers_mutex_);
    const auto it = peers_.find(id);
    return it == peers_.end() ? nullptr : it->second.link;
}

transport_state::sender_lookup transport_state::lookup_sender(node_id id) const {
    std::shared_lock lock(peers_mutex_);
    sender_lookup r;
    if (const auto it = peers_.find(id); it != peers_.end())
        r.link = it->second.link;
    r.removed = removed_ids_.contains(id);
    return r;
}

void transport_state::count_on(peer_link& link, counter peer_counters::*c, std::uint64_t n) {
    // A link's counters are folded into retired_ under the exclusive lock,
    // and only once it is marked removed: under the shared lock, a link not
    // marked is not folded before this count lands.
    std::shared_lock lock(peers_mutex_);
    count(link.removed.load(std::memory_order_relaxed) ? retired_.*c : link.counters.*c, n);
}

std::map<node_id, endpoint_address> transport_state::peers() const {
    std::shared_lock lock(peers_mutex_);
    std::map<node_id, endpoint_address> r;
    for (const auto& [id, e] : peers_)
        r.emplace(id, e.address);
    return r;
}

void transport_state::add_peer(node_id id, endpoint_address address) {
    std::unique_lock lock(peers_mutex_);
    if (!stopped.load() && add_locked(id, std::move(address)))
        post_reconcile();
}

void transport_state::remove_peer(node_id id) {
    std::unique_lock lock(peers_mutex_);
    if (!stopped.load() && remove_locked(id))
        post_reconcile();
}

void transport_state::set_peers(const std::map<node_id, endpoint_address>& peers) {
    std::unique_lock lock(peers_mutex_);
    if (stopped.load())
        return;
    std::vector<node_id> gone;
    for (const auto& [id, e] : peers_)
        if (!peers.contains(id))
            gone.push_back(id);
    bool changed = false;
    for (const node_id id : gone)
        changed = remove_locked(id) || changed;
    for (const auto& [id, address] : peers)
        changed = add_locked(id, address) || changed;
    if (changed)
        post_reconcile();
}

bool transport_state::add_locked(node_id id, endpoint_address address) {
    if (id == opts.self || id == no_node)
        return false;
    removed_ids_.erase(id);
    if (const auto it = peers_.find(id); it != peers_.end()) {
        if (it->second.address == address)
            return false;
        it->second.address = std::move(address); // reconcile() re-points the link
        return true;
    }
    auto link = std::make_shared<peer_link>(*this, id, address);
    peers_.emplace(id, peer_entry{std::move(address), std::move(link)});
    count(counters.peers_added);
    return true;
}

bool transport_state::remove_locked(node_id id) {
    if (id == opts.self || id == no_node)
        return false;
    removed_ids_.insert(id);
    if (const auto it = peers_.find(id); it != peers_.end()) {
        // From now on nothing is queued on it, sent by it or delivered from
        // its connections (see peer_link::current, enqueue, deliver).
        it->second.link->removed.store(true);
        retiring_.push_back(std::move(it->second.link));
        peers_.erase(it);
        count(counters.peers_removed);
    }
    // Also when it was no peer: connections let in by accept_unknown_peers close.
    return true;
}

void transport_state::post_reconcile() {
    boost::asio::post(strand, [self = shared_from_this()] { self->reconcile(); });
}

// ---- on the strand -------------------------------------------------------------

void transport_state::reconcile() {
    if (stopped.load())
        return; // close_all() closes whatever there is
    std::vector<std::shared_ptr<peer_link>> retiring;
    std::vector<std::pair<node_id, peer_entry>> want;
    std::set<node_id> removed;
    {
        std::shared_lock lock(peers_mutex_);
        retiring = retiring_;
        want.assign(peers_.begin(), peers_.end());
        removed = removed_ids_;
    }

    for (const auto& link : retiring)
        retire(link);
    if (!retiring.empty()) {
        // Closed: nothing counts on these links any more (count_on counts
        // removed links on retired_), so their counters move to the totals' share.
        std::unique_lock lock(peers_mutex_);
        for (const auto& link : retiring) {
            fold_counters(link->counters, retired_);
            std::erase(retiring_, link);
        }
    }

    // Sessions of senders that are no peers (accept_unknown_peers): a removed
    // id's close, a new peer's count on its link from now on.
    const auto sessions = sessions_; // close_quietly() changes sessions_
    for (const auto& [raw, weak] : sessions) {
        const auto s = weak.lock();
        if (!s || s->link() || s->peer() == no_node)
            continue;
        if (removed.contains(s->peer())) {
            RAFTLITE_NET_LOG(*this, info) << "closing the connection from n" << s->peer() << ": removed from the peers";
            s->close_quietly();
        }
    }

    if (!running_)
        return; // run() reconciles again once it has started listening
    for (auto& [id, e] : want) {
        auto& active = active_[id];
        if (active != e.link) {
            // A new peer (an older link of the same id was retired above).
            if (reconciled_) { // not for the peers at start (start() counts them)
                RAFTLITE_NET_LOG(*this, info) << "n" << id << " is a peer now, at " << e.address;
            }
            active = e.link;
            for (const auto& [raw, weak] : sessions_)
                if (const auto s = weak.lock(); s && !s->link() && s->peer() == id)
                    s->attach(e.link);
        }
        e.link->set_address(e.address); // the same address does nothing
        e.link->start();                 // once
    }
    reconciled_ = true;
}

void transport_state::retire(const std::shared_ptr<peer_link>& link) {
    const auto queued = link->counters.queued_messages.load(std::memory_order_relaxed);
    RAFTLITE_NET_LOG(*this, info) << "n" << link->peer() << " is no longer a peer: closing its connections"
                                  << (queued ? ", dropping " + std::to_string(queued) + " queued message(s)" : "");
    link->retire();
    const auto sessions = sessions_; // close_quietly() changes sessions_
    for (const auto& [raw, weak] : sessions)
        if (const auto s = weak.lock(); s && s->link() == link)
            s->close_quietly();
    if (const auto it = active_.find(link->peer()); it != active_.end() && it->second == link)
        active_.erase(it);
}

} // namespace raftlite::detail
