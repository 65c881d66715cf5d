// raftlite — basic vocabulary shared by every component.
#ifndef RAFTLITE_TYPES_HPP
#define RAFTLITE_TYPES_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <string_view>

namespace raftlite {

/// A node's identity within its cluster. 0 means "nobody" (no vote, no leader).
using node_id = std::uint64_t;
inline constexpr node_id no_node = 0;

/// A Raft term. Terms start at 0 and only grow.
using term_t = std::uint64_t;

/// A 1-based log index. Index 0 is the empty prefix before the first entry,
/// so "log length" (Kleppmann's formulation) and "last index" are the same number.
using index_t = std::uint64_t;

/// An immutable byte string shared between the application, the log, the
/// persister and the sockets without copying.
using shared_bytes = std::shared_ptr<const std::string>;

inline shared_bytes make_bytes(std::string s) {
    return std::make_shared<const std::string>(std::move(s));
}

/// Who asked for an entry: lets the node that accepted a broadcast recognise
/// its own entry when it commits, wherever the entry was appended.
struct entry_origin {
    node_id node = no_node;        ///< the node the application called
    std::uint64_t request = 0;     ///< that node's request number (0: none)
    friend bool operator==(const entry_origin&, const entry_origin&) = default;
};

/// What an entry carries. Only `application` entries reach the application;
/// a new leader appends a `noop` so that earlier terms' entries can commit
/// (Raft thesis, section 6.4: a leader commits an entry of its own term first).
enum class entry_kind : std::uint8_t { application = 0, noop = 1 };

/// One log entry. `payload` is never null for entries built by raftlite.
struct log_entry {
    term_t term = 0;
    index_t index = 0;
    entry_kind kind = entry_kind::application;
    entry_origin origin;
    shared_bytes payload;

    std::string_view data() const noexcept {
        return payload ? std::string_view(*payload) : std::string_view();
    }
    std::size_t size() const noexcept { return payload ? payload->size() : 0; }
};

/// The part of the state that must be durable before the node answers anyone
/// (Raft paper, Figure 2, "Persistent state on all servers"), and the commit
/// index as last saved (as etcd keeps it in its hard state). The commit index
/// is saved with the term and vote, not at every commit: any value once
/// known committed stays committed, so a stale one is still a safe lower
/// bound of what a restarted node may deliver before it hears from a leader.
struct hard_state {
    term_t current_term = 0;
    node_id voted_for = no_node;
    index_t commit = 0;
    friend bool operator==(const hard_state&, const hard_state&) = default;
};

/// A snapshot: the application's state after applying entries 1..index
/// (Raft paper §7; thesis §5), stored durably with what a restart needs to
/// go on from it.
struct snapshot_meta {
    index_t index = 0;               ///< the last entry the snapshot covers
    term_t term = 0;                 ///< that entry's term
    std::vector<node_id> members;    ///< the voters as of `index`
    std::uint64_t size = 0;          ///< bytes of application data
    std::uint32_t crc = 0;           ///< CRC-32C of the application data
    friend bool operator==(const snapshot_meta&, const snapshot_meta&) = default;
};

} // namespace raftlite

#endif
