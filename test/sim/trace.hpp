// raftlite simulator — the trace of a run: the last lines kept for a failure
// report, all of them optionally streamed, and a digest of every line so that
// two runs of one seed can be compared byte for byte cheaply.
#ifndef RAFTLITE_SIM_TRACE_HPP
#define RAFTLITE_SIM_TRACE_HPP

#include <array>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

namespace raftlite::sim {

class trace {
public:
    explicit trace(std::size_t keep = 60, std::ostream* all = nullptr)
        : ring_(keep == 0 ? 1 : keep), all_(all) {}

    /// Adds one line: "t=<time> <printf text>".
    void line(std::uint64_t time, const char* fmt, ...) __attribute__((format(printf, 3, 4))) {
        line_t& l = ring_[next_++ % ring_.size()];
        int n = std::snprintf(l.data(), l.size(), "t=%llu ", static_cast<unsigned long long>(time));
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(l.data() + n, l.size() - n, fmt, ap);
        va_end(ap);
        // FNV-1a over the line: the run's digest
        for (const char* p = l.data(); *p; ++p) digest_ = (digest_ ^ std::uint8_t(*p)) * 0x100000001b3ull;
        digest_ = (digest_ ^ '\n') * 0x100000001b3ull;
        if (all_) *all_ << l.data() << '\n';
    }

    std::uint64_t digest() const noexcept { return digest_; }
    std::uint64_t lines() const noexcept { return next_; }

    /// The last lines, oldest first.
    std::string last() const {
        std::string s;
        const std::size_t n = next_ < ring_.size() ? next_ : ring_.size();
        for (std::size_t i = next_ - n; i < next_; ++i) {
            s += "  ";
            s += ring_[i % ring_.size()].data();
            s += '\n';
        }
        return s;
    }

private:
    using line_t = std::array<char, 200>;
    std::vector<line_t> ring_;
    std::size_t next_ = 0;
    std::uint64_t digest_ = 0xcbf29ce484222325ull;
    std::ostream* all_;
};

} // namespace raftlite::sim

#endif
