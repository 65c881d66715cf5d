// raftlite — the application's operations awaiting an outcome: completion
// handlers, the work they keep on their executors, their cancellation slots
// and deadlines, by request id.
#ifndef RAFTLITE_DETAIL_BROADCAST_WAITERS_HPP
#define RAFTLITE_DETAIL_BROADCAST_WAITERS_HPP

#include "strand_executor.hpp"

#include <raftlite/node.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace raftlite::detail {

/// A pending operation's handler with the outstanding work it keeps on its
/// associated executor (as Asio's own operations do: that executor's run()
/// does not return while the operation is pending). `work` is also where the
/// handler runs.
template <class Signature>
struct pending_handler {
    boost::asio::any_completion_handler<Signature> handler;
    boost::asio::any_completion_executor work;

    /// `strand`: the node's (make_strand_executor), for a handler with no
    /// executor of its own.
    pending_handler(boost::asio::any_completion_handler<Signature> h, const boost::asio::any_io_executor& strand)
        : handler(std::move(h)), work(with_concrete_strand(strand, [this](const auto& fallback) {
              return boost::asio::any_completion_executor(
                  boost::asio::prefer(boost::asio::get_associated_executor(handler, fallback),
                                      boost::asio::execution::outstanding_work.tracked));
          })) {}
};

template <class Signature>
class basic_waiters {
public:
    using clock = std::chrono::steady_clock;
    using waiter = pending_handler<Signature>;

    void add(std::uint64_t request, waiter w, clock::time_point deadline) {
        waiting_.emplace(request, std::move(w));
        deadlines_.emplace_back(deadline, request);   // requests come in deadline order
    }

    /// The waiter of `request`, if it still waits. Its cancellation slot is
    /// cleared: the operation is over.
    std::optional<waiter> take(std::uint64_t request) {
        auto it = waiting_.find(request);
        if (it == waiting_.end()) return std::nullopt;
        waiter w = std::move(it->second);
        waiting_.erase(it);
        auto slot = w.handler.get_cancellation_slot();
        if (slot.is_connected()) slot.clear();
        return w;
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

    /// The requests still waiting.
    std::vector<std::uint64_t> requests() const {
        std::vector<std::uint64_t> r;
        for (const auto& [request, w] : waiting_) r.push_back(request);
        return r;
    }

    std::size_t size() const noexcept { return waiting_.size(); }

private:
    std::unordered_map<std::uint64_t, waiter> waiting_;
    std::deque<std::pair<clock::time_point, std::uint64_t>> deadlines_;
};

/// Broadcasts and reads (the same signature).
using broadcast_waiters = basic_waiters<node::broadcast_signature>;
/// Leadership transfers.
using transfer_waiters = basic_waiters<node::transfer_signature>;

} // namespace raftlite::detail

#endif
