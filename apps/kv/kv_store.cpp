// raftlite kv — the replicated state machine.
#include "kv_store.hpp"

namespace raftlite::kv {
namespace {

constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

void mix(std::uint64_t& h, std::string_view bytes) {
    for (unsigned char ch : bytes) {
        h ^= ch;
        h *= fnv_prime;
    }
}

// The length first, so that ("ab","c") and ("a","bc") differ.
void mix_string(std::uint64_t& h, const std::string& s) {
    std::uint64_t n = s.size();
    char len[8];
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    mix(h, std::string_view(len, 8));
    mix(h, s);
}

} // namespace

const char* status_name(kv_status s) noexcept {
    switch (s) {
    case kv_status::ok: return "ok";
    case kv_status::not_found: return "not_found";
    case kv_status::cas_failed: return "cas_failed";
    case kv_status::bad_command: return "bad_command";
    }
    return "unknown";
}

kv_result kv_store::apply(const kv_command& c) {
    ++applied_;
    kv_result r;
    switch (c.op) {
    case kv_op::put:
        data_[c.key] = c.value;
        return r;
    case kv_op::get: {
        auto it = data_.find(c.key);
        if (it == data_.end())
            r.status = kv_status::not_found;
        else
            r.value = it->second;
        return r;
    }
    case kv_op::del:
        if (data_.erase(c.key) == 0)
            r.status = kv_status::not_found;
        return r;
    case kv_op::cas: {
        auto it = data_.find(c.key);
        bool matches = it == data_.end() ? !c.expected : (c.expected && *c.expected == it->second);
        if (!matches) {
            r.status = kv_status::cas_failed;
            if (it != data_.end())
                r.value = it->second;
            return r;
        }
        data_[c.key] = c.value;
        return r;
    }
    }
    // Only reachable with an op value outside the enum (not from decode()).
    r.status = kv_status::bad_command;
    r.error = "unknown op " + std::to_string(static_cast<unsigned>(c.op));
    return r;
}

kv_result kv_store::apply_encoded(std::string_view bytes) {
    std::string error;
    auto c = try_decode(bytes, error);
    if (!c) {
        ++applied_;
        kv_result r;
        r.status = kv_status::bad_command;
        r.error = error;
        return r;
    }
    return apply(*c);
}

std::uint64_t kv_store::digest() const noexcept {
    std::uint64_t h = fnv_offset;
    for (auto& [k, v] : data_) {
        mix_string(h, k);
        mix_string(h, v);
    }
    return h;
}

} // namespace raftlite::kv
