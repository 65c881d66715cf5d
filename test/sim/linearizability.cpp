// raftlite simulator — Wing–Gong / Lowe linearizability search (see the header).
#include "linearizability.hpp"

#include <algorithm>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

namespace raftlite::sim {

const char* kv_kind_name(kv_kind k) noexcept {
    switch (k) {
    case kv_kind::put: return "put";
    case kv_kind::get: return "get";
    case kv_kind::cas: return "cas";
    case kv_kind::del: return "del";
    }
    return "?";
}

const char* lin_verdict_name(lin_verdict v) noexcept {
    switch (v) {
    case lin_verdict::linearizable: return "linearizable";
    case lin_verdict::not_linearizable: return "NOT linearizable";
    case lin_verdict::unknown: return "unknown (search budget exhausted)";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& os, lin_verdict v) { return os << lin_verdict_name(v); }

namespace {
std::string value_string(std::int64_t v) { return v == kv_absent ? "none" : std::to_string(v); }
} // namespace

std::string to_string(const kv_op& op) {
    std::ostringstream s;
    s << "c" << op.client << " " << kv_kind_name(op.kind) << "(" << op.key;
    if (op.kind == kv_kind::cas) s << ", " << value_string(op.expected);
    if (op.kind == kv_kind::put || op.kind == kv_kind::cas) s << ", " << value_string(op.value);
    s << ")";
    if (!op.determinate) {
        s << " -> ? [" << op.invoke << ", inf)";
        return s.str();
    }
    if (op.kind == kv_kind::get) s << " -> " << value_string(op.observed);
    else if (op.kind == kv_kind::cas) s << " -> " << (op.succeeded ? "ok" : "fail");
    else s << " -> ok";
    s << " [" << op.invoke << ", " << op.complete << "]";
    return s.str();
}

std::size_t kv_history::invoke(kv_op op) {
    op.determinate = false;
    ops_.push_back(std::move(op));
    return ops_.size() - 1;
}

namespace {
kv_op& completed(std::vector<kv_op>& ops, std::size_t h, std::uint64_t time, kv_kind k) {
    kv_op& op = ops.at(h);
    if (op.kind != k || op.determinate || time < op.invoke)
        throw std::logic_error("kv_history: bad completion of " + to_string(op));
    op.determinate = true;
    op.complete = time;
    return op;
}
} // namespace

void kv_history::complete_put(std::size_t h, std::uint64_t time) { completed(ops_, h, time, kv_kind::put); }
void kv_history::complete_del(std::size_t h, std::uint64_t time) { completed(ops_, h, time, kv_kind::del); }
void kv_history::complete_get(std::size_t h, std::uint64_t time, std::int64_t observed) {
    completed(ops_, h, time, kv_kind::get).observed = observed;
}
void kv_history::complete_cas(std::size_t h, std::uint64_t time, bool succeeded) {
    completed(ops_, h, time, kv_kind::cas).succeeded = succeeded;
}

namespace {

// A set of operations of one partition, as bits; compared in full in the
// cache (a hash alone could merge two configurations and hide a linearization).
struct bitset {
    std::vector<std::uint64_t> words;
    explicit bitset(std::size_t n) : words((n + 63) / 64, 0) {}
    void set(std::size_t i) { words[i / 64] |= std::uint64_t(1) << (i % 64); }
    void reset(std::size_t i) { words[i / 64] &= ~(std::uint64_t(1) << (i % 64)); }
};

struct config {
    bitset done;
    std::int64_t state;
    std::size_t hash;
    bool operator==(const config& o) const { return state == o.state && done.words == o.done.words; }
};
struct config_hash {
    std::size_t operator()(const config& c) const noexcept { return c.hash; }
};

std::size_t hash_of(const bitset& b, std::int64_t state) {
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ static_cast<std::uint64_t>(state);
    for (std::uint64_t w : b.words) {
        h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdull;
    }
    return static_cast<std::size_t>(h ^ (h >> 33));
}

// Applies `op` to the register `state`. Returns false when the operation's
// recorded result cannot be explained from `state`. For an indeterminate
// operation, "did not take effect" is always possible and is expressed by
// never linearizing it, so only effects that change something are offered.
bool apply(const kv_op& op, std::int64_t state, std::int64_t& next) {
    next = state;
    switch (op.kind) {
    case kv_kind::put: next = op.value; return true;
    case kv_kind::del: next = kv_absent; return true;
    case kv_kind::get: return op.determinate && state == op.observed;
    case kv_kind::cas:
        if (!op.determinate || op.succeeded) {
            if (state != op.expected) return false;
            next = op.value;
            return true;
        }
        return state != op.expected;
    }
    return false;
}

// One entry of Lowe's doubly-linked list of calls and returns.
struct entry {
    std::size_t op;
    bool call;
    std::size_t match = 0;   // call: index of its return entry (0 = none)
    std::size_t prev = 0, next = 0;
};

struct partition_result {
    lin_verdict verdict;
    std::uint64_t steps;
    // At the deepest point of the search: the determinate operation with the
    // earliest return that could not be linearized there (the likely culprit).
    std::size_t culprit = static_cast<std::size_t>(-1);
};

partition_result check_partition(const std::vector<const kv_op*>& ops, std::uint64_t max_steps) {
    // Events in real-time order. At equal times calls come first: touching
    // intervals count as concurrent, which can only accept more histories.
    struct ev { std::uint64_t time; bool call; std::size_t op; };
    std::vector<ev> evs;
    std::size_t determinate = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        evs.push_back({ops[i]->invoke, true, i});
        if (ops[i]->determinate) {
            evs.push_back({ops[i]->complete, false, i});
            ++determinate;
        }
    }
    std::stable_sort(evs.begin(), evs.end(), [](const ev& a, const ev& b) {
        if (a.time != b.time) return a.time < b.time;
        return a.call && !b.call;
    });

    // entries[0] is the head sentinel; the list is terminated by index 0 too.
    std::vector<entry> list(evs.size() + 1, entry{0, false});
    std::vector<std::size_t> call_of(ops.size(), 0);
    for (std::size_t i = 0; i < evs.size(); ++i) {
        entry& e = list[i + 1];
        e.op = evs[i].op;
        e.call = evs[i].call;
        e.prev = i;
        e.next = (i + 1 < evs.size()) ? i + 2 : 0;
        if (e.call) call_of[e.op] = i + 1;
        else list[call_of[e.op]].match = i + 1;
    }
    list[0].next = evs.empty() ? 0 : 1;

    auto unlink = [&](std::size_t i) {
        list[list[i].prev].next = list[i].next;
        if (list[i].next != 0) list[list[i].next].prev = list[i].prev;
    };
    auto relink = [&](std::size_t i) {
        list[list[i].prev].next = i;
        if (list[i].next != 0) list[list[i].next].prev = i;
    };
    auto lift = [&](std::size_t c) {
        unlink(c);
        if (list[c].match) unlink(list[c].match);
    };
    auto unlift = [&](std::size_t c) {
        if (list[c].match) relink(list[c].match);
        relink(c);
    };

    std::unordered_set<config, config_hash> cache;
    struct frame { std::size_t call; std::int64_t state; };
    std::vector<frame> stack;
    bitset done(ops.size());
    std::int64_t state = kv_absent;
    std::size_t remaining = determinate;
    std::uint64_t steps = 0;

    std::size_t e = list[0].next;
    std::size_t best_remaining = remaining + 1, culprit = static_cast<std::size_t>(-1);
    for (;;) {
        if (remaining == 0) return {lin_verdict::linearizable, steps};
        if (++steps > max_steps) return {lin_verdict::unknown, steps, culprit};
        if (e == 0 || !list[e].call) {
            // A return (or the end) with its operation not yet linearized:
            // the last choice was wrong.
            if (e != 0 && remaining < best_remaining) {
                best_remaining = remaining;
                culprit = list[e].op;
            }
            if (stack.empty()) return {lin_verdict::not_linearizable, steps, culprit};
            const frame f = stack.back();
            stack.pop_back();
            const std::size_t op = list[f.call].op;
            state = f.state;
            done.reset(op);
            if (ops[op]->determinate) ++remaining;
            unlift(f.call);
            e = list[f.call].next;
            continue;
        }
        const std::size_t op = list[e].op;
        std::int64_t next;
        if (apply(*ops[op], state, next)) {
            bitset after = done;
            after.set(op);
            config c{after, next, hash_of(after, next)};
            if (cache.insert(std::move(c)).second) {
                stack.push_back({e, state});
                state = next;
                done.set(op);
                if (ops[op]->determinate) --remaining;
                lift(e);
                e = list[0].next;
                continue;
            }
        }
        e = list[e].next;
    }
}

} // namespace

lin_result check_linearizable(const std::vector<kv_op>& ops, std::uint64_t max_steps) {
    lin_result r;
    r.ops_checked = ops.size();
    std::map<std::string, std::vector<const kv_op*>> by_key;
    for (const kv_op& op : ops) {
        // An indeterminate read has no effect and constrains nothing.
        if (!op.determinate && op.kind == kv_kind::get) continue;
        by_key[op.key].push_back(&op);
    }
    r.keys = by_key.size();
    for (auto& [key, part] : by_key) {
        const partition_result p = check_partition(part, max_steps);
        r.search_steps += p.steps;
        if (p.verdict == lin_verdict::linearizable) continue;
        r.verdict = p.verdict;
        r.key = key;
        std::vector<const kv_op*> sorted = part;
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const kv_op* a, const kv_op* b) { return a->invoke < b->invoke; });
        std::ostringstream s;
        s << "key " << key << ": " << lin_verdict_name(p.verdict) << ", " << sorted.size() << " operations";
        if (p.culprit < part.size()) {
            // The operations around the culprit: what it overlaps, and the
            // few that completed just before it was invoked.
            const kv_op& c = *part[p.culprit];
            s << "; no linearization explains\n  " << to_string(c) << "\namong:\n";
            std::size_t shown = 0;
            for (const kv_op* op : sorted) {
                if (op->determinate && op->complete < c.invoke) {
                    // of those that ended before the culprit began, only the last 6
                    std::size_t later = 0;
                    for (const kv_op* o : sorted)
                        if (o->determinate && o->complete < c.invoke && o->complete > op->complete) ++later;
                    if (later >= 6) continue;
                }
                if (op->invoke > c.complete && c.determinate) break;
                if (++shown > 40) { s << "  ...\n"; break; }
                s << "  " << to_string(*op) << (op == &c ? "   <--" : "") << "\n";
            }
        } else {
            s << ":\n";
            std::size_t shown = 0;
            for (const kv_op* op : sorted) {
                if (++shown > 60) { s << "  ...\n"; break; }
                s << "  " << to_string(*op) << "\n";
            }
        }
        r.explanation = s.str();
        return r;
    }
    return r;
}

} // namespace raftlite::sim
