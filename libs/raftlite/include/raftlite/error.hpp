// raftlite — error codes, in the Boost.System way.
#ifndef RAFTLITE_ERROR_HPP
#define RAFTLITE_ERROR_HPP

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace raftlite {

enum class errc {
    success = 0,
    not_leader,        ///< no leader known or reachable within the bound
    superseded,        ///< the entry was overwritten by another leader's entry
    busy,              ///< a configured queue limit was reached; retry later
    timed_out,         ///< no outcome within the caller's deadline (the entry may still commit)
    stopped,           ///< the node was stopped before an outcome was known
    storage_failed,    ///< the persister failed; the node takes no more writes
    corrupt_data,      ///< stored data failed its checksum or is inconsistent
    bad_message,       ///< a frame or message could not be decoded
    bad_config,        ///< a configuration file is invalid
    already_locked,    ///< another process holds the data directory
    outcome_unknown,   ///< cancelled after the entry left this node: it may still commit
    delivery_failed,   ///< the application's delivery handler threw; the node stopped
    internal_error,    ///< a raftlite self-check failed; the node stopped
    snapshot_gone,     ///< the snapshot asked for is no longer stored (a newer one replaced it)
    payload_too_large, ///< a broadcast larger than the transport, the peers' decoder or the storage accept
    change_rejected,   ///< a membership change that does not fit the configuration (id taken, no such learner, last voter)
    not_caught_up,     ///< a learner did not catch up with the leader's log in time to be promoted
    transfer_timed_out, ///< the leadership transfer's target did not take over within an election timeout; the leader serves again
    transfer_rejected, ///< the leadership transfer's target is this node or not a voter
};

const boost::system::error_category& raftlite_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), raftlite_category()};
}

} // namespace raftlite

namespace boost::system {
template <> struct is_error_code_enum<raftlite::errc> : std::true_type {};
}

#endif
