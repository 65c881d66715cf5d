// raftlite simulator — message descriptions (snprintf: no allocation per traced event).
#include "describe.hpp"

#include <cstdio>

namespace raftlite::sim {

void describe(const message& msg, char* buf, std::size_t size) {
    using ull = unsigned long long;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, vote_request>)
                std::snprintf(buf, size, "vote_request{t%llu last %llu/t%llu%s%s}", ull(m.term),
                              ull(m.last_log_length), ull(m.last_log_term), m.pre_vote ? " pre-vote" : "",
                              m.leadership_transfer ? " transfer" : "");
            else if constexpr (std::is_same_v<T, vote_response>)
                std::snprintf(buf, size, "vote_response{t%llu %s%s}", ull(m.term), m.granted ? "granted" : "refused",
                              m.pre_vote ? " pre-vote" : "");
            else if constexpr (std::is_same_v<T, log_request>)
                std::snprintf(buf, size, "log_request{t%llu prefix %llu/t%llu commit %llu +%llu%s round %llu}", ull(m.term),
                              ull(m.prefix_len), ull(m.prefix_term), ull(m.leader_commit),
                              ull(m.suffix.size()),
                              m.suffix.empty() ? "" : (m.suffix.back().term == m.term ? "" : " old"), ull(m.read_round));
            else if constexpr (std::is_same_v<T, log_response>)
                std::snprintf(buf, size, "log_response{t%llu %s ack %llu prefix %llu round %llu}", ull(m.term),
                              m.success ? "ok" : "fail", ull(m.ack), ull(m.prefix_len), ull(m.read_round));
            else if constexpr (std::is_same_v<T, forward_request>)
                std::snprintf(buf, size, "forward_request{req %llu from %llu}", ull(m.request), ull(m.search_from));
            else if constexpr (std::is_same_v<T, forward_response>)
                std::snprintf(buf, size, "forward_response{req %llu status %d t%llu at %llu}", ull(m.request),
                              int(m.result), ull(m.term), ull(m.index));
            else if constexpr (std::is_same_v<T, install_snapshot>)
                std::snprintf(buf, size, "install_snapshot{t%llu idx %llu/t%llu off %llu+%llu of %llu%s}",
                              ull(m.term), ull(m.meta.index), ull(m.meta.term), ull(m.offset),
                              ull(m.data ? m.data->size() : 0), ull(m.meta.size), m.done ? " done" : "");
            else if constexpr (std::is_same_v<T, install_snapshot_response>)
                std::snprintf(buf, size, "install_snapshot_response{t%llu idx %llu next %llu%s}", ull(m.term),
                              ull(m.index), ull(m.next_offset), m.installed ? " installed" : "");
            else if constexpr (std::is_same_v<T, read_index_request>)
                std::snprintf(buf, size, "read_index_request{req %llu}", ull(m.request));
            else if constexpr (std::is_same_v<T, read_index_response>)
                std::snprintf(buf, size, "read_index_response{req %llu status %d at %llu}", ull(m.request),
                              int(m.result), ull(m.index));
            else if constexpr (std::is_same_v<T, timeout_now>)
                std::snprintf(buf, size, "timeout_now{t%llu}", ull(m.term));
            else
                static_assert(sizeof(T) == 0, "describe() does not know this message");
        },
        msg);
}

} // namespace raftlite::sim
