// raftlite kv — the admin API's answers: the membership as JSON (GET
// /members, and in GET /status) and the HTTP answer to a membership change
// the node completed. Pure functions of the node's status, so that the
// mapping is tested without a cluster (test/kv/kv_admin_tests.cpp).
//
// GET /members (any peer; what that peer knows):
//   200 {"id": self, "leader": L (0: none known), "leader_kv": "host:port" | null,
//        "configuration_index": C (0: the config files' bootstrap membership),
//        "members": [{"id": N, "voter": true|false, "raft": "host:port" | null,
//                     "kv": "host:port" | null, "match_index": M (leader only)}]}
//   raft: the member's address in the configuration, else its [peers] line in
//   this peer's config file; kv: the member's info (raftlite-kv puts the "kv"
//   of POST /members there), this peer's own [kv] listen for itself, else null
//   (a bootstrap member from the config files carries no info: clients find
//   it through their config directory).
//
// A change (POST /members, POST /members/<id>/promote|demote, DELETE
// /members/<id>; and POST /members/<id>/transfer, which hands the leadership
// to voter <id>, thesis §3.10: answered once the leader stepped down, with
// index 0) answers once the node completed it:
//   200 {"result":"ok","action":"promote","id":N,"index":I}  the configuration
//       entry I holding it is committed (or the change was in force already)
//   400 change_rejected   it does not fit the configuration (an id taken by
//                         another record, no such member or learner, the last
//                         voter, a transfer to a non-voter or to the leader
//                         itself); the message says which. Nothing changed
//   409 busy              another change is under way (one at a time);
//                         Retry-After: 1. Nothing changed: retry
//   409 not_caught_up     the learner did not catch up with the leader's log
//                         in time; nothing changed: retry later
//   409 transfer_timed_out the target did not take over within an election
//                         timeout; the leader serves again: retry
//   503 not_leader        this peer does not lead: the body names "leader"
//                         (0: none known) and "leader_kv" (its kv address,
//                         null when unknown); send the change there
//   504 outcome_unknown   leadership was lost after the entry was appended,
//   504 timed_out         or no outcome in time: the change may still happen;
//                         look at GET /members (asking again is safe)
//   503 unavailable       the node stopped or failed
#ifndef RAFTLITE_KV_ADMIN_HPP
#define RAFTLITE_KV_ADMIN_HPP

#include "http_routes.hpp"
#include "http_server.hpp"

#include <raftlite/types.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <map>
#include <string>

namespace raftlite {
struct node_status;
}

namespace raftlite::kv {

/// What a peer knows of addresses beyond the configuration.
struct member_directory {
    node_id self = 0;
    std::string self_kv;                         ///< this peer's [kv] listen
    std::map<node_id, std::string> raft_peers;   ///< its config file's [peers]
};

/// A member's kv address as described above ("" when unknown).
std::string member_kv(const member& m, const member_directory& d);
/// A member's Raft address as described above ("" when unknown).
std::string member_raft(const member& m, const member_directory& d);

/// {"id", "leader", "leader_kv", "configuration_index", "members"}.
boost::json::object members_object(const node_status& s, const member_directory& d);

/// Why `change` cannot apply to `m`, as far as can be told from here ("" when
/// it looks fine): the message of a change_rejected answer.
std::string change_conflict(const membership& m, const admin_route& change);

/// The answer to a change the node completed with (ec, index). `s` is the
/// node's status now (for not_leader: who leads); `before` the membership
/// when the change was asked (for change_rejected's message).
admin_reply change_reply(const admin_route& change, boost::system::error_code ec, index_t index,
                         const node_status& s, const member_directory& d, const membership& before);

} // namespace raftlite::kv

#endif
