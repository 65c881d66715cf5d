// kvctl — a small client for a raftlite-kv cluster.
//
//   kvctl --cluster conf/local put k v
//   kvctl --cluster conf/local get k
//   kvctl --cluster conf/local delete k
//   kvctl --cluster conf/local cas k old new      (old "" with --absent: create if absent)
//   kvctl --cluster conf/local status
//   kvctl --cluster conf/tls --tls-ca data/tls/ca.pem
//         --tls-cert data/tls/kvctl.pem --tls-key data/tls/kvctl.key get k   (one line)
//
// The cluster is the directory of the peers' config files: kvctl reads each
// file's [node] id and [kv] listen address. Any peer serves any request
// (reads and writes go through the log, and a follower forwards them to the
// leader), so kvctl asks one and moves on to the next peer when one is down,
// has no leader yet or times out, until --timeout.
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
// A peer whose [kv] section has tls_cert serves HTTPS: kvctl then needs
// --tls-ca (the CA that signed the server's certificate, which must name the
// host kvctl connects to), and --tls-cert/--tls-key when the peer demands a
// client certificate ([kv] client_ca).
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
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
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
/// until a definitive answer (2xx, 4xx) or the deadline. With a session's
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
        if (r && r->status < 500) return r;
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
// keys digest. snapshot is the last entry the peer's snapshot covers (0:
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
    std::printf("%-6s %-10s %6s %6s %8s %8s %8s %8s %8s %7s %6s %6s %s\n", "peer", "role", "term", "leader",
                "commit", "applied", "last", "snapshot", "start", "held", "lag", "keys", "digest");
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
        std::printf("%-6s %-10s %6llu %6s %8llu %8llu %8llu %8s %8s %7s %6s %6llu %s\n", name.c_str(),
                    r.role.c_str(), static_cast<unsigned long long>(r.term),
                    r.leader ? ("n" + std::to_string(r.leader)).c_str() : "-",
                    static_cast<unsigned long long>(r.commit), static_cast<unsigned long long>(r.applied),
                    static_cast<unsigned long long>(r.last), r.snapshot.c_str(), r.log_start.c_str(),
                    r.held.c_str(), lag.c_str(), static_cast<unsigned long long>(r.keys), r.digest.c_str());
    }
    std::fflush(stdout);
    return reachable > 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    std::string cluster = "conf/local";
    int timeout_ms = 15000, attempt_timeout_ms = 5000;
    raftlite::node_id node = 0;
    std::uint64_t client_id = 0, seq = 0;
    bool absent = false, verbose = false, no_session = false;
    std::string tls_ca, tls_cert, tls_key;
    std::vector<std::string> args;
    po::options_description desc("kvctl [options] put K V | get K | delete K | cas K OLD NEW | status");
    desc.add_options()("help,h", "this help")
        ("cluster", po::value(&cluster)->default_value(cluster), "directory of the peers' config files")
        ("node", po::value(&node), "ask only this peer (by id)")
        ("timeout", po::value(&timeout_ms)->default_value(timeout_ms), "give up after this many ms")
        ("attempt-timeout-ms", po::value(&attempt_timeout_ms)->default_value(attempt_timeout_ms),
         "one attempt's limit; then the same request goes to the next peer")
        ("client-id", po::value(&client_id), "send the command in this existing client session (with --seq)")
        ("seq", po::value(&seq), "the command's number in the --client-id session (above its last one)")
        ("no-session", po::bool_switch(&no_session), "writes without a client session: a retry may apply twice")
        ("absent", po::bool_switch(&absent), "cas: the key must be absent (OLD is ignored)")
        ("verbose,v", po::bool_switch(&verbose), "say what is retried")
        ("tls-ca", po::value(&tls_ca), "HTTPS: PEM file of the CA that signed the peers' server certificates")
        ("tls-cert", po::value(&tls_cert), "HTTPS: PEM client certificate (peers with [kv] client_ca demand one)")
        ("tls-key", po::value(&tls_key), "HTTPS: PEM private key of --tls-cert")
        ("args", po::value(&args), "command and arguments");
    po::positional_options_description pos;
    pos.add("args", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "kvctl: " << e.what() << "\n" << desc;
        return 2;
    }
    if (vm.count("help") || args.empty()) {
        std::cout << desc;
        return args.empty() && !vm.count("help") ? 2 : 0;
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
    if (timeout_ms <= 0 || attempt_timeout_ms <= 0) {
        std::cerr << "kvctl: --timeout and --attempt-timeout-ms must be above 0\n";
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
    http::verb verb;
    std::string target, body;
    if (cmd == "put") {
        need(2);
        verb = http::verb::put;
        target = "/kv/" + percent_encode(args[1]);
        body = args[2];
    } else if (cmd == "get") {
        need(1);
        verb = http::verb::get;
        target = "/kv/" + percent_encode(args[1]);
    } else if (cmd == "delete") {
        need(1);
        verb = http::verb::delete_;
        target = "/kv/" + percent_encode(args[1]);
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
        std::cout << (cmd == "get" ? r->body : std::string("OK")) << "\n";
        return 0;
    }
    if (r->status == 404) {
        std::cout << "(not found)\n";
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
