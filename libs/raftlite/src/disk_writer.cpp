// raftlite — the node's disk thread (see detail/disk_writer.hpp).
#include "detail/disk_writer.hpp"

#include "detail/metrics_recorder.hpp"

#include <boost/asio/post.hpp>

#include <chrono>

namespace raftlite::detail {

disk_writer::~disk_writer() {
    wait_idle();
    pool_.join();
}

void disk_writer::run(persister& storage, disk_round round, done_handler done) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        busy_ = true;
    }
    boost::asio::post(pool_, [this, &storage, round = std::move(round), done = std::move(done)]() mutable {
        // Measured here, around the write and the sync alone: what the
        // device costs, apart from the strand's queue on either side.
        const auto begin = std::chrono::steady_clock::now();
        const boost::system::error_code ec = round.write_and_sync(storage);
        if (metrics_ && !ec && round.has_writes()) {
            std::size_t entries = 0;
            for (const write_batch& b : round.batches()) entries += b.append.size();
            metrics_->disk_round(std::chrono::steady_clock::now() - begin, entries);
        }
        done(std::move(round), ec);
        std::lock_guard<std::mutex> lock(mutex_);
        busy_ = false;
        idle_.notify_all();
    });
}

void disk_writer::wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return !busy_; });
}

} // namespace raftlite::detail
