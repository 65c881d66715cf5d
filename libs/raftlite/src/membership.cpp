// raftlite — cluster configurations and their encoding in the log.
#include <raftlite/types.hpp>

#include <algorithm>
#include <stdexcept>

namespace raftlite {

namespace {

// The encoding: version byte, then a member count and each member as id,
// voter flag, address and info, integers little-endian. Configurations are
// small and rare (one entry per change), so a fixed simple form beats a
// general one; the bounds keep a damaged entry from allocating much.
constexpr unsigned char encoding_version = 1;
constexpr std::size_t max_members = 4096;
constexpr std::size_t max_string = 4096;

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_string(std::string& out, const std::string& s) {
    put_u64(out, s.size());
    out += s;
}

struct reader {
    std::string_view in;
    bool ok = true;

    std::uint64_t u64() {
        if (in.size() < 8) {
            ok = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(in[i])) << (8 * i);
        in.remove_prefix(8);
        return v;
    }
    unsigned char byte() {
        if (in.empty()) {
            ok = false;
            return 0;
        }
        const auto b = static_cast<unsigned char>(in[0]);
        in.remove_prefix(1);
        return b;
    }
    std::string string() {
        const std::uint64_t n = u64();
        if (!ok || n > max_string || n > in.size()) {
            ok = false;
            return {};
        }
        std::string s(in.substr(0, static_cast<std::size_t>(n)));
        in.remove_prefix(static_cast<std::size_t>(n));
        return s;
    }
};

} // namespace

membership::membership(std::initializer_list<node_id> voters)
    : membership(std::vector<node_id>(voters)) {}

membership::membership(const std::vector<node_id>& voters) {
    std::vector<member> ms;
    ms.reserve(voters.size());
    for (node_id id : voters) ms.push_back(member{id, true, {}, {}});
    *this = membership(std::move(ms));
}

membership::membership(std::vector<member> members) : members_(std::move(members)) {
    std::sort(members_.begin(), members_.end(), [](const member& a, const member& b) { return a.id < b.id; });
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (members_[i].id == no_node) throw std::invalid_argument("raftlite::membership: member id 0 is reserved");
        if (i > 0 && members_[i].id == members_[i - 1].id)
            throw std::invalid_argument("raftlite::membership: duplicate member id " + std::to_string(members_[i].id));
    }
}

const member* membership::find(node_id id) const noexcept {
    auto it = std::lower_bound(members_.begin(), members_.end(), id,
                               [](const member& m, node_id v) { return m.id < v; });
    return it != members_.end() && it->id == id ? &*it : nullptr;
}

bool membership::is_voter(node_id id) const noexcept {
    const member* m = find(id);
    return m && m->voter;
}

std::size_t membership::voter_count() const noexcept {
    return static_cast<std::size_t>(std::count_if(members_.begin(), members_.end(), [](const member& m) { return m.voter; }));
}

std::vector<node_id> membership::voters() const {
    std::vector<node_id> out;
    for (const member& m : members_)
        if (m.voter) out.push_back(m.id);
    return out;
}

void membership::put(member m) {
    if (m.id == no_node) throw std::invalid_argument("raftlite::membership: member id 0 is reserved");
    auto it = std::lower_bound(members_.begin(), members_.end(), m.id,
                               [](const member& a, node_id v) { return a.id < v; });
    if (it != members_.end() && it->id == m.id) *it = std::move(m);
    else members_.insert(it, std::move(m));
}

bool membership::erase(node_id id) {
    auto it = std::lower_bound(members_.begin(), members_.end(), id,
                               [](const member& a, node_id v) { return a.id < v; });
    if (it == members_.end() || it->id != id) return false;
    members_.erase(it);
    return true;
}

std::string to_string(const membership& m) {
    if (m.empty()) return "(none)";
    std::string out;
    for (const member& x : m.members()) {
        if (!out.empty()) out += ", ";
        out += std::to_string(x.id);
        out += x.voter ? " voter" : " learner";
        if (!x.address.empty()) out += " " + x.address;
    }
    return out;
}

std::string encode_membership(const membership& m) {
    std::string out;
    out.push_back(static_cast<char>(encoding_version));
    put_u64(out, m.size());
    for (const member& x : m.members()) {
        put_u64(out, x.id);
        out.push_back(x.voter ? 1 : 0);
        put_string(out, x.address);
        put_string(out, x.info);
    }
    return out;
}

std::optional<membership> decode_membership(std::string_view bytes) {
    reader r{bytes};
    if (r.byte() != encoding_version || !r.ok) return std::nullopt;
    const std::uint64_t n = r.u64();
    if (!r.ok || n > max_members) return std::nullopt;
    std::vector<member> ms;
    ms.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n && r.ok; ++i) {
        member x;
        x.id = r.u64();
        const unsigned char voter = r.byte();
        if (voter > 1) return std::nullopt;
        x.voter = voter == 1;
        x.address = r.string();
        x.info = r.string();
        if (i > 0 && (!r.ok || x.id <= ms.back().id)) return std::nullopt;   // ascending, distinct
        if (x.id == no_node) return std::nullopt;
        ms.push_back(std::move(x));
    }
    if (!r.ok || !r.in.empty()) return std::nullopt;
    return membership(std::move(ms));
}

} // namespace raftlite
