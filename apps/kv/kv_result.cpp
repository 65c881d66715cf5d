// raftlite kv — result encoding (see kv_result.hpp for the format).
#include "kv_result.hpp"

#include <raftlite/detail/byte_order.hpp>

namespace raftlite::kv {
namespace {

constexpr std::uint8_t format_version = 1;
constexpr std::uint8_t flag_has_value = 1;
constexpr std::uint8_t flag_has_count = 2;
// The last status a saved result may hold (no_space is never applied).
constexpr auto last_status = kv_status::unsupported_level;

void put_bytes(std::string& out, std::string_view s) {
    char b[4];
    detail::put_u32_le(b, static_cast<std::uint32_t>(s.size()));
    out.append(b, sizeof b);
    out += s;
}

} // namespace

const char* status_name(kv_status s) noexcept {
    switch (s) {
    case kv_status::ok: return "ok";
    case kv_status::not_found: return "not_found";
    case kv_status::cas_failed: return "cas_failed";
    case kv_status::bad_command: return "bad_command";
    case kv_status::session_expired: return "session_expired";
    case kv_status::stale_request: return "stale_request";
    case kv_status::level_too_low: return "level_too_low";
    case kv_status::unsupported_level: return "unsupported_level";
    case kv_status::no_space: return "no_space";
    }
    return "unknown";
}

std::string encode_result(const kv_result& r) {
    std::string out;
    out.reserve(3 + 8 + 8 + (r.value ? r.value->size() : 0) + r.error.size());
    out.push_back(static_cast<char>(format_version));
    out.push_back(static_cast<char>(r.status));
    out.push_back(static_cast<char>((r.value ? flag_has_value : 0) | (r.count ? flag_has_count : 0)));
    char b[8];
    detail::put_u64_le(b, r.client_id);
    out.append(b, sizeof b);
    if (r.count) {
        detail::put_u64_le(b, r.count);
        out.append(b, sizeof b);
    }
    if (r.value) put_bytes(out, *r.value);
    put_bytes(out, r.error);
    return out;
}

std::optional<kv_result> try_decode_result(std::string_view bytes, std::string& error) {
    detail::byte_reader in(bytes.data(), bytes.size());
    auto string_field = [&](std::string& out) {
        const std::uint32_t n = in.u32_le();
        if (!in.ok() || n > in.remaining()) return false;
        out.assign(reinterpret_cast<const char*>(in.position()), n);
        in.skip(n);
        return true;
    };
    kv_result r;
    const std::uint8_t version = in.u8();
    const std::uint8_t status = in.u8();
    const std::uint8_t flags = in.u8();
    r.client_id = in.u64_le();
    if (!in.ok()) {
        error = "truncated result: " + std::to_string(bytes.size()) + " bytes";
        return std::nullopt;
    }
    if (version != format_version) {
        error = "unsupported result format version " + std::to_string(version);
        return std::nullopt;
    }
    if (status > static_cast<std::uint8_t>(last_status) || (flags & ~(flag_has_value | flag_has_count))) {
        error = "unknown result status " + std::to_string(status) + " or flags " + std::to_string(flags);
        return std::nullopt;
    }
    r.status = static_cast<kv_status>(status);
    if (flags & flag_has_count) {
        r.count = in.u64_le();
        if (!in.ok() || r.count == 0) {
            error = "truncated or zero result count";
            return std::nullopt;
        }
    }
    if (flags & flag_has_value) {
        r.value.emplace();
        if (!string_field(*r.value)) {
            error = "truncated result value";
            return std::nullopt;
        }
    }
    if (!string_field(r.error) || in.remaining() != 0) {
        error = "truncated result error, or bytes after it";
        return std::nullopt;
    }
    error.clear();
    return r;
}

} // namespace raftlite::kv
