// raftlite — fixed-width integers as bytes in an explicit byte order.
//
// Every function names its byte order: the wire frame header is big-endian
// (codec.cpp), file_persister's files are little-endian (storage_format.cpp).
// The result never depends on the host's byte order. The put_/get_ functions
// take a pointer to enough bytes; byte_reader checks every read against the
// bytes it was given.
#ifndef RAFTLITE_DETAIL_BYTE_ORDER_HPP
#define RAFTLITE_DETAIL_BYTE_ORDER_HPP

#include <cstddef>
#include <cstdint>

namespace raftlite::detail {

namespace byte_order_impl {

template <class T>
inline void put_be(void* out, T v) noexcept {
    auto* p = static_cast<unsigned char*>(out);
    for (std::size_t i = 0; i < sizeof(T); ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * (sizeof(T) - 1 - i)));
}
template <class T>
inline void put_le(void* out, T v) noexcept {
    auto* p = static_cast<unsigned char*>(out);
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
template <class T>
inline T get_be(const void* in) noexcept {
    const auto* p = static_cast<const unsigned char*>(in);
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p[i]);
    return v;
}
template <class T>
inline T get_le(const void* in) noexcept {
    const auto* p = static_cast<const unsigned char*>(in);
    T v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) v = static_cast<T>((v << 8) | p[i]);
    return v;
}

} // namespace byte_order_impl

// ---- big-endian (most significant byte first) ------------------------------
inline void put_u16_be(void* p, std::uint16_t v) noexcept { byte_order_impl::put_be(p, v); }
inline void put_u32_be(void* p, std::uint32_t v) noexcept { byte_order_impl::put_be(p, v); }
inline void put_u64_be(void* p, std::uint64_t v) noexcept { byte_order_impl::put_be(p, v); }
inline std::uint16_t get_u16_be(const void* p) noexcept { return byte_order_impl::get_be<std::uint16_t>(p); }
inline std::uint32_t get_u32_be(const void* p) noexcept { return byte_order_impl::get_be<std::uint32_t>(p); }
inline std::uint64_t get_u64_be(const void* p) noexcept { return byte_order_impl::get_be<std::uint64_t>(p); }

// ---- little-endian (least significant byte first) --------------------------
inline void put_u16_le(void* p, std::uint16_t v) noexcept { byte_order_impl::put_le(p, v); }
inline void put_u32_le(void* p, std::uint32_t v) noexcept { byte_order_impl::put_le(p, v); }
inline void put_u64_le(void* p, std::uint64_t v) noexcept { byte_order_impl::put_le(p, v); }
inline std::uint16_t get_u16_le(const void* p) noexcept { return byte_order_impl::get_le<std::uint16_t>(p); }
inline std::uint32_t get_u32_le(const void* p) noexcept { return byte_order_impl::get_le<std::uint32_t>(p); }
inline std::uint64_t get_u64_le(const void* p) noexcept { return byte_order_impl::get_le<std::uint64_t>(p); }

/// Reads integers and bytes one after another from a fixed range. A read past
/// the end reads nothing, returns 0 and leaves the reader failed (ok() is
/// false from then on, and every later read also returns 0), so a decoder can
/// read a whole structure and check ok() once.
class byte_reader {
public:
    byte_reader(const void* data, std::size_t size) noexcept
        : p_(static_cast<const unsigned char*>(data)), left_(size) {}

    bool ok() const noexcept { return ok_; }
    std::size_t remaining() const noexcept { return left_; }
    /// The next unread byte (the end of the range once the reader failed).
    const unsigned char* position() const noexcept { return p_; }

    std::uint8_t u8() noexcept { return take(1) ? p_[-1] : 0; }
    std::uint16_t u16_be() noexcept { return take(2) ? get_u16_be(p_ - 2) : 0; }
    std::uint32_t u32_be() noexcept { return take(4) ? get_u32_be(p_ - 4) : 0; }
    std::uint64_t u64_be() noexcept { return take(8) ? get_u64_be(p_ - 8) : 0; }
    std::uint16_t u16_le() noexcept { return take(2) ? get_u16_le(p_ - 2) : 0; }
    std::uint32_t u32_le() noexcept { return take(4) ? get_u32_le(p_ - 4) : 0; }
    std::uint64_t u64_le() noexcept { return take(8) ? get_u64_le(p_ - 8) : 0; }
    /// Skips `n` bytes; false (and failed) if fewer are left.
    bool skip(std::size_t n) noexcept { return take(n); }

private:
    bool take(std::size_t n) noexcept {
        if (!ok_ || n > left_) {
            ok_ = false;
            p_ += left_;
            left_ = 0;
            return false;
        }
        p_ += n;
        left_ -= n;
        return true;
    }

    const unsigned char* p_;
    std::size_t left_;
    bool ok_ = true;
};

} // namespace raftlite::detail

#endif
