// raftlite — the node's disk thread (see detail/disk_writer.hpp).
#include "detail/disk_writer.hpp"

#include <boost/asio/post.hpp>

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
        const boost::system::error_code ec = round.write_and_sync(storage);
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
