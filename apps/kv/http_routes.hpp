// raftlite kv — mapping an HTTP request to what it asks for, without I/O.
//
// http_server.cpp reads a request from a socket and calls route_request(); the
// result is either a kv_command to submit, a request for the status page, or
// an error to answer with. Keeping the mapping free of sockets, strands and
// callbacks lets it be tested and fuzzed directly (test/fuzz/fuzz_http.cpp).
// The routes and error tokens are documented in http_server.hpp.
#ifndef RAFTLITE_KV_HTTP_ROUTES_HPP
#define RAFTLITE_KV_HTTP_ROUTES_HPP

#include "kv_command.hpp"
#include "kv_store.hpp"
#include "kv_txn.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace raftlite::kv {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

/// GET /status: the server answers with its status callback's JSON.
struct status_route {};
/// GET /metrics: the server answers with its metrics callback's text
/// (the Prometheus exposition format).
struct metrics_route {};
/// GET /: the status page (status_page.hpp), which reads /status and /metrics.
struct page_route {};
/// GET /health: whether this peer can serve a linearizable read now (a
/// load balancer's or orchestrator's probe).
struct health_route {};

/// GET /kv/<key>?stale=1: the value in the contacted peer's own state, not
/// through the log (not linearizable: it may be behind the cluster; it is
/// answered without a leader).
struct stale_read_route {
    std::string key;
};

/// GET /kv?prefix=P or GET /kv?start=A&end=B (each part optional), with
/// after=K (continue after key K: the last key of the previous page),
/// limit=N (1..max_range_limit, default 1000), keys_only=1 and stale=1:
/// the entries in that range, in key order. Linearizable like a GET unless
/// `stale` (then from the contacted peer's own state). Never through the log.
/// A range without an end that does not start among the system keys
/// (kv_levels.hpp) ends before them. DELETE /kv with prefix, or start and
/// end, is the delete_range command instead (a kv_command).
struct range_route {
    kv_range_query query;
    bool stale = false;
    /// count_only=1: how many keys the range holds, not the entries (its
    /// answer is {"count":N,"index":I}; limit and after play no part).
    bool count_only = false;
    friend bool operator==(const range_route&, const range_route&) = default;
};
/// GET /kv?prefix=P&watch=1 (or start/end) with since=I, limit=N,
/// keys_only=1 and timeout_ms=T: the changes to keys in that range made by
/// entries after index I (change_history.hpp), answered as soon as there is
/// one, or with none after T (1..max_watch_timeout, default 30 s). Without
/// since: changes after this peer's state now. range.limit caps the
/// changes in one answer.
struct watch_route {
    kv_range_query range;
    std::optional<index_t> since;
    std::chrono::milliseconds timeout{30000};
    friend bool operator==(const watch_route&, const watch_route&) = default;
};
/// The longest a watch waits for a change (timeout_ms above it: 400).
inline constexpr std::chrono::milliseconds max_watch_timeout{300000};

/// The most entries one range answer lists (limit=N above it: 400).
inline constexpr std::size_t max_range_limit = 10000;
/// The keys and values one range answer carries, about (past its first
/// entry): a page of large values stops early, with "more" set.
inline constexpr std::size_t max_range_bytes = 4u << 20;

/// A request that is answered with an error and submits nothing. The body is
/// {"error": token, "message": message}; 405 responses carry `allow` in an
/// Allow header.
struct route_error {
    boost::beast::http::status status = boost::beast::http::status::bad_request;
    std::string token;
    std::string message;
    std::string allow;   ///< 405 only: the methods the path takes
};

/// The admin API: the cluster's membership (Raft thesis §4, single-server
/// changes; kv_admin.hpp). Not a command of the store: the peer calls its
/// node (only the leader changes the membership).
///   GET    /members                 list
///   POST   /members                 add_learner, body {"id":N,"raft":"host:port","kv":"host:port"}
///   POST   /members/<id>/promote    promote
///   POST   /members/<id>/demote     demote
///   DELETE /members/<id>            remove
struct admin_route {
    enum class action { list, add_learner, promote, demote, remove, transfer_leadership };
    action what = action::list;
    std::uint64_t id = 0;   ///< every action but list: above 0
    std::string raft;       ///< add_learner: where the peers reach its Raft transport (a valid host:port)
    std::string kv;         ///< add_learner: where clients reach its HTTP API (a valid host:port)
    friend bool operator==(const admin_route&, const admin_route&) = default;
};
const char* admin_action_name(admin_route::action a) noexcept;

using route = std::variant<kv_command, status_route, metrics_route, page_route, health_route, stale_read_route,
                           range_route, watch_route, admin_route, route_error>;

/// Maps a complete request to a route. A returned kv_command has passed
/// validate(); its origin is left for the peer to fill in. May move the request's body out (PUT), so `req` is not to be
/// used for its body afterwards. Never throws on any input except
/// std::bad_alloc.
route route_request(http_request& req);

/// The request's X-Request-Id when it is a valid decimal u64 (nullopt when
/// absent or malformed). For tracing only: the server echoes it back.
std::optional<std::string> valid_request_id(const http_request& req);

/// Decodes %XX escapes; nullopt when an escape is malformed or truncated.
std::optional<std::string> percent_decode(std::string_view in);

/// Parses the CAS body {"expected": "old" | null, "value": "new"} (nothing
/// else) into `cmd`. Returns why it is wrong, or an empty string on success.
std::string parse_cas_body(const std::string& body, kv_command& cmd);

/// Parses POST /txn's body (http_server.hpp has its form) into `out`, and
/// checks it (validate_txn). Returns why it is wrong, or an empty string.
std::string parse_txn_body(const std::string& body, kv_txn& out);

/// Parses POST /members' body {"id": N, "raft": "host:port", "kv": "host:port"}
/// (nothing else; N a JSON integer above 0, both addresses as
/// endpoint_address::parse takes them) into `out`. Returns why it is
/// wrong, or an empty string on success.
std::string parse_member_body(const std::string& body, admin_route& out);

} // namespace raftlite::kv

#endif
