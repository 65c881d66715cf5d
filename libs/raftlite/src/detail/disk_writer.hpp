// raftlite — the node's disk thread: runs one disk round at a time off the
// strand, so that fsync never holds up timers, messages or the application.
#ifndef RAFTLITE_DETAIL_DISK_WRITER_HPP
#define RAFTLITE_DETAIL_DISK_WRITER_HPP

#include <raftlite/runner.hpp>

#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>

namespace raftlite::detail {

class metrics_recorder;

class disk_writer {
public:
    using done_handler = std::function<void(disk_round, boost::system::error_code)>;

    /// `metrics` (optional) records each round's latency and size; it must
    /// outlive the writer.
    explicit disk_writer(metrics_recorder* metrics = nullptr) : metrics_(metrics) {}
    ~disk_writer();
    disk_writer(const disk_writer&) = delete;
    disk_writer& operator=(const disk_writer&) = delete;

    /// Writes and syncs `round` on the disk thread, then calls `done` there
    /// (the caller posts back to its own context). The runner never has more
    /// than one round in flight, so neither does the writer.
    void run(persister& storage, disk_round round, done_handler done);

    /// Blocks until no round is running (used when stopping: the persister
    /// is about to be synced and closed on the caller's thread).
    void wait_idle();

private:
    metrics_recorder* metrics_;
    boost::asio::thread_pool pool_{1};
    std::mutex mutex_;
    std::condition_variable idle_;
    bool busy_ = false;
};

} // namespace raftlite::detail

#endif
