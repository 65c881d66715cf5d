// raftlite — private: test-only access to a transport. Not part of the API:
// applications read queue depths from transport::stats().
#ifndef RAFTLITE_DETAIL_TRANSPORT_TEST_ACCESS_HPP
#define RAFTLITE_DETAIL_TRANSPORT_TEST_ACCESS_HPP

#include <raftlite/transport.hpp>

#include <cstddef>

namespace raftlite::detail {

struct transport_test_access {
    /// Messages waiting in the queue for `peer` (not yet handed to the
    /// socket); 0 for an unknown peer. Thread-safe.
    static std::size_t queued_messages(const transport& t, node_id peer);
};

} // namespace raftlite::detail

#endif
