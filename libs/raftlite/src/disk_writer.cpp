// raftlite — the node's disk thread (see detail/disk_writer.hpp).
#include "detail/disk_writer.hpp"

#include "detail/metrics_recorder.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>

namespace raftlite::detail {

disk_writer::~disk_writer() {
    wait_idle();
    pool_.join();
}

void disk_writer::run(disk_round round, done_handler done) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(queued_round{std::move(round), std::move(done)});
    ++pending_;
    if (draining_) return;   // the thread takes it with the others when it is free
    draining_ = true;
    boost::asio::post(pool_, [this] { drain(); });
}

void disk_writer::drain() {
    for (;;) {
        std::vector<queued_round> group;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (queue_.empty()) {
                draining_ = false;
                return;
            }
            group.swap(queue_);
        }
        const boost::system::error_code ec = write_and_sync(group);
        for (queued_round& q : group) q.done(std::move(q.round), ec);
        std::lock_guard<std::mutex> lock(mutex_);
        pending_ -= group.size();
        if (pending_ == 0) idle_.notify_all();
    }
}

// The group's writes in order, then one sync: a round's writes are durable
// only with every earlier round's, as the runner requires.
boost::system::error_code disk_writer::write_and_sync(const std::vector<queued_round>& group) {
    if (failure_) return failure_;
    // Measured here, around the writes and the sync alone: what the device
    // costs, apart from the strand's queue on either side.
    const auto begin = std::chrono::steady_clock::now();
    boost::system::error_code ec;
    for (const queued_round& q : group)
        if ((ec = q.round.write(storage_))) break;
    const bool writes = std::any_of(group.begin(), group.end(), [](const queued_round& q) { return q.round.has_writes(); });
    if (!ec && writes) ec = storage_.sync();
    if (ec) {
        failure_ = ec;
        return ec;
    }
    if (metrics_ && writes) {
        std::size_t entries = 0;
        for (const queued_round& q : group)
            for (const write_batch& b : q.round.batches()) entries += b.append.size();
        metrics_->disk_round(std::chrono::steady_clock::now() - begin, entries);
    }
    return {};
}

void disk_writer::wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return pending_ == 0; });
}

} // namespace raftlite::detail
