// raftlite — the strand the node's runner and the transport each run on.
#ifndef RAFTLITE_DETAIL_STRAND_EXECUTOR_HPP
#define RAFTLITE_DETAIL_STRAND_EXECUTOR_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace raftlite::detail {

/// A strand over `ex`, type-erased. Over an io_context's own executor (what
/// programs pass) the strand wraps that concrete executor, not the
/// type-erased one it arrived as. A strand asks its inner executor, for every
/// handler it runs, whether it may block, and Asio's any_executor answers a
/// query of that kind with a result allocated on the heap; wrapping a strand
/// too large for any_executor's inline storage (one over an any_io_executor)
/// allocates again whenever a handler's executor is copied with outstanding
/// work. On a raftlite-kv leader under PUT load the two were a third of its
/// mallocs (docs/performance.md). Any other executor gets a strand over
/// itself, as before.
inline boost::asio::any_io_executor make_strand_executor(const boost::asio::any_io_executor& ex) {
    if (const auto* io = ex.target<boost::asio::io_context::executor_type>())
        return boost::asio::make_strand(*io);
    return boost::asio::make_strand(ex);
}

/// Calls `f` with `ex` as its concrete type when it is a strand
/// make_strand_executor made over an io_context, else with `ex` itself: a
/// type-erased executor built from the concrete strand (a completion
/// executor with outstanding work, for a handler that has none of its own)
/// fits in any_executor's inline storage, one built from `ex` does not.
template <class F>
decltype(auto) with_concrete_strand(const boost::asio::any_io_executor& ex, F&& f) {
    using io_strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    if (const auto* s = ex.target<io_strand>()) return f(*s);
    return f(ex);
}

} // namespace raftlite::detail

#endif
