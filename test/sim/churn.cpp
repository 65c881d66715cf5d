// raftlite simulator — membership churn: the next change (see churn.hpp).
#include "churn.hpp"

#include <vector>

namespace raftlite::sim {

namespace {
using action = membership_change::action;
membership_change make(action a, node_id id) { return membership_change{a, member{id, a != action::add_learner, {}, {}}}; }
} // namespace

bool churn_scheduler::in_force(const membership& c, const membership_change& ch) {
    const node_id id = ch.server.id;
    switch (ch.what) {
    case action::add_learner: return c.contains(id);
    case action::promote: return c.is_voter(id);
    case action::demote: return !c.is_voter(id);
    case action::remove: return !c.contains(id);
    }
    return true;
}

std::optional<membership_change> churn_scheduler::next(const membership& c, node_id leader, prng& rng) {
    // A plan under way: its next step not in force yet, asked again (a
    // change may fail: not_leader, busy, a lost leader), a few times.
    while (!plan_.empty()) {
        if (in_force(c, plan_.front())) {
            plan_.pop_front();
            attempts_ = 0;
            continue;
        }
        // A voter leaves only while the configuration keeps min_voters - 1
        // (other changes may have committed since the plan was made).
        const membership_change& step = plan_.front();
        const bool shrinks = (step.what == action::remove || step.what == action::demote) && c.is_voter(step.server.id);
        if (++attempts_ > 6 || (shrinks && c.voter_count() < min_voters_)) {
            plan_.clear();
            attempts_ = 0;
            break;
        }
        return plan_.front();
    }
    std::vector<node_id> voters, learners, outsiders;
    for (node_id id = 1; id <= total_; ++id) {
        if (!c.contains(id)) outsiders.push_back(id);
        else if (c.is_voter(id)) voters.push_back(id);
        else learners.push_back(id);
    }
    // Too few voters (a replace given up, a demotion): refill first.
    if (voters.size() < min_voters_) {
        if (!learners.empty()) return make(action::promote, rng.pick(learners));
        if (outsiders.empty()) return std::nullopt;
        const node_id id = rng.pick(outsiders);
        plan_ = {make(action::add_learner, id), make(action::promote, id)};
        attempts_ = 1;
        return plan_.front();
    }
    // The voter to remove or demote: the leader itself one time in three.
    auto victim = [&] {
        if (leader != no_node && c.is_voter(leader) && rng.chance(1.0 / 3)) return leader;
        return rng.pick(voters);
    };
    const bool can_shrink = voters.size() > min_voters_;
    const bool can_grow = voters.size() < max_voters_;
    switch (rng.uniform(0, 5)) {
    case 0:   // add a learner
        if (!outsiders.empty() && learners.size() < 2) return make(action::add_learner, rng.pick(outsiders));
        break;
    case 1:   // promote a learner
        if (!learners.empty() && can_grow) return make(action::promote, rng.pick(learners));
        break;
    case 2:   // demote a voter
        if (can_shrink) return make(action::demote, victim());
        break;
    case 3:   // remove a voter (or a learner)
        if (!learners.empty() && rng.chance(0.3)) return make(action::remove, rng.pick(learners));
        if (can_shrink) return make(action::remove, victim());
        break;
    case 4:   // remove a learner
        if (!learners.empty()) return make(action::remove, rng.pick(learners));
        break;
    default: {   // replace a voter: remove it, add another server, promote it
        if (outsiders.empty() && learners.empty()) break;
        const node_id out = victim();
        if (!learners.empty() && rng.chance(0.5)) {
            plan_ = {make(action::remove, out), make(action::promote, rng.pick(learners))};
        } else if (!outsiders.empty()) {
            const node_id in = rng.pick(outsiders);
            plan_ = {make(action::remove, out), make(action::add_learner, in), make(action::promote, in)};
        } else {
            break;
        }
        attempts_ = 1;
        return plan_.front();
    }
    }
    // Nothing of the drawn kind fits: grow toward the voters wanted, or idle.
    if (!learners.empty() && can_grow) return make(action::promote, rng.pick(learners));
    if (!outsiders.empty() && learners.size() < 2) return make(action::add_learner, rng.pick(outsiders));
    return std::nullopt;
}

} // namespace raftlite::sim
