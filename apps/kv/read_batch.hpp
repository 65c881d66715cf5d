// raftlite kv — linearizable reads that share one read index.
//
// Every GET needs a read index (Raft thesis §6.4): on the leader a heartbeat
// round a majority answers, on a follower a request to the leader and its
// answer. The leader's core already shares one round among the reads
// waiting for it, but a follower asks the leader once per read, and each
// read costs the node its own waiter either way. A read index obtained after
// a read arrived serves that read, whoever else it serves, so a peer needs
// only one request in flight: the reads that arrive meanwhile wait together
// for the next one, which starts as soon as the one in flight completes. Under
// load one request serves every read that came during one round trip; alone,
// a read waits for at most the request in flight and its own.
//
// No Asio here: the peer (kv_main.cpp) wires `ask` to node::async_read_index
// and `answer` to its store; the tests drive both by hand.
#ifndef RAFTLITE_KV_READ_BATCH_HPP
#define RAFTLITE_KV_READ_BATCH_HPP

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace raftlite::kv {

/// Reads of type Read, served in batches by one read-index request at a
/// time. Not thread-safe: used on one event loop (the peer's).
template <class Read>
class read_batch {
public:
    /// Called with the outcome of one read-index request: error_code{} once
    /// the state reflects the read index (serve every read from it), else
    /// the error for every read.
    using done_fn = std::function<void(boost::system::error_code)>;
    /// Starts one read-index request; calls its argument exactly once, now
    /// or later.
    using ask_fn = std::function<void(done_fn)>;
    /// Serves one batch: every read in it with that request's outcome.
    using answer_fn = std::function<void(boost::system::error_code, std::vector<Read>&)>;

    read_batch(ask_fn ask, answer_fn answer) : ask_(std::move(ask)), answer_(std::move(answer)) {}
    read_batch(const read_batch&) = delete;
    read_batch& operator=(const read_batch&) = delete;

    /// A read that arrived now: it waits for a request that starts after
    /// this call (the one in flight began before it, so its index may miss a
    /// write completed since).
    void add(Read r) {
        next_.push_back(std::move(r));
        if (!in_flight_) launch();
    }

    /// Read-index requests started so far, and reads added: their ratio is
    /// how many reads one request served.
    std::uint64_t requests() const noexcept { return requests_; }
    std::uint64_t reads() const noexcept { return reads_; }
    /// Reads waiting now, in the request in flight and for the next one.
    std::size_t waiting() const noexcept { return current_.size() + next_.size(); }

private:
    void launch() {
        in_flight_ = true;
        current_.swap(next_);
        ++requests_;
        reads_ += current_.size();
        ask_([this](boost::system::error_code ec) { finish(ec); });
    }

    void finish(boost::system::error_code ec) {
        std::vector<Read> batch;
        batch.swap(current_);
        in_flight_ = false;
        // The next request leaves before this batch is answered: its round
        // trip overlaps the answering.
        if (!next_.empty()) launch();
        answer_(ec, batch);
        // Keep the larger buffer for the next batch to fill (no allocation
        // per batch under steady load).
        batch.clear();
        if (next_.empty() && next_.capacity() < batch.capacity()) next_.swap(batch);
    }

    ask_fn ask_;
    answer_fn answer_;
    std::vector<Read> current_;   // served by the request in flight
    std::vector<Read> next_;      // arrived while it was in flight
    bool in_flight_ = false;
    std::uint64_t requests_ = 0;
    std::uint64_t reads_ = 0;
};

} // namespace raftlite::kv

#endif
