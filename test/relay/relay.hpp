// raftlite-relay — a TCP relay that makes a link look like a wide-area one:
// one-way delay, jitter, loss (by cutting connections) and a bandwidth cap,
// between processes or network namespaces (raftlite-bench --rtt-ms, the relay
// tests). This kernel has no netem, so the link's behaviour lives here.
//
// For every connection accepted on a route's listening address the relay
// opens one to the route's target and copies bytes both ways. Each chunk read
// is held until read time + delay + a jitter sample, but never overtakes an
// earlier chunk of the same connection and direction: TCP delivers in order,
// so jitter only stretches the gaps between chunks. Loss: a TCP stream cannot
// lose bytes without breaking, so a lost chunk cuts the connection (both
// sockets closed, queued bytes discarded), as a path failure does; each chunk
// read in either direction is lost with probability drop_rate. Bandwidth: each
// chunk occupies its direction of the connection for size × 8 / rate before
// its delay starts (a link that serializes, no burst).
//
// Asio stays out of this header (pimpl): the bench and the tests include it.
#ifndef RAFTLITE_TEST_RELAY_RELAY_HPP
#define RAFTLITE_TEST_RELAY_RELAY_HPP

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace raftlite::relay {

/// How one route's connections behave; every direction of every connection
/// gets the same delay and jitter and its own bandwidth.
struct link_options {
    std::chrono::microseconds delay{0};    ///< one way, added to every chunk
    std::chrono::microseconds jitter{0};   ///< uniform 0..jitter added per chunk
    double drop_rate = 0;                  ///< probability that a chunk cuts its connection
    double bandwidth_mbit = 0;             ///< per direction and connection; 0: unlimited
};

/// listen → target. Hosts are numeric IPv4/IPv6 addresses; listen port 0
/// binds a free port (relay::add returns it).
struct route_spec {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 0;
    std::string target_host = "127.0.0.1";
    std::uint16_t target_port = 0;
    link_options link;
};

struct relay_stats {
    std::uint64_t connections = 0;   ///< accepted and connected to their target
    std::uint64_t cuts = 0;          ///< cut by a lost chunk
    std::uint64_t bytes = 0;         ///< delivered, both directions
    /// How late the relay wrote each chunk after its due time (read time +
    /// delay + jitter, in order), by powers of two: late[k] counts chunks
    /// less than 2^k µs late (the last bucket: the rest). What the relay adds
    /// of its own to the link it models.
    static constexpr std::size_t late_buckets = 24;
    std::array<std::uint64_t, late_buckets> late{};
    /// The bound below which a fraction q of the chunks were written (the
    /// upper edge of that bucket), in µs; 0 with no chunk.
    double late_percentile_us(double q) const;
};

/// The relay's routes, run on the caller's io_context (one thread: the
/// handlers share the relay's state without locks).
class relay {
public:
    /// `seed` seeds the jitter and loss draws.
    relay(boost::asio::io_context& ioc, std::uint64_t seed);
    ~relay();
    relay(const relay&) = delete;
    relay& operator=(const relay&) = delete;

    /// Opens the route's listening socket and starts accepting; returns the
    /// port bound. Call before the io_context runs, or on its thread. Throws
    /// std::runtime_error naming the address when it cannot listen.
    std::uint16_t add(const route_spec& route);

    /// A route's loss from now on, for its open connections too (route: the
    /// order of add, from 0). Thread-safe: posted to the io_context.
    void set_drop_rate(std::size_t route, double p);

    /// Closes every listening socket and connection. Thread-safe (posted).
    void stop();

    /// Thread-safe.
    relay_stats stats() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

/// Makes the calling thread (the one that runs the relay's io_context) a
/// real-time one (SCHED_FIFO, lowest priority), so that the processes whose
/// bytes it carries cannot hold it off a core: on a machine with two cores, a
/// peer the relay wakes by writing to it takes the relay's core (the scheduler
/// puts the woken thread beside its waker) and the relay's due chunks wait,
/// measured up to 2.6 ms, while the other core idles. A network does not wait
/// for the hosts' CPUs. The relay sleeps between chunks, so it takes little
/// from the peers. Needs CAP_SYS_NICE (root); returns whether it took effect.
/// Opt-in (raftlite-bench --relay-realtime, raftlite-relay --realtime): it
/// shortens the relay's late tail but moved no commit figure measured, and the
/// round trip through it measured 0.1–0.3 ms longer (docs/performance.md).
bool make_thread_realtime();

/// The command line of raftlite-relay, parsed.
struct relay_config {
    std::vector<route_spec> routes;
    std::uint64_t seed = 0;
    bool realtime = false;   ///< --realtime: make_thread_realtime
    bool help = false;
};

/// Parses raftlite-relay's arguments (without the program name):
///   --route LISTEN=TARGET (repeated; HOST:PORT each), --delay-ms D,
///   --jitter-ms J, --drop-rate P, --bandwidth-mbit B, --seed S, --realtime, --help.
/// Throws std::invalid_argument with a message for the user.
relay_config parse_arguments(const std::vector<std::string>& args);

/// The options' help text.
std::string usage();

} // namespace raftlite::relay

#endif
