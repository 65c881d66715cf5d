// Reference limits of the machine a benchmark runs on, measured in the same
// run and printed beside its figures (raftlite-bench, raftlite-kv-load): a
// figure means little without the disk's sync rate and the network's round
// trip it was measured against, and both vary with the load on the machine.
#ifndef RAFTLITE_APPS_REFERENCE_FIGURES_HPP
#define RAFTLITE_APPS_REFERENCE_FIGURES_HPP

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace raftlite::bench {

/// 256-byte writes each followed by fdatasync, for about one second, in a
/// scratch file of `dir` (the filesystem the data directories live on): the
/// most single syncs per second this disk does now. 0 when `dir` is not
/// writable.
double measure_fdatasync_per_s(const std::filesystem::path& dir);

/// Mean round trip of a 64-byte message over a loopback TCP connection with
/// TCP_NODELAY (2000 rounds), in microseconds.
double measure_loopback_rtt_us();

/// Sends back every byte it reads, on one connection at a time, from a
/// thread of its own until destroyed. Its socket lives in the network
/// namespace of the thread that constructs it.
class echo_server {
public:
    /// Listens on host:port (port 0: a free one). Throws on failure.
    echo_server(const std::string& host, std::uint16_t port);
    ~echo_server();
    std::uint16_t port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Mean round trip of a 64-byte message to the echo at host:port (an
/// echo_server, possibly behind a relay), over `rounds` rounds, in
/// microseconds; 0 when it cannot connect or the connection breaks.
double measure_rtt_us(const std::string& host, std::uint16_t port, int rounds);

} // namespace raftlite::bench

#endif
