// raftlite — the protocol messages, after Kleppmann's event-driven Raft.
//
// No serialization headers here: the wire codec (codec.hpp) serializes these
// with Boost.Serialization in one translation unit. The sender of a message is
// not part of the message: it is the authenticated peer of the connection
// (envelope::from), so a peer cannot claim to be someone else in a payload.
#ifndef RAFTLITE_MESSAGES_HPP
#define RAFTLITE_MESSAGES_HPP

#include <raftlite/types.hpp>

#include <cstdint>
#include <variant>
#include <vector>

namespace raftlite {

/// Candidate asks for a vote (Raft §5.2; Kleppmann: VoteRequest(cId, cTerm, cLogLength, cLogTerm)).
struct vote_request {
    term_t term = 0;
    index_t last_log_length = 0;   ///< candidate's last log index
    term_t last_log_term = 0;      ///< term of that entry (0 when the log is empty)
    /// Pre-vote (thesis §9.6): `term` is the term the sender would stand in
    /// (its own + 1); neither the sender nor the receiver changes its term or
    /// vote for it.
    bool pre_vote = false;
    /// A real election started by timeout_now (thesis §3.10): voters do not
    /// disregard it for leader stickiness (thesis §4.2.3).
    bool leadership_transfer = false;
};

/// A voter's answer (Kleppmann: VoteResponse(voterId, term, granted)).
/// To a pre-vote: `term` echoes the request's term when granted, and is the
/// voter's current term when refused.
struct vote_response {
    term_t term = 0;
    bool granted = false;
    bool pre_vote = false;
};

/// Leader replicates a bounded batch of entries after a prefix both logs must
/// share (Raft AppendEntries; Kleppmann: LogRequest). An empty suffix is a heartbeat.
struct log_request {
    term_t term = 0;
    index_t prefix_len = 0;        ///< entries before the suffix (prevLogIndex)
    term_t prefix_term = 0;        ///< term of entry prefix_len (prevLogTerm)
    index_t leader_commit = 0;     ///< leader's commit length
    std::vector<log_entry> suffix; ///< entries prefix_len+1 ... (bounded batch)
    /// The leader's read round when it sent this (thesis §6.4): an answer
    /// in the same term echoes it, confirming that the follower still took
    /// the sender for its leader after the round began.
    std::uint64_t read_round = 0;
};

/// Follower's answer (Kleppmann: LogResponse(follower, term, ack, success)).
/// On success `ack` is the length of the log now known to match the leader's.
/// On failure `ack` is a hint: the length the leader should retry from (the
/// follower's log length, or the start of its conflicting term), so catch-up
/// costs one round trip per term, not per entry. `prefix_len` echoes the
/// request, so the leader can recognise stale answers to pipelined requests.
struct log_response {
    term_t term = 0;
    index_t ack = 0;
    bool success = false;
    index_t prefix_len = 0;
    std::uint64_t read_round = 0;  ///< echoes the request's read_round
};

/// A broadcast made on a follower, forwarded to the leader.
/// `search_from` is the sender's commit length when the request was first
/// forwarded: if the request was already appended (an answer was lost), it is
/// at a higher index, and the leader looks for it there instead of appending a
/// second copy.
struct forward_request {
    std::uint64_t request = 0;
    index_t search_from = 0;
    shared_bytes payload;
};

/// The leader's answer to a forwarded broadcast.
struct forward_response {
    /// unknown: the request may sit in the leader's compacted log prefix,
    /// where it can no longer be looked up (so it is not appended again).
    enum class status : std::uint8_t { accepted = 0, not_leader = 1, busy = 2, unknown = 3 };
    std::uint64_t request = 0;
    status result = status::accepted;
    term_t term = 0;     ///< term of the appended entry (accepted)
    index_t index = 0;   ///< index of the appended entry (accepted)
};

/// A leader sends its snapshot, in chunks, to a follower whose next entry it
/// no longer holds (Raft §7 InstallSnapshot; thesis §5.3). Chunks go in order
/// from the offset the follower last acknowledged, so a transfer resumes
/// after a lost chunk or a broken connection.
struct install_snapshot {
    term_t term = 0;
    snapshot_meta meta;            ///< the snapshot being sent
    std::uint64_t offset = 0;      ///< where `data` starts in the snapshot's data
    shared_bytes data;             ///< the chunk (the runner reads it from the persister)
    bool done = false;             ///< the last chunk: offset + data size == meta.size
};

/// The follower's answer to a chunk.
struct install_snapshot_response {
    term_t term = 0;
    index_t index = 0;             ///< meta.index of the snapshot being received
    std::uint64_t next_offset = 0; ///< bytes received in order; the leader goes on from here
    bool installed = false;        ///< the snapshot is durable and installed
};

/// A follower asks the leader for a read index (thesis §6.4: reads served by
/// followers): the leader's commit index once it has confirmed that it still
/// leads. Reads are idempotent, so a lost request is simply asked again.
struct read_index_request {
    std::uint64_t request = 0;     ///< the follower's own read id
};

/// The leader's answer: `ready` with the index the follower must have
/// applied before it serves the read from its own state.
struct read_index_response {
    enum class status : std::uint8_t { ready = 0, not_leader = 1, busy = 2 };
    std::uint64_t request = 0;
    status result = status::ready;
    index_t index = 0;
};

/// A leader handing over its leadership (thesis §3.10) tells the target,
/// once its log is up to date, to start an election at once.
struct timeout_now {
    term_t term = 0;   ///< the leader's term
};

using message = std::variant<vote_request, vote_response, log_request, log_response,
                             forward_request, forward_response, install_snapshot, install_snapshot_response,
                             read_index_request, read_index_response, timeout_now>;

/// A message with its addressing.
struct envelope {
    node_id from = no_node;
    node_id to = no_node;
    message msg;
};

/// A short human-readable name for a message kind ("log_request", ...).
const char* message_name(const message& m) noexcept;

} // namespace raftlite

#endif
