// raftlite simulator — membership churn (world_config::membership_changes):
// which single-server change (Raft thesis §4) to ask for next.
//
// The scheduler looks at the newest committed configuration and picks one of:
// add a server that is not a member (a spare, or a removed server, which the
// world brings back as a fresh machine) as a learner; promote a learner;
// demote a voter; remove a learner or a voter (the leader itself now and
// then); or "replace" a voter: remove it, then add a server and promote it,
// each step asked again until the committed configuration shows it (or given
// up after a few tries). It keeps min_voters voters (a replace dips one below
// while it runs) and at most max_voters, and at most two learners. Every
// choice is drawn from the run's prng, so a seed replays the same churn.
#ifndef RAFTLITE_SIM_CHURN_HPP
#define RAFTLITE_SIM_CHURN_HPP

#include "prng.hpp"

#include <raftlite/core.hpp>

#include <cstdint>
#include <deque>
#include <optional>

namespace raftlite::sim {

class churn_scheduler {
public:
    /// Node ids are 1..total.
    churn_scheduler(std::size_t total, std::size_t min_voters, std::size_t max_voters)
        : total_(total), min_voters_(min_voters), max_voters_(max_voters) {}

    /// The next change to ask for, given the committed configuration and the
    /// current leader (no_node: none known); nothing when there is none to make.
    std::optional<membership_change> next(const membership& committed, node_id leader, prng& rng);

    /// True when `change` is in force in `c` (nothing left to do).
    static bool in_force(const membership& c, const membership_change& change);

    bool planning() const noexcept { return !plan_.empty(); }

private:
    std::size_t total_, min_voters_, max_voters_;
    std::deque<membership_change> plan_;   ///< the steps of a replace (or of a refill) still to come
    unsigned attempts_ = 0;                ///< asks of plan_.front() so far
};

} // namespace raftlite::sim

#endif
