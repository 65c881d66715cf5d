// raftlite — the application's broadcasts awaiting an outcome: their
// completion handlers and deadlines, by request id.
#ifndef RAFTLITE_DETAIL_BROADCAST_WAITERS_HPP
#define RAFTLITE_DETAIL_BROADCAST_WAITERS_HPP

#include <raftlite/node.hpp>

#include <boost/asio/any_completion_handler.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace raftlite::detail {

class broadcast_waiters {
public:
    using clock = std::chrono::steady_clock;
    using handler = boost::asio::any_completion_handler<node::broadcast_signature>;

    void add(std::uint64_t request, handler h, clock::time_point deadline) {
        waiting_.emplace(request, std::move(h));
        deadlines_.emplace_back(deadline, request);   // requests come in deadline order
    }

    /// The handler of `request`, if it still waits.
    std::optional<handler> take(std::uint64_t request) {
        auto it = waiting_.find(request);
        if (it == waiting_.end()) return std::nullopt;
        handler h = std::move(it->second);
        waiting_.erase(it);
        return h;
    }

    /// Requests whose deadline has passed (they still wait until taken).
    std::vector<std::uint64_t> expired(clock::time_point now) {
        std::vector<std::uint64_t> r;
        while (!deadlines_.empty() && deadlines_.front().first <= now) {
            if (waiting_.count(deadlines_.front().second)) r.push_back(deadlines_.front().second);
            deadlines_.pop_front();
        }
        return r;
    }

    /// The earliest deadline of a request that still waits.
    std::optional<clock::time_point> next_deadline() {
        while (!deadlines_.empty() && !waiting_.count(deadlines_.front().second)) deadlines_.pop_front();
        if (deadlines_.empty()) return std::nullopt;
        return deadlines_.front().first;
    }

    /// Every waiting handler, emptying the set.
    std::vector<handler> take_all() {
        std::vector<handler> r;
        for (auto& [request, h] : waiting_) r.push_back(std::move(h));
        waiting_.clear();
        deadlines_.clear();
        return r;
    }

    std::size_t size() const noexcept { return waiting_.size(); }

private:
    std::unordered_map<std::uint64_t, handler> waiting_;
    std::deque<std::pair<clock::time_point, std::uint64_t>> deadlines_;
};

} // namespace raftlite::detail

#endif
