// raftlite simulator — a linearizability checker for key-value histories.
//
// A history is a set of operations, each with the time it was invoked and the
// time its result came back. An operation whose outcome is unknown (the client
// timed out, its node crashed, the core reported anything but `committed`) is
// indeterminate: it may or may not have taken effect, at any moment after its
// invocation, and its result is unconstrained.
//
// The check is Wing & Gong's search as improved by Lowe ("Testing for
// linearizability", 2017): walk the history in real-time order, tentatively
// linearize any operation whose call is minimal, backtrack on a return that
// cannot be explained, and memoise (set of linearized operations, model state)
// so that no configuration is explored twice. Linearizability is local
// (Herlihy & Wing), so the history is partitioned by key and every key is
// checked on its own: the search is exponential only in the concurrency of a
// single key, not in the length of the whole history.
#ifndef RAFTLITE_SIM_LINEARIZABILITY_HPP
#define RAFTLITE_SIM_LINEARIZABILITY_HPP

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace raftlite::sim {

/// Values are non-negative integers; a key without a value reads as kv_absent.
inline constexpr std::int64_t kv_absent = -1;

enum class kv_kind : std::uint8_t { put, get, cas, del };
const char* kv_kind_name(kv_kind k) noexcept;

/// One client operation and, once known, its outcome.
struct kv_op {
    kv_kind kind = kv_kind::get;
    std::string key;
    std::int64_t value = kv_absent;     ///< put / cas: the value written
    std::int64_t expected = kv_absent;  ///< cas: the value compared against
    std::uint64_t invoke = 0;           ///< time of the call
    std::uint64_t complete = 0;         ///< time of the return (determinate only)
    bool determinate = false;           ///< false: outcome unknown
    std::int64_t observed = kv_absent;  ///< get: the value read
    bool succeeded = false;             ///< cas: whether it swapped
    std::uint64_t client = 0;           ///< for messages only
};

std::string to_string(const kv_op& op);

/// Records operations as a driver issues them and learns their outcomes.
class kv_history {
public:
    /// Starts an operation; returns its handle. It stays indeterminate until completed.
    std::size_t invoke(kv_op op);
    void complete_put(std::size_t h, std::uint64_t time);
    void complete_del(std::size_t h, std::uint64_t time);
    void complete_get(std::size_t h, std::uint64_t time, std::int64_t observed);
    void complete_cas(std::size_t h, std::uint64_t time, bool succeeded);

    const std::vector<kv_op>& ops() const noexcept { return ops_; }
    std::size_t size() const noexcept { return ops_.size(); }
    void clear() { ops_.clear(); }

private:
    std::vector<kv_op> ops_;
};

enum class lin_verdict { linearizable, not_linearizable, unknown };
const char* lin_verdict_name(lin_verdict v) noexcept;
std::ostream& operator<<(std::ostream& os, lin_verdict v);

struct lin_result {
    lin_verdict verdict = lin_verdict::linearizable;
    std::size_t ops_checked = 0;     ///< operations in the history (indeterminate included)
    std::size_t keys = 0;            ///< partitions checked
    std::uint64_t search_steps = 0;  ///< configurations visited, over all keys
    std::string key;                 ///< the first key that failed (or ran out of budget)
    std::string explanation;         ///< that key's operations, for a human

    explicit operator bool() const noexcept { return verdict == lin_verdict::linearizable; }
};

/// Checks a history. `max_steps` bounds the search per key (verdict `unknown` beyond it).
lin_result check_linearizable(const std::vector<kv_op>& ops,
                              std::uint64_t max_steps = 50'000'000);

} // namespace raftlite::sim

#endif
