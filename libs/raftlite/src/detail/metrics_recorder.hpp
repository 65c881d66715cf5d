// raftlite — where a node records its metrics (raftlite/metrics.hpp). The
// strand records broadcasts, reads and leaders, the disk thread records its rounds,
// and node::metrics() reads from any thread: one mutex guards it all (every
// record is a few additions, so the lock is never held for long).
#ifndef RAFTLITE_DETAIL_METRICS_RECORDER_HPP
#define RAFTLITE_DETAIL_METRICS_RECORDER_HPP

#include <raftlite/metrics.hpp>
#include <raftlite/node.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace raftlite::detail {

/// Counts an outcome into its counter (metrics_recorder.cpp).
void count_outcome(broadcast_outcomes& o, boost::system::error_code ec);
void count_outcome(read_outcomes& o, boost::system::error_code ec);

/// One kind of operation a node times from being taken to its outcome
/// (broadcasts, reads): when each began, how many ended each way, and how
/// long they took. Each counts once: an outcome for a request not begun
/// here, or already counted, is ignored.
template <class Outcomes>
struct timed_operations {
    using clock = std::chrono::steady_clock;

    explicit timed_operations(std::vector<double> bounds) : latency(std::move(bounds)) {}

    void begin(std::uint64_t request, clock::time_point now) { began[request] = now; }
    void end(std::uint64_t request, boost::system::error_code ec, clock::time_point now) {
        auto it = began.find(request);
        if (it == began.end()) return;
        count(ec, std::chrono::duration<double>(now - it->second).count());
        began.erase(it);
    }
    /// An operation refused before it began: counted with no duration.
    void count(boost::system::error_code ec, double seconds) {
        latency.observe(seconds);
        count_outcome(outcomes, ec);
    }

    std::unordered_map<std::uint64_t, clock::time_point> began;
    Outcomes outcomes;
    histogram latency;
};

class metrics_recorder {
public:
    using clock = std::chrono::steady_clock;

    /// How many leader changes node_metrics::recent_leader_changes keeps.
    static constexpr std::size_t leader_history = 16;

    metrics_recorder();

    /// The node took broadcast `request` (strand).
    void broadcast_started(std::uint64_t request);
    /// The outcome of `request`; ignored unless broadcast_started saw it, so
    /// each broadcast counts exactly once (strand).
    void broadcast_finished(std::uint64_t request, boost::system::error_code ec);
    /// A broadcast refused before it reached the runner (strand).
    void broadcast_refused(boost::system::error_code ec);
    /// The node took read `request` (strand).
    void read_started(std::uint64_t request);
    /// The outcome of read `request`; ignored unless read_started saw it
    /// (strand).
    void read_finished(std::uint64_t request, boost::system::error_code ec);
    /// A read refused before it reached the runner (strand).
    void read_refused(boost::system::error_code ec);
    /// The leader the node knows now (strand; called on every status update,
    /// counts only a new (term, leader) pair).
    void leader_seen(term_t term, node_id leader);
    /// One disk round written and synced (disk thread).
    void disk_round(clock::duration took, std::size_t entries);

    /// The recorded values joined with the node's status.
    node_metrics snapshot(const node_status& status) const;

private:
    mutable std::mutex mutex_;
    timed_operations<broadcast_outcomes> broadcasts_;
    timed_operations<read_outcomes> reads_;
    histogram disk_round_latency_;
    histogram disk_round_entries_;
    std::uint64_t leader_changes_ = 0;
    term_t leader_term_ = 0;
    node_id leader_ = no_node;
    std::deque<leader_change> leaders_;
};

} // namespace raftlite::detail

#endif
