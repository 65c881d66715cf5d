// kvctl — a small client for a raftlite-kv cluster.
//
//   kvctl --cluster conf/local put k v
//   kvctl --cluster conf/local get k
//   kvctl --cluster conf/local delete k
//   kvctl --cluster conf/local cas k old new      (old "" with --absent: create if absent)
//   kvctl --cluster conf/local cas-delete k old   (deletes k only if it holds old)
//   kvctl --cluster conf/local delete-prefix P    (every key that starts with P)
//   kvctl --cluster conf/local delete-range A B   (the keys from A up to, not including, B)
//   kvctl --cluster conf/local txn '{"compare":[...],"success":[...],"failure":[...]}'
//                                                 (or the JSON on standard input)
//   kvctl --cluster conf/local list [PREFIX]      (--keys-only, --limit N)
//   kvctl --cluster conf/local watch [PREFIX]     (--since I, --count N)
//   kvctl --cluster conf/local count [PREFIX]     (how many keys, linearizable)
//   kvctl --cluster conf/local status
//   kvctl --cluster conf/local health             (exit 0: every peer healthy)
//   kvctl --cluster conf/local members
//   kvctl --cluster conf/local add-learner 4 127.0.0.1:7104 127.0.0.1:8104
//   kvctl --cluster conf/local promote 4 | demote 4 | remove 1 | transfer-leader 3
//   kvctl --cluster conf/tls --tls-ca data/tls/ca.pem
//         --tls-cert data/tls/kvctl.pem --tls-key data/tls/kvctl.key get k   (one line)
//
// The cluster is the directory of the peers' config files: kvctl reads each
// file's [node] id and [kv] listen address. Any peer serves any request (a
// follower forwards writes to the leader and asks it for a read index for
// reads), so kvctl asks one and moves on to the next peer when one is down,
// has no leader yet or times out, until --timeout.
//
// list prints the entries whose keys start with PREFIX (every entry without
// one) in key order, one per line: the key, a tab and the value, or the key
// alone with --keys-only; at most --limit of them (0: all). It reads them in
// pages of up to 1000 (GET /kv?prefix=P&after=K): each page is linearizable,
// the listing as a whole is not one snapshot when writes go on meanwhile.
// With --verbose it says the first page's log index on standard error: a
// watch --since that index misses no change made after the listing began.
//
// watch prints every change to keys starting with PREFIX made by log entries
// after --since (a range's index; without it, from when the watch starts),
// one line each as it is applied: the entry's index, "put" or "delete", the
// key, and for a put the value, separated by tabs. It long-polls GET
// /kv?prefix=P&watch=1&since=I, on another peer when one goes away (every
// peer numbers changes alike, so nothing is missed or repeated), until
// --count changes were printed (0: until stopped). Exit status 1 when the
// changes after --since are no longer kept (list again, watch from its index),
// or when no peer answers a poll within --timeout (beyond the poll's own 20 s).
//
// cas-delete, delete-prefix and delete-range need the cluster's feature level
// 2 (every member runs a raftlite-kv that applies them; status shows the
// level): before that they fail with level_too_low and change nothing.
// delete-prefix and delete-range print how many keys they deleted; neither
// touches the system keys (those that begin with the byte 0xff). txn sends a
// transaction (POST /txn, its JSON as apps/kv/http_server.hpp describes) and
// prints the answer, {"succeeded":...,"results":[...]}; exit status 0 when
// its compares held, 4 when they did not (the failure branch ran).
//
// Writes are exactly-once (Raft thesis §6.3): before put, delete or cas kvctl
// opens a client session (POST /session) and sends the write as command 1 of
// it (X-Client-Id, X-Client-Seq). A retry after an unknown outcome (503, 504,
// a lost connection, an attempt over --attempt-timeout-ms) sends the same
// (client id, seq) to the next peer, so a write that did commit is not
// applied again and the retry gets its original answer. At the end kvctl
// closes the session (best effort: one that is left open expires).
// --client-id N --seq N sends the command in an existing session instead
// (scripts and tests continuing a session; kvctl neither opens nor closes it);
// --no-session sends writes without one, as older kvctl did (a retry may then
// apply a write twice).
//
// Exit status: 0 done, 3 no such key, 4 cas failed, 2 a bad command line, 1
// any other failure (507 no_space among them: the cluster refused to grow its
// state, kv_space.hpp; it is reported at once, not retried). Standard output carries only what was asked for (a
// value, OK, the tables); messages go to standard error.
//
// Membership (members, add-learner, promote, demote, remove; the admin API
// of kv_admin.hpp): kvctl asks the peers for GET /members until one names a
// leader, learning every member's kv address from the answer (a member added
// with add-learner carries it; one from the config files is found in the
// config directory), and sends the change to the leader. It follows a
// not_leader answer to the leader it names and retries busy, not_caught_up,
// unknown outcomes (asking again is safe) and unreachable peers, at most
// --attempts times within --timeout, printing one line per step. Exit status
// 1 with the error on stderr when it fails.
//
// A peer whose [kv] section has tls_cert serves HTTPS: kvctl then needs
// --tls-ca (the CA that signed the server's certificate, which must name the
// host kvctl connects to), and --tls-cert/--tls-key when the peer demands a
// client certificate ([kv] client_ca).
#include "../command_line.hpp"
#include "json_bytes.hpp"
#include "kv_config.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace po = boost::program_options;
namespace http = boost::beast::http;
namespace json = boost::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct peer {
    raftlite::node_id id = 0;
    std::string host;
    std::string port;
    bool https = false;   ///< [kv] tls_cert is set
};

/// HTTPS settings (--tls-*); null without --tls-ca.
std::unique_ptr<asio::ssl::context> tls_context;
/// Why the last request failed, for --verbose.
std::string last_error;

struct response {
    unsigned status = 0;
    std::string body;
};

using headers = std::vector<std::pair<std::string, std::string>>;

std::map<raftlite::node_id, peer> read_cluster(const std::filesystem::path& dir) {
    std::map<raftlite::node_id, peer> peers;
    if (!std::filesystem::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (f.path().extension() != ".ini") continue;
        std::optional<raftlite::kv::kv_settings> kv;
        const auto cfg = raftlite::load_config(f.path(), {raftlite::kv::kv_section(kv, false)});
        if (!kv) continue;
        const auto id = cfg.node.core.self;
        peers[id] = {id, kv->http.address, std::to_string(kv->http.port), raftlite::kv::serves_https(kv->http)};
    }
    if (peers.empty()) throw std::runtime_error(dir.string() + ": no peer config with a [kv] section");
    return peers;
}

std::string percent_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// Runs one asynchronous operation on `ioc` to its end; throws its error.
// Asynchronous because a tcp_stream's deadline (expires_after) bounds only
// asynchronous operations: a synchronous read from a peer that stopped
// answering (SIGSTOP, a partition) would wait forever, and --attempt-timeout-ms
// is what lets kvctl move on to the next peer with the same request.
template <class Initiate>
void complete(asio::io_context& ioc, const char* what, Initiate initiate) {
    boost::system::error_code result = asio::error::would_block;
    initiate([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    // (The message alone: boost::system::system_error::what() also names the
    // Asio source line, which tells a user nothing.)
    if (result) throw std::runtime_error(std::string(what) + ": " + result.message());
}

// One request and its response on a connected stream (plain or TLS);
// `tcp` is the layer that carries the timeouts.
template <class Stream>
std::optional<response> exchange(asio::io_context& ioc, Stream& stream, boost::beast::tcp_stream& tcp,
                                 const std::string& host, http::verb verb, const std::string& target,
                                 const std::string& body, const headers& extra, std::chrono::milliseconds timeout) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "kvctl");
    for (const auto& [name, value] : extra) req.set(name, value);
    if (!body.empty() || verb == http::verb::put || verb == http::verb::post) {
        req.body() = body;
        req.prepare_payload();
    }
    tcp.expires_after(timeout);
    complete(ioc, "sending the request", [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    tcp.expires_after(timeout);
    complete(ioc, "reading the response",
             [&](auto handler) { http::async_read(stream, buf, res, std::move(handler)); });
    response r;
    r.status = res.result_int();
    r.body = res.body();
    boost::system::error_code ec;
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return r;
}

std::optional<response> request(const peer& p, http::verb verb, const std::string& target,
                                 const std::string& body, std::chrono::milliseconds timeout, const headers& extra = {}) {
    const std::string& host = p.host;
    try {
        asio::io_context ioc;
        boost::beast::tcp_stream tcp(ioc);
        asio::ip::tcp::resolver resolver(ioc);
        const auto endpoints = resolver.resolve(host, p.port);
        tcp.expires_after(timeout);
        complete(ioc, "connecting", [&](auto handler) { tcp.async_connect(endpoints, std::move(handler)); });
        if (!p.https)
            return exchange(ioc, tcp, tcp, host, verb, target, body, extra, timeout);
        if (!tls_context)
            throw std::runtime_error("serves HTTPS: pass --tls-ca");
        asio::ssl::stream<boost::beast::tcp_stream&> tls(tcp, *tls_context);
        // The server's certificate must name the host we asked for.
        tls.set_verify_callback(asio::ssl::host_name_verification(host));
        boost::system::error_code not_an_ip;
        asio::ip::make_address(host, not_an_ip);
        if (not_an_ip)
            SSL_set_tlsext_host_name(tls.native_handle(), host.c_str()); // SNI: names only
        tcp.expires_after(timeout);
        complete(ioc, "TLS handshake",
                 [&](auto handler) { tls.async_handshake(asio::ssl::stream_base::client, std::move(handler)); });
        return exchange(ioc, tls, tcp, host, verb, target, body, extra, timeout);
    } catch (const std::exception& e) {
        last_error = e.what();
        return std::nullopt;
    }
}

/// Where and how call() sends a request.
struct call_options {
    std::optional<raftlite::node_id> only;   ///< ask only this peer
    std::chrono::milliseconds timeout;       ///< give up after this long
    std::chrono::milliseconds attempt;       ///< one attempt's limit
    bool verbose = false;
};

/// Sends one request to the cluster, retrying it unchanged on other peers
/// until a definitive answer (2xx, 4xx, and 507 no_space: the cluster refused
/// to grow its state, which retrying soon will not change) or the deadline. With a session's
/// headers a retry is safe even when an earlier attempt committed.
std::optional<response> call(const std::map<raftlite::node_id, peer>& peers, const call_options& o,
                             http::verb verb, const std::string& target, const std::string& body,
                             const headers& extra = {}) {
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    std::vector<peer> order;
    for (const auto& [id, p] : peers)
        if (!o.only || *o.only == id) order.push_back(p);
    if (order.empty()) return std::nullopt;
    std::size_t next = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        const peer& p = order[next++ % order.size()];
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto r = request(p, verb, target, body, std::max(std::chrono::milliseconds(1), std::min(o.attempt, left)), extra);
        if (r && (r->status < 500 || r->status == 507)) return r;
        if (o.verbose)
            std::cerr << "kvctl: n" << p.id << ": "
                      << (r ? std::to_string(r->status) + " " + r->body : "unreachable: " + last_error)
                      << "; retrying\n";
        std::this_thread::sleep_for(100ms);   // back off before asking again
    }
    return std::nullopt;
}

/// The "error" token of an error response's JSON body ("" when there is none).
std::string error_token(const response& r) {
    boost::system::error_code ec;
    const auto v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return {};
    const auto* e = v.as_object().if_contains("error");
    return e && e->is_string() ? std::string(e->get_string()) : std::string();
}

/// Opens a client session: its id, or nullopt (and why on stderr).
std::optional<std::uint64_t> open_session(const std::map<raftlite::node_id, peer>& peers, const call_options& o) {
    auto r = call(peers, o, http::verb::post, "/session", "");
    if (!r || r->status != 200) {
        std::cerr << "kvctl: cannot open a client session: "
                  << (r ? std::to_string(r->status) + " " + r->body : "no answer within the timeout") << "\n";
        return std::nullopt;
    }
    try {
        return json::parse(r->body).as_object().at("client_id").to_number<std::uint64_t>();
    } catch (const std::exception& e) {
        std::cerr << "kvctl: POST /session answered " << r->body << ": " << e.what() << "\n";
        return std::nullopt;
    }
}

/// Closes a session kvctl opened; best effort (a session left open expires).
void close_session(const std::map<raftlite::node_id, peer>& peers, call_options o, std::uint64_t id) {
    o.timeout = std::min(o.timeout, std::chrono::milliseconds(2000));
    auto r = call(peers, o, http::verb::delete_, "/session/" + std::to_string(id), "");
    if (o.verbose && (!r || r->status != 200))
        std::cerr << "kvctl: closing session " << id << ": "
                  << (r ? std::to_string(r->status) + " " + r->body : "no answer") << " (it will expire)\n";
}

// One peer's /status, the columns kvctl status prints.
struct peer_row {
    raftlite::node_id id = 0;
    std::string error;   ///< set: unreachable or a bad answer, and why
    std::string role;
    std::uint64_t term = 0, leader = 0, commit = 0, applied = 0, last = 0, keys = 0;
    // "-" from a peer older than snapshots.
    std::string snapshot = "-", log_start = "-", held = "-";
    std::string digest;
    std::string level = "-";   ///< "cluster/reported" feature levels; "-" from a peer older than levels
    std::map<raftlite::node_id, std::uint64_t> lag;   ///< the leader's view of each follower
};

peer_row read_status(const peer& p) {
    peer_row row;
    row.id = p.id;
    auto r = request(p, http::verb::get, "/status", "", 2s, {});
    if (!r) {
        row.error = "unreachable: " + last_error;
        return row;
    }
    if (r->status != 200) {
        row.error = "HTTP " + std::to_string(r->status);
        return row;
    }
    try {
        const auto v = json::parse(r->body).as_object();
        auto u64 = [&](const char* key) { return v.at(key).to_number<std::uint64_t>(); };
        row.role = json::value_to<std::string>(v.at("role"));
        row.term = u64("term");
        row.leader = u64("leader");
        row.commit = u64("commit_index");
        row.applied = u64("applied_index");
        row.last = u64("last_log_index");
        row.keys = u64("keys");
        row.digest = json::value_to<std::string>(v.at("digest"));
        if (v.contains("snapshot_index")) row.snapshot = std::to_string(u64("snapshot_index"));
        if (v.contains("log_start")) row.log_start = std::to_string(u64("log_start"));
        if (v.contains("log_entries")) row.held = std::to_string(u64("log_entries"));
        if (const auto* level = v.if_contains("level"))
            row.level = std::to_string(level->at("cluster").to_number<unsigned>()) + "/" +
                        std::to_string(level->at("max").to_number<unsigned>());
        // "peers" is newer than the other fields: a peer without it shows no lag.
        if (const auto* peers = v.if_contains("peers"))
            for (const auto& pv : peers->as_array()) {
                const auto& po = pv.as_object();
                if (const auto* lag = po.if_contains("lag"))
                    row.lag[po.at("id").to_number<std::uint64_t>()] = lag->to_number<std::uint64_t>();
            }
    } catch (const std::exception& e) {
        row.error = std::string("bad status: ") + e.what();
    }
    return row;
}

// One line per peer under a header; columns separated by spaces, so that
// scripts can pick fields with awk ($1 peer, $2 role, $3 term, ... $13
// digest): peer role term leader commit applied last snapshot start held lag
// keys digest level. level is the cluster's feature level and the one this
// peer reports (kv_levels.hpp), as 2/2. snapshot is the last entry the peer's snapshot covers (0:
// none), start the first entry its log holds, held how many it holds. The lag
// is the leader's (a follower's entries behind the leader's last index); "-"
// where the leader did not answer or the peer is the leader.
int print_status(const std::map<raftlite::node_id, peer>& peers, std::optional<raftlite::node_id> only) {
    std::vector<peer_row> rows;
    for (const auto& [id, p] : peers)
        if (!only || *only == id) rows.push_back(read_status(p));
    const peer_row* leader = nullptr;
    for (const peer_row& r : rows)
        if (r.error.empty() && r.role == "leader" && (!leader || r.term > leader->term)) leader = &r;
    std::printf("%-6s %-10s %6s %6s %8s %8s %8s %8s %8s %7s %6s %6s %-16s %s\n", "peer", "role", "term", "leader",
                "commit", "applied", "last", "snapshot", "start", "held", "lag", "keys", "digest", "level");
    int reachable = 0;
    for (const peer_row& r : rows) {
        const std::string name = "n" + std::to_string(r.id);
        if (!r.error.empty()) {
            std::printf("%-6s %s\n", name.c_str(), r.error.c_str());
            continue;
        }
        ++reachable;
        std::string lag = "-";
        if (leader && leader != &r)
            if (auto it = leader->lag.find(r.id); it != leader->lag.end()) lag = std::to_string(it->second);
        std::printf("%-6s %-10s %6llu %6s %8llu %8llu %8llu %8s %8s %7s %6s %6llu %-16s %s\n", name.c_str(),
                    r.role.c_str(), static_cast<unsigned long long>(r.term),
                    r.leader ? ("n" + std::to_string(r.leader)).c_str() : "-",
                    static_cast<unsigned long long>(r.commit), static_cast<unsigned long long>(r.applied),
                    static_cast<unsigned long long>(r.last), r.snapshot.c_str(), r.log_start.c_str(),
                    r.held.c_str(), lag.c_str(), static_cast<unsigned long long>(r.keys), r.digest.c_str(),
                    r.level.c_str());
    }
    std::fflush(stdout);
    return reachable > 0 ? 0 : 1;
}

/// GET /health of every peer (or --node's): one line each, "healthy" or why
/// not. Exit status 0 when every peer asked is healthy, 1 otherwise: a
/// script's check before and after it restarts a peer.
int print_health(const std::map<raftlite::node_id, peer>& peers, std::optional<raftlite::node_id> only,
                 std::chrono::milliseconds timeout) {
    bool all = true;
    for (const auto& [id, p] : peers) {
        if (only && *only != id) continue;
        const std::string name = "n" + std::to_string(id);
        const auto r = request(p, http::verb::get, "/health", "", timeout, {});
        if (r && r->status == 200) {
            std::printf("%-6s healthy\n", name.c_str());
            continue;
        }
        all = false;
        if (!r) {
            std::printf("%-6s unreachable: %s\n", name.c_str(), last_error.c_str());
            continue;
        }
        std::string why = "HTTP " + std::to_string(r->status);
        boost::system::error_code ec;
        const auto v = json::parse(r->body, ec);
        if (!ec && v.is_object()) {
            const auto* error = v.as_object().if_contains("error");
            const auto* message = v.as_object().if_contains("message");
            if (error && error->is_string() && message && message->is_string())
                why = std::string(error->get_string()) + ": " + std::string(message->get_string());
        }
        std::printf("%-6s unhealthy: %s\n", name.c_str(), why.c_str());
    }
    std::fflush(stdout);
    return all ? 0 : 1;
}

// ---- membership (the admin API, kv_admin.hpp) ------------------------------

struct member_row {
    raftlite::node_id id = 0;
    bool voter = true;
    std::string raft, kv;                   ///< "" when the cluster does not know
    std::optional<std::uint64_t> match;     ///< the leader's view only
};

/// The membership as one peer reported it (GET /members).
struct cluster_view {
    raftlite::node_id asked = 0;    ///< the peer that answered
    raftlite::node_id leader = 0;   ///< 0: it knows none
    std::string leader_kv;
    std::uint64_t configuration_index = 0;
    std::vector<member_row> members;
};

std::optional<std::pair<std::string, std::string>> split_host_port(const std::string& a) {
    const auto colon = a.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return std::nullopt;
    std::string host = a.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return std::make_pair(host, a.substr(colon + 1));
}

/// Adds (or updates) a peer kvctl learned from the cluster: its kv address.
/// A peer of the config directory keeps its entry (and HTTPS setting) unless
/// the cluster names another address; a new one is reached like `like`.
void learn_peer(std::map<raftlite::node_id, peer>& peers, raftlite::node_id id, const std::string& kv, bool https) {
    auto hp = split_host_port(kv);
    if (!hp || id == 0) return;
    auto& p = peers[id];
    if (p.id == id && p.host == hp->first && p.port == hp->second) return;
    if (p.id != id) p.https = https;
    p.id = id;
    p.host = hp->first;
    p.port = hp->second;
}

std::optional<cluster_view> parse_members(const peer& from, const response& r) {
    if (r.status != 200) return std::nullopt;
    try {
        const auto v = json::parse(r.body).as_object();
        cluster_view view;
        view.asked = from.id;
        view.leader = v.at("leader").to_number<std::uint64_t>();
        if (const auto* lk = v.if_contains("leader_kv"); lk && lk->is_string()) view.leader_kv = lk->get_string();
        view.configuration_index = v.at("configuration_index").to_number<std::uint64_t>();
        for (const auto& mv : v.at("members").as_array()) {
            const auto& mo = mv.as_object();
            member_row m;
            m.id = mo.at("id").to_number<std::uint64_t>();
            m.voter = mo.at("voter").as_bool();
            if (const auto* x = mo.if_contains("raft"); x && x->is_string()) m.raft = x->get_string();
            if (const auto* x = mo.if_contains("kv"); x && x->is_string()) m.kv = x->get_string();
            if (const auto* x = mo.if_contains("match_index")) m.match = x->to_number<std::uint64_t>();
            view.members.push_back(std::move(m));
        }
        return view;
    } catch (const std::exception& e) {
        last_error = std::string("bad GET /members answer: ") + e.what();
        return std::nullopt;
    }
}

/// Asks the peers (those kvctl knows, and those it learns on the way) for
/// the membership until one knows a leader kvctl can reach; then asks the
/// leader itself (its view has the match indexes). Learns every member's kv
/// address. nullopt when no peer answered at all.
std::optional<cluster_view> discover(std::map<raftlite::node_id, peer>& peers, const call_options& o) {
    const auto attempt = std::min(o.attempt, std::chrono::milliseconds(2000));
    std::optional<cluster_view> best;
    std::set<raftlite::node_id> asked;
    for (;;) {
        // Next: the leader a peer named, else the first peer not asked yet.
        raftlite::node_id next = 0;
        if (best && best->leader != 0 && peers.count(best->leader) && !asked.count(best->leader) &&
            (!o.only || *o.only == best->leader))
            next = best->leader;
        for (auto it = peers.begin(); next == 0 && it != peers.end(); ++it)
            if (!asked.count(it->first) && (!o.only || *o.only == it->first)) next = it->first;
        if (next == 0) return best;
        asked.insert(next);
        const peer p = peers.at(next);
        auto r = request(p, http::verb::get, "/members", "", attempt);
        std::optional<cluster_view> view;
        if (r) view = parse_members(p, *r);
        if (!view) {
            if (o.verbose)
                std::cerr << "kvctl: n" << next << ": "
                          << (r ? std::to_string(r->status) + " " + r->body : "unreachable: " + last_error) << "\n";
            continue;
        }
        for (const auto& m : view->members)
            if (!m.kv.empty()) learn_peer(peers, m.id, m.kv, p.https);
        if (view->leader != 0 && !view->leader_kv.empty()) learn_peer(peers, view->leader, view->leader_kv, p.https);
        if (!best || (view->leader != 0 && best->leader == 0) || view->leader == view->asked) best = view;
        if (best->leader != 0 && best->leader == best->asked) return best;   // the leader's own view
    }
}

std::string peer_address(const peer& p) { return p.host + ":" + p.port; }

/// One line per member: member role raft kv match, for `kvctl members`
/// (role: leader, voter or learner; "-" where unknown).
int print_members(std::map<raftlite::node_id, peer>& peers, const call_options& o) {
    auto view = discover(peers, o);
    if (!view) {
        std::cerr << "kvctl: no peer answered GET /members: " << last_error << "\n";
        return 1;
    }
    std::printf("configuration %llu, leader %s (as n%llu reports it)\n",
                static_cast<unsigned long long>(view->configuration_index),
                view->leader ? ("n" + std::to_string(view->leader)).c_str() : "unknown",
                static_cast<unsigned long long>(view->asked));
    std::printf("%-6s %-8s %-24s %-24s %s\n", "member", "role", "raft", "kv", "match");
    for (const auto& m : view->members) {
        const std::string name = "n" + std::to_string(m.id);
        const char* role = !m.voter ? "learner" : m.id == view->leader ? "leader" : "voter";
        std::string kv = m.kv;
        if (kv.empty())
            if (auto it = peers.find(m.id); it != peers.end()) kv = peer_address(it->second) + " (config)";
        std::printf("%-6s %-8s %-24s %-24s %s\n", name.c_str(), role, m.raft.empty() ? "-" : m.raft.c_str(),
                    kv.empty() ? "-" : kv.c_str(), m.match ? std::to_string(*m.match).c_str() : "-");
    }
    std::fflush(stdout);
    return 0;
}

/// Sends a membership change to the leader, as the cluster names it, and
/// retries on not_leader (to the leader the answer names), busy,
/// not_caught_up, an unknown outcome (asking again is safe) and unreachable
/// peers, at most `attempts` times and within --timeout. One line per step
/// on stdout; the error on stderr and exit status 1 on failure.
int change_membership(std::map<raftlite::node_id, peer>& peers, const call_options& o, int attempts,
                      const std::string& what, http::verb verb, const std::string& target, const std::string& body) {
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    raftlite::node_id leader = 0;
    std::string last = "no attempt";
    auto say = [](const std::string& line) {
        std::cout << "kvctl: " << line << std::endl;
    };
    for (int attempt = 1; attempt <= attempts && std::chrono::steady_clock::now() < deadline; ++attempt) {
        if (attempt > 1) std::this_thread::sleep_for(std::min(200ms * attempt, std::chrono::milliseconds(1000)));
        if (leader == 0 || !peers.count(leader)) {
            auto view = discover(peers, o);
            if (!view) {
                last = "no peer answered: " + last_error;
                say(what + ": " + last + "; retrying");
                continue;
            }
            if (view->leader == 0) {
                last = "no leader known (n" + std::to_string(view->asked) + " knows none)";
                say(what + ": " + last + "; retrying");
                continue;
            }
            leader = view->leader;
            if (!peers.count(leader)) {
                last = "the leader n" + std::to_string(leader) + " has no kv address kvctl knows";
                say(what + ": " + last + "; retrying");
                leader = 0;
                continue;
            }
        }
        const peer& p = peers.at(leader);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto r = request(p, verb, target, body, std::max(std::chrono::milliseconds(1), std::min(o.attempt, left)));
        const std::string at = "n" + std::to_string(leader) + " (" + peer_address(p) + ")";
        if (!r) {
            last = at + " unreachable: " + last_error;
            say(what + ": " + last + "; asking the cluster for the leader again");
            leader = 0;
            continue;
        }
        const std::string token = error_token(*r);
        std::string message;
        {
            boost::system::error_code ec;
            const auto v = json::parse(r->body, ec);
            if (!ec && v.is_object())
                if (const auto* m = v.as_object().if_contains("message"); m && m->is_string()) message = m->get_string();
        }
        if (r->status == 200) {
            std::string index;
            boost::system::error_code ec;
            const auto v = json::parse(r->body, ec);
            if (!ec && v.is_object())
                if (const auto* i = v.as_object().if_contains("index")) index = json::serialize(*i);
            say(what + ": OK at the leader " + at +
                (index.empty() || index == "0" ? ", nothing to change" : ", configuration entry " + index));
            return 0;
        }
        last = at + ": " + std::to_string(r->status) + " " + (token.empty() ? r->body : token + ": " + message);
        if (r->status == 503 && token == "not_leader") {
            leader = 0;
            boost::system::error_code ec;
            const auto v = json::parse(r->body, ec);
            if (!ec && v.is_object()) {
                const auto& obj = v.as_object();
                raftlite::node_id named = 0;
                if (const auto* l = obj.if_contains("leader"); l && l->is_number()) named = l->to_number<std::uint64_t>();
                if (const auto* lk = obj.if_contains("leader_kv"); named && lk && lk->is_string())
                    learn_peer(peers, named, std::string(lk->get_string()), p.https);
                if (named && peers.count(named)) leader = named;
            }
            say(what + ": " + last + "; " +
                (leader ? "sending it to n" + std::to_string(leader) : std::string("asking the cluster again")));
            continue;
        }
        if ((r->status == 409 && (token == "busy" || token == "not_caught_up")) || r->status == 504 ||
            r->status == 503 || r->status == 429) {
            if (r->status != 409) leader = 0;   // the leader may have changed: ask again
            say(what + ": " + last + "; retrying");
            continue;
        }
        // 400 (change_rejected, bad input), 404, 405: retrying would not help.
        std::cerr << "kvctl: " << what << " failed: " << last << "\n";
        return 1;
    }
    std::cerr << "kvctl: " << what << " failed after " << attempts << " attempt(s) or --timeout: " << last << "\n";
    return 1;
}

// The JSON object of a 200 answer; nullopt, with why on standard error, for
// no answer, another status, or a body that is not a JSON object.
std::optional<json::object> json_object_of(const std::optional<response>& r, const char* what,
                                           std::chrono::milliseconds timeout) {
    if (!r) {
        std::cerr << "kvctl: " << what << ": no answer from the cluster within " << timeout.count() << " ms\n";
        return std::nullopt;
    }
    if (r->status != 200) {
        std::cerr << "kvctl: " << what << ": " << r->status << " " << r->body << "\n";
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::value v = json::parse(r->body, ec);
    if (ec || !v.is_object()) {
        std::cerr << "kvctl: " << what << ": unexpected answer: " << r->body << "\n";
        return std::nullopt;
    }
    return std::move(v.as_object());
}

// kvctl list: pages of GET /kv?prefix=P, each continuing after the last key
// of the one before, until a page says no more entries follow.
// count: GET /kv?prefix=P&count_only=1, the number on standard output.
int count_keys(const std::map<raftlite::node_id, peer>& peers, const call_options& o, const std::string& prefix) {
    const auto answer = json_object_of(
        call(peers, o, http::verb::get, "/kv?prefix=" + percent_encode(prefix) + "&count_only=1", ""), "count",
        o.timeout);
    if (!answer) return 1;
    const json::value* count = answer->if_contains("count");
    if (!count || !count->is_number()) {
        std::cerr << "kvctl: count: unexpected answer: " << json::serialize(*answer) << "\n";
        return 1;
    }
    std::cout << count->to_number<std::uint64_t>() << "\n";
    return 0;
}

int list(const std::map<raftlite::node_id, peer>& peers, const call_options& o, const std::string& prefix,
         std::uint64_t limit, bool keys_only) {
    constexpr std::uint64_t page = 1000;
    std::optional<std::string> after;
    std::uint64_t listed = 0;
    for (;;) {
        const std::uint64_t want = limit == 0 ? page : std::min(page, limit - listed);
        std::string target = "/kv?prefix=" + percent_encode(prefix) + "&limit=" + std::to_string(want);
        if (after) target += "&after=" + percent_encode(*after);
        if (keys_only) target += "&keys_only=1";
        const auto answer = json_object_of(call(peers, o, http::verb::get, target, ""), "list", o.timeout);
        if (!answer) return 1;
        const json::value* entries = answer->if_contains("entries");
        const json::value* more = answer->if_contains("more");
        const json::value* index = answer->if_contains("index");
        if (!entries || !entries->is_array() || !more || !more->is_bool() || !index || !index->is_number()) {
            std::cerr << "kvctl: list: unexpected answer: " << json::serialize(*answer) << "\n";
            return 1;
        }
        // The first page's index: a watch from it misses no change to any
        // key listed, on any page.
        if (o.verbose && !after) std::cerr << "kvctl: list: index " << index->to_number<std::uint64_t>() << "\n";
        for (const json::value& e : entries->get_array()) {
            const json::object* entry = e.if_object();
            std::optional<std::string> key = entry ? raftlite::kv::get_bytes(*entry, "key") : std::nullopt;
            std::optional<std::string> value =
                entry && !keys_only ? raftlite::kv::get_bytes(*entry, "value") : std::optional<std::string>("");
            if (!key || !value) {
                std::cerr << "kvctl: list: unexpected entry: " << json::serialize(e) << "\n";
                return 1;
            }
            std::cout << *key;
            if (!keys_only) std::cout << '\t' << *value;
            std::cout << '\n';
            after = std::move(*key);
            ++listed;
        }
        if (!more->get_bool() || (limit != 0 && listed >= limit)) return 0;
        if (entries->get_array().empty()) {
            std::cerr << "kvctl: list: a page said more entries follow but listed none\n";
            return 1;
        }
    }
}

// kvctl watch: long polls, each continuing from the index the last one gave.
int watch(const std::map<raftlite::node_id, peer>& peers, const call_options& o, const std::string& prefix,
          std::optional<std::uint64_t> since, std::uint64_t count) {
    // A poll waits up to this long on the server; the attempt allows for it.
    constexpr auto poll = 20000ms;
    call_options polling = o;
    polling.attempt = o.attempt + poll;
    polling.timeout = o.timeout + poll;
    std::uint64_t printed = 0;
    for (;;) {
        std::string target = "/kv?prefix=" + percent_encode(prefix) + "&watch=1&timeout_ms=" +
                             std::to_string(poll.count());
        if (since) target += "&since=" + std::to_string(*since);
        const std::optional<response> r = call(peers, polling, http::verb::get, target, "");
        if (r && r->status == 410) {
            std::cerr << "kvctl: watch: the changes after index " << (since ? *since : 0)
                      << " are no longer kept; list the keys again and watch from the index it gives: " << r->body
                      << "\n";
            return 1;
        }
        const auto answer = json_object_of(r, "watch", polling.timeout);
        if (!answer) return 1;
        const json::value* events = answer->if_contains("events");
        const json::value* index = answer->if_contains("index");
        if (!events || !events->is_array() || !index || !index->is_number()) {
            std::cerr << "kvctl: watch: unexpected answer: " << json::serialize(*answer) << "\n";
            return 1;
        }
        for (const json::value& e : events->get_array()) {
            const json::object* event = e.if_object();
            const json::value* at = event ? event->if_contains("index") : nullptr;
            const json::value* type = event ? event->if_contains("type") : nullptr;
            std::optional<std::string> key = event ? raftlite::kv::get_bytes(*event, "key") : std::nullopt;
            const bool put = type && type->is_string() && type->get_string() == "put";
            std::optional<std::string> value = put ? raftlite::kv::get_bytes(*event, "value") : std::nullopt;
            if (!at || !at->is_number() || !key || !type || (put && !value)) {
                std::cerr << "kvctl: watch: unexpected event: " << json::serialize(e) << "\n";
                return 1;
            }
            std::cout << at->to_number<std::uint64_t>() << '\t' << (put ? "put" : "delete") << '\t' << *key;
            if (put) std::cout << '\t' << *value;
            std::cout << std::endl;   // one line as soon as it is known
            if (count != 0 && ++printed >= count) return 0;
        }
        since = index->to_number<std::uint64_t>();
    }
}

} // namespace

int main(int argc, char** argv) {
    std::string cluster = "conf/local";
    int timeout_ms = 15000, attempt_timeout_ms = 5000;
    raftlite::node_id node = 0;
    std::uint64_t client_id = 0, seq = 0;
    bool absent = false, verbose = false, no_session = false, keys_only = false;
    std::uint64_t limit = 0, count = 0;
    std::optional<std::uint64_t> since;
    std::string tls_ca, tls_cert, tls_key;
    int attempts = 10;
    std::vector<std::string> args;
    po::options_description desc(
        "kvctl [options] put K [V] | get K | delete K | cas K OLD NEW | list [PREFIX] | watch [PREFIX] | status | "
        "health | members | "
        "add-learner ID RAFT_ADDR KV_ADDR | promote ID | demote ID | remove ID | transfer-leader ID");
    raftlite::apps::add_standard_options(desc);
    desc.add_options()
        ("cluster", po::value(&cluster)->default_value(cluster), "directory of the peers' config files")
        ("node", po::value(&node), "ask only this peer (by id)")
        ("timeout", po::value(&timeout_ms)->default_value(timeout_ms), "give up after this many ms")
        ("attempt-timeout-ms", po::value(&attempt_timeout_ms)->default_value(attempt_timeout_ms),
         "one attempt's limit; then the same request goes to the next peer")
        ("client-id", po::value(&client_id), "send the command in this existing client session (with --seq)")
        ("seq", po::value(&seq), "the command's number in the --client-id session (above its last one)")
        ("no-session", po::bool_switch(&no_session), "writes without a client session: a retry may apply twice")
        ("absent", po::bool_switch(&absent), "cas: the key must be absent (OLD is ignored)")
        ("keys-only", po::bool_switch(&keys_only), "list: the keys without their values")
        ("limit", po::value(&limit)->default_value(limit), "list: at most this many entries (0: all)")
        ("since", po::value<std::uint64_t>(), "watch: the changes after this log index (a list's index)")
        ("count", po::value(&count)->default_value(count), "watch: stop after this many changes (0: never)")
        ("verbose,v", po::bool_switch(&verbose), "say what is retried")
        ("attempts", po::value(&attempts)->default_value(attempts),
         "membership changes: how many times to send one (to the leader, again after not_leader, busy, "
         "not_caught_up, an unknown outcome), within --timeout")
        ("tls-ca", po::value(&tls_ca), "HTTPS: PEM file of the CA that signed the peers' server certificates")
        ("tls-cert", po::value(&tls_cert), "HTTPS: PEM client certificate (peers with [kv] client_ca demand one)")
        ("tls-key", po::value(&tls_key), "HTTPS: PEM private key of --tls-cert")
        ("args", po::value(&args), "command and arguments");
    po::positional_options_description pos;
    pos.add("args", -1);
    po::variables_map vm;
    if (auto status = raftlite::apps::parse_command_line("kvctl", argc, argv, desc, vm, &pos)) return *status;
    if (args.empty()) {
        std::cerr << "kvctl: no command\n" << desc << "\n";
        return 2;
    }
    std::map<raftlite::node_id, peer> peers;
    try {
        peers = read_cluster(cluster);
    } catch (const std::exception& e) {
        std::cerr << "kvctl: " << e.what() << "\n";
        return 2;
    }
    if (tls_cert.empty() != tls_key.empty()) {
        std::cerr << "kvctl: --tls-cert and --tls-key go together\n";
        return 2;
    }
    if (!tls_cert.empty() && tls_ca.empty()) {
        std::cerr << "kvctl: --tls-cert needs --tls-ca (client certificates are only sent over HTTPS)\n";
        return 2;
    }
    if (!tls_ca.empty()) {
        try {
            tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
            SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_2_VERSION);
            tls_context->set_verify_mode(asio::ssl::verify_peer);
            tls_context->load_verify_file(tls_ca);
            if (!tls_cert.empty()) {
                tls_context->use_certificate_chain_file(tls_cert);
                tls_context->use_private_key_file(tls_key, asio::ssl::context::pem);
            }
        } catch (const std::exception& e) {
            std::cerr << "kvctl: cannot use --tls-ca/--tls-cert/--tls-key files: " << e.what() << "\n";
            return 2;
        }
    }
    for (const auto& [id, p] : peers) {
        if (p.https && !tls_context) {
            std::cerr << "kvctl: n" << id << " serves HTTPS ([kv] tls_cert); pass --tls-ca\n";
            return 2;
        }
    }
    std::optional<raftlite::node_id> only;
    if (node) {
        if (!peers.count(node)) {
            std::cerr << "kvctl: no peer " << node << " in " << cluster << "\n";
            return 2;
        }
        only = node;
    }
    if ((client_id == 0) != (seq == 0)) {
        std::cerr << "kvctl: --client-id and --seq go together, both above 0\n";
        return 2;
    }
    if (client_id != 0 && no_session) {
        std::cerr << "kvctl: --no-session and --client-id exclude each other\n";
        return 2;
    }
    if (timeout_ms <= 0 || attempt_timeout_ms <= 0 || attempts <= 0) {
        std::cerr << "kvctl: --timeout, --attempt-timeout-ms and --attempts must be above 0\n";
        return 2;
    }
    const call_options opts{only, std::chrono::milliseconds(timeout_ms), std::chrono::milliseconds(attempt_timeout_ms),
                            verbose};
    const std::string& cmd = args[0];
    auto need = [&](std::size_t n) {
        if (args.size() != n + 1) {
            std::cerr << "kvctl: " << cmd << " takes " << n << " argument(s)\n";
            std::exit(2);
        }
    };
    if (cmd == "status") {
        need(0);
        return print_status(peers, only);
    }
    // list and watch: an optional prefix (none: every key).
    auto prefix = [&] {
        if (args.size() > 2) {
            std::cerr << "kvctl: " << cmd << " takes at most one argument, the prefix\n";
            std::exit(2);
        }
        return args.size() == 2 ? args[1] : std::string();
    };
    if (cmd == "list") return list(peers, opts, prefix(), limit, keys_only);
    if (cmd == "count") return count_keys(peers, opts, prefix());
    if (cmd == "watch") {
        if (vm.count("since")) since = vm["since"].as<std::uint64_t>();
        return watch(peers, opts, prefix(), since, count);
    }
    if (cmd == "health") {
        need(0);
        return print_health(peers, only, opts.attempt);
    }
    // Membership (the admin API): to the leader the cluster names.
    auto member_id = [&](const std::string& text) {
        std::uint64_t id = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (ec != std::errc() || p != text.data() + text.size() || text.empty() || id == 0) {
            std::cerr << "kvctl: " << cmd << ": the member id must be a decimal integer above 0, got '" << text << "'\n";
            std::exit(2);
        }
        return id;
    };
    if (cmd == "members") {
        need(0);
        return print_members(peers, opts);
    }
    if (cmd == "add-learner") {
        need(3);
        const auto id = member_id(args[1]);
        json::object o{{"id", id}, {"raft", args[2]}, {"kv", args[3]}};
        return change_membership(peers, opts, attempts, "add-learner n" + std::to_string(id) + " raft " + args[2] +
                                 " kv " + args[3], http::verb::post, "/members", json::serialize(o));
    }
    if (cmd == "transfer-leader") {
        need(1);
        const auto id = member_id(args[1]);
        return change_membership(peers, opts, attempts, "transfer-leader n" + std::to_string(id), http::verb::post,
                                 "/members/" + std::to_string(id) + "/transfer", "");
    }
    if (cmd == "promote" || cmd == "demote" || cmd == "remove") {
        need(1);
        const auto id = member_id(args[1]);
        const std::string what = cmd + " n" + std::to_string(id);
        if (cmd == "remove")
            return change_membership(peers, opts, attempts, what, http::verb::delete_, "/members/" + std::to_string(id), "");
        return change_membership(peers, opts, attempts, what, http::verb::post,
                                 "/members/" + std::to_string(id) + "/" + cmd, "");
    }
    http::verb verb;
    std::string target, body;
    if (cmd == "put") {
        // Without V the value is standard input, byte for byte: a value
        // larger than the system's limit on one argument (128 KiB on
        // Linux), or one with bytes a shell mangles (kvctl put k < file).
        if (args.size() == 2) {
            body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
            if (std::cin.bad()) {
                std::cerr << "kvctl: put: cannot read the value from standard input\n";
                return 1;
            }
        } else {
            if (args.size() != 3) {
                std::cerr << "kvctl: put takes K V, or K alone with the value on standard input\n";
                return 2;
            }
            body = args[2];
        }
        verb = http::verb::put;
        target = "/kv/" + percent_encode(args[1]);
    } else if (cmd == "get") {
        need(1);
        verb = http::verb::get;
        target = "/kv/" + percent_encode(args[1]);
    } else if (cmd == "delete") {
        need(1);
        verb = http::verb::delete_;
        target = "/kv/" + percent_encode(args[1]);
    } else if (cmd == "delete-prefix" || cmd == "delete-range") {
        need(cmd == "delete-prefix" ? 1 : 2);
        verb = http::verb::delete_;
        target = cmd == "delete-prefix" ? "/kv?prefix=" + percent_encode(args[1])
                                        : "/kv?start=" + percent_encode(args[1]) + "&end=" + percent_encode(args[2]);
    } else if (cmd == "txn") {
        if (args.size() > 2) {
            std::cerr << "kvctl: txn takes the transaction's JSON, or reads it from standard input\n";
            return 2;
        }
        if (args.size() == 2) {
            body = args[1];
        } else {
            body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        }
        verb = http::verb::post;
        target = "/txn";
    } else if (cmd == "cas-delete") {
        need(2);
        verb = http::verb::post;
        target = "/kv/" + percent_encode(args[1]) + "?cas";
        body = json::serialize(json::object{{"expected", args[2]}, {"value", nullptr}});
    } else if (cmd == "cas") {
        need(3);
        json::object cas;
        cas["expected"] = absent ? json::value(nullptr) : json::value(args[2]);
        cas["value"] = args[3];
        verb = http::verb::post;
        target = "/kv/" + percent_encode(args[1]) + "?cas";
        body = json::serialize(cas);
    } else {
        std::cerr << "kvctl: unknown command '" << cmd << "'\n" << desc;
        return 2;
    }
    // A write gets a session of its own unless the caller gave one (or
    // none); a get is the same whether it applies once or twice.
    bool opened = false;
    if (client_id == 0 && !no_session && cmd != "get") {
        auto id = open_session(peers, opts);
        if (!id) return 1;
        client_id = *id;
        seq = 1;
        opened = true;
    }
    headers session;
    if (client_id != 0)
        session = {{"X-Client-Id", std::to_string(client_id)}, {"X-Client-Seq", std::to_string(seq)}};
    std::optional<response> r = call(peers, opts, verb, target, body, session);
    if (opened) close_session(peers, opts, client_id);
    if (!r) {
        std::cerr << "kvctl: no answer from the cluster within " << timeout_ms << " ms\n";
        return 1;
    }
    if (r->status == 200) {
        if (cmd == "delete-prefix" || cmd == "delete-range") {
            boost::system::error_code ec;
            const json::value answer = json::parse(r->body, ec);
            const json::value* deleted = !ec && answer.is_object() ? answer.as_object().if_contains("deleted") : nullptr;
            if (!deleted || !deleted->is_number()) {
                std::cerr << "kvctl: " << cmd << ": unexpected answer " << r->body << "\n";
                return 1;
            }
            std::cout << "deleted " << json::serialize(*deleted) << "\n";
            return 0;
        }
        if (cmd == "txn") {
            boost::system::error_code ec;
            const json::value answer = json::parse(r->body, ec);
            const json::value* succeeded =
                !ec && answer.is_object() ? answer.as_object().if_contains("succeeded") : nullptr;
            if (!succeeded || !succeeded->is_bool()) {
                std::cerr << "kvctl: txn: unexpected answer " << r->body << "\n";
                return 1;
            }
            std::cout << r->body << "\n";
            return succeeded->as_bool() ? 0 : 4;
        }
        std::cout << (cmd == "get" ? r->body : std::string("OK")) << "\n";
        return 0;
    }
    if (r->status == 404) {
        // On standard error: standard output carries values only, so that
        // `v=$(kvctl get k)` never takes the message for a value.
        std::cerr << "(not found)\n";
        return 3;
    }
    const std::string token = error_token(*r);
    if (r->status == 409 && token == "cas_failed") {
        std::cout << "cas failed: " << r->body << "\n";
        return 4;
    }
    if (token == "session_expired" || token == "stale_request") {
        std::cerr << "kvctl: client session " << client_id << " seq " << seq << ": " << r->status << " " << r->body
                  << (token == "session_expired" ? "; the command may or may not have been applied" : "") << "\n";
        return 1;
    }
    std::cerr << "kvctl: " << r->status << " " << r->body << "\n";
    return 1;
}
