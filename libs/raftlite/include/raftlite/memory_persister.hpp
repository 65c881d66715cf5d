// raftlite — a persister in memory, for tests and the deterministic simulator.
//
// It keeps two states: what a reader sees now (every write applied, as the
// OS page cache would) and what survived the last sync() (the "durable"
// state). Two kinds of crash:
//   - crash() / crash_keeping(k): power loss. The difference is thrown away
//     (but for a prefix of k writes).
//   - process_crash(): the process dies, the page cache survives. Every write
//     is still readable, but what was not synced is still not durable.
// load() is the restart and, like file_persister::load(), makes everything
// it returns durable (see persister.hpp). Writes are recorded as a list of
// pending operations, so sync() costs the writes since the last sync, not the
// size of the log, and copying one is cheap (payloads are shared).
//
// Snapshots (Raft §7): a finished snapshot is durable at once (finish()
// syncs, as file_persister's does) and no crash takes its data back;
// use_snapshot() is a write like the others, durable with the next sync(), so
// a crash before that sync restarts from the previous snapshot (and the log
// that went with it). Snapshot data is shared, never copied, between copies
// of the persister; each copy has its own set of stored snapshots.
#ifndef RAFTLITE_MEMORY_PERSISTER_HPP
#define RAFTLITE_MEMORY_PERSISTER_HPP

#include <raftlite/persister.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace raftlite {

class memory_persister final : public persister {
public:
    memory_persister() = default;

    /// A restart: returns the current state (everything written so far) and
    /// makes it durable first, as file_persister::load() does: what a node
    /// acts on after a restart must survive a later power loss. Unlike the
    /// file persister it may be called again, e.g. after a crash.
    boost::system::error_code load(persistent_state& out) override;
    boost::system::error_code save_hard_state(const hard_state& hs) override;
    boost::system::error_code append(const std::vector<log_entry>& entries) override;
    boost::system::error_code truncate_suffix(index_t from) override;
    boost::system::error_code remove_prefix(index_t upto, term_t prefix_term) override;
    boost::system::error_code sync() override;
    bool blocks() const noexcept override { return false; }

    /// The writer keeps the data in memory and stores it at finish(). It may
    /// run on any thread and outlive the persister (it then stores nothing
    /// anyone reads).
    boost::system::error_code begin_snapshot(index_t index, term_t term, membership members,
                                             std::unique_ptr<snapshot_writer>& out) override;
    /// A write (counted by unsynced_ops() and fail_after()); snapshot_gone
    /// when no finished snapshot holds `meta`.
    boost::system::error_code use_snapshot(const snapshot_meta& meta) override;
    std::optional<snapshot_meta> current_snapshot() const override { return current_.snapshot; }
    boost::system::error_code read_snapshot(const snapshot_meta& meta, std::uint64_t offset, std::size_t max,
                                            std::string& out) const override;
    /// Finished snapshots still stored (the current ones, durable or not, and
    /// any newer finished ones); older ones go when a newer one is durably current.
    std::size_t stored_snapshots() const;

    // ---- crash model ----
    /// Loses every write since the last successful sync(), and restarts the
    /// "process": the failed state and any armed fault are cleared.
    void crash() { crash_keeping(0); }
    /// Like crash(), but the first `ops` unsynced writes reached the disk
    /// anyway (a real disk may persist any prefix of what it was given).
    void crash_keeping(std::size_t ops);
    /// The process dies but the operating system does not: every write stays
    /// readable (the page cache survives), and the unsynced ones stay
    /// unsynced, so a power loss before the next load() or sync() still loses
    /// them. Clears the failed state and any armed fault, like crash().
    void process_crash();
    /// Writes since the last sync (each save/append/truncate/remove counts one).
    std::size_t unsynced_ops() const noexcept { return pending_.size(); }

    // ---- fault injection ----
    /// The write or sync after `ops` more successful ones fails with `ec`
    /// without taking effect; the persister is failed from then on.
    void fail_after(std::size_t ops, boost::system::error_code ec);
    bool failed() const noexcept { return failed_; }

    // ---- observers ----
    const hard_state& current_hard_state() const noexcept { return current_.hard; }
    const hard_state& durable_hard_state() const noexcept { return durable_.hard; }
    index_t log_start() const noexcept { return current_.log_start; }
    index_t last_index() const noexcept { return current_.last_index(); }
    index_t durable_last_index() const noexcept { return durable_.last_index(); }
    std::uint64_t sync_count() const noexcept { return syncs_; }
    /// A disk image: hard state and log. The log is a deque: it grows at the
    /// end and shrinks at the front without ever copying the entries it holds
    /// (a vector's reallocation copied the whole log at once: milliseconds of
    /// stall at a few hundred thousand entries).
    struct image {
        hard_state hard;
        std::optional<snapshot_meta> snapshot;   ///< the current snapshot
        index_t log_start = 1;
        term_t prefix_term = 0;
        std::deque<log_entry> entries;
        index_t last_index() const noexcept { return log_start + entries.size() - 1; }
        /// The same state in the form load() returns.
        persistent_state to_state() const;
    };
    /// Everything written, durable or not (what a reader sees now).
    const image& written_state() const noexcept { return current_; }
    /// What survives a power loss now.
    const image& durable_state() const noexcept { return durable_; }

private:
    using state = image;
    struct op {
        enum class kind { hard, append, truncate, remove, use_snapshot } what = kind::hard;
        hard_state hs;
        snapshot_meta snap;
        std::vector<log_entry> entries;
        index_t index = 0;
        term_t term = 0;
    };

    /// Finished snapshots by (index, term). Guarded by a mutex because
    /// writers finish on any thread; copied, data shared, with the persister.
    struct snapshot_store {
        struct stored {
            snapshot_meta meta;
            std::shared_ptr<const std::string> data;
        };
        mutable std::mutex mutex;
        std::map<std::pair<index_t, term_t>, stored> files;
    };
    class store_handle {
    public:
        store_handle() = default;
        store_handle(const store_handle& o) : p_(copy(o)) {}
        store_handle& operator=(const store_handle& o) {
            if (this != &o) p_ = copy(o);
            return *this;
        }
        snapshot_store& operator*() const noexcept { return *p_; }
        snapshot_store* operator->() const noexcept { return p_.get(); }
        const std::shared_ptr<snapshot_store>& shared() const noexcept { return p_; }

    private:
        static std::shared_ptr<snapshot_store> copy(const store_handle& o) {
            auto p = std::make_shared<snapshot_store>();
            std::lock_guard lock(o.p_->mutex);
            p->files = o.p_->files;
            return p;
        }
        std::shared_ptr<snapshot_store> p_ = std::make_shared<snapshot_store>();
    };

    static void apply(state& s, const op& o);
    static boost::system::error_code reconcile(state& s);
    void prune_snapshots();
    boost::system::error_code record(op o);
    boost::system::error_code check_fault();

    state current_;
    state durable_;
    std::vector<op> pending_;
    bool failed_ = false;
    bool fault_armed_ = false;
    std::size_t fault_countdown_ = 0;
    boost::system::error_code fault_;
    std::uint64_t syncs_ = 0;
    store_handle snapshots_;
};

} // namespace raftlite

#endif
