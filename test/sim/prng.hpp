// raftlite simulator — the one source of randomness of a run.
//
// Every random choice of a run (latencies, timeouts, faults, workload) is drawn
// from one std::mt19937_64 seeded from the run's seed, in event order, so the
// same seed replays the same run byte for byte. The distributions are written
// out here rather than taken from <random>, whose results differ between
// standard libraries.
#ifndef RAFTLITE_SIM_PRNG_HPP
#define RAFTLITE_SIM_PRNG_HPP

#include <cstdint>
#include <random>

namespace raftlite::sim {

class prng {
public:
    explicit prng(std::uint64_t seed) : gen_(seed) {}

    std::uint64_t next() { return gen_(); }
    /// Uniform in [lo, hi] (inclusive). Modulo bias is irrelevant at these ranges.
    std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
        return hi <= lo ? lo : lo + gen_() % (hi - lo + 1);
    }
    /// True with probability p.
    bool chance(double p) {
        if (p <= 0) return false;
        return static_cast<double>(gen_() >> 11) * 0x1.0p-53 < p;
    }
    template <class C> auto& pick(C& c) { return c[uniform(0, c.size() - 1)]; }

private:
    std::mt19937_64 gen_;
};

} // namespace raftlite::sim

#endif
