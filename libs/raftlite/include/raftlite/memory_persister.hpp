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
#ifndef RAFTLITE_MEMORY_PERSISTER_HPP
#define RAFTLITE_MEMORY_PERSISTER_HPP

#include <raftlite/persister.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
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
        enum class kind { hard, append, truncate, remove } what = kind::hard;
        hard_state hs;
        std::vector<log_entry> entries;
        index_t index = 0;
        term_t term = 0;
    };

    static void apply(state& s, const op& o);
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
};

} // namespace raftlite

#endif
