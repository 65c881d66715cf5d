// raftlite simulator — the network: latency (hence reordering), loss,
// duplication, late delivery, and partitions as a set of blocked directed links, so that
// symmetric splits, isolated nodes, one-way loss and bridges are all the same
// mechanism. Time and scheduling belong to the world; the network only
// decides each message's fate.
#ifndef RAFTLITE_SIM_NETWORK_HPP
#define RAFTLITE_SIM_NETWORK_HPP

#include "prng.hpp"

#include <raftlite/types.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace raftlite::sim {

class network {
public:
    explicit network(std::size_t nodes) : n_(nodes), blocked_(nodes * nodes, false) {}

    std::uint64_t min_latency = 1;
    std::uint64_t max_latency = 15;
    double loss = 0;        ///< probability a message is dropped
    double duplicate = 0;   ///< probability a message arrives twice
    /// Probability that a message is held back and arrives late_min..late_max
    /// after it was sent: half of these are the message itself, half an extra
    /// copy of it (the original arrives on time). A TCP transport re-sends the
    /// frames queued for a peer after a reconnect, seconds later and in a
    /// later term, so a node must expect any old message at any time (Raft
    /// §5.1: a request or response with a stale term is rejected or ignored).
    double late = 0;
    std::uint64_t late_min = 500;
    std::uint64_t late_max = 3000;

    /// Latencies of the copies of a message sent now: none (lost), one, two
    /// or three. Random latency reorders messages; a blocked link drops them.
    /// A late message is delivered even if the link is blocked by then only if
    /// the link is open when it arrives (the world checks at delivery).
    std::vector<std::uint64_t> route(node_id from, node_id to, prng& rng) const {
        std::vector<std::uint64_t> out;
        if (blocked(from, to) || rng.chance(loss)) return out;
        out.push_back(rng.uniform(min_latency, max_latency));
        if (rng.chance(duplicate)) out.push_back(rng.uniform(min_latency, 3 * max_latency));
        // (no draw at all when late delivery is off: the other faults' runs stay as they were)
        if (late > 0 && rng.chance(late)) {
            const std::uint64_t at = rng.uniform(late_min, late_max);
            if (rng.chance(0.5)) out.front() = at;
            else out.push_back(at);
        }
        return out;
    }

    bool blocked(node_id from, node_id to) const { return blocked_[(from - 1) * n_ + (to - 1)]; }
    void block(node_id from, node_id to) { blocked_[(from - 1) * n_ + (to - 1)] = true; }
    void heal() { blocked_.assign(blocked_.size(), false); }
    /// Cuts every link between `group` and the other nodes, both ways.
    void split(const std::vector<bool>& group) {   // group[id - 1]
        for (node_id a = 1; a <= n_; ++a)
            for (node_id b = 1; b <= n_; ++b)
                if (group[a - 1] != group[b - 1]) block(a, b);
    }
    bool partitioned() const {
        for (bool b : blocked_) if (b) return true;
        return false;
    }
    /// "1>2 1>3 ..." for traces.
    std::string describe() const {
        std::string s;
        for (node_id a = 1; a <= n_; ++a)
            for (node_id b = 1; b <= n_; ++b)
                if (blocked(a, b)) s += std::to_string(a) + "x" + std::to_string(b) + " ";
        return s.empty() ? "none" : s;
    }

private:
    std::size_t n_;
    std::vector<bool> blocked_;
};

} // namespace raftlite::sim

#endif
