// raftlite kv — the replicated state machine.
#include "kv_store.hpp"

#include "kv_levels.hpp"
#include "kv_txn.hpp"

#include <algorithm>
#include <atomic>

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
void mix_string(std::uint64_t& h, std::string_view s) {
    std::uint64_t n = s.size();
    char len[8];
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    mix(h, std::string_view(len, 8));
    mix(h, s);
}

// splitmix64's finalizer: FNV-1a's low bits are weak, and both the shard
// index and the digest's sum want every bit to depend on every input byte.
std::uint64_t finalize(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

} // namespace

std::uint64_t entry_hash(std::string_view key, std::string_view value) noexcept {
    std::uint64_t h = fnv_offset;
    mix_string(h, key);
    mix_string(h, value);
    return finalize(h);
}

void kv_image::for_each(const std::function<void(const std::string&, const std::string&)>& f) const {
    for (const auto& shard : shards_)
        for (const auto& [k, e] : *shard) f(k, e.value);
}

bool in_range(const kv_range_query& q, std::string_view key) {
    if (q.from_exclusive ? key <= q.from : key < q.from)
        return false;
    return !q.to || key < *q.to;
}

std::optional<std::string> prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
    if (end.empty())
        return std::nullopt;
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
    return end;
}

namespace {

// Where q's range starts in the shard that holds its `from`.
kv_shard::const_iterator range_start(const kv_shard& s, const kv_range_query& q) {
    return q.from_exclusive ? s.upper_bound(q.from) : s.lower_bound(q.from);
}

} // namespace

kv_range kv_store::range(const kv_range_query& q) const {
    kv_range out;
    if (q.limit == 0 || (q.to && *q.to <= q.from))
        return out;
    std::size_t bytes = 0;
    // The shards hold consecutive key ranges: start in the one `from` falls
    // in, then go on through the next ones.
    const std::size_t first = shard_index(q.from);
    for (std::size_t i = first; i < shards_.size(); ++i) {
        const kv_shard& s = *shards_[i];
        auto it = i != first ? s.begin() : range_start(s, q);
        for (; it != s.end(); ++it) {
            const auto& [key, entry] = *it;
            if (q.to && key >= *q.to)
                return out;
            const std::size_t size = key.size() + (q.keys_only ? 0 : entry.value.size());
            if (out.entries.size() == q.limit || (!out.entries.empty() && bytes + size > q.max_bytes)) {
                out.more = true;
                return out;
            }
            bytes += size;
            out.entries.emplace_back(key, q.keys_only ? std::string() : entry.value);
        }
    }
    return out;
}

std::size_t kv_store::count(const kv_range_query& q) const {
    if (q.to && *q.to <= q.from) return 0;
    std::size_t n = 0;
    const std::size_t first = shard_index(q.from);
    for (std::size_t i = first; i < shards_.size(); ++i) {
        const kv_shard& s = *shards_[i];
        auto it = i != first ? s.begin() : range_start(s, q);
        // A shard wholly before the end counts by its size, not key by key.
        if (it == s.begin() && !s.empty() && (!q.to || s.rbegin()->first < *q.to)) {
            n += s.size();
            continue;
        }
        const auto end = q.to ? s.lower_bound(*q.to) : s.end();
        n += static_cast<std::size_t>(std::distance(it, end));
        if (end != s.end()) break;
    }
    return n;
}

kv_store::kv_store(session_limits limits) : sessions_(limits) {
    bounds_.emplace_back();
    shards_.push_back(std::make_shared<kv_shard>());
}

std::size_t kv_store::shard_index(std::string_view key) const {
    // bounds_[0] is "": every key is at or above it.
    return static_cast<std::size_t>(std::upper_bound(bounds_.begin(), bounds_.end(), key) - bounds_.begin()) - 1;
}

const kv_shard& kv_store::shard_of(std::string_view key) const { return *shards_[shard_index(key)]; }

kv_shard& kv_store::writable_shard(std::size_t i) {
    auto& p = shards_[i];
    if (p.use_count() != 1) {
        // A kv_image (possibly being written out on another thread) shares it.
        p = std::make_shared<kv_shard>(*p);
    } else {
        // The last image let go of it on another thread: its reads of the
        // shard happen before our writes (use_count() is a relaxed load; the
        // release of the image's reference pairs with this fence).
        std::atomic_thread_fence(std::memory_order_acquire);
    }
    return *p;
}

// A shard over max_shard_entries gives its upper half to a new shard after
// it: the node handles move, nothing is copied. The shard is this store's
// alone (the write that filled it made it so).
void kv_store::split_if_full(std::size_t i) {
    kv_shard& s = *shards_[i];
    if (s.size() <= max_shard_entries)
        return;
    auto upper = std::make_shared<kv_shard>();
    auto middle = std::next(s.begin(), static_cast<std::ptrdiff_t>(s.size() / 2));
    std::string bound = middle->first;
    while (middle != s.end()) {
        auto next = std::next(middle);
        upper->insert(upper->end(), s.extract(middle));
        middle = next;
    }
    shards_.insert(shards_.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(upper));
    bounds_.insert(bounds_.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(bound));
}

// An empty shard goes (its keys' range joins the shard before it), so that
// deletes leave no trail of empty shards. The first shard's bound stays "".
void kv_store::drop_if_empty(std::size_t i) {
    if (!shards_[i]->empty() || shards_.size() == 1)
        return;
    shards_.erase(shards_.begin() + static_cast<std::ptrdiff_t>(i));
    bounds_.erase(bounds_.begin() + static_cast<std::ptrdiff_t>(i));
    bounds_.front().clear();
}

void kv_store::put(std::string_view key, std::string_view value) {
    const std::size_t i = shard_index(key);
    kv_shard& s = writable_shard(i);
    const std::uint64_t h = entry_hash(key, value);
    auto it = s.lower_bound(key);
    const bool added = it == s.end() || it->first != key;
    if (added) {
        it = s.emplace_hint(it, std::string(key), kv_entry{std::string(value), h});
        ++size_;
        bytes_ += key.size() + value.size();
    } else {
        // The value's buffer is reused: an overwrite of a value of the same
        // size allocates nothing.
        digest_ -= it->second.hash;
        bytes_ = bytes_ - it->second.value.size() + value.size();
        it->second.value.assign(value);
        it->second.hash = h;
    }
    digest_ += h;
    if (on_change_) on_change_(applying_, key, &it->second.value);
    if (added) split_if_full(i);   // after the observer: a split moves nodes
}

bool kv_store::erase(std::string_view key) {
    // Look before copying: a delete of an absent key must not unshare a shard.
    const std::size_t i = shard_index(key);
    if (!shards_[i]->contains(key)) return false;
    kv_shard& s = writable_shard(i);
    auto it = s.find(key);
    digest_ -= it->second.hash;
    bytes_ -= it->first.size() + it->second.value.size();
    if (on_change_) on_change_(applying_, key, nullptr);   // before: `key` may point into the entry
    s.erase(it);
    --size_;
    drop_if_empty(i);
    return true;
}

const std::string* kv_store::find(std::string_view key) const {
    const kv_shard& s = shard_of(key);
    auto it = s.find(key);
    return it == s.end() ? nullptr : &it->second.value;
}

std::size_t kv_store::entry_bytes(std::string_view key) const {
    const std::string* v = find(key);
    return v ? key.size() + v->size() : 0;
}

std::optional<std::string> kv_store::get(const std::string& key) const {
    if (const std::string* v = find(key)) return *v;
    return std::nullopt;
}

kv_result kv_store::apply(const kv_command& c, index_t index) { return apply(view_of(c), index); }

kv_result kv_store::apply(const kv_command_view& c, index_t index) {
    // Raising the level above what this build applies: the entries after it
    // may be of kinds this peer cannot apply, so it applies nothing more
    // (kv_main.cpp stops the peer).
    if ((c.op == kv_op::put || c.op == kv_op::cas) && is_system_key(c.key) && c.key == cluster_level_key()) {
        if (auto raised = parse_level(c.value); raised && *raised > supported_level) {
            kv_result r;
            r.status = kv_status::unsupported_level;
            r.error = "the cluster level is raised to " + std::to_string(*raised) +
                      ", above the highest this raftlite-kv applies (" + std::to_string(supported_level) +
                      "): upgrade this peer";
            return r;
        }
    }
    ++applied_;
    applying_ = index;
    // A command above the cluster level changes nothing, not even its
    // session's record: a peer of a lower level does not decode it, and
    // reaches the same state (kv_levels.hpp).
    if (const unsigned needed = required_level(c.op); needed > base_level && needed > level())
        return level_too_low(c.op, needed, level());
    if (!c.has_key())
        return apply_control(c, index);
    if (c.client_id != 0)
        return apply_in_session(c);
    // No session: applied each time it commits (a retry of a command whose
    // answer was lost applies it again).
    return apply_data(c);
}

kv_result kv_store::apply_data(const kv_command_view& c) {
    kv_result r;
    switch (c.op) {
    case kv_op::put:
        put(c.key, c.value);
        return r;
    case kv_op::get:
        if (const std::string* v = find(c.key))
            r.value = *v;
        else
            r.status = kv_status::not_found;
        return r;
    case kv_op::del:
        if (!erase(c.key))
            r.status = kv_status::not_found;
        return r;
    case kv_op::cas:
    case kv_op::cas_delete: {
        const std::string* current = find(c.key);
        bool matches = !current ? !c.has_expected : (c.has_expected && c.expected == *current);
        if (!matches) {
            r.status = kv_status::cas_failed;
            if (current) r.value = *current;
            return r;
        }
        if (c.op == kv_op::cas)
            put(c.key, c.value);
        else
            erase(c.key);
        return r;
    }
    case kv_op::delete_range:
        return delete_range(c.key, c.value);
    case kv_op::txn:
        return apply_txn(c.value);
    default:
        break;
    }
    // Only reachable with an op value outside the enum (not from decode()).
    r.status = kv_status::bad_command;
    r.error = "unknown op " + std::to_string(static_cast<unsigned>(c.op));
    return r;
}

kv_result kv_store::delete_range(std::string_view from, std::string_view to) {
    // The system keys are raftlite-kv's own (kv_levels.hpp): a range that
    // reaches them stops before them, on every peer alike.
    kv_range_query q;
    q.from = from;
    q.to = std::min(std::string(to), system_keys_begin());
    q.keys_only = true;
    q.limit = 1024;
    q.max_bytes = std::size_t(-1);
    kv_result r;
    for (;;) {
        kv_range page = range(q);
        for (const auto& [key, value] : page.entries) erase(key);
        r.count += page.entries.size();
        if (!page.more) break;
        q.from = page.entries.back().first;
        q.from_exclusive = true;
    }
    return r;
}

kv_result kv_store::apply_txn(std::string_view encoded) {
    kv_result r;
    kv_txn t;
    try {
        t = decode_txn(encoded);
    } catch (const bad_command& e) {
        // Only from a command built in memory: decoding checked the bytes.
        r.status = kv_status::bad_command;
        r.error = e.what();
        return r;
    }
    auto holds = [this](const txn_compare& c) {
        const std::string* v = find(c.key);
        switch (c.what) {
        case txn_compare::kind::equals: return v && *v == c.value;
        case txn_compare::kind::absent: return !v;
        case txn_compare::kind::present: return v != nullptr;
        }
        return false;
    };
    kv_txn_result out;
    out.succeeded = std::all_of(t.compare.begin(), t.compare.end(), holds);
    std::size_t returned = 0;   // bytes of values the gets return (max_txn_result_bytes)
    for (const txn_op& op : out.succeeded ? t.success : t.failure) {
        txn_op_result x;
        switch (op.what) {
        case txn_op::kind::put:
            put(op.key, op.value);
            break;
        case txn_op::kind::del:
            x.what = txn_op_result::kind::deleted;
            x.count = erase(op.key) ? 1 : 0;
            break;
        case txn_op::kind::get:
            if (const std::string* v = find(op.key); v && returned + v->size() > max_txn_result_bytes) {
                x.what = txn_op_result::kind::too_large;
                x.count = v->size();
            } else if (v) {
                x.what = txn_op_result::kind::value;
                x.value = *v;
                returned += v->size();
            } else {
                x.what = txn_op_result::kind::not_found;
            }
            break;
        case txn_op::kind::delete_range:
            x.what = txn_op_result::kind::deleted;
            x.count = delete_range(op.key, op.value).count;
            break;
        }
        out.results.push_back(std::move(x));
    }
    r.value = encode_txn_result(out);
    return r;
}

unsigned kv_store::level() const {
    const std::string* v = find(cluster_level_key());
    if (!v) return base_level;
    return parse_level(*v).value_or(base_level);
}

std::vector<std::uint64_t> kv_store::servers_under(std::string_view prefix) const {
    kv_range_query q;
    q.from = prefix;
    q.to = prefix_end(q.from);
    q.keys_only = true;
    q.limit = std::size_t(-1);
    q.max_bytes = std::size_t(-1);
    std::vector<std::uint64_t> ids;
    for (const auto& [key, value] : range(q).entries)
        if (auto id = member_of_key(key, prefix)) ids.push_back(*id);
    return ids;
}

std::optional<unsigned> kv_store::reported_level(std::uint64_t node) const {
    const std::string* v = find(level_report_key(node));
    if (!v) return std::nullopt;
    return parse_level(*v);
}

// Raft thesis §6.3: the session's latest command is applied once; a retry of
// it is answered with the result saved when it was applied.
kv_result kv_store::apply_in_session(const kv_command_view& c) {
    kv_result r;
    switch (sessions_.check(c.client_id, c.client_seq)) {
    case client_sessions::verdict::fresh:
        r = apply_data(c);
        sessions_.record(c.client_id, c.client_seq, encode_result(r));
        return r;
    case client_sessions::verdict::duplicate: {
        std::string error;
        if (auto saved = try_decode_result(*sessions_.saved(c.client_id), error)) return *saved;
        // Only from a snapshot whose saved bytes are not a result: the same
        // verdict on every peer that loaded it.
        r.status = kv_status::bad_command;
        r.error = "the result saved for client " + std::to_string(c.client_id) + " seq " +
                  std::to_string(c.client_seq) + " cannot be read: " + error;
        return r;
    }
    case client_sessions::verdict::stale:
        r.status = kv_status::stale_request;
        r.error = "client " + std::to_string(c.client_id) + " already applied a command after seq " +
                  std::to_string(c.client_seq) + "; its result is no longer kept";
        return r;
    case client_sessions::verdict::unknown_session:
        break;
    }
    r.status = kv_status::session_expired;
    r.error = "client session " + std::to_string(c.client_id) +
              " is not open (never opened, closed, or expired); open a new one";
    return r;
}

kv_result kv_store::apply_control(const kv_command_view& c, index_t index) {
    kv_result r;
    switch (c.op) {
    case kv_op::open_session:
        // Ticks stop while no session is open (kv_main.cpp), so cluster time
        // may be far behind: take the opener's time then, when it can expire
        // nobody. With sessions open, only the leader's clock moves it.
        r.client_id = sessions_.open(index, sessions_.empty() ? c.clock_ms : 0);
        return r;
    case kv_op::close_session:
        if (!sessions_.close(c.client_id)) {
            r.status = kv_status::session_expired;
            r.error = "client session " + std::to_string(c.client_id) + " is not open";
        }
        return r;
    case kv_op::clock:
        sessions_.advance_time(c.clock_ms);
        return r;
    default:
        r.status = kv_status::bad_command;
        r.error = "unknown op " + std::to_string(static_cast<unsigned>(c.op));
        return r;
    }
}

kv_result kv_store::apply_encoded(std::string_view bytes, index_t index) {
    std::string error;
    auto c = try_decode_view(bytes, error);
    if (!c) {
        ++applied_;
        kv_result r;
        r.status = kv_status::bad_command;
        r.error = error;
        return r;
    }
    return apply(*c, index);
}

kv_image kv_store::snapshot() const {
    kv_image img;
    img.shards_.assign(shards_.begin(), shards_.end());
    img.bounds_ = bounds_;
    // A copy: the table is bounded (max_sessions) and small beside the map.
    img.sessions_ = std::make_shared<const client_sessions>(sessions_);
    img.size_ = size_;
    img.bytes_ = bytes_;
    img.applied_ = applied_;
    img.digest_ = digest_;
    return img;
}

void kv_store::restore(const kv_image& image) {
    // Shares the image's shards: the first write to each copies it, as after
    // a snapshot (the image's shards are never written through it).
    shards_.clear();
    shards_.reserve(image.shards_.size());
    for (const auto& s : image.shards_) shards_.push_back(std::const_pointer_cast<kv_shard>(s));
    bounds_ = image.bounds_;
    sessions_ = *image.sessions_;
    size_ = image.size_;
    bytes_ = image.bytes_;
    applied_ = image.applied_;
    digest_ = image.digest_;
}

bool kv_store::load_entry(std::string key, std::string value) {
    const std::size_t i = shard_index(key);
    kv_shard& s = writable_shard(i);
    const std::uint64_t h = entry_hash(key, value);
    const std::size_t added = key.size() + value.size();
    if (!s.try_emplace(std::move(key), kv_entry{std::move(value), h}).second) return false;
    ++size_;
    bytes_ += added;
    digest_ += h;
    split_if_full(i);
    return true;
}

std::map<std::string, std::string> kv_store::contents() const {
    std::map<std::string, std::string> all;
    for (const auto& shard : shards_)
        for (const auto& [k, e] : *shard) all.emplace(k, e.value);
    return all;
}

} // namespace raftlite::kv
