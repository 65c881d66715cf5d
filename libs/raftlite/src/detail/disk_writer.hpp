// raftlite — the node's disk thread: runs disk rounds off the strand, in
// order, so that fsync never holds up timers, messages or the application.
//
// Rounds handed over while the thread is busy wait in a queue, and the thread
// takes all of them at once when it is free: their writes in order, then one
// sync for all (group commit at the disk, with no hop to the strand between
// two syncs). Each round is then handed back, in order.
#ifndef RAFTLITE_DETAIL_DISK_WRITER_HPP
#define RAFTLITE_DETAIL_DISK_WRITER_HPP

#include <raftlite/runner.hpp>

#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace raftlite::detail {

class metrics_recorder;

class disk_writer {
public:
    using done_handler = std::function<void(disk_round, boost::system::error_code)>;

    /// Rounds go to `storage`. `metrics` (optional) records each sync's
    /// latency and size; both must outlive the writer.
    explicit disk_writer(persister& storage, metrics_recorder* metrics = nullptr)
        : storage_(storage), metrics_(metrics) {}
    ~disk_writer();
    disk_writer(const disk_writer&) = delete;
    disk_writer& operator=(const disk_writer&) = delete;

    /// Writes and syncs `round` on the disk thread after every round handed
    /// over before it, then calls `done` there (the caller posts back to its
    /// own context). Once a round has failed, later rounds complete with the
    /// same error untouched: after a failed fsync the file's state is
    /// unknown, and writing on could make later entries durable without the
    /// ones before them.
    void run(disk_round round, done_handler done);

    /// Blocks until no round is queued or running (used when stopping: the
    /// persister is about to be synced and closed on the caller's thread).
    void wait_idle();

private:
    struct queued_round {
        disk_round round;
        done_handler done;
    };

    void drain();   // the disk thread: takes every queued round, until none is left
    boost::system::error_code write_and_sync(const std::vector<queued_round>& group);

    persister& storage_;
    metrics_recorder* metrics_;
    boost::asio::thread_pool pool_{1};
    std::mutex mutex_;
    std::condition_variable idle_;
    std::vector<queued_round> queue_;        ///< handed over, not yet taken by the thread
    std::size_t pending_ = 0;                ///< handed over, not yet done
    bool draining_ = false;                  ///< the thread is taking rounds
    boost::system::error_code failure_;      ///< the first failed round's error (disk thread only)
};

} // namespace raftlite::detail

#endif
