// raftlite kv — command encoding (see kv_command.hpp for the format).
#include "kv_command.hpp"

#include "byte_cursor.hpp"
#include "kv_txn.hpp"

namespace raftlite::kv {
namespace {

constexpr std::uint8_t format_version = 2;
// Before sessions: still decoded (kv_command.hpp), never written.
constexpr std::uint8_t format_version_1 = 1;
constexpr std::uint8_t flag_has_expected = 1;

} // namespace

const char* op_name(kv_op op) noexcept {
    switch (op) {
    case kv_op::put: return "put";
    case kv_op::get: return "get";
    case kv_op::del: return "delete";
    case kv_op::cas: return "cas";
    case kv_op::open_session: return "open_session";
    case kv_op::close_session: return "close_session";
    case kv_op::clock: return "clock";
    case kv_op::delete_range: return "delete_range";
    case kv_op::cas_delete: return "cas_delete";
    case kv_op::txn: return "txn";
    }
    return "unknown";
}

namespace {

// The fields of the session ops and clock (validate()).
std::string validate_control(const kv_command_view& c) {
    const std::string name = op_name(c.op);
    if (!c.key.empty() || !c.value.empty() || c.has_expected)
        return name + " takes no key, value nor expected value";
    if (c.client_seq != 0)
        return name + " takes no client seq";
    if (c.op == kv_op::close_session) {
        if (c.client_id == 0)
            return "close_session needs the client id of the session to close";
    } else if (c.client_id != 0) {
        return name + " takes no client id";
    }
    if (c.op == kv_op::close_session && c.clock_ms != 0)
        return name + " takes no clock";
    return {};
}

} // namespace

kv_command_view view_of(const kv_command& c) noexcept {
    kv_command_view v;
    v.op = c.op;
    v.key = c.key;
    v.value = c.value;
    v.has_expected = c.expected.has_value();
    if (c.expected) v.expected = *c.expected;
    v.origin_node = c.origin_node;
    v.origin_request = c.origin_request;
    v.client_id = c.client_id;
    v.client_seq = c.client_seq;
    v.clock_ms = c.clock_ms;
    return v;
}

std::string validate(const kv_command& c) { return validate(view_of(c)); }

std::string validate(const kv_command_view& c) {
    if (c.op > kv_op::txn)
        return "unknown op " + std::to_string(static_cast<unsigned>(c.op));
    if (!c.has_key())
        return validate_control(c);
    if (c.clock_ms != 0)
        return std::string(op_name(c.op)) + " takes no clock";
    if ((c.client_id == 0) != (c.client_seq == 0))
        return "a client id and a client seq go together (both 0: no session)";
    if (c.op == kv_op::txn) {
        if (!c.key.empty() || c.has_expected)
            return "txn takes no key and no expected value (its operations carry them)";
        if (c.value.size() > max_value_bytes)
            return "transaction of " + std::to_string(c.value.size()) + " bytes exceeds the limit of " +
                   std::to_string(max_value_bytes);
        try {
            decode_txn(c.value);
        } catch (const bad_command& e) {
            return std::string("bad transaction: ") + e.what();
        }
        return {};
    }
    if (c.key.empty() && c.op != kv_op::delete_range)
        return "empty key";
    if (c.key.size() > max_key_bytes)
        return "key of " + std::to_string(c.key.size()) + " bytes exceeds the limit of " +
               std::to_string(max_key_bytes);
    switch (c.op) {
    case kv_op::delete_range:
        if (c.has_expected)
            return "delete_range takes no expected value";
        if (c.value.size() > max_key_bytes)
            return "range end of " + std::to_string(c.value.size()) + " bytes exceeds the limit of " +
                   std::to_string(max_key_bytes);
        if (c.value <= c.key)
            return "delete_range needs an end above its start";
        return {};
    case kv_op::cas_delete:
        if (!c.value.empty())
            return "cas_delete takes no value";
        if (!c.has_expected)
            return "cas_delete needs the value the key must hold";
        if (c.expected.size() > max_value_bytes)
            return "expected value of " + std::to_string(c.expected.size()) +
                   " bytes exceeds the limit of " + std::to_string(max_value_bytes);
        return {};
    case kv_op::put:
    case kv_op::cas:
        if (c.value.size() > max_value_bytes)
            return "value of " + std::to_string(c.value.size()) + " bytes exceeds the limit of " +
                   std::to_string(max_value_bytes);
        if (c.op == kv_op::put && c.has_expected)
            return "put takes no expected value";
        if (c.has_expected && c.expected.size() > max_value_bytes)
            return "expected value of " + std::to_string(c.expected.size()) +
                   " bytes exceeds the limit of " + std::to_string(max_value_bytes);
        return {};
    default:
        if (!c.value.empty() || c.has_expected)
            return std::string(op_name(c.op)) + " takes no value and no expected value";
        return {};
    }
}

std::string encode(const kv_command& c) {
    if (auto why = validate(c); !why.empty())
        throw bad_command("cannot encode " + std::string(op_name(c.op)) + ": " + why);
    std::string out;
    out.reserve(3 + 5 * 8 + 12 + c.key.size() + c.value.size() +
                (c.expected ? c.expected->size() : 0));
    out.push_back(static_cast<char>(format_version));
    out.push_back(static_cast<char>(c.op));
    out.push_back(static_cast<char>(c.expected ? flag_has_expected : 0));
    put_u64(out, c.origin_node);
    put_u64(out, c.origin_request);
    put_u64(out, c.client_id);
    put_u64(out, c.client_seq);
    put_u64(out, c.clock_ms);
    put_counted(out, c.key);
    put_counted(out, c.value);
    if (c.expected)
        put_counted(out, *c.expected);
    return out;
}

namespace {

// The one decoder (decode() copies what it leaves in `bytes`). Throws bad_command.
kv_command_view decode_in_place(std::string_view bytes) {
    byte_cursor in(bytes);
    auto version = in.u8("version");
    if (version != format_version && version != format_version_1)
        throw bad_command("unsupported command format version " + std::to_string(version) +
                          " (expected " + std::to_string(format_version) + ", or " +
                          std::to_string(format_version_1) + " of an older raftlite-kv)");
    auto op = in.u8("op");
    const auto last_op = version == format_version_1 ? kv_op::cas : kv_op::txn;
    if (op > static_cast<std::uint8_t>(last_op))
        throw bad_command("unknown op " + std::to_string(op));
    auto flags = in.u8("flags");
    if (flags & ~flag_has_expected)
        throw bad_command("unknown flag bits " + std::to_string(flags));

    kv_command_view c;
    c.op = static_cast<kv_op>(op);
    if ((flags & flag_has_expected) && c.op != kv_op::cas && c.op != kv_op::cas_delete)
        throw bad_command(std::string(op_name(c.op)) + " cannot carry an expected value");
    if (version == format_version_1) {
        // Its request id was matched like today's origin request, but on any
        // peer: origin node 0 is no peer, so no request waits for it now.
        c.origin_request = in.u64("request id");
    } else {
        c.origin_node = in.u64("origin node");
        c.origin_request = in.u64("origin request");
        c.client_id = in.u64("client id");
        c.client_seq = in.u64("client seq");
        c.clock_ms = in.u64("clock ms");
    }
    c.key = in.bytes("key", max_key_bytes);
    if (c.key.empty() && c.has_key() && c.op != kv_op::delete_range && c.op != kv_op::txn)
        throw bad_command("empty key");
    c.value = in.bytes("value", c.op == kv_op::delete_range ? max_key_bytes : max_value_bytes);
    if (!c.value.empty() && c.op != kv_op::put && c.op != kv_op::cas && c.op != kv_op::delete_range &&
        c.op != kv_op::txn)
        throw bad_command(std::string(op_name(c.op)) + " cannot carry a value");
    if (flags & flag_has_expected) {
        c.has_expected = true;
        c.expected = in.bytes("expected value", max_value_bytes);
    }
    in.finish("command");
    if (auto why = validate(c); !why.empty())
        throw bad_command(why);
    return c;
}

// The owning copy of a decoded view.
kv_command to_command(const kv_command_view& v) {
    kv_command c;
    c.op = v.op;
    c.key = v.key;
    c.value = v.value;
    if (v.has_expected) c.expected.emplace(v.expected);
    c.origin_node = v.origin_node;
    c.origin_request = v.origin_request;
    c.client_id = v.client_id;
    c.client_seq = v.client_seq;
    c.clock_ms = v.clock_ms;
    return c;
}

} // namespace

kv_command decode(std::string_view bytes) { return to_command(decode_in_place(bytes)); }

std::optional<kv_command_view> try_decode_view(std::string_view bytes, std::string& error) {
    try {
        error.clear();
        return decode_in_place(bytes);
    } catch (const bad_command& e) {
        error = e.what();
        return std::nullopt;
    }
}

std::optional<kv_command> try_decode(std::string_view bytes, std::string& error) {
    auto v = try_decode_view(bytes, error);
    if (!v) return std::nullopt;
    return to_command(*v);
}

} // namespace raftlite::kv
