// raftlite kv — transactions (see kv_txn.hpp for the format).
#include "kv_txn.hpp"

#include "byte_cursor.hpp"
#include "kv_command.hpp"
#include "kv_levels.hpp"

namespace raftlite::kv {
namespace {

constexpr std::uint8_t txn_version = 1;

std::string validate_key(std::string_view key, const char* what) {
    if (key.empty()) return std::string(what) + ": empty key";
    if (key.size() > max_key_bytes)
        return std::string(what) + ": key of " + std::to_string(key.size()) + " bytes exceeds the limit of " +
               std::to_string(max_key_bytes);
    return {};
}

std::string validate_op(const txn_op& op) {
    using k = txn_op::kind;
    switch (op.what) {
    case k::put:
    case k::del:
        if (auto why = validate_key(op.key, op.what == k::put ? "put" : "delete"); !why.empty()) return why;
        if (is_system_key(op.key)) return "a transaction cannot write the system key of byte 0xff";
        if (op.what == k::del && !op.value.empty()) return "delete takes no value";
        if (op.value.size() > max_value_bytes)
            return "put: value of " + std::to_string(op.value.size()) + " bytes exceeds the limit of " +
                   std::to_string(max_value_bytes);
        return {};
    case k::get:
        if (!op.value.empty()) return "get takes no value";
        return validate_key(op.key, "get");
    case k::delete_range:
        if (op.key.size() > max_key_bytes || op.value.size() > max_key_bytes)
            return "delete_range: a bound over " + std::to_string(max_key_bytes) + " bytes";
        if (is_system_key(op.key)) return "a transaction cannot delete the system keys of byte 0xff";
        if (op.value <= op.key) return "delete_range needs an end above its start";
        return {};
    }
    return "unknown operation " + std::to_string(static_cast<unsigned>(op.what));
}

std::string validate_branch(const std::vector<txn_op>& ops, const char* name) {
    if (ops.size() > max_txn_ops)
        return std::string(name) + " has " + std::to_string(ops.size()) + " operations, over the limit of " +
               std::to_string(max_txn_ops);
    for (const txn_op& op : ops)
        if (auto why = validate_op(op); !why.empty()) return std::string(name) + ": " + why;
    return {};
}

void encode_branch(std::string& out, const std::vector<txn_op>& ops) {
    put_u16(out, static_cast<std::uint16_t>(ops.size()));
    for (const txn_op& op : ops) {
        out.push_back(static_cast<char>(op.what));
        put_counted(out, op.key);
        if (op.what == txn_op::kind::put || op.what == txn_op::kind::delete_range) put_counted(out, op.value);
    }
}

std::uint16_t count_of(byte_cursor& in, const char* field) {
    const std::uint16_t n = in.u16(field);
    if (n > max_txn_ops)
        throw bad_command(std::string(field) + " " + std::to_string(n) + " over the limit of " +
                          std::to_string(max_txn_ops));
    return n;
}

std::vector<txn_op> decode_branch(byte_cursor& in, const char* name) {
    std::vector<txn_op> ops(count_of(in, name));
    for (txn_op& op : ops) {
        const std::uint8_t kind = in.u8("operation kind");
        if (kind > static_cast<std::uint8_t>(txn_op::kind::delete_range))
            throw bad_command("unknown transaction operation " + std::to_string(kind));
        op.what = static_cast<txn_op::kind>(kind);
        const bool ranged = op.what == txn_op::kind::delete_range;
        op.key = in.bytes("operation key", max_key_bytes);
        if (op.what == txn_op::kind::put || ranged)
            op.value = in.bytes(ranged ? "range end" : "operation value", ranged ? max_key_bytes : max_value_bytes);
    }
    return ops;
}

} // namespace

std::string validate_txn(const kv_txn& t) {
    if (t.compare.size() > max_txn_ops)
        return "a transaction of " + std::to_string(t.compare.size()) + " compares, over the limit of " +
               std::to_string(max_txn_ops);
    for (const txn_compare& c : t.compare) {
        if (auto why = validate_key(c.key, "compare"); !why.empty()) return why;
        if (c.what != txn_compare::kind::equals && !c.value.empty()) return "only an equals compare takes a value";
        if (c.value.size() > max_value_bytes) return "compare: value over the limit";
    }
    if (auto why = validate_branch(t.success, "success"); !why.empty()) return why;
    return validate_branch(t.failure, "failure");
}

std::string encode_txn(const kv_txn& t) {
    if (auto why = validate_txn(t); !why.empty()) throw bad_command("cannot encode the transaction: " + why);
    std::string out;
    out.push_back(static_cast<char>(txn_version));
    put_u16(out, static_cast<std::uint16_t>(t.compare.size()));
    for (const txn_compare& c : t.compare) {
        out.push_back(static_cast<char>(c.what));
        put_counted(out, c.key);
        if (c.what == txn_compare::kind::equals) put_counted(out, c.value);
    }
    encode_branch(out, t.success);
    encode_branch(out, t.failure);
    return out;
}

kv_txn decode_txn(std::string_view bytes) {
    byte_cursor in(bytes);
    const std::uint8_t version = in.u8("transaction version");
    if (version != txn_version)
        throw bad_command("unsupported transaction version " + std::to_string(version));
    kv_txn t;
    t.compare.resize(count_of(in, "compares"));
    for (txn_compare& c : t.compare) {
        const std::uint8_t kind = in.u8("compare kind");
        if (kind > static_cast<std::uint8_t>(txn_compare::kind::present))
            throw bad_command("unknown compare " + std::to_string(kind));
        c.what = static_cast<txn_compare::kind>(kind);
        c.key = in.bytes("compare key", max_key_bytes);
        if (c.what == txn_compare::kind::equals) c.value = in.bytes("compare value", max_value_bytes);
    }
    t.success = decode_branch(in, "success");
    t.failure = decode_branch(in, "failure");
    in.finish("transaction");
    if (auto why = validate_txn(t); !why.empty()) throw bad_command(why);
    return t;
}

std::string encode_txn_result(const kv_txn_result& r) {
    std::string out;
    out.push_back(static_cast<char>(r.succeeded ? 1 : 0));
    put_u16(out, static_cast<std::uint16_t>(r.results.size()));
    for (const txn_op_result& x : r.results) {
        out.push_back(static_cast<char>(x.what));
        if (x.what == txn_op_result::kind::deleted || x.what == txn_op_result::kind::too_large) put_u64(out, x.count);
        if (x.what == txn_op_result::kind::value) put_counted(out, x.value);
    }
    return out;
}

std::optional<kv_txn_result> try_decode_txn_result(std::string_view bytes, std::string& error) {
    try {
        byte_cursor in(bytes);
        kv_txn_result r;
        const std::uint8_t succeeded = in.u8("succeeded");
        if (succeeded > 1) throw bad_command("succeeded must be 0 or 1");
        r.succeeded = succeeded == 1;
        r.results.resize(in.u16("results"));
        for (txn_op_result& x : r.results) {
            const std::uint8_t kind = in.u8("result kind");
            if (kind > static_cast<std::uint8_t>(txn_op_result::kind::too_large))
                throw bad_command("unknown result kind " + std::to_string(kind));
            x.what = static_cast<txn_op_result::kind>(kind);
            if (x.what == txn_op_result::kind::deleted || x.what == txn_op_result::kind::too_large)
                x.count = in.u64(x.what == txn_op_result::kind::deleted ? "deleted count" : "value size");
            if (x.what == txn_op_result::kind::value) x.value = in.bytes("value", max_value_bytes);
        }
        in.finish("transaction result");
        error.clear();
        return r;
    } catch (const bad_command& e) {
        error = e.what();
        return std::nullopt;
    }
}

} // namespace raftlite::kv
