// raftlite — CRC32C (Castagnoli), the checksum of every on-disk record.
#ifndef RAFTLITE_DETAIL_CRC32C_HPP
#define RAFTLITE_DETAIL_CRC32C_HPP

#include <cstddef>
#include <cstdint>

namespace raftlite::detail {

/// Extends `crc` (the result of an earlier call, or 0 to start) over
/// `size` bytes. crc32c_extend(0, "123456789", 9) == 0xE3069283.
/// Software slicing-by-8: a few GB/s is far more than a disk needs, and it
/// runs the same on every CPU.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) noexcept;

inline std::uint32_t crc32c(const void* data, std::size_t size) noexcept {
    return crc32c_extend(0, data, size);
}

} // namespace raftlite::detail

#endif
