// raftlite — the rules for logging failed connection attempts (see
// raftlite/detail/connect_failure_log.hpp).
#include <raftlite/detail/connect_failure_log.hpp>

#include <algorithm>

namespace raftlite::detail {

namespace {

std::string span(connect_failure_log::clock::duration d) {
    using namespace std::chrono;
    if (d < seconds(1))
        return std::to_string(duration_cast<milliseconds>(d).count()) + " ms";
    return std::to_string(duration_cast<seconds>(d).count()) + " s";
}

std::string attempts(std::uint64_t n) {
    return std::to_string(n) + (n == 1 ? " failed attempt" : " failed attempts");
}

} // namespace

connect_failure_log::connect_failure_log(std::chrono::milliseconds first_summary,
                                         std::chrono::milliseconds max_summary)
    : first_summary_(std::max(first_summary, std::chrono::milliseconds(1))),
      max_summary_(std::max(max_summary, first_summary_)) {}

std::optional<connect_failure_log::report> connect_failure_log::failed(clock::time_point now,
                                                                       std::string_view error) {
    if (attempts_ == 0)
        since_ = now;
    ++attempts_;
    if (attempts_ == 1 || error != last_error_) {
        // News: the first failure, or the reason changed (refused -> timed
        // out says something else about the peer). Summaries start over.
        last_error_ = std::string(error);
        interval_ = first_summary_;
        next_summary_ = now + interval_;
        return report{kind::first_failure, last_error_, attempts_, now - since_};
    }
    if (now < next_summary_)
        return std::nullopt;
    // Further apart each time: a peer down for hours costs a few lines, not
    // one per retry.
    interval_ = std::min(interval_ * 2, max_summary_);
    next_summary_ = now + interval_;
    return report{kind::still_failing, last_error_, attempts_, now - since_};
}

std::optional<connect_failure_log::report> connect_failure_log::connected(clock::time_point now) {
    if (attempts_ == 0)
        return std::nullopt;
    report r{kind::recovered, last_error_, attempts_, now - since_};
    reset();
    return r;
}

void connect_failure_log::reset() noexcept {
    attempts_ = 0;
    last_error_.clear();
}

std::string connect_failure_log::describe(const report& r, std::string_view target) {
    std::string line;
    switch (r.what) {
    case kind::first_failure:
        line.append(target).append(": ").append(r.error).append("; retrying with backoff");
        break;
    case kind::still_failing:
        line.append(target).append(": still failing: ").append(r.error).append("; ")
            .append(attempts(r.attempts)).append(" in ").append(span(r.failing_for));
        break;
    case kind::recovered:
        line.append("connected to ").append(target).append(" after ").append(attempts(r.attempts))
            .append(" in ").append(span(r.failing_for)).append(" (last: ").append(r.error).append(")");
        break;
    }
    return line;
}

} // namespace raftlite::detail
