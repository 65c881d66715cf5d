// raftlite simulator — a node's disk: what is durable, and what is only written.
//
// Writes (hard state, truncation, append) go to an ordered list of pending
// operations; sync(mark) makes the operations before `mark` durable. A crash
// keeps a random prefix of the pending operations (possibly none, possibly
// all) and loses the rest, as a single write-ahead file would: the persister
// contract promises nothing about unsynced writes, and a prefix is the most
// a real file system reliably gives.
#ifndef RAFTLITE_SIM_DISK_HPP
#define RAFTLITE_SIM_DISK_HPP

#include "prng.hpp"

#include <raftlite/persister.hpp>

#include <cstddef>
#include <vector>

namespace raftlite::sim {

class sim_disk {
public:
    void save_hard_state(const hard_state& hs);
    void truncate_suffix(index_t from);
    void append(const log_entry& e);

    /// Number of operations written so far (a mark for sync()).
    std::size_t written() const noexcept { return synced_ + pending_.size(); }
    /// Makes every operation before `mark` durable.
    void sync(std::size_t mark);
    /// Loses the unsynced operations but a random prefix of them.
    /// Returns how many were lost.
    std::size_t crash(prng& rng);
    /// The same, keeping exactly `keep` pending operations (for exhaustive exploration).
    std::size_t crash_keeping(std::size_t keep);

    /// What a restart reads back.
    const persistent_state& durable() const noexcept { return durable_; }
    /// What the node wrote, durable or not (its core's view, for checks).
    const persistent_state& written_state() const noexcept { return current_; }
    std::size_t pending() const noexcept { return pending_.size(); }

private:
    struct op {
        enum class kind { hard, truncate, append } what;
        hard_state hs;
        index_t from = 0;
        log_entry entry;
    };
    static void apply(persistent_state& s, const op& o);

    persistent_state durable_;
    persistent_state current_;
    std::vector<op> pending_;
    std::size_t synced_ = 0;   ///< operations made durable (or lost) so far
};

} // namespace raftlite::sim

#endif
