// raftlite kv — the little-endian byte strings of the kv formats (commands,
// transactions): appending fields, and reading them back strictly.
#ifndef RAFTLITE_KV_BYTE_CURSOR_HPP
#define RAFTLITE_KV_BYTE_CURSOR_HPP

#include "kv_command.hpp"

#include <raftlite/detail/byte_order.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace raftlite::kv {

inline void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
}

inline void put_u32(std::string& out, std::uint32_t v) {
    char b[4];
    detail::put_u32_le(b, v);
    out.append(b, sizeof b);
}

inline void put_u64(std::string& out, std::uint64_t v) {
    char b[8];
    detail::put_u64_le(b, v);
    out.append(b, sizeof b);
}

/// A u32 length, then the bytes.
inline void put_counted(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out += s;
}

/// Reads fields off the front of the input; every read is bounds-checked and
/// throws bad_command naming the field, never reading past the end.
class byte_cursor {
public:
    explicit byte_cursor(std::string_view in) : in_(in.data(), in.size()) {}

    std::uint8_t u8(const char* field) {
        need(1, field);
        return in_.u8();
    }

    std::uint16_t u16(const char* field) {
        need(2, field);
        const std::uint16_t lo = in_.u8();
        return static_cast<std::uint16_t>(lo | (std::uint16_t(in_.u8()) << 8));
    }

    std::uint32_t u32(const char* field) {
        need(4, field);
        return in_.u32_le();
    }

    std::uint64_t u64(const char* field) {
        need(8, field);
        return in_.u64_le();
    }

    /// A length-prefixed string, its length checked against `max` before
    /// anything is allocated (a forged length must not cost memory). The
    /// bytes stay where they are: the view points into the input.
    std::string_view bytes(const char* field, std::size_t max) {
        auto n = u32(field);
        if (n > max)
            throw bad_command(std::string(field) + " length " + std::to_string(n) + " exceeds the limit of " +
                              std::to_string(max) + " bytes");
        need(n, field);
        std::string_view s(reinterpret_cast<const char*>(in_.position()), n);
        in_.skip(n);
        return s;
    }

    void finish(const char* what) const {
        if (in_.remaining() != 0)
            throw bad_command(std::to_string(in_.remaining()) + " unexpected bytes after the " + what);
    }

private:
    void need(std::size_t n, const char* field) const {
        if (in_.remaining() < n)
            throw bad_command(std::string("truncated command: ") + field + " needs " + std::to_string(n) +
                              " bytes, " + std::to_string(in_.remaining()) + " left");
    }

    detail::byte_reader in_;
};

} // namespace raftlite::kv

#endif
