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
    if (in[4] > static_cast<unsigned char>(entry_kind::configuration)) {
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

std::string encode_hard_state(const hard_state& hs) {
    unsigned char buf[hard_state_file_size] = {};
    std::memcpy(buf, hard_state2_magic.data(), 8);
    put_u32_le(buf + 8, storage_format_version);
    put_u64_le(buf + 16, hs.current_term);
    put_u64_le(buf + 24, hs.voted_for);
    put_u64_le(buf + 32, hs.commit);
    put_u32_le(buf + 44, crc32c(buf, 44));
    return std::string(reinterpret_cast<const char*>(buf), sizeof buf);
}

bool decode_hard_state(std::string_view bytes, hard_state& hs, std::string& why) {
    if (bytes.size() == small_file_size) {
        // The first form: term and vote only. Its commit reads as 0, which is
        // always a safe lower bound of what is committed.
        std::uint64_t term = 0, vote = 0;
        if (!decode_small_file(bytes, hard_state_magic, term, vote, why)) return false;
        hs = hard_state{term, vote, 0};
        return true;
    }
    if (bytes.size() != hard_state_file_size) {
        why = "size is " + std::to_string(bytes.size()) + " bytes, expected " +
              std::to_string(hard_state_file_size) + " (or " + std::to_string(small_file_size) +
              " for the first form)";
        return false;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (get_u32_le(p + 44) != crc32c(p, 44)) {
        why = "checksum mismatch";
        return false;
    }
    if (bytes.substr(0, 8) != hard_state2_magic) {
        why = "bad magic (not a raftlite " + std::string(hard_state2_magic) + " file)";
        return false;
    }
    if (get_u32_le(p + 8) != storage_format_version) {
        why = "unsupported format version " + std::to_string(get_u32_le(p + 8));
        return false;
    }
    if (get_u32_le(p + 12) != 0 || get_u32_le(p + 40) != 0) {
        why = "reserved bytes are not zero";
        return false;
    }
    hs.current_term = get_u64_le(p + 16);
    hs.voted_for = get_u64_le(p + 24);
    hs.commit = get_u64_le(p + 32);
    return true;
}

std::string encode_snapshot_trailer(const snapshot_meta& meta) {
    const std::string config = encode_membership(meta.members);
    const std::size_t n = config.size();
    std::string out(n + snapshot_footer_size, '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    std::memcpy(p, config.data(), n);
    unsigned char* f = p + n;
    std::memcpy(f, snapshot_magic.data(), 8);
    put_u32_le(f + 8, snapshot_format_version);
    put_u32_le(f + 12, static_cast<std::uint32_t>(n));
    put_u64_le(f + 16, meta.index);
    put_u64_le(f + 24, meta.term);
    put_u64_le(f + 32, meta.size);
    put_u32_le(f + 40, meta.crc);
    put_u32_le(f + 44, crc32c(p, n + 44));
    return out;
}

bool decode_snapshot_footer(const unsigned char* f, std::uint64_t file_size, std::uint32_t& configuration_bytes,
                            std::string& why) {
    // The configuration's size is needed before the checksum can be
    // computed (it covers the configuration), so it is bounded first: a
    // damaged field must never make us read or allocate past the file.
    const std::uint32_t version = get_u32_le(f + 8);
    const std::uint32_t field = get_u32_le(f + 12);
    std::uint64_t bytes = 0;
    if (version == 1) {
        bytes = field <= snapshot_max_members ? 8ull * field : UINT64_MAX;
    } else if (version == snapshot_format_version) {
        bytes = field <= snapshot_max_configuration_bytes ? field : UINT64_MAX;
    } else {
        why = "unsupported snapshot format version " + std::to_string(version);
        return false;
    }
    if (bytes == UINT64_MAX || bytes + snapshot_footer_size > file_size) {
        why = "snapshot footer is damaged (configuration size field " + std::to_string(field) +
              " does not fit a file of " + std::to_string(file_size) + " bytes)";
        return false;
    }
    configuration_bytes = static_cast<std::uint32_t>(bytes);
    return true;
}

bool decode_snapshot_trailer(std::string_view trailer, std::uint64_t file_size, snapshot_meta& meta,
                             std::string& why) {
    if (trailer.size() < snapshot_footer_size) {
        why = "snapshot trailer is truncated";
        return false;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(trailer.data());
    const unsigned char* f = p + trailer.size() - snapshot_footer_size;
    const std::size_t n = trailer.size() - snapshot_footer_size;
    const std::uint32_t version = get_u32_le(f + 8);
    if (version != 1 && version != snapshot_format_version) {
        why = "unsupported snapshot format version " + std::to_string(version);
        return false;
    }
    if (version == 1 ? (n % 8 != 0 || get_u32_le(f + 12) != n / 8) : get_u32_le(f + 12) != n) {
        why = "snapshot configuration size does not match its trailer";
        return false;
    }
    if (get_u32_le(f + 44) != crc32c(p, n + 44)) {
        why = "snapshot metadata checksum mismatch";
        return false;
    }
    if (std::memcmp(f, snapshot_magic.data(), 8) != 0) {
        why = "bad snapshot magic";
        return false;
    }
    snapshot_meta m;
    m.index = get_u64_le(f + 16);
    m.term = get_u64_le(f + 24);
    m.size = get_u64_le(f + 32);
    m.crc = get_u32_le(f + 40);
    if (m.size != file_size - trailer.size()) {
        why = "snapshot data size " + std::to_string(m.size) + " does not match the file size " +
              std::to_string(file_size);
        return false;
    }
    if (version == 1) {
        std::vector<node_id> voters(n / 8);
        for (std::size_t i = 0; i < n / 8; ++i) voters[i] = get_u64_le(p + 8 * i);
        try {
            m.members = membership(voters);
        } catch (const std::invalid_argument& e) {
            why = std::string("snapshot voters: ") + e.what();
            return false;
        }
    } else {
        auto config = decode_membership(std::string_view(trailer.data(), n));
        if (!config) {
            why = "snapshot configuration does not decode";
            return false;
        }
        m.members = std::move(*config);
    }
    meta = std::move(m);
    return true;
}

std::string snapshot_file_name(index_t index, term_t term) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "snapshot-%020llu-%020llu.snap", static_cast<unsigned long long>(index),
                  static_cast<unsigned long long>(term));
    return buf;
}

namespace {

std::optional<std::uint64_t> parse_digits20(std::string_view s) noexcept {
    if (s.size() != 20) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

} // namespace

std::optional<std::pair<index_t, term_t>> parse_snapshot_file_name(std::string_view name) noexcept {
    constexpr std::string_view prefix = "snapshot-", suffix = ".snap";
    if (name.size() != prefix.size() + 20 + 1 + 20 + suffix.size()) return std::nullopt;
    if (name.substr(0, prefix.size()) != prefix || name[prefix.size() + 20] != '-') return std::nullopt;
    if (name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
    const auto index = parse_digits20(name.substr(prefix.size(), 20));
    const auto term = parse_digits20(name.substr(prefix.size() + 21, 20));
    if (!index || !term) return std::nullopt;
    return std::make_pair(*index, *term);
}

bool is_snapshot_temp_name(std::string_view name) noexcept {
    constexpr std::string_view prefix = "snapshot-", suffix = ".snap.tmp";
    return name.size() > prefix.size() + suffix.size() && name.substr(0, prefix.size()) == prefix &&
           name.substr(name.size() - suffix.size()) == suffix;
}

} // namespace raftlite::detail
