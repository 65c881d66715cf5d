// raftlite — the client session table (see client_sessions.hpp).
#include <raftlite/client_sessions.hpp>

#include <raftlite/detail/byte_order.hpp>

#include <algorithm>

namespace raftlite {

namespace {

constexpr std::uint8_t format_version = 1;

constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

void mix(std::uint64_t& h, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= fnv_prime;
    }
}

// Little-endian bytes, so that the digest does not depend on the host.
void mix_u64(std::uint64_t& h, std::uint64_t v) {
    unsigned char b[8];
    detail::put_u64_le(b, v);
    mix(h, b, sizeof b);
}

// splitmix64's finalizer: the digest is a sum, so every bit of each share
// must depend on every input byte.
std::uint64_t finalize(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t session_hash(std::uint64_t id, const client_sessions::session& s) {
    std::uint64_t h = fnv_offset;
    mix_u64(h, id);
    mix_u64(h, s.last_active_ms);
    mix_u64(h, s.last_seq);
    mix_u64(h, s.response.size());
    mix(h, s.response.data(), s.response.size());
    return finalize(h);
}

void put_u64(std::string& out, std::uint64_t v) {
    char b[8];
    detail::put_u64_le(b, v);
    out.append(b, sizeof b);
}

void put_u32(std::string& out, std::uint32_t v) {
    char b[4];
    detail::put_u32_le(b, v);
    out.append(b, sizeof b);
}

// Bounds-checked reads that throw, naming the field and the offset.
class cursor {
public:
    explicit cursor(std::string_view in) : in_(in), reader_(in.data(), in.size()) {}

    std::size_t offset() const noexcept { return in_.size() - reader_.remaining(); }
    std::size_t remaining() const noexcept { return reader_.remaining(); }

    std::uint8_t u8(const char* field) {
        need(1, field);
        return reader_.u8();
    }
    std::uint32_t u32(const char* field) {
        need(4, field);
        return reader_.u32_le();
    }
    std::uint64_t u64(const char* field) {
        need(8, field);
        return reader_.u64_le();
    }
    std::string bytes(std::size_t n, const char* field) {
        need(n, field);
        std::string s(reinterpret_cast<const char*>(reader_.position()), n);
        reader_.skip(n);
        return s;
    }

private:
    void need(std::size_t n, const char* field) const {
        if (reader_.remaining() < n)
            throw bad_client_sessions("truncated session table: " + std::string(field) + " at byte " +
                                      std::to_string(offset()) + " needs " + std::to_string(n) + " bytes, " +
                                      std::to_string(reader_.remaining()) + " left");
    }

    std::string_view in_;
    detail::byte_reader reader_;
};

} // namespace

void client_sessions::insert(std::uint64_t id, session s) {
    if (auto old = sessions_.find(id); old != sessions_.end()) erase(old);
    auto it = sessions_.try_emplace(id).first;
    it->second.s = std::move(s);
    by_activity_.emplace(it->second.s.last_active_ms, id);
    it->second.hash = session_hash(id, it->second.s);
    sessions_hash_ += it->second.hash;
}

void client_sessions::erase(sessions_map::iterator it) {
    by_activity_.erase({it->second.s.last_active_ms, it->first});
    sessions_hash_ -= it->second.hash;
    sessions_.erase(it);
}

void client_sessions::touch(sessions_map::iterator it) {
    by_activity_.erase({it->second.s.last_active_ms, it->first});
    it->second.s.last_active_ms = now_ms_;
    by_activity_.emplace(now_ms_, it->first);
}

void client_sessions::rehash(sessions_map::iterator it) {
    sessions_hash_ -= it->second.hash;
    it->second.hash = session_hash(it->first, it->second.s);
    sessions_hash_ += it->second.hash;
}

void client_sessions::evict_oldest() {
    const auto oldest = by_activity_.begin();
    erase(sessions_.find(oldest->second));
    ++expired_;
}

std::uint64_t client_sessions::open(index_t index, std::uint64_t now_ms) {
    if (index == 0) throw std::invalid_argument("client_sessions::open: index 0 is no log entry");
    advance_time(now_ms);
    // The bound holds before the new session is counted; a table decoded
    // over a lower limit shrinks here, oldest first, deterministically.
    while (!sessions_.empty() && sessions_.size() >= std::max<std::size_t>(limits_.max_sessions, 1) &&
           !sessions_.count(index))
        evict_oldest();
    session s;
    s.last_active_ms = now_ms_;
    insert(index, std::move(s));
    return index;
}

bool client_sessions::close(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    erase(it);
    return true;
}

client_sessions::verdict client_sessions::check(std::uint64_t id, std::uint64_t seq) const {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return verdict::unknown_session;
    const std::uint64_t last = it->second.s.last_seq;
    if (seq > last) return verdict::fresh;
    // seq 0 is never a command's number: below every seq, or equal to the
    // "nothing recorded yet" of a new session, it has no response to repeat.
    if (seq == last && last != 0) return verdict::duplicate;
    return verdict::stale;
}

bool client_sessions::record(std::uint64_t id, std::uint64_t seq, std::string response) {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || seq <= it->second.s.last_seq) return false;
    it->second.s.last_seq = seq;
    it->second.s.response = std::move(response);
    touch(it);
    rehash(it);
    return true;
}

const std::string* client_sessions::saved(std::uint64_t id) const {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.s.last_seq == 0) return nullptr;
    return &it->second.s.response;
}

void client_sessions::advance_time(std::uint64_t now_ms) {
    if (now_ms <= now_ms_) return;   // cluster time never goes back
    now_ms_ = now_ms;
    while (!by_activity_.empty() && now_ms_ - by_activity_.begin()->first > limits_.expiry_ms) evict_oldest();
}

std::uint64_t client_sessions::digest() const noexcept {
    std::uint64_t h = fnv_offset;
    mix_u64(h, now_ms_);
    return finalize(h) + sessions_hash_;
}

void client_sessions::for_each(const std::function<void(std::uint64_t, const session&)>& f) const {
    for (const auto& [id, e] : sessions_) f(id, e.s);
}

void client_sessions::encode(std::string& out) const {
    out.push_back(static_cast<char>(format_version));
    put_u64(out, now_ms_);
    put_u64(out, sessions_.size());
    for (const auto& [id, e] : sessions_) {
        put_u64(out, id);
        put_u64(out, e.s.last_active_ms);
        put_u64(out, e.s.last_seq);
        put_u32(out, static_cast<std::uint32_t>(e.s.response.size()));
        out += e.s.response;
    }
}

client_sessions client_sessions::decode(std::string_view bytes, session_limits limits) {
    cursor in(bytes);
    const std::uint8_t version = in.u8("the version");
    if (version != format_version)
        throw bad_client_sessions("unsupported session table version " + std::to_string(version) + " (expected " +
                                  std::to_string(format_version) + ")");
    client_sessions t(limits);
    t.now_ms_ = in.u64("the cluster time");
    const std::uint64_t count = in.u64("the session count");
    // A forged count costs nothing: sessions are read one by one, and each
    // takes at least 28 bytes of input.
    if (count > in.remaining() / 28)
        throw bad_client_sessions("session count " + std::to_string(count) + " does not fit in the " +
                                  std::to_string(in.remaining()) + " bytes left");
    std::uint64_t previous = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::size_t at = in.offset();
        const std::string where = "session " + std::to_string(i) + " at byte " + std::to_string(at);
        const std::uint64_t id = in.u64("a session id");
        if (id <= previous)
            throw bad_client_sessions(where + ": id " + std::to_string(id) +
                                      (id == 0 ? " (ids start at 1)" : " is not above the previous id"));
        previous = id;
        session s;
        s.last_active_ms = in.u64("a last active time");
        if (s.last_active_ms > t.now_ms_)
            throw bad_client_sessions(where + ": last active at " + std::to_string(s.last_active_ms) +
                                      " ms, after the cluster time " + std::to_string(t.now_ms_));
        s.last_seq = in.u64("a last seq");
        const std::uint32_t n = in.u32("a response length");
        if (s.last_seq == 0 && n != 0)
            throw bad_client_sessions(where + ": a response of " + std::to_string(n) +
                                      " bytes without a recorded seq");
        s.response = in.bytes(n, "a response");
        t.insert(id, std::move(s));
    }
    if (in.remaining() != 0)
        throw bad_client_sessions(std::to_string(in.remaining()) + " unexpected bytes after the session table");
    return t;
}

} // namespace raftlite
