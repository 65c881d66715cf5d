// raftlite — private: which lines an outbound link logs about failed
// connection attempts. While peers start (or one is down) a link retries
// every few hundred milliseconds; logging each failure would bury everything
// else, logging none would hide a peer that never comes up.
//
//   - the first failure after a success (or after start) is reported at once;
//   - a failure with a different error than the last one reported is reported
//     at once (something changed);
//   - repeats of the same error are summarised: the first summary comes
//     first_summary after the failure that was reported, each next one twice
//     as long after the previous (at most max_summary apart), with the number
//     of failed attempts so far;
//   - the first success after failures is reported once, with the count.
//
// No clock and no logger here: the caller passes the time of each attempt and
// logs what comes back, so the rules are tested without waiting.
#ifndef RAFTLITE_DETAIL_CONNECT_FAILURE_LOG_HPP
#define RAFTLITE_DETAIL_CONNECT_FAILURE_LOG_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace raftlite::detail {

class connect_failure_log {
public:
    using clock = std::chrono::steady_clock;

    enum class kind {
        first_failure,   ///< the first failure, or one with a new error: log at warning
        still_failing,   ///< a summary of repeated failures: log at warning
        recovered,       ///< connected after failures: log at info
    };

    struct report {
        kind what;
        std::string error;                 ///< this attempt's error (recovered: the last one)
        std::uint64_t attempts = 0;        ///< failed attempts since the failures began
        clock::duration failing_for{};     ///< from the first failure to this event
    };

    explicit connect_failure_log(std::chrono::milliseconds first_summary = std::chrono::seconds(10),
                                 std::chrono::milliseconds max_summary = std::chrono::minutes(5));

    /// An attempt failed at `now` with `error` (what failed and why, as one
    /// string: equal strings are "the same error").
    std::optional<report> failed(clock::time_point now, std::string_view error);

    /// An attempt succeeded: a report when failures came before it.
    std::optional<report> connected(clock::time_point now);

    /// Forgets the failures without reporting (e.g. the address changed).
    void reset() noexcept;

    bool failing() const noexcept { return attempts_ != 0; }

    /// The log line for `r`; `target` names the peer, e.g. "n2 at 127.0.0.1:7002":
    ///   "n2 at 127.0.0.1:7002: cannot connect: Connection refused; retrying with backoff"
    ///   "n2 at 127.0.0.1:7002: still failing: cannot connect: Connection refused; 37 failed attempts in 41 s"
    ///   "connected to n2 at 127.0.0.1:7002 after 37 failed attempts in 41 s (last: cannot connect: ...)"
    static std::string describe(const report& r, std::string_view target);

private:
    std::chrono::milliseconds first_summary_, max_summary_;
    std::uint64_t attempts_ = 0;
    clock::time_point since_{};
    std::string last_error_;
    clock::time_point next_summary_{};
    std::chrono::milliseconds interval_{};
};

} // namespace raftlite::detail

#endif
