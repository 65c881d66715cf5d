// raftlite simulator — key-value commands and their state machine.
#include "kv_machine.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace raftlite::sim {

std::string encode(const kv_command& c) {
    std::string s;
    if (c.session.id != 0) s = "s" + std::to_string(c.session.id) + "." + std::to_string(c.session.seq) + " ";
    switch (c.kind) {
    case kv_kind::put: return s + "p " + c.key + " " + std::to_string(c.value);
    case kv_kind::get: return s + "g " + c.key;
    case kv_kind::cas: return s + "c " + c.key + " " + std::to_string(c.expected) + " " + std::to_string(c.value);
    case kv_kind::del: return s + "d " + c.key;
    }
    return {};
}

const char* kv_verdict_name(kv_verdict v) noexcept {
    switch (v) {
    case kv_verdict::none: return "none";
    case kv_verdict::fresh: return "fresh";
    case kv_verdict::duplicate: return "duplicate";
    case kv_verdict::stale: return "stale";
    case kv_verdict::unknown_session: return "unknown session";
    }
    return "?";
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
// A positive decimal number, every character of `w` a digit of it.
bool to_positive(std::string_view w, std::uint64_t& v) {
    if (w.empty() || w.front() < '0' || w.front() > '9') return false;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    return ec == std::errc() && end == w.data() + w.size() && v > 0;
}
// "s<id>.<seq>"
bool to_session(std::string_view w, kv_session& s) {
    if (w.size() < 2 || w.front() != 's') return false;
    w.remove_prefix(1);
    const auto dot = w.find('.');
    return dot != std::string_view::npos && to_positive(w.substr(0, dot), s.id) &&
           to_positive(w.substr(dot + 1), s.seq);
}

// A saved response (client_sessions keeps opaque bytes): "<observed> <0|1>".
std::string encode_result(const kv_result& r) {
    return std::to_string(r.observed) + (r.succeeded ? " 1" : " 0");
}
std::optional<kv_result> decode_result(std::string_view s) {
    kv_result r;
    const auto sp = s.find(' ');
    if (sp == std::string_view::npos || !to_int(s.substr(0, sp), r.observed)) return std::nullopt;
    const std::string_view flag = s.substr(sp + 1);
    if (flag != "0" && flag != "1") return std::nullopt;
    r.succeeded = flag == "1";
    return r;
}

// The snapshot's session section: this line, then the table's encoding.
constexpr std::string_view sessions_header = "sessions ";
} // namespace

std::optional<kv_command> decode(std::string_view s) {
    kv_command c;
    std::string_view op = next_word(s);
    if (!op.empty() && op.front() == 's') {
        if (!to_session(op, c.session)) return std::nullopt;
        op = next_word(s);
    }
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

// Every replica opens the same sessions before any entry (see the header):
// ids 1..sessions, at cluster time 0, which never moves, so none expires.
client_sessions kv_machine::initial_sessions(const kv_options& o) {
    session_limits limits;
    limits.expiry_ms = std::numeric_limits<std::uint64_t>::max();
    limits.max_sessions = std::max<std::size_t>(o.sessions, 1);
    client_sessions t(limits);
    for (std::uint64_t id = 1; id <= o.sessions; ++id) t.open(id, 0);
    return t;
}

kv_machine::kv_machine(kv_options options) : options_(options), sessions_(initial_sessions(options)) {}

void kv_machine::reset() {
    data_.clear();
    results_.clear();
    base_ = 0;
    sessions_ = initial_sessions(options_);
}

kv_result kv_machine::execute(const kv_command& c) {
    kv_result r;
    auto it = data_.find(c.key);
    const std::int64_t cur = it == data_.end() ? kv_absent : it->second;
    switch (c.kind) {
    case kv_kind::put: data_[c.key] = c.value; break;
    case kv_kind::del: data_.erase(c.key); break;
    case kv_kind::get: r.observed = cur; break;
    case kv_kind::cas:
        r.succeeded = cur == c.expected;
        if (r.succeeded) data_[c.key] = c.value;
        break;
    }
    return r;
}

// Thesis §6.3: the session's latest command is applied once; a retry of it is
// answered with the result saved when it was applied. (As in the kv store's
// apply_in_session, with the simulator's own result encoding.)
kv_result kv_machine::apply_in_session(const kv_command& c, kv_verdict& verdict) {
    if (options_.ignore_sessions) {   // the broken machine: every retry applies again
        verdict = kv_verdict::fresh;
        return execute(c);
    }
    switch (sessions_.check(c.session.id, c.session.seq)) {
    case client_sessions::verdict::fresh: {
        verdict = kv_verdict::fresh;
        const kv_result r = execute(c);
        sessions_.record(c.session.id, c.session.seq, encode_result(r));
        return r;
    }
    case client_sessions::verdict::duplicate: {
        verdict = kv_verdict::duplicate;
        // The machine saved these bytes itself (or restored them from a
        // snapshot whose digest the checks compare with the committed log's).
        if (auto r = decode_result(*sessions_.saved(c.session.id))) return *r;
        throw std::logic_error("the result saved for session " + std::to_string(c.session.id) +
                               " does not decode");
    }
    case client_sessions::verdict::stale: verdict = kv_verdict::stale; return {};
    case client_sessions::verdict::unknown_session: verdict = kv_verdict::unknown_session; return {};
    }
    return {};
}

kv_applied kv_machine::apply(const log_entry& e) {
    kv_applied a;
    if (e.kind == entry_kind::application) {
        if (auto c = decode(e.data())) {
            a.session = c->session;
            a.result = c->session.id == 0 ? execute(*c) : apply_in_session(*c, a.verdict);
        }
    }
    results_.push_back(a);
    return a;
}

// Snapshot bytes: for each key, its length, the key and the value, as text
// lines "<key length> <key><value>\n" (keys are short words; values integers);
// then, when the machine has sessions, a line "sessions <length>\n" and the
// session table's encoding (client_sessions::encode), which ends the bytes.
// (A machine without sessions writes the map alone, as before sessions came.)
std::string kv_machine::snapshot() const {
    std::string out;
    for (const auto& [k, v] : data_) {
        out += std::to_string(k.size());
        out += ' ';
        out += k;
        out += std::to_string(v);
        out += '\n';
    }
    if (options_.sessions != 0) {
        std::string table;
        sessions_.encode(table);
        out += sessions_header;
        out += std::to_string(table.size());
        out += '\n';
        out += table;
    }
    return out;
}

bool kv_machine::restore(std::string_view bytes, index_t index) {
    std::map<std::string, std::int64_t> data;
    std::optional<client_sessions> sessions;
    while (!bytes.empty()) {
        if (options_.sessions != 0 && bytes.starts_with(sessions_header)) {
            const auto eol = bytes.find('\n');
            std::uint64_t len = 0;
            if (eol == std::string_view::npos ||
                !to_positive(bytes.substr(sessions_header.size(), eol - sessions_header.size()), len) ||
                len != bytes.size() - eol - 1)
                return false;
            try {
                sessions = client_sessions::decode(bytes.substr(eol + 1), sessions_.limits());
            } catch (const bad_client_sessions&) {
                return false;
            }
            break;
        }
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
    if (options_.sessions != 0) {
        if (!sessions) return false;   // a machine with sessions snapshots them
        sessions_ = std::move(*sessions);
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
