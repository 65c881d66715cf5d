// raftlite kv — the HTTP/1.1 front end (Boost.Beast), independent of Raft.
//
// The server turns requests into kv_commands and hands them to a `submit`
// callback; whoever wires the node (broadcast, wait for commit, apply) calls
// the completion with the outcome, from any thread, exactly once.
//
// Routes (keys are percent-decoded from the path; 1..max_key_bytes bytes;
// HEAD is answered wherever GET is, with the same status and fields and no
// body):
//   GET    /kv/<key>        200 body = the value (application/octet-stream)
//                           404 {"error":"not_found"}
//   PUT    /kv/<key>        body = the value; 200 {"result":"ok"}
//   DELETE /kv/<key>        200 {"result":"ok"}; 404 {"error":"not_found"}
//   POST   /kv/<key>?cas    body = JSON {"expected": "old" | null, "value": "new"}
//                           (null: the key must be absent). 200 {"result":"ok"};
//                           409 {"error":"cas_failed","current":"..." | null}
//                           ("current_base64" instead of "current" for a value
//                           that is not UTF-8: json_bytes.hpp). The body's
//                           strings are UTF-8 text: binary values need PUT.
//                           "value": null deletes the key if it holds
//                           "expected" (compare-and-delete; cluster level 2).
//   DELETE /kv?prefix=P     deletes every key that starts with P (P empty:
//   DELETE /kv?start=A&end=B  every key), or the keys in [A, B) (no end: to
//                           the last), in one log entry (cluster level 2):
//                           200 {"result":"ok","deleted":N}. Never the system
//                           keys. 400 bad_range for any other parameter or
//                           an empty range.
//   POST   /txn             a transaction (kv_txn.hpp; cluster level 2), body
//                           {"compare":[{"key":"k","value":"v"} |
//                           {"key":"k","absent":true} | {"key":"k",
//                           "present":true}, ...], "success":[op, ...],
//                           "failure":[op, ...]} (each list optional, at most
//                           128), op one of {"op":"put","key":"k","value":"v"},
//                           {"op":"delete","key":"k"}, {"op":"get","key":"k"},
//                           {"op":"delete_range","prefix":"p"} or
//                           {"op":"delete_range","start":"a","end":"b"}; any
//                           key or value may be "<field>_base64" instead. If
//                           every compare holds the success operations run,
//                           in order, else the failure ones, all in one log
//                           entry: 200 {"succeeded":true|false,"results":[{},
//                           {"deleted":1},{"found":true,"value":"v"},
//                           {"found":false},...]}, one per operation run (a
//                           get past 4 MiB of values in all: {"found":true,
//                           "too_large":true,"size":N}, GET it alone).
//                           400 bad_body for anything else (a write of a
//                           system key included).
//   (Commands of a level the cluster has not reached, kv_levels.hpp: 409
//   {"error":"level_too_low"}, nothing written. Keys that begin with the byte
//   0xff are raftlite-kv's own, the system keys: readable, and any write of
//   one gets 400 {"error":"reserved_key"}.)
//   GET    /kv?prefix=P     the entries whose keys start with P (P empty or
//                           absent: every key but the system keys, which
//                           only a range that starts at 0xff lists), in
//                           byte order of the keys:
//                           200 {"entries":[{"key":"k","value":"v"},...],
//                           "more":false} ("key_base64"/"value_base64" for
//                           bytes that are not UTF-8: json_bytes.hpp).
//   GET    /kv?start=A&end=B  the same for keys in [A, B) (either bound may
//                           be left out). Both forms take after=K (only keys
//                           above K: the next page after a page that ended
//                           at K with "more":true), limit=N (entries per
//                           page, 1..10000, default 1000; a page also stops
//                           after about 4 MiB of keys and values),
//                           keys_only=1 (no values) and stale=1 (from this
//                           peer's own state, as ?stale=1 on a key). Without
//                           stale a range is linearizable like a GET (a read
//                           index, in every read_mode; never through the
//                           log). 400 bad_range for an unknown, repeated or
//                           malformed parameter; 404 without a range callback.
//                           Each answer has "index": the last log entry the
//                           state read reflects. count_only=1 (with prefix,
//                           start, end, stale only): 200 {"count":N,"index":I}.
//   GET    /kv?prefix=P&watch=1&since=I   (or start/end instead of prefix)
//                           the changes to keys in the range made by log
//                           entries after I, as soon as there is one:
//                           200 {"events":[{"index":i,"key":"k","type":"put",
//                           "value":"v"}, {"index":j,"key":"k","type":
//                           "delete"}],"index":n}; after timeout_ms (default
//                           30000, at most 300000) with none, "events":[].
//                           Watch again with since=n. Without since: changes
//                           after this peer's state now. A range read's
//                           "index" as since misses no change (entries have
//                           the same index on every peer). limit= and
//                           keys_only= as for a range. 410 {"error":
//                           "history_gone","index":n} when changes after I
//                           are no longer kept ([kv] watch_history_bytes, or
//                           a restart): read the range again. 404 without a
//                           watch callback (watch_history_bytes = 0).
//   GET    /kv/<key>?stale=1  the value in this peer's own state, not through
//                           the log: not linearizable (it may be behind the
//                           cluster), answered even without a leader. 200 body
//                           = the value; 404 {"error":"not_found"} (404
//                           no_such_route without a local read callback)
//   GET    /status          200 the status callback's JSON
//   GET    /metrics         200 the metrics callback's text (Prometheus
//                           exposition format); 404 without a callback
//   GET    /                200 the status page (text/html, status_page.hpp)
//   GET    /health          200 {"health":true} when this peer can serve a
//                           linearizable read now (the health callback got a
//                           read index confirmed by a majority, and applied it);
//                           503 {"health":false,"error":"<token>","message":...}
//                           otherwise (no leader, no majority, stopping);
//                           404 without a health callback
//   GET    /members         the cluster's membership as this peer knows it
//   POST   /members         add a learner: {"id":N,"raft":"host:port","kv":"host:port"}
//   POST   /members/<id>/promote, POST /members/<id>/demote, DELETE /members/<id>
//                           membership changes, answered by the admin
//                           callback (kv_admin.hpp has the answers and
//                           their status codes); 404 without one
//   POST   /session         opens a client session (through the log):
//                           200 {"client_id": N}
//   DELETE /session/<id>    closes it: 200 {"result":"ok"};
//                           410 {"error":"session_expired"} when it is not open
//
// Client sessions make a write exactly-once (Raft thesis §6.3; kv_store.hpp).
// "X-Client-Id: <id>" and "X-Client-Seq: <n>" (decimal u64s above 0, both or
// neither; 400 bad_session otherwise) on PUT, DELETE, POST ?cas or a GET
// through the log put the command in session <id> as its n-th command. The
// client numbers its commands upwards and sends a retry with the same n: a
// command already applied is not applied again, and the retry is answered
// with the original result. Errors of a command with a session:
//   410 {"error":"session_expired"}  the session is not open (never opened,
//                                    closed, or expired after session_expiry_s
//                                    unused, or evicted beyond max_sessions): its
//                                    commands may or may not have applied; open
//                                    a new session
//   409 {"error":"stale_request"}    a later command of the session was
//                                    applied already; this one's result is gone
// A command without the headers is applied each time it is committed: a
// retry after a lost answer may apply it twice.
//
// "X-Request-Id: <decimal u64>" (400 bad_request_id when malformed) is for
// tracing only: every response to that request carries the same header back.
// It plays no part in matching a committed command to the request waiting
// for it (the peer does that by the command's origin: its own node id and a
// request number of its own, kv_command.hpp), so clients choosing the same
// id, on one peer or several, each get their own answer.
//
// Errors have a JSON body {"error": "<token>", "message": "<text>"}:
//   submit not_leader                 503 (any peer forwards to the leader, so
//                                     this means no leader is known or reachable)
//   submit busy                       429 (Retry-After: 1)
//   submit timed_out                  504
//   submit any other error            503
//   submit no_space                   507: the write would grow the state past
//                                     the space guard (kv_space.hpp: [kv]
//                                     quota_bytes, a peer's disk); nothing
//                                     written. Deletes and reads still work.
//   (503 and 504 leave the outcome unknown: the command may still apply.
//   Retry it with the same X-Client-Id/X-Client-Seq to make that safe.)
//   bad request / bad key / bad JSON  400     unknown path 404     wrong method 405
//   body over the limit               413     headers over the limit 431
//   too many connections              503 {"error":"too_many_connections"}, then close
// A connection that sends nothing, or sends its request too slowly (slow
// loris), is closed when idle_timeout expires: the whole request must arrive
// within it. Error responses that end the connection drain what the client is
// still sending before closing, so the client reads the response instead of a
// connection reset.
//
// HTTPS: with tls_cert_file set the port speaks TLS 1.2+ only (plaintext gets
// no answer: the TLS handshake fails and the connection is closed, logged);
// with client_ca_file set too, a client must present a certificate that CA
// signed. The TLS handshake counts against
// idle_timeout like the request itself.
#ifndef RAFTLITE_KV_HTTP_SERVER_HPP
#define RAFTLITE_KV_HTTP_SERVER_HPP

#include "change_history.hpp"
#include "http_routes.hpp"
#include "kv_store.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace raftlite::kv {

/// What the node reports back for a submitted command.
struct http_result {
    /// Empty: the command was applied and `result` is its result. Otherwise a
    /// raftlite::errc (not_leader, busy, timed_out, stopped, ...) or any
    /// other error; `result` is then ignored.
    boost::system::error_code error;
    kv_result result;
};

/// Called once per command with the completion to call exactly once (later
/// calls are ignored). The command's origin is left 0 for the callee to set. It may be called from any thread, or from inside submit.
using submit_fn =
    std::function<void(kv_command cmd, std::function<void(http_result)> complete)>;
/// Returns the JSON text served at GET /status (called on a server thread).
using status_fn = std::function<std::string()>;
/// The value of a key in the local state (GET /kv/<key>?stale=1), called on a
/// server thread; nullopt: absent.
using local_read_fn = std::function<std::optional<std::string>(const std::string& key)>;

/// The answer to an admin request (/members, admin_route): its status, its
/// JSON body and any extra headers (Retry-After).
struct admin_reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};
/// Called once per admin request with the completion to call exactly once
/// (later calls are ignored), from any thread.
using admin_fn = std::function<void(admin_route request, std::function<void(admin_reply)> complete)>;

/// Called once per GET /health with the completion to call exactly once
/// (later calls are ignored), from any thread: no error when this peer can
/// serve a linearizable read now, else why not.
using health_fn = std::function<void(std::function<void(boost::system::error_code)> complete)>;

/// A range read's outcome: no error and the entries, or why not (the errors
/// of a GET: not_leader, timed_out, stopped, ...).
struct range_result {
    boost::system::error_code error;
    kv_range range;
    index_t index = 0;   ///< the last log entry the state read reflects (a watch's since)
    std::optional<std::size_t> count = std::nullopt;   ///< count_only: how many keys the range holds
};

/// A watch's outcome: the changes (oldest first), or `gone` when some changes
/// after its since are no longer kept; `index` is the since of the next
/// watch (the last change's index, or the peer's index when there are none),
/// or with `gone` the peer's index now.
struct watch_result {
    boost::system::error_code error;
    bool gone = false;
    std::vector<kv_event> events;
    index_t index = 0;
};
/// Called once per watch (GET /kv?...&watch=1) with the completion to call
/// exactly once (later calls are ignored), from any thread.
using watch_fn = std::function<void(watch_route request, std::function<void(watch_result)> complete)>;
/// Called once per range read (GET /kv?...) with the completion to call
/// exactly once (later calls are ignored), from any thread. A request
/// without `stale` must be answered linearizably, as a GET is.
using range_fn = std::function<void(range_route request, std::function<void(range_result)> complete)>;

/// What the server calls to answer. `submit` and `status` are required; a
/// route whose optional handler is empty answers 404 no_such_route.
struct http_handlers {
    submit_fn submit{};          ///< the kv commands (PUT, DELETE, cas, GET, sessions)
    status_fn status{};          ///< GET /status
    status_fn metrics{};         ///< GET /metrics (optional)
    local_read_fn local_read{};  ///< GET /kv/<key>?stale=1 (optional)
    admin_fn admin{};            ///< the membership routes (optional)
    health_fn health{};          ///< GET /health (optional)
    range_fn range{};            ///< GET /kv?prefix=... (optional)
    watch_fn watch{};            ///< GET /kv?prefix=...&watch=1 (optional)
};

/// The server's settings; a kv peer reads them from [kv] (kv_config.hpp).
struct http_server_options {
    std::string address = "127.0.0.1";       ///< address to listen on
    std::uint16_t port = 0;                  ///< 0: any free port (see http_server::port())
    std::size_t body_limit = 1u << 20;       ///< larger bodies get 413
    std::size_t header_limit = 8u << 10;     ///< larger header blocks get 431
    std::chrono::milliseconds idle_timeout{30000};
    std::size_t max_connections = 256;       ///< further connections get 503
    std::string tls_cert_file;               ///< PEM; set: HTTPS with this certificate (chain)
    std::string tls_key_file;                ///< PEM: its private key (required with tls_cert_file)
    std::string client_ca_file;              ///< PEM; set: clients must present a certificate it signed
    /// The io_context is run by one thread: sessions run on it directly
    /// instead of on a strand each (a strand costs a lock and an indirection
    /// on every handler, measurable per request under load). Leave false
    /// when more than one thread runs it.
    bool one_thread = false;
};

class http_server {
public:
    /// The server runs its work on `ioc` (run by one or more threads) and
    /// answers through `handlers` (a route whose handler is empty gets 404).
    http_server(boost::asio::io_context& ioc, http_server_options options, http_handlers handlers);
    /// Stops (see stop()).
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Loads the TLS files (if any), binds and starts accepting. Throws
    /// boost::system::system_error (e.g. address in use, a TLS file that
    /// cannot be used: what() names it).
    void start();

    /// The port listened on (after start(); useful with port 0).
    std::uint16_t port() const noexcept;

    /// Stops accepting and closes every connection. Completions arriving
    /// later are dropped. Safe to call more than once, from any thread.
    void stop();

    /// Connections open now (those counted against max_connections).
    std::size_t connections() const noexcept;

    struct state;

private:
    boost::asio::io_context& ioc_;
    std::shared_ptr<state> state_;
    std::uint16_t port_ = 0;
};

} // namespace raftlite::kv

#endif
