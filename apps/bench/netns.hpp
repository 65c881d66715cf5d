// Separate network stacks for raftlite-bench's peers (--rtt-ms): one Linux
// network namespace per peer, joined to the bench's own namespace by a veth
// pair. The peers cannot reach each other directly: every peer-to-peer
// connection goes to the relay in the bench's namespace, which adds the
// link's delay, jitter and loss (test/relay). Needs root and `ip` (iproute2).
#ifndef RAFTLITE_APPS_BENCH_NETNS_HPP
#define RAFTLITE_APPS_BENCH_NETNS_HPP

#include <string>
#include <vector>

namespace raftlite::bench {

class netns_cluster {
public:
    /// Names derive from this process's id, so that a leftover of a run that
    /// crashed is told apart (and removed by the next run: remove_stale).
    explicit netns_cluster(int peers);
    /// Removes the namespaces (and with them the veth pairs).
    ~netns_cluster();
    netns_cluster(const netns_cluster&) = delete;
    netns_cluster& operator=(const netns_cluster&) = delete;

    /// Creates a namespace per peer: veth pair, addresses, routes, loopback
    /// up. Returns an empty string on success, or what failed.
    std::string create();

    /// Peer i's address inside its namespace (i from 1), and the bench's
    /// address on the same veth pair, where the relay listens for peer i.
    static std::string peer_address(int i);
    static std::string host_address(int i);

    /// An open descriptor of peer i's namespace, for setns(2) in a forked
    /// child or in a thread; -1 before create().
    int fd(int i) const { return fds_.at(static_cast<std::size_t>(i - 1)); }

    /// A shell command that removes everything create() made: for a signal
    /// handler, which can only fork and exec (async-signal-safe).
    const std::string& cleanup_command() const { return cleanup_; }

    /// Deletes namespaces and veths of earlier runs whose process is gone.
    static void remove_stale();

private:
    void destroy();

    int peers_;
    std::string prefix_;
    std::vector<int> fds_;
    std::string cleanup_;
    bool created_ = false;
};

/// Moves the calling thread (or a forked child) into the namespace `fd`.
/// Returns false on failure (errno set).
bool enter_netns(int fd);

} // namespace raftlite::bench

#endif
