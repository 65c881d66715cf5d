// raftlite — basic vocabulary shared by every component.
#ifndef RAFTLITE_TYPES_HPP
#define RAFTLITE_TYPES_HPP

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
/// (Raft thesis, section 6.4: a leader commits an entry of its own term first);
/// a `configuration` entry holds the cluster's new membership, encoded by
/// encode_membership (thesis §4.1: a server uses the latest configuration
/// in its log, committed or not).
enum class entry_kind : std::uint8_t { application = 0, noop = 1, configuration = 2 };

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

/// One server of a cluster configuration (Raft thesis §4).
struct member {
    node_id id = no_node;
    /// false: a learner (thesis §4.2.1), which receives the log but never
    /// votes, never stands for election and never counts toward a quorum.
    bool voter = true;
    /// Where the other servers reach its Raft transport ("host:port"); empty
    /// when the driver knows it otherwise (the peers of a config file).
    std::string address;
    /// The application's own data about the server (raftlite-kv: the
    /// address its clients use); raftlite only carries it.
    std::string info;
    friend bool operator==(const member&, const member&) = default;
};

/// A cluster configuration: its servers by ascending id, each at most once.
class membership {
public:
    membership() = default;
    /// A configuration of voters only (the bootstrap membership of a config
    /// file, a test cluster); ids must be distinct and non-zero.
    membership(std::initializer_list<node_id> voters);
    membership(const std::vector<node_id>& voters);   // NOLINT: a list of voters is a configuration
    /// Servers in any order; duplicate or zero ids throw std::invalid_argument.
    explicit membership(std::vector<member> members);

    const std::vector<member>& members() const noexcept { return members_; }
    bool empty() const noexcept { return members_.empty(); }
    std::size_t size() const noexcept { return members_.size(); }
    const member* find(node_id id) const noexcept;
    bool contains(node_id id) const noexcept { return find(id) != nullptr; }
    bool is_voter(node_id id) const noexcept;
    std::size_t voter_count() const noexcept;
    /// The voters' ids, ascending.
    std::vector<node_id> voters() const;
    /// Votes or acknowledgements that make a majority of the voters: with
    /// n voters, floor(n/2)+1 (so 2 of 2, 3 of 4).
    std::size_t quorum() const noexcept { return voter_count() / 2 + 1; }

    /// Adds a server or replaces the one with the same id.
    void put(member m);
    /// Removes a server; false when it was not a member.
    bool erase(node_id id);

    friend bool operator==(const membership&, const membership&) = default;

private:
    std::vector<member> members_;
};

/// "1 voter 10.0.0.1:7101, 4 learner 10.0.0.4:7101" (for logs and tools).
std::string to_string(const membership& m);

/// The bytes of a configuration entry (entry_kind::configuration) and of a
/// snapshot's membership: a versioned, checksum-free binary form (the log
/// record and the frame carrying it are checksummed).
std::string encode_membership(const membership& m);
/// Decodes encode_membership's bytes; nothing for bytes it never wrote
/// (truncated, trailing bytes, duplicate or zero ids, over-long strings).
std::optional<membership> decode_membership(std::string_view bytes);

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
    membership members;              ///< the configuration as of `index` (thesis §5.1)
    std::uint64_t size = 0;          ///< bytes of application data
    std::uint32_t crc = 0;           ///< CRC-32C of the application data
    friend bool operator==(const snapshot_meta&, const snapshot_meta&) = default;
};

} // namespace raftlite

#endif
