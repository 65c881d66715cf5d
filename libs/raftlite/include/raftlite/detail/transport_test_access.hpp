// raftlite — private: test-only access to a transport. Not part of the API:
// applications configure their peers' addresses in transport_options and read
// queue depths from transport::stats().
#ifndef RAFTLITE_DETAIL_TRANSPORT_TEST_ACCESS_HPP
#define RAFTLITE_DETAIL_TRANSPORT_TEST_ACCESS_HPP

#include <raftlite/transport.hpp>

#include <cstddef>

namespace raftlite::detail {

struct transport_test_access {
    /// Changes where peer `id` is reached, for transports that listen on
    /// ephemeral ports and learn each other's only once started: a different
    /// address closes the current connection (if any) and connects to the new
    /// one at once; the same address changes nothing. Ignored for ids not in
    /// options.peers and after stop(). Thread-safe (done on the strand).
    static void set_peer_address(transport& t, node_id id, endpoint_address address);

    /// Messages waiting in the queue for `peer` (not yet handed to the
    /// socket); 0 for an unknown peer. Thread-safe.
    static std::size_t queued_messages(const transport& t, node_id peer);
};

} // namespace raftlite::detail

#endif
