// raftlite kv — byte strings in JSON answers (see json_bytes.hpp).
#include "json_bytes.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>

namespace raftlite::kv {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> decoding_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto sextet = decoding_table();

// What a field's name takes when it holds base64 (see json_bytes.hpp).
constexpr std::string_view base64_suffix = "_base64";

std::string base64_field(std::string_view field) {
    return std::string(field).append(base64_suffix);
}

} // namespace

bool is_utf8(std::string_view bytes) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int more = 0;
        std::uint32_t code = 0, least = 0;
        if ((c & 0xe0) == 0xc0) more = 1, code = c & 0x1f, least = 0x80;
        else if ((c & 0xf0) == 0xe0) more = 2, code = c & 0x0f, least = 0x800;
        else if ((c & 0xf8) == 0xf0) more = 3, code = c & 0x07, least = 0x10000;
        else return false;   // a continuation byte first, or 0xf8..0xff
        if (end - p <= more)
            return false;
        for (int i = 1; i <= more; ++i) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            code = (code << 6) | (p[i] & 0x3f);
        }
        if (code < least || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return false;   // overlong, beyond Unicode, or a surrogate
        p += more + 1;
    }
    return true;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                                (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                                static_cast<unsigned char>(bytes[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(n >> shift) & 0x3f];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t n = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2)
            n |= std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out += alphabet[(n >> 18) & 0x3f];
        out += alphabet[(n >> 12) & 0x3f];
        out += rest == 2 ? alphabet[(n >> 6) & 0x3f] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        if (pad == 1 && text[i + 2] == '=')
            return std::nullopt;   // "x=y=": padding only at the end
        std::uint32_t n = 0;
        for (int j = 0; j < 4 - pad; ++j) {
            const std::int8_t v = sextet[static_cast<unsigned char>(text[i + j])];
            if (v < 0)
                return std::nullopt;
            n |= std::uint32_t(v) << (18 - 6 * j);
        }
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2)
            out += static_cast<char>((n >> 8) & 0xff);
        if (pad < 1)
            out += static_cast<char>(n & 0xff);
    }
    return out;
}

void put_bytes(boost::json::object& o, std::string_view field, std::string_view bytes) {
    if (is_utf8(bytes))
        o[field] = bytes;
    else
        o[base64_field(field)] = base64_encode(bytes);
}

void append_json_string(std::string& out, std::string_view utf8) {
    out += '"';
    for (const char c : utf8) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    out += '"';
}

void append_bytes_member(std::string& out, std::string_view field, std::string_view bytes) {
    const bool text = is_utf8(bytes);
    out += '"';
    out += field;
    if (!text)
        out += base64_suffix;
    out += "\":";
    if (text)
        append_json_string(out, bytes);
    else
        append_json_string(out, base64_encode(bytes));
}

std::optional<std::string> get_bytes(const boost::json::object& o, std::string_view field) {
    if (const auto* v = o.if_contains(field); v && v->is_string())
        return std::string(v->get_string());
    if (const auto* v = o.if_contains(base64_field(field)); v && v->is_string())
        return base64_decode(v->get_string());
    return std::nullopt;
}

} // namespace raftlite::kv
