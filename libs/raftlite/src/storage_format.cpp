// raftlite — encoding and decoding of file_persister's on-disk structures.
#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace raftlite::detail {

std::string encode_small_file(std::string_view magic, std::uint64_t a, std::uint64_t b) {
    unsigned char buf[small_file_size] = {};
    std::memcpy(buf, magic.data(), 8);
    put_u32_le(buf + 8, storage_format_version);
    put_u64_le(buf + 16, a);
    put_u64_le(buf + 24, b);
    put_u32_le(buf + 36, crc32c(buf, 36));
    return std::string(reinterpret_cast<const char*>(buf), sizeof buf);
}

bool decode_small_file(std::string_view bytes, std::string_view magic,
                       std::uint64_t& a, std::uint64_t& b, std::string& why) {
    if (bytes.size() != small_file_size) {
        why = "size is " + std::to_string(bytes.size()) + " bytes, expected " +
              std::to_string(small_file_size);
        return false;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    // Checksum first: a damaged file should be reported as damaged, not as
    // "unknown version" because the version field happened to be hit.
    if (get_u32_le(p + 36) != crc32c(p, 36)) {
        why = "checksum mismatch";
        return false;
    }
    if (bytes.substr(0, 8) != magic) {
        why = "bad magic (not a raftlite " + std::string(magic) + " file)";
        return false;
    }
    if (get_u32_le(p + 8) != storage_format_version) {
        why = "unsupported format version " + std::to_string(get_u32_le(p + 8));
        return false;
    }
    if (get_u32_le(p + 12) != 0 || get_u32_le(p + 32) != 0) {
        why = "reserved bytes are not zero";
        return false;
    }
    a = get_u64_le(p + 16);
    b = get_u64_le(p + 24);
    return true;
}

void encode_segment_header(unsigned char* out, index_t first_index) noexcept {
    std::memset(out, 0, segment_header_size);
    std::memcpy(out, segment_magic.data(), 8);
    put_u32_le(out + 8, storage_format_version);
    put_u64_le(out + 16, first_index);
    put_u32_le(out + 28, crc32c(out, 28));
}

bool decode_segment_header(const unsigned char* in, index_t& first_index, std::string& why) {
    if (get_u32_le(in + 28) != crc32c(in, 28)) {
        why = "segment header checksum mismatch";
        return false;
    }
    if (std::memcmp(in, segment_magic.data(), 8) != 0) {
        why = "bad segment magic";
        return false;
    }
    if (get_u32_le(in + 8) != storage_format_version) {
        why = "unsupported segment format version " + std::to_string(get_u32_le(in + 8));
        return false;
    }
    if (get_u32_le(in + 12) != 0 || get_u32_le(in + 24) != 0) {
        why = "segment header reserved bytes are not zero";
        return false;
    }
    first_index = get_u64_le(in + 16);
    return true;
}

std::string segment_file_name(index_t first_index) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "log-%020llu.seg", static_cast<unsigned long long>(first_index));
    return buf;
}

std::optional<index_t> parse_segment_file_name(std::string_view name) noexcept {
    constexpr std::string_view prefix = "log-", suffix = ".seg";
    if (name.size() != prefix.size() + 20 + suffix.size()) return std::nullopt;
    if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
    if (name.substr(prefix.size() + 20) != suffix) return std::nullopt;
    index_t v = 0;
    for (char c : name.substr(prefix.size(), 20)) {
        if (c < '0' || c > '9') return std::nullopt;
        const index_t d = static_cast<index_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

void encode_record_header(unsigned char* out, const record_header& h) noexcept {
    put_u32_le(out, h.payload_size);
    out[4] = static_cast<unsigned char>(h.kind);
    out[5] = out[6] = out[7] = 0;
    put_u64_le(out + 8, h.term);
    put_u64_le(out + 16, h.index);
    put_u64_le(out + 24, h.origin.node);
    put_u64_le(out + 32, h.origin.request);
    put_u32_le(out + 40, h.payload_crc);
    put_u32_le(out + 44, crc32c(out, 44));
}

header_check decode_record_header(const unsigned char* in, record_header& h, std::string& why) {
    if (get_u32_le(in + 44) != crc32c(in, 44)) {
        why = "record header checksum mismatch";
        return header_check::bad_checksum;
    }
    if (in[5] != 0 || in[6] != 0 || in[7] != 0) {
        why = "record reserved bytes are not zero";
        return header_check::bad_field;
    }
    if (in[4] > static_cast<unsigned char>(entry_kind::noop)) {
        why = "unknown entry kind " + std::to_string(in[4]);
        return header_check::bad_field;
    }
    h.payload_size = get_u32_le(in);
    h.kind = static_cast<entry_kind>(in[4]);
    h.term = get_u64_le(in + 8);
    h.index = get_u64_le(in + 16);
    h.origin.node = get_u64_le(in + 24);
    h.origin.request = get_u64_le(in + 32);
    h.payload_crc = get_u32_le(in + 40);
    return header_check::ok;
}

} // namespace raftlite::detail
