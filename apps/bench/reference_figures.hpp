// Reference limits of the machine a benchmark runs on, measured in the same
// run and printed beside its figures (raftlite-bench, raftlite-kv-load): a
// figure means little without the disk's sync rate and the network's round
// trip it was measured against, and both vary with the load on the machine.
#ifndef RAFTLITE_APPS_REFERENCE_FIGURES_HPP
#define RAFTLITE_APPS_REFERENCE_FIGURES_HPP

#include <filesystem>

namespace raftlite::bench {

/// 256-byte writes each followed by fdatasync, for about one second, in a
/// scratch file of `dir` (the filesystem the data directories live on): the
/// most single syncs per second this disk does now. 0 when `dir` is not
/// writable.
double measure_fdatasync_per_s(const std::filesystem::path& dir);

/// Mean round trip of a 64-byte message over a loopback TCP connection with
/// TCP_NODELAY (2000 rounds), in microseconds.
double measure_loopback_rtt_us();

} // namespace raftlite::bench

#endif
