// Latency percentiles in fixed memory, for the benchmarks (raftlite-bench,
// raftlite-kv-load).
#ifndef RAFTLITE_APPS_LATENCY_HISTOGRAM_HPP
#define RAFTLITE_APPS_LATENCY_HISTOGRAM_HPP

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace raftlite::bench {

// Log-linear latency buckets (as HdrHistogram does): 128 per power of two, so
// a percentile is within 1/128 of the exact value, in fixed memory. Keeping
// every sample grew the leader by 8 bytes per broadcast, which a memory
// figure over a long run would count against the library.
class latency_histogram {
public:
    void record(std::uint64_t ns) {
        ++counts_[bucket(ns)];
        ++total_;
        max_ = std::max(max_, ns);
        sum_ += ns;
    }
    /// Adds another histogram's samples (one per load thread, merged at the end).
    void merge(const latency_histogram& o) {
        for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
        total_ += o.total_;
        max_ = std::max(max_, o.max_);
        sum_ += o.sum_;
    }
    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }
    double mean_us() const { return total_ ? static_cast<double>(sum_) / total_ / 1000.0 : 0; }
    /// The value at rank floor(q * count) (the rank the sorted-vector version used).
    double percentile_us(double q) const {
        if (total_ == 0) return 0;
        const std::uint64_t rank = std::min<std::uint64_t>(total_ - 1, static_cast<std::uint64_t>(q * total_));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen > rank) return std::min<double>(midpoint(i), static_cast<double>(max_)) / 1000.0;
        }
        return max_ / 1000.0;
    }

    /// The samples as text, to merge histograms of several processes
    /// (raftlite-bench with clients on every peer): "max;sum;bucket:count,..."
    /// with the non-empty buckets only, a few hundred in a run.
    std::string encode() const {
        std::string out = std::to_string(max_) + ";" + std::to_string(sum_) + ";";
        for (std::size_t i = 0; i < counts_.size(); ++i)
            if (counts_[i]) out += std::to_string(i) + ":" + std::to_string(counts_[i]) + ",";
        return out;
    }
    /// Reads what encode() wrote; false (and the histogram unchanged) when malformed.
    bool decode(std::string_view text) {
        latency_histogram h;
        const char* p = text.data();
        const char* const end = p + text.size();
        auto number = [&](std::uint64_t& v, char sep) {
            auto r = std::from_chars(p, end, v);
            if (r.ec != std::errc{} || r.ptr == end || *r.ptr != sep) return false;
            p = r.ptr + 1;
            return true;
        };
        if (!number(h.max_, ';') || !number(h.sum_, ';')) return false;
        while (p != end) {
            std::uint64_t i = 0, c = 0;
            if (!number(i, ':') || !number(c, ',') || i >= h.counts_.size()) return false;
            h.counts_[i] += c;
            h.total_ += c;
        }
        *this = h;
        return true;
    }

private:
    static constexpr int sub_bits = 7;
    static std::size_t bucket(std::uint64_t v) {
        const int msb = std::bit_width(v) - 1;
        const int shift = std::max(0, msb - sub_bits);
        return (static_cast<std::size_t>(shift) << sub_bits) + static_cast<std::size_t>(v >> shift);
    }
    static double midpoint(std::size_t i) {
        if (i < (2u << sub_bits)) return static_cast<double>(i);
        const int shift = static_cast<int>(i >> sub_bits) - 1;
        const std::uint64_t m = i - (static_cast<std::size_t>(shift) << sub_bits);
        return static_cast<double>(m << shift) + static_cast<double>(std::uint64_t(1) << shift) / 2;
    }
    std::array<std::uint64_t, (58u << sub_bits)> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t sum_ = 0;
};

} // namespace raftlite::bench

#endif
