// raftlite kv — mapping an HTTP request to a command (see http_routes.hpp).
#include "http_routes.hpp"

#include "json_bytes.hpp"
#include "kv_levels.hpp"
#include "kv_txn.hpp"

#include <raftlite/transport_options.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <map>
#include <utility>

namespace raftlite::kv {

namespace http = boost::beast::http;

namespace {

route_error error(http::status s, std::string token, std::string message) {
    return route_error{s, std::move(token), std::move(message), {}};
}

route_error method_not_allowed(const char* allow) {
    return route_error{http::status::method_not_allowed, "method_not_allowed",
                       std::string("allowed: ") + allow, allow};
}

// GET or HEAD: HEAD asks for what GET would answer without its body (RFC
// 9110 §9.3.2, which every general-purpose server supports; probes use it).
bool reads(const http_request& req) {
    return req.method() == http::verb::get || req.method() == http::verb::head;
}

enum class header { absent, valid, malformed };

// A decimal u64 in `text` (nothing else).
bool parse_u64(std::string_view text, std::uint64_t& out) {
    auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), out);
    return err == std::errc() && p == text.data() + text.size() && !text.empty();
}

// A header that must appear at most once, holding a decimal u64. Twice is
// malformed even with equal values: a proxy may join repeats into "6, 7", and
// a server must not pick one of two sessions (or ids) on a client's behalf.
header u64_header(const http_request& req, std::string_view name, std::uint64_t& out) {
    auto it = req.find(name);
    if (it == req.end())
        return header::absent;
    if (req.count(name) > 1)
        return header::malformed;
    return parse_u64(it->value(), out) ? header::valid : header::malformed;
}

// The request target in origin form ("/path?query"). A server accepts the
// absolute form too ("http://host:port/path?query", RFC 9112 §3.2.2), which
// proxies send; its scheme and authority say nothing the route needs.
std::string_view origin_form(std::string_view target) {
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
        if (target.size() < scheme.size() || !boost::algorithm::iequals(target.substr(0, scheme.size()), scheme))
            continue;
        const auto path = target.find('/', scheme.size());
        return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    }
    return target;
}

// X-Client-Id and X-Client-Seq: a command of a client session (Raft thesis
// §6.3), applied once however often it is sent. Both or neither.
std::optional<route_error> read_session_headers(const http_request& req, kv_command& cmd) {
    const header id = u64_header(req, "X-Client-Id", cmd.client_id);
    const header seq = u64_header(req, "X-Client-Seq", cmd.client_seq);
    if (id == header::absent && seq == header::absent)
        return std::nullopt;
    if (id == header::absent || seq == header::absent)
        return error(http::status::bad_request, "bad_session",
                     "X-Client-Id and X-Client-Seq go together: send both or neither");
    if (id == header::malformed || seq == header::malformed || cmd.client_id == 0 || cmd.client_seq == 0)
        return error(http::status::bad_request, "bad_session",
                     "X-Client-Id and X-Client-Seq must each be sent once, as a decimal 64-bit unsigned integer "
                     "above 0");
    return std::nullopt;
}

// Either session header at all: for the routes that are not commands of a
// session, which refuse them rather than ignore them.
bool has_session_headers(const http_request& req) {
    return req.find("X-Client-Id") != req.end() || req.find("X-Client-Seq") != req.end();
}

// A decimal integer in 1..max (nothing else).
bool parse_count(std::string_view text, std::uint64_t max, std::uint64_t& out) {
    return parse_u64(text, out) && out >= 1 && out <= max;
}

// POST /session opens a client session; DELETE /session/<id> closes one.
route session_route(const http_request& req, std::string_view path) {
    if (has_session_headers(req))
        return error(http::status::bad_request, "bad_session",
                     "/session takes no X-Client-Id nor X-Client-Seq (the id is in the path)");
    kv_command cmd;
    if (path == "/session") {
        if (req.method() != http::verb::post)
            return method_not_allowed("POST");
        cmd.op = kv_op::open_session;
        return cmd;
    }
    if (req.method() != http::verb::delete_)
        return method_not_allowed("DELETE");
    if (!parse_u64(path.substr(std::string_view("/session/").size()), cmd.client_id) || cmd.client_id == 0)
        return error(http::status::bad_request, "bad_client_id",
                     "DELETE /session/<id> needs a decimal client id above 0");
    cmd.op = kv_op::close_session;
    return cmd;
}

// The admin API (admin_route): /members and /members/<id>[/promote|/demote|/transfer].
route members_route(const http_request& req, std::string_view path, std::string_view query) {
    if (!query.empty())
        return error(http::status::bad_request, "bad_request", "unexpected query '" + std::string(query) + "'");
    if (has_session_headers(req))
        return error(http::status::bad_request, "bad_session",
                     "/members takes no X-Client-Id nor X-Client-Seq (membership changes are not kv commands)");
    admin_route r;
    if (path == "/members") {
        if (reads(req))
            return r;
        if (req.method() != http::verb::post)
            return method_not_allowed("GET, HEAD, POST");
        r.what = admin_route::action::add_learner;
        if (auto why = parse_member_body(req.body(), r); !why.empty())
            return error(http::status::bad_request, "bad_body", std::move(why));
        return r;
    }
    std::string_view rest = path.substr(std::string_view("/members/").size());
    const auto slash = rest.find('/');
    const std::string_view id_text = rest.substr(0, slash);
    const std::string_view verb = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (!parse_u64(id_text, r.id) || r.id == 0)
        return error(http::status::bad_request, "bad_member_id",
                     "the member id in /members/<id> must be a decimal integer above 0, got '" +
                         std::string(id_text) + "'");
    if (slash == std::string_view::npos) {
        if (req.method() != http::verb::delete_)
            return method_not_allowed("DELETE");
        r.what = admin_route::action::remove;
        return r;
    }
    if (verb != "promote" && verb != "demote" && verb != "transfer")
        return error(http::status::not_found, "no_such_route",
                     "no such path; expected /members/<id>, /members/<id>/promote, /members/<id>/demote or "
                     "/members/<id>/transfer");
    if (req.method() != http::verb::post)
        return method_not_allowed("POST");
    r.what = verb == "promote"  ? admin_route::action::promote
             : verb == "demote" ? admin_route::action::demote
                                : admin_route::action::transfer_leadership;
    return r;
}

// The end of a delete_range: `end`, but never past the clients' keys (no
// end: up to the system keys, kv_levels.hpp).
std::string clients_end(const std::optional<std::string>& end) {
    return std::min(end.value_or(system_keys_begin()), system_keys_begin());
}

// DELETE /kv?prefix=P or DELETE /kv?start=A&end=B: the delete_range command
// (kv_levels.hpp: cluster level 2), in a client session when the request has
// one. Without an end the range runs to the last key before the system keys;
// it never reaches them.
route delete_range_request(http_request& req, std::map<std::string, std::string, std::less<>>& params) {
    for (const auto& [name, value] : params)
        if (name != "prefix" && name != "start" && name != "end")
            return error(http::status::bad_request, "bad_range",
                         "DELETE /kv takes prefix, or start and end, not '" + name + "'");
    if (params.empty())
        return error(http::status::bad_request, "bad_range",
                     "DELETE /kv needs prefix=P or start=A (and end=B); prefix= (empty) deletes every key");
    kv_command cmd;
    cmd.op = kv_op::delete_range;
    std::optional<std::string> end;
    if (auto p = params.find("prefix"); p != params.end()) {
        cmd.key = p->second;
        end = prefix_end(cmd.key);
    } else {
        if (auto a = params.find("start"); a != params.end()) cmd.key = a->second;
        if (auto b = params.find("end"); b != params.end()) end = b->second;
    }
    if (is_system_key(cmd.key))
        return error(http::status::bad_request, "reserved_key",
                     "keys that begin with the byte 0xff are raftlite-kv's own and cannot be deleted");
    cmd.value = clients_end(end);
    if (cmd.value <= cmd.key)
        return error(http::status::bad_request, "bad_range", "the range is empty: its end is not above its start");
    if (auto e = read_session_headers(req, cmd))
        return *e;
    if (auto why = validate(cmd); !why.empty())
        return error(http::status::bad_request, "bad_command", std::move(why));
    return cmd;
}

// GET /kv?...: a range read (range_route), or with watch=1 a watch of the
// range (watch_route). Every parameter at most once, its value
// percent-decoded; unknown parameters are an error rather than ignored, so a
// misspelt "prefx" does not silently list everything.
route range_request(http_request& req, std::string_view query) {
    const bool deletes = req.method() == http::verb::delete_;
    if (!reads(req) && !deletes)
        return method_not_allowed("GET, HEAD, DELETE");
    if (!deletes && has_session_headers(req))
        return error(http::status::bad_request, "bad_session",
                     "range reads are not in the log and take no X-Client-Id/X-Client-Seq");
    std::map<std::string, std::string, std::less<>> params;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const auto eq = part.find('=');
        const std::string name(part.substr(0, eq));
        if (name != "prefix" && name != "start" && name != "end" && name != "after" && name != "limit" &&
            name != "keys_only" && name != "stale" && name != "watch" && name != "since" && name != "timeout_ms" &&
            name != "count_only")
            return error(http::status::bad_request, "bad_range",
                         "unknown parameter '" + name +
                             "'; GET /kv takes prefix, start, end, after, limit, keys_only, count_only and stale, "
                             "or watch with prefix, start, end, since, limit, keys_only and timeout_ms");
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
        if (!value)
            return error(http::status::bad_request, "bad_range", "malformed percent-encoding in '" + name + "'");
        if (value->size() > max_key_bytes)
            return error(http::status::bad_request, "bad_range",
                         "'" + name + "' is over " + std::to_string(max_key_bytes) + " bytes");
        if (!params.emplace(name, std::move(*value)).second)
            return error(http::status::bad_request, "bad_range", "'" + name + "' is given twice");
    }
    auto has = [&](const char* name) { return params.count(name) != 0; };
    if (has("prefix") && (has("start") || has("end")))
        return error(http::status::bad_request, "bad_range", "give either prefix or start/end, not both");
    if (deletes)
        return delete_range_request(req, params);
    if (has("start") && has("after"))
        return error(http::status::bad_request, "bad_range", "give either start or after, not both");
    const bool watch = has("watch");
    if (watch && (has("after") || has("stale")))
        return error(http::status::bad_request, "bad_range",
                     "a watch takes since=<index>, not after or stale (its changes come from this peer's log)");
    if (!watch && (has("since") || has("timeout_ms")))
        return error(http::status::bad_request, "bad_range", "since and timeout_ms are for watch=1 only");
    if (has("count_only") && (watch || has("after") || has("limit") || has("keys_only")))
        return error(http::status::bad_request, "bad_range",
                     "count_only=1 takes prefix, start, end and stale only (it lists no entries)");
    for (const char* flag : {"keys_only", "stale", "watch", "count_only"})
        if (has(flag) && params[flag] != "1")
            return error(http::status::bad_request, "bad_range", std::string("'") + flag + "' takes only 1");

    range_route r;
    r.stale = has("stale");
    r.count_only = has("count_only");
    r.query.keys_only = has("keys_only");
    r.query.max_bytes = max_range_bytes;
    if (has("limit")) {
        std::uint64_t n = 0;
        if (!parse_count(params["limit"], max_range_limit, n))
            return error(http::status::bad_request, "bad_range",
                         "'limit' must be a decimal integer in 1.." + std::to_string(max_range_limit));
        r.query.limit = static_cast<std::size_t>(n);
    }
    if (has("prefix")) {
        r.query.from = params["prefix"];
        r.query.to = prefix_end(r.query.from);
    } else {
        if (has("start"))
            r.query.from = params["start"];
        if (has("end"))
            r.query.to = params["end"];
    }
    // The system keys (kv_levels.hpp) are listed only by a range that
    // starts among them.
    if (!r.query.to && !is_system_key(r.query.from))
        r.query.to = system_keys_begin();
    // after=K continues a listing: the range's keys above K (a K below the
    // range's own start changes nothing).
    if (has("after") && params["after"] >= r.query.from) {
        r.query.from = params["after"];
        r.query.from_exclusive = true;
    }
    if (!watch)
        return r;
    watch_route w;
    w.range = std::move(r.query);
    if (has("since")) {
        std::uint64_t since = 0;
        if (!parse_u64(params["since"], since))
            return error(http::status::bad_request, "bad_range", "'since' must be a decimal log index");
        w.since = since;
    }
    if (has("timeout_ms")) {
        std::uint64_t ms = 0;
        if (!parse_count(params["timeout_ms"], static_cast<std::uint64_t>(max_watch_timeout.count()), ms))
            return error(http::status::bad_request, "bad_range",
                         "'timeout_ms' must be a decimal integer in 1.." + std::to_string(max_watch_timeout.count()));
        w.timeout = std::chrono::milliseconds(ms);
    }
    return w;
}

} // namespace

const char* admin_action_name(admin_route::action a) noexcept {
    switch (a) {
    case admin_route::action::list: return "list";
    case admin_route::action::add_learner: return "add_learner";
    case admin_route::action::promote: return "promote";
    case admin_route::action::demote: return "demote";
    case admin_route::action::remove: return "remove";
    case admin_route::action::transfer_leadership: return "transfer_leadership";
    }
    return "unknown";
}

std::string parse_member_body(const std::string& body, admin_route& out) {
    constexpr const char* shape = "{\"id\": N, \"raft\": \"host:port\", \"kv\": \"host:port\"}";
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec)
        return "body is not valid JSON: " + ec.message() + "; expected " + shape;
    auto* o = v.if_object();
    if (!o)
        return std::string("body must be a JSON object ") + shape;
    for (auto& kv : *o)
        if (kv.key() != "id" && kv.key() != "raft" && kv.key() != "kv")
            return "unknown field '" + std::string(kv.key()) + "'; expected only \"id\", \"raft\" and \"kv\"";
    auto* id = o->if_contains("id");
    if (!id)
        return "\"id\" is required: the new member's node id, an integer above 0";
    if (id->is_uint64())
        out.id = id->get_uint64();
    else if (id->is_int64() && id->get_int64() > 0)
        out.id = static_cast<std::uint64_t>(id->get_int64());
    else
        out.id = 0;
    if (out.id == 0)
        return "\"id\" must be an integer above 0, got " + boost::json::serialize(*id);
    for (const char* field : {"raft", "kv"}) {
        auto* a = o->if_contains(field);
        const bool raft = field[0] == 'r';
        const char* what = raft ? "where the peers reach its Raft transport" : "where clients reach its HTTP API";
        if (!a || !a->is_string())
            return std::string("\"") + field + "\" is required: a string \"host:port\", " + what;
        const std::string text(a->get_string());
        auto parsed = endpoint_address::parse(text);
        if (!parsed)
            return std::string("\"") + field + "\" must be \"host:port\" (a host without spaces, slashes or "
                   "brackets, IPv6 bracketed, and a port in 1..65535), got '" + text + "'";
        (raft ? out.raft : out.kv) = parsed->to_string();
    }
    if (out.raft == out.kv)
        return "\"raft\" and \"kv\" must differ: the Raft transport and the HTTP API listen on ports of their own";
    return {};
}

std::optional<std::string> valid_request_id(const http_request& req) {
    std::uint64_t ignored = 0;
    if (u64_header(req, "X-Request-Id", ignored) != header::valid)
        return std::nullopt;
    return std::string(req.find("X-Request-Id")->value());
}

std::optional<std::string> percent_decode(std::string_view in) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size())
            return std::nullopt;
        int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string parse_cas_body(const std::string& body, kv_command& cmd) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec)
        return "body is not valid JSON: " + ec.message();
    auto* o = v.if_object();
    if (!o)
        return "body must be a JSON object {\"expected\": ..., \"value\": ...}";
    for (auto& kv : *o)
        if (kv.key() != "expected" && kv.key() != "value")
            return "unknown field '" + std::string(kv.key()) +
                   "'; expected only \"expected\" and \"value\"";
    auto* value = o->if_contains("value");
    if (!value || !(value->is_string() || value->is_null()))
        return "\"value\" is required: a string, or null to delete the key";
    auto* expected = o->if_contains("expected");
    if (!expected || !(expected->is_string() || expected->is_null()))
        return "\"expected\" is required: a string, or null when the key must be absent";
    if (value->is_null()) {
        // Compare-and-delete: only a key that holds the expected value goes.
        if (expected->is_null())
            return "a delete (\"value\": null) needs the value the key must hold in \"expected\"";
        cmd.op = kv_op::cas_delete;
    } else {
        cmd.value = std::string(value->get_string());
    }
    if (expected->is_string())
        cmd.expected = std::string(expected->get_string());
    return {};
}

namespace {

// The members of a transaction's JSON object: only `allowed` (each byte
// string field may come as <field>_base64 instead, json_bytes.hpp).
std::string only_fields(const boost::json::object& o, std::initializer_list<std::string_view> allowed,
                        const char* what) {
    for (const auto& member : o) {
        std::string_view name = member.key();
        if (name.size() > 7 && name.substr(name.size() - 7) == "_base64") name.remove_suffix(7);
        bool known = false;
        for (std::string_view a : allowed) known = known || name == a;
        if (!known) return "unknown field '" + std::string(member.key()) + "' in " + what;
    }
    return {};
}

std::string parse_txn_compare(const boost::json::value& v, txn_compare& out) {
    const auto* o = v.if_object();
    if (!o) return "a compare must be an object {\"key\": ..., and \"value\", \"absent\" or \"present\"}";
    if (auto why = only_fields(*o, {"key", "value", "absent", "present"}, "a compare"); !why.empty()) return why;
    auto key = get_bytes(*o, "key");
    if (!key) return "a compare needs \"key\" (a string)";
    out.key = std::move(*key);
    auto value = get_bytes(*o, "value");
    const bool absent = o->contains("absent"), present = o->contains("present");
    if (int(value.has_value()) + int(absent) + int(present) != 1)
        return "a compare takes exactly one of \"value\", \"absent\": true and \"present\": true";
    if ((absent && o->at("absent") != true) || (present && o->at("present") != true))
        return "\"absent\" and \"present\" take only true";
    out.what = value ? txn_compare::kind::equals : absent ? txn_compare::kind::absent : txn_compare::kind::present;
    if (value) out.value = std::move(*value);
    return {};
}

std::string parse_txn_op(const boost::json::value& v, txn_op& out) {
    const auto* o = v.if_object();
    const auto* op = o ? o->if_contains("op") : nullptr;
    if (!op || !op->is_string())
        return "an operation must be an object with \"op\": put, delete, get or delete_range";
    const std::string_view name = op->get_string();
    if (name == "put" || name == "delete" || name == "get") {
        const bool puts = name == "put";
        if (auto why = only_fields(*o, puts ? std::initializer_list<std::string_view>{"op", "key", "value"}
                                            : std::initializer_list<std::string_view>{"op", "key"},
                                   "an operation");
            !why.empty())
            return why;
        auto key = get_bytes(*o, "key");
        if (!key) return std::string(name) + " needs \"key\" (a string)";
        out.key = std::move(*key);
        out.what = puts ? txn_op::kind::put : name == "delete" ? txn_op::kind::del : txn_op::kind::get;
        if (puts) {
            auto value = get_bytes(*o, "value");
            if (!value) return "put needs \"value\" (a string)";
            out.value = std::move(*value);
        }
        return {};
    }
    if (name != "delete_range")
        return "unknown operation '" + std::string(name) + "'; expected put, delete, get or delete_range";
    if (auto why = only_fields(*o, {"op", "prefix", "start", "end"}, "delete_range"); !why.empty()) return why;
    out.what = txn_op::kind::delete_range;
    auto prefix = get_bytes(*o, "prefix");
    auto start = get_bytes(*o, "start");
    auto end = get_bytes(*o, "end");
    if (prefix && (start || end)) return "delete_range takes \"prefix\", or \"start\" and \"end\", not both";
    if (!prefix && !start) return "delete_range needs \"prefix\" or \"start\"";
    out.key = prefix ? *prefix : *start;
    if (prefix) end = prefix_end(*prefix);
    out.value = clients_end(end);
    return {};
}

std::string parse_txn_branch(const boost::json::object& o, const char* name, std::vector<txn_op>& out) {
    const auto* v = o.if_contains(name);
    if (!v) return {};
    const auto* a = v->if_array();
    if (!a) return std::string("\"") + name + "\" must be an array of operations";
    if (a->size() > max_txn_ops)
        return std::string("\"") + name + "\" has more than " + std::to_string(max_txn_ops) + " operations";
    out.resize(a->size());
    for (std::size_t i = 0; i < a->size(); ++i)
        if (auto why = parse_txn_op((*a)[i], out[i]); !why.empty())
            return std::string(name) + "[" + std::to_string(i) + "]: " + why;
    return {};
}

} // namespace

std::string parse_txn_body(const std::string& body, kv_txn& out) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec) return "body is not valid JSON: " + ec.message();
    const auto* o = v.if_object();
    if (!o) return "body must be a JSON object {\"compare\": [...], \"success\": [...], \"failure\": [...]}";
    if (auto why = only_fields(*o, {"compare", "success", "failure"}, "the transaction"); !why.empty()) return why;
    if (const auto* c = o->if_contains("compare")) {
        const auto* a = c->if_array();
        if (!a) return "\"compare\" must be an array";
        if (a->size() > max_txn_ops)
            return "\"compare\" has more than " + std::to_string(max_txn_ops) + " compares";
        out.compare.resize(a->size());
        for (std::size_t i = 0; i < a->size(); ++i)
            if (auto why = parse_txn_compare((*a)[i], out.compare[i]); !why.empty())
                return "compare[" + std::to_string(i) + "]: " + why;
    }
    if (auto why = parse_txn_branch(*o, "success", out.success); !why.empty()) return why;
    if (auto why = parse_txn_branch(*o, "failure", out.failure); !why.empty()) return why;
    return validate_txn(out);
}

route route_request(http_request& req) {
    const std::string_view target = origin_form(req.target());
    auto qpos = target.find('?');
    auto path = target.substr(0, qpos);
    auto query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);

    if (path == "/status" || path == "/metrics" || path == "/health" || path == "/") {
        if (!reads(req))
            return method_not_allowed("GET, HEAD");
        if (path == "/status")
            return status_route{};
        if (path == "/metrics")
            return metrics_route{};
        if (path == "/health")
            return health_route{};
        return page_route{};
    }

    // X-Request-Id is for tracing only: echoed back, never used to match
    // a committed command to its request (kv_command.hpp: the origin is).
    std::uint64_t ignored = 0;
    if (u64_header(req, "X-Request-Id", ignored) == header::malformed)
        return error(http::status::bad_request, "bad_request_id",
                     "X-Request-Id must be sent once, as a decimal 64-bit unsigned integer");

    if (path == "/members" || path.substr(0, 9) == "/members/")
        return members_route(req, path, query);

    if (path == "/session" || path.substr(0, 9) == "/session/") {
        if (!query.empty())
            return error(http::status::bad_request, "bad_request",
                         "unexpected query '" + std::string(query) + "'");
        return session_route(req, path);
    }

    if (path == "/kv")
        return range_request(req, query);

    if (path == "/txn") {
        if (req.method() != http::verb::post)
            return method_not_allowed("POST");
        if (!query.empty())
            return error(http::status::bad_request, "bad_request", "unexpected query '" + std::string(query) + "'");
        kv_command cmd;
        cmd.op = kv_op::txn;
        kv_txn t;
        if (auto why = parse_txn_body(req.body(), t); !why.empty())
            return error(http::status::bad_request, "bad_body", std::move(why));
        cmd.value = encode_txn(t);
        if (auto e = read_session_headers(req, cmd))
            return *e;
        if (auto why = validate(cmd); !why.empty())
            return error(http::status::bad_request, "bad_command", std::move(why));
        return cmd;
    }

    constexpr std::string_view prefix = "/kv/";
    if (path.substr(0, prefix.size()) != prefix)
        return error(http::status::not_found, "no_such_route",
                     "no such path; expected /kv/<key>, /kv?prefix=, /txn, /session, /members, /status, /health, "
                     "/metrics or /");

    kv_command cmd;
    auto key = percent_decode(path.substr(prefix.size()));
    if (!key)
        return error(http::status::bad_request, "bad_key", "malformed percent-encoding in the key");
    cmd.key = std::move(*key);

    if (auto e = read_session_headers(req, cmd))
        return *e;

    if (query == "stale=1") {
        if (!reads(req))
            return error(http::status::bad_request, "bad_request", "'?stale=1' is for GET and HEAD only");
        if (cmd.client_id != 0)
            return error(http::status::bad_request, "bad_session",
                         "'?stale=1' reads are not in the log and take no X-Client-Id/X-Client-Seq");
        if (auto why = validate(cmd); !why.empty())
            return error(http::status::bad_request, "bad_command", std::move(why));
        return stale_read_route{std::move(cmd.key)};
    }

    switch (req.method()) {
    case http::verb::get:
    case http::verb::head:
        cmd.op = kv_op::get;
        break;
    case http::verb::put:
        cmd.op = kv_op::put;
        cmd.value = std::move(req.body());
        break;
    case http::verb::delete_:
        cmd.op = kv_op::del;
        break;
    case http::verb::post: {
        if (query != "cas")
            return error(http::status::bad_request, "bad_request",
                         "POST /kv/<key> needs the query '?cas'");
        cmd.op = kv_op::cas;
        if (auto why = parse_cas_body(req.body(), cmd); !why.empty())
            return error(http::status::bad_request, "bad_body", std::move(why));
        break;
    }
    default:
        return method_not_allowed("GET, HEAD, PUT, DELETE, POST");
    }
    if (cmd.op != kv_op::cas && cmd.op != kv_op::cas_delete && !query.empty())
        return error(http::status::bad_request, "bad_request",
                     "unexpected query '" + std::string(query) + "'");
    if (cmd.op != kv_op::get && is_system_key(cmd.key))
        return error(http::status::bad_request, "reserved_key",
                     "keys that begin with the byte 0xff are raftlite-kv's own: clients may read them, not "
                     "write them");
    if (auto why = validate(cmd); !why.empty())
        return error(http::status::bad_request, "bad_command", std::move(why));
    return cmd;
}

} // namespace raftlite::kv
