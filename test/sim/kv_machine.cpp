// raftlite simulator — key-value commands and their state machine.
#include "kv_machine.hpp"

#include <charconv>

namespace raftlite::sim {

std::string encode(const kv_command& c) {
    switch (c.kind) {
    case kv_kind::put: return "p " + c.key + " " + std::to_string(c.value);
    case kv_kind::get: return "g " + c.key;
    case kv_kind::cas: return "c " + c.key + " " + std::to_string(c.expected) + " " + std::to_string(c.value);
    case kv_kind::del: return "d " + c.key;
    }
    return {};
}

namespace {
std::string_view next_word(std::string_view& s) {
    const auto sp = s.find(' ');
    std::string_view w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
    return w;
}
bool to_int(std::string_view w, std::int64_t& v) {
    return !w.empty() && std::from_chars(w.data(), w.data() + w.size(), v).ec == std::errc();
}
} // namespace

std::optional<kv_command> decode(std::string_view s) {
    kv_command c;
    const std::string_view op = next_word(s);
    c.key = std::string(next_word(s));
    if (c.key.empty()) return std::nullopt;
    if (op == "p") {
        c.kind = kv_kind::put;
        if (!to_int(next_word(s), c.value)) return std::nullopt;
    } else if (op == "g") {
        c.kind = kv_kind::get;
    } else if (op == "c") {
        c.kind = kv_kind::cas;
        if (!to_int(next_word(s), c.expected) || !to_int(next_word(s), c.value)) return std::nullopt;
    } else if (op == "d") {
        c.kind = kv_kind::del;
    } else {
        return std::nullopt;
    }
    return c;
}

void kv_machine::apply(const log_entry& e) {
    kv_result r;
    if (e.kind == entry_kind::application) {
        if (auto c = decode(e.data())) {
            auto it = data_.find(c->key);
            const std::int64_t cur = it == data_.end() ? kv_absent : it->second;
            switch (c->kind) {
            case kv_kind::put: data_[c->key] = c->value; break;
            case kv_kind::del: data_.erase(c->key); break;
            case kv_kind::get: r.observed = cur; break;
            case kv_kind::cas:
                r.succeeded = cur == c->expected;
                if (r.succeeded) data_[c->key] = c->value;
                break;
            }
        }
    }
    results_.push_back(r);
}

// Snapshot bytes: for each key, its length, the key and the value, as text
// lines "<key length> <key><value>\n" (keys are short words; values integers).
std::string kv_machine::snapshot() const {
    std::string out;
    for (const auto& [k, v] : data_) {
        out += std::to_string(k.size());
        out += ' ';
        out += k;
        out += std::to_string(v);
        out += '\n';
    }
    return out;
}

bool kv_machine::restore(std::string_view bytes, index_t index) {
    std::map<std::string, std::int64_t> data;
    while (!bytes.empty()) {
        const auto space = bytes.find(' ');
        const auto eol = bytes.find('\n');
        if (space == std::string_view::npos || eol == std::string_view::npos || space > eol) return false;
        std::size_t klen = 0;
        try {
            klen = std::stoull(std::string(bytes.substr(0, space)));
        } catch (const std::exception&) {
            return false;
        }
        if (space + 1 + klen > eol) return false;
        const std::string key(bytes.substr(space + 1, klen));
        std::int64_t v = 0;
        try {
            v = std::stoll(std::string(bytes.substr(space + 1 + klen, eol - space - 1 - klen)));
        } catch (const std::exception&) {
            return false;
        }
        data[key] = v;
        bytes.remove_prefix(eol + 1);
    }
    data_ = std::move(data);
    results_.clear();
    base_ = index;
    return true;
}

std::uint64_t kv_machine::digest() const {
    std::uint64_t h = 1469598103934665603ull;   // FNV-1a over the snapshot bytes
    for (unsigned char c : snapshot()) h = (h ^ c) * 1099511628211ull;
    return h;
}

} // namespace raftlite::sim
