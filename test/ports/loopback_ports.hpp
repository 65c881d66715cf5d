// Ports for servers a test (or raftlite-bench) starts on 127.0.0.1.
//
// Binding port 0 and closing the socket, then listening on that number
// later, has two races: the kernel may hand the same number to the next
// bind of port 0 (two servers of one cluster then share a port), and the
// number lies in the ephemeral range, so any outbound connection made in
// between may take it as its source port (a server restarted on its old
// port then finds it in use). free_loopback_port() avoids both: it never
// returns a number twice in one process, and it chooses below the
// ephemeral range when the system leaves room there.
#pragma once

#include <cstdint>

namespace raftlite::test_support {

/// A port on 127.0.0.1 that nothing listens on now and that this process
/// was not given before. Throws std::runtime_error when none is found.
std::uint16_t free_loopback_port();

} // namespace raftlite::test_support
