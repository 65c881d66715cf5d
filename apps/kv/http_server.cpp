// raftlite kv — the HTTP/1.1 front end (see http_server.hpp for the routes).
//
// Beast's callback style: a listener accepts, each connection is a session on
// its own strand (or on the io_context itself when one thread runs it,
// http_server_options::one_thread) that reads a request (do_read/on_read),
// hands a command to submit, and writes the response when the completion is
// posted back. Every
// handler holds the session with shared_from_this, so a session lives exactly
// as long as work for it is pending.
//
// HTTPS: a session is a template over its stream, a plain tcp::socket or
// beast::ssl_stream<tcp::socket>, so the plain path stays as it was; the TLS
// session does the TLS handshake first.
//
// Timeouts: one deadline per connection, kept as a time point and checked
// by one timer that is armed again only when it fires (session::set_deadline).
// beast::tcp_stream armed and cancelled a timer around every read and every
// write; under 64 keep-alive connections that was a timer operation per
// request and direction on the leader's event loop (docs/performance.md,
// "raftlite-kv writes"). The deadline covers what the stream's timers did:
// the TLS handshake, the whole request (header and body, so a slow loris is
// cut off however it trickles), each response write and the linger.
#include "http_server.hpp"

#include "http_routes.hpp"
#include "json_bytes.hpp"
#include "prometheus.hpp"
#include "status_page.hpp"

#include <raftlite/error.hpp>
#include <raftlite/log.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace raftlite::kv {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Something stop() can close: the listener or a session.
class closable {
public:
    virtual ~closable() = default;
    virtual void close() = 0;
};

} // namespace

struct http_server::state {
    http_server_options options;
    http_handlers on;
    std::atomic<std::size_t> active{0};
    std::atomic<bool> stopped{false};
    std::unique_ptr<net::ssl::context> tls;   // set by start() when options.tls_cert_file is

    std::mutex mutex;   // guards the two members below
    std::vector<std::weak_ptr<closable>> sessions;
    std::shared_ptr<closable> listener;

    void add_session(const std::shared_ptr<closable>& s) {
        std::lock_guard lock(mutex);
        std::erase_if(sessions, [](auto& w) { return w.expired(); });
        sessions.push_back(s);
    }
};

namespace {

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// Error responses that end the connection are followed by a drain of at most
// this long (bounded further by idle_timeout).
constexpr std::chrono::milliseconds max_linger{2000};

std::string json_text(const boost::json::value& v) {
    return boost::json::serialize(v);
}

// What Beast's serializer writes for a response whose body is a string and
// whose Content-Length is set (prepare_payload): the status line, every
// field in order, an empty line, the body.
void serialize_response(const response& res, std::string& out) {
    out.clear();
    out += "HTTP/";
    out += static_cast<char>('0' + res.version() / 10);
    out += '.';
    out += static_cast<char>('0' + res.version() % 10);
    out += ' ';
    out += std::to_string(res.result_int());
    out += ' ';
    out += res.reason();
    out += "\r\n";
    for (const auto& f : res) {
        out += f.name_string();
        out += ": ";
        out += f.value();
        out += "\r\n";
    }
    out += "\r\n";
    out += res.body();
}

std::string error_body(std::string_view token, std::string_view message) {
    boost::json::object o;
    o["error"] = token;
    o["message"] = message;
    return json_text(o);
}

using tls_stream = beast::ssl_stream<tcp::socket>;

template <class Stream>
class session : public closable, public std::enable_shared_from_this<session<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;
    using std::enable_shared_from_this<session<Stream>>::shared_from_this;

    static Stream open(tcp::socket&& socket, http_server::state& st) {
        if constexpr (is_tls)
            return Stream(std::move(socket), *st.tls);
        else
            return Stream(std::move(socket));
    }

public:
    // `counted`: the connection counts against max_connections (false for the
    // connections that are only told 503).
    session(tcp::socket&& socket, std::shared_ptr<http_server::state> st, bool counted)
        : stream_(open(std::move(socket), *st)), timer_(stream_.get_executor()), st_(std::move(st)),
          counted_(counted) {
        if (counted_)
            ++st_->active;
        // Every response leaves in one write, at once: with Nagle's
        // algorithm a response written while an earlier one is still
        // unacknowledged (a client pipelining requests, a 100 Continue
        // before the final answer) would wait for the client's delayed ACK,
        // up to 40 ms on Linux.
        beast::error_code ignored;
        lowest().set_option(tcp::no_delay(true), ignored);
    }

    ~session() override {
        if (counted_)
            --st_->active;
    }

    void run() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            self->after_handshake([self] { self->do_read(); });
        });
    }

    // Answers 503 without reading a request (too many connections).
    void reject() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            self->after_handshake([self] {
                self->send_error(http::status::service_unavailable, "too_many_connections",
                                 "the server has too many open connections; retry later", true);
            });
        });
    }

    void close() override {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
    }

private:
    tcp::socket& lowest() { return beast::get_lowest_layer(stream_); }

    using clock = std::chrono::steady_clock;

    // The connection must finish what it does now (the handshake, reading a
    // request, writing a response, the linger) within `d`, or it is closed.
    // Storing a time point is all it costs per request: the timer is armed
    // again only when it fires (on_deadline) or when the new deadline comes
    // before the one it is armed for (the linger's, shorter than
    // idle_timeout).
    void set_deadline(std::chrono::milliseconds d) {
        deadline_ = clock::now() + d;
        if (timer_armed_ && timer_.expiry() <= deadline_)
            return;
        timer_armed_ = true;
        timer_.expires_at(deadline_);   // cancels a wait armed for later (on_deadline ignores it)
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) { self->on_deadline(ec); });
    }

    // While the node works on a request nothing is read or written: its
    // own timeouts bound the wait (504), as they did with the stream's timers.
    void clear_deadline() { deadline_ = clock::time_point::max(); }

    void on_deadline(beast::error_code ec) {
        if (ec == net::error::operation_aborted)
            return;   // re-armed for an earlier deadline, or closed
        timer_armed_ = false;
        if (deadline_ == clock::time_point::max() || !lowest().is_open())
            return;   // armed again by the next set_deadline
        if (clock::now() < deadline_) {
            timer_armed_ = true;
            timer_.expires_at(deadline_);
            timer_.async_wait([self = shared_from_this()](beast::error_code e) { self->on_deadline(e); });
            return;
        }
        RAFTLITE_LOG_APP(debug) << "http: closing a connection idle or slow for "
                                << st_->options.idle_timeout.count() << " ms";
        close_now();   // the pending operation completes with an error and ends the session
    }

    // Runs `then` once the connection can carry HTTP: at once without TLS,
    // after a successful TLS handshake with it. A failed handshake (plaintext,
    // an untrusted or missing client certificate) closes the connection.
    template <class F>
    void after_handshake(F then) {
        if constexpr (is_tls) {
            set_deadline(st_->options.idle_timeout);
            stream_.async_handshake(net::ssl::stream_base::server,
                                    [self = shared_from_this(), then = std::move(then)](beast::error_code ec) {
                                        if (ec) {
                                            self->log_refused(ec);
                                            return self->close_now();
                                        }
                                        then();
                                    });
        } else {
            then();
        }
    }

    void log_refused(const beast::error_code& ec) {
        beast::error_code ignored;
        const auto remote = lowest().remote_endpoint(ignored);
        RAFTLITE_LOG_APP(warning) << "http: TLS handshake with " << remote << " failed: " << ec.message()
                                  << "; connection closed";
    }

    void do_read() {
        if (st_->stopped)
            return close_now();
        parser_.emplace();
        request_id_.reset();
        head_ = false;
        parser_->body_limit(st_->options.body_limit);
        parser_->header_limit(static_cast<std::uint32_t>(
            std::min<std::size_t>(st_->options.header_limit, std::numeric_limits<std::uint32_t>::max())));
        // The whole request must arrive before the deadline: a client that
        // trickles bytes (slow loris) cannot hold the connection longer.
        set_deadline(st_->options.idle_timeout);
        http::async_read_header(stream_, buffer_, *parser_,
                                beast::bind_front_handler(&session::on_header, shared_from_this()));
    }

    // The header alone already tells a declared body is too large (413
    // before the body is sent). A client that asked "Expect: 100-continue"
    // (curl does for bodies over 1 KiB) waits for our 100 before sending the
    // body; without it each such request would stall for the client's wait.
    void on_header(beast::error_code ec, std::size_t n) {
        if (ec)
            return on_read(ec, n);
        auto& req = parser_->get();
        if (!parser_->is_done() && beast::iequals(req[http::field::expect], "100-continue")) {
            continue_ = http::response<http::empty_body>{http::status::continue_, req.version()};
            return http::async_write(stream_, continue_,
                                     [self = shared_from_this()](beast::error_code e, std::size_t) {
                                         if (e)
                                             return self->close_now();
                                         self->read_body();
                                     });
        }
        read_body();
    }

    // A request without a body (GET, DELETE) is complete with its head, and
    // a small body (a PUT's value) has mostly arrived in the same read and
    // waits in buffer_: parse it from there instead of starting a composed
    // read, which for bytes already here only parses them and then posts its
    // completion (a trip through the event loop per request). The parser's
    // own checks (body_limit, malformed chunks) apply as in http::async_read,
    // and anything still missing is read with it.
    void read_body() {
        if (!parser_->is_done() && buffer_.size() > 0) {
            beast::error_code ec;
            buffer_.consume(parser_->put(buffer_.data(), ec));
            if (ec && ec != http::error::need_more)
                return on_read(ec, 0);
        }
        if (parser_->is_done())
            return on_read({}, 0);
        read_more();
    }

    void read_more() {
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::body_limit)
            return send_error(http::status::payload_too_large, "payload_too_large",
                              "request body exceeds " + std::to_string(st_->options.body_limit) +
                                  " bytes",
                              true);
        if (ec == http::error::header_limit)
            return send_error(http::status::request_header_fields_too_large,
                              "header_too_large",
                              "request header exceeds " +
                                  std::to_string(st_->options.header_limit) + " bytes",
                              true);
        if (ec == http::error::end_of_stream || ec == http::error::partial_message)
            return close_now();
        if (ec && ec.category() == http::make_error_code(http::error::bad_target).category())
            return send_error(http::status::bad_request, "bad_request",
                              "malformed HTTP request: " + ec.message(), true);
        if (ec)
            return close_now();   // deadline (on_deadline closed it), reset, stop(): nobody to answer
        handle(parser_->release());
    }

    void handle(request req) {
        clear_deadline();
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        head_ = req.method() == http::verb::head;
        request_id_ = valid_request_id(req);

        auto r = route_request(req);
        if (auto* e = std::get_if<route_error>(&r)) {
            if (e->status == http::status::method_not_allowed)
                return method_not_allowed(e->allow.c_str());
            return send_error(e->status, e->token, e->message, false);
        }
        if (std::holds_alternative<status_route>(r)) {
            std::string body;
            try {
                body = st_->on.status ? st_->on.status() : "{}";
            } catch (const std::exception& e) {
                return send_error(http::status::internal_server_error, "internal",
                                  std::string("status failed: ") + e.what(), false);
            }
            return send(make(http::status::ok, std::move(body), "application/json"), false);
        }
        if (std::holds_alternative<metrics_route>(r)) {
            if (!st_->on.metrics)
                return send_error(http::status::not_found, "no_such_route",
                                  "this server has no metrics", false);
            std::string body;
            try {
                body = st_->on.metrics();
            } catch (const std::exception& e) {
                return send_error(http::status::internal_server_error, "internal",
                                  std::string("metrics failed: ") + e.what(), false);
            }
            return send(make(http::status::ok, std::move(body), prometheus_content_type), false);
        }
        if (auto* stale = std::get_if<stale_read_route>(&r)) {
            if (!st_->on.local_read)
                return send_error(http::status::not_found, "no_such_route",
                                  "this server has no local reads", false);
            std::optional<std::string> value;
            try {
                value = st_->on.local_read(stale->key);
            } catch (const std::exception& e) {
                return send_error(http::status::internal_server_error, "internal",
                                  std::string("local read failed: ") + e.what(), false);
            }
            if (!value)
                return send_error(http::status::not_found, "not_found", "no such key", false);
            return send(make(http::status::ok, std::move(*value), "application/octet-stream"), false);
        }
        if (std::holds_alternative<page_route>(r)) {
            auto res = make(http::status::ok, std::string(status_page_html()), "text/html; charset=utf-8");
            // The page is self-contained: no script or style from anywhere else.
            res.set("Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    "connect-src 'self'");
            return send(std::move(res), false);
        }
        if (auto* a = std::get_if<admin_route>(&r)) {
            if (!st_->on.admin)
                return send_error(http::status::not_found, "no_such_route",
                                  "this server has no membership administration", false);
            return admin(std::move(*a));
        }
        if (auto* range_read = std::get_if<range_route>(&r)) {
            if (!st_->on.range)
                return send_error(http::status::not_found, "no_such_route", "this server has no range reads",
                                  false);
            return range(std::move(*range_read));
        }
        if (auto* w = std::get_if<watch_route>(&r)) {
            if (!st_->on.watch)
                return send_error(http::status::not_found, "no_such_route", "this server keeps no changes to watch",
                                  false);
            return watch(std::move(*w));
        }
        if (std::holds_alternative<health_route>(r)) {
            if (!st_->on.health)
                return send_error(http::status::not_found, "no_such_route", "this server has no health check",
                                  false);
            return check_health();
        }
        submit(std::get<kv_command>(std::move(r)));
    }

    // GET /health: 200 {"health":true}, or 503 with a token saying why not.
    void check_health() {
        call_back<boost::system::error_code>(
            "health", [this](auto complete) { st_->on.health(std::move(complete)); },
            [](session& s, boost::system::error_code ec) {
                boost::json::object o{{"health", !ec}};
                if (ec) {
                    o["error"] = ec == raftlite::errc::not_leader ? "no_leader"
                                 : ec == raftlite::errc::timed_out ? "timed_out"
                                                                   : "unavailable";
                    o["message"] = ec.message();
                }
                s.send(s.make(ec ? http::status::service_unavailable : http::status::ok, json_text(o),
                              "application/json"),
                       false);
            });
    }

    // GET /kv?...: {"entries":[{"key":...,"value":...}],"more":bool,"index":n},
    // each key and value as append_bytes_member writes it (json_bytes.hpp).
    void range(range_route r) {
        const bool keys_only = r.query.keys_only;
        call_back<range_result>(
            "range", [this, &r](auto complete) { st_->on.range(std::move(r), std::move(complete)); },
            [keys_only](session& s, const range_result& result) {
                if (result.error)
                    return s.send_failure(result.error);
                if (result.count) {
                    std::string body = R"({"count":)" + std::to_string(*result.count) +
                                       R"(,"index":)" + std::to_string(result.index) + "}";
                    return s.send(s.make(http::status::ok, std::move(body), "application/json"), false);
                }
                // Written as text directly: a page may hold thousands of entries.
                std::string body = R"({"entries":[)";
                for (const auto& [key, value] : result.range.entries) {
                    body += body.back() == '[' ? "{" : ",{";
                    append_bytes_member(body, "key", key);
                    if (!keys_only) {
                        body += ',';
                        append_bytes_member(body, "value", value);
                    }
                    body += '}';
                }
                body += result.range.more ? R"(],"more":true,"index":)" : R"(],"more":false,"index":)";
                body += std::to_string(result.index);
                body += '}';
                s.send(s.make(http::status::ok, std::move(body), "application/json"), false);
            });
    }

    // GET /kv?...&watch=1: {"events":[...],"index":n}, or 410 history_gone.
    void watch(watch_route w) {
        const bool keys_only = w.range.keys_only;
        call_back<watch_result>(
            "watch", [this, &w](auto complete) { st_->on.watch(std::move(w), std::move(complete)); },
            [keys_only](session& s, const watch_result& result) {
                if (result.error)
                    return s.send_failure(result.error);
                if (result.gone) {
                    boost::json::object o{{"error", "history_gone"},
                                          {"message", "changes after the given index are no longer kept here; read "
                                                      "the range again and watch from its index"},
                                          {"index", result.index}};
                    return s.send(s.make(http::status::gone, json_text(o), "application/json"), false);
                }
                // Written as text directly: every watcher of a busy range gets
                // every change, so this runs once per change and watcher.
                std::string body = R"({"events":[)";
                for (const kv_event& e : result.events) {
                    body += body.back() == '[' ? R"({"index":)" : R"(,{"index":)";
                    body += std::to_string(e.index);
                    body += ',';
                    append_bytes_member(body, "key", e.key);
                    body += e.deleted ? R"(,"type":"delete")" : R"(,"type":"put")";
                    if (!e.deleted && !keys_only) {
                        body += ',';
                        append_bytes_member(body, "value", e.value);
                    }
                    body += '}';
                }
                body += R"(],"index":)";
                body += std::to_string(result.index);
                body += '}';
                s.send(s.make(http::status::ok, std::move(body), "application/json"), false);
            });
    }

    void admin(admin_route a) {
        call_back<admin_reply>(
            "admin", [this, &a](auto complete) { st_->on.admin(std::move(a), std::move(complete)); },
            [](session& s, const admin_reply& r) {
                auto res = s.make(static_cast<http::status>(r.status), r.body, "application/json");
                for (const auto& [name, value] : r.headers)
                    res.set(name, value);
                s.send(std::move(res), false);
            });
    }

    // Hands `call` a completion that may be called from any thread: the first
    // call posts `answer(session, result)` to this session, later ones are
    // ignored (a flag per request, an allocation beside the callback's own;
    // the kv commands, the hot path, use submit()'s number instead). If
    // `call` throws before completing, the client gets a 500 and the
    // connection closes.
    template <class Result, class Call, class Answer>
    void call_back(const char* what, Call call, Answer answer) {
        auto self = shared_from_this();
        auto done = std::make_shared<std::atomic<bool>>(false);
        std::function<void(Result)> complete = [self, done, answer](Result r) {
            if (done->exchange(true))
                return;   // exactly once: later calls are ignored
            net::post(self->stream_.get_executor(), [self, answer, r = std::move(r)] {
                if (self->st_->stopped)
                    return self->close_now();
                answer(*self, r);
            });
        };
        try {
            call(std::move(complete));
        } catch (const std::exception& e) {
            RAFTLITE_LOG_APP(error) << "http: " << what << " threw: " << e.what();
            if (!done->exchange(true))
                send_error(http::status::internal_server_error, "internal",
                           std::string(what) + " failed: " + e.what(), true);
        }
    }

    // Exactly once without a shared flag per request: every completion is
    // posted to the session, and only the first one for the request the
    // session is waiting for (`awaiting_`, a number of this session's own)
    // is answered; later calls, and calls for an earlier request, find
    // another number there and are dropped.
    void submit(kv_command cmd) {
        const std::uint64_t n = ++submitted_;
        awaiting_ = n;
        auto complete = [self = shared_from_this(), n, op = cmd.op](http_result r) {
            net::post(self->stream_.get_executor(), [self, n, op, r = std::move(r)] {
                if (self->awaiting_ != n)
                    return;   // exactly once: later calls are ignored
                self->awaiting_ = 0;
                self->on_result(op, r);
            });
        };
        try {
            st_->on.submit(std::move(cmd), std::move(complete));
        } catch (const std::exception& e) {
            RAFTLITE_LOG_APP(error) << "http: submit threw: " << e.what();
            if (awaiting_ == n) {
                awaiting_ = 0;
                send_error(http::status::internal_server_error, "internal",
                           std::string("submit failed: ") + e.what(), true);
            }
        }
    }

    // A command or read that the node could not carry out.
    void send_failure(const boost::system::error_code& ec) {
        if (ec == raftlite::errc::not_leader)
            return send_error(http::status::service_unavailable, "not_leader",
                              "no leader is known or reachable; retry later", false);
        if (ec == raftlite::errc::busy) {
            auto res = make(http::status::too_many_requests, error_body("busy", ec.message()), "application/json");
            res.set(http::field::retry_after, "1");
            return send(std::move(res), false);
        }
        if (ec == raftlite::errc::payload_too_large)
            return send_error(http::status::payload_too_large, "payload_too_large", ec.message(), false);
        if (ec == raftlite::errc::timed_out)
            return send_error(http::status::gateway_timeout, "timed_out", ec.message(), false);
        send_error(http::status::service_unavailable, "unavailable", ec.message(), false);
    }

    void on_result(kv_op op, const http_result& r) {
        if (st_->stopped)
            return close_now();
        if (r.error) {
            // A follower forwards commands to the leader itself, so not_leader
            // means no leader is known or reachable: the client retries later
            // (or elsewhere).
            return send_failure(r.error);
        }

        switch (r.result.status) {
        case kv_status::ok:
            if (op == kv_op::get)
                return send_ok(r.result.value ? std::string_view(*r.result.value) : std::string_view(),
                               "application/octet-stream");
            if (op == kv_op::open_session)
                return send(make(http::status::ok, json_text(boost::json::object{{"client_id", r.result.client_id}}),
                                 "application/json"),
                            false);
            if (op == kv_op::txn)
                return send_txn_answer(r.result);
            if (op == kv_op::delete_range)
                return send(make(http::status::ok,
                                 json_text(boost::json::object{{"result", "ok"}, {"deleted", r.result.count}}),
                                 "application/json"),
                            false);
            return send_ok(R"({"result":"ok"})", "application/json");
        case kv_status::not_found:
            return send_error(http::status::not_found, "not_found", "no such key", false);
        case kv_status::cas_failed: {
            boost::json::object o;
            o["error"] = "cas_failed";
            o["message"] = "the key does not hold the expected value";
            if (r.result.value)
                put_bytes(o, "current", *r.result.value);
            else
                o["current"] = nullptr;
            return send(make(http::status::conflict, json_text(o), "application/json"), false);
        }
        case kv_status::bad_command:
            return send_error(http::status::bad_request, "bad_command", r.result.error, false);
        case kv_status::session_expired:
            return send_error(http::status::gone, "session_expired", r.result.error, false);
        case kv_status::stale_request:
            return send_error(http::status::conflict, "stale_request", r.result.error, false);
        case kv_status::level_too_low:
            return send_error(http::status::conflict, "level_too_low", r.result.error, false);
        case kv_status::unsupported_level:
            return send_error(http::status::service_unavailable, "unavailable", r.result.error, false);
        case kv_status::no_space:
            return send_error(http::status::insufficient_storage, "no_space", r.result.error, false);
        }
        send_error(http::status::internal_server_error, "internal", "unknown result", false);
    }

    // POST /txn: {"succeeded": bool, "results": [...]}, one result per
    // operation of the branch that ran (http_server.hpp).
    void send_txn_answer(const kv_result& r) {
        std::string error;
        const auto t = r.value ? try_decode_txn_result(*r.value, error) : std::nullopt;
        if (!t)
            return send_error(http::status::internal_server_error, "internal",
                              "the transaction's result cannot be read: " + error, false);
        boost::json::array results;
        for (const txn_op_result& x : t->results) {
            boost::json::object o;
            switch (x.what) {
            case txn_op_result::kind::done: break;
            case txn_op_result::kind::deleted: o["deleted"] = x.count; break;
            case txn_op_result::kind::value:
                o["found"] = true;
                put_bytes(o, "value", x.value);
                break;
            case txn_op_result::kind::not_found: o["found"] = false; break;
            case txn_op_result::kind::too_large:
                o["found"] = true;
                o["too_large"] = true;
                o["size"] = x.count;
                break;
            }
            results.push_back(std::move(o));
        }
        boost::json::object answer{{"succeeded", t->succeeded}, {"results", std::move(results)}};
        send(make(http::status::ok, json_text(answer), "application/json"), false);
    }

    response make(http::status s, std::string body, const char* content_type) const {
        response res{s, version_ ? version_ : 11u};
        res.set(http::field::server, "raftlite-kv");
        res.set(http::field::content_type, content_type);
        if (request_id_)
            res.set("X-Request-Id", *request_id_);   // tracing: the client's own id, echoed
        res.body() = std::move(body);
        return res;
    }

    void method_not_allowed(const char* allow) {
        auto res = make(http::status::method_not_allowed,
                        error_body("method_not_allowed", std::string("allowed: ") + allow),
                        "application/json");
        res.set(http::field::allow, allow);
        send(std::move(res), false);
    }

    void send_error(http::status s, std::string_view token, std::string_view message,
                    bool close_after) {
        send(make(s, error_body(token, message), "application/json"), close_after);
    }

    // The response is serialized into one buffer the session keeps and
    // written with one async_write. Beast's http::async_write walks the
    // header and the body through its serializer's layers of composed
    // operations for every response: profiled on a leader under 64
    // keep-alive PUT connections, that was about a third of the time its
    // event loop spent writing responses, the rest being the sendmsg itself
    // (docs/performance.md, "raftlite-kv over HTTP").
    void send(response res, bool close_after) {
        res_ = std::move(res);
        res_.keep_alive(keep_alive_ && !close_after && !st_->stopped);
        res_.prepare_payload();
        serialize_response(res_, out_);
        // HEAD: GET's status and fields, Content-Length included, no body.
        if (head_) out_.resize(out_.size() - res_.body().size());
        write_out(res_.keep_alive());
    }

    // A 200 on a kept-alive HTTP/1.1 connection (the answer to nearly every
    // GET and PUT) is formatted straight into out_, with the same bytes
    // send() would write: building a response object first costs an
    // allocation per field and per body, for every request.
    void send_ok(std::string_view body, std::string_view content_type) {
        if (version_ != 11 || !keep_alive_ || st_->stopped)
            return send(make(http::status::ok, std::string(body), content_type.data()), false);
        char length[24];
        const auto length_end = std::to_chars(length, length + sizeof length, body.size()).ptr;
        out_.clear();
        out_ += "HTTP/1.1 200 OK\r\nServer: raftlite-kv\r\nContent-Type: ";
        out_ += content_type;
        if (request_id_) {
            out_ += "\r\nX-Request-Id: ";
            out_ += *request_id_;
        }
        out_ += "\r\nContent-Length: ";
        out_.append(length, length_end);
        out_ += "\r\n\r\n";
        if (!head_) out_ += body;
        write_out(true);
    }

    void write_out(bool keep_open) {
        keep_open_ = keep_open;
        set_deadline(st_->options.idle_timeout);
        net::async_write(stream_, net::buffer(out_),
                         beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec)
            return close_now();
        if (!keep_open_)
            return linger();
        do_read();
    }

    // Half-closes, then reads and discards until the client closes or a short
    // deadline passes. Closing with unread bytes in the socket would send a
    // reset, and the client could lose the response we just wrote (e.g. the
    // 413 for a body it is still sending).
    void linger() {
        beast::error_code ec;
        lowest().shutdown(tcp::socket::shutdown_send, ec);
        if (ec)
            return close_now();
        set_deadline(std::min(max_linger, st_->options.idle_timeout));
        drain();
    }

    void drain() {
        stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](
                                                           beast::error_code ec, std::size_t) {
            if (ec)
                return self->close_now();
            self->drain();
        });
    }

    // No TLS close_notify: a response is complete by its length, and a
    // client that stopped reading must not keep the connection open.
    void close_now() {
        beast::error_code ec;
        lowest().shutdown(tcp::socket::shutdown_both, ec);
        lowest().close(ec);
        clear_deadline();
        timer_.cancel();   // its wait holds the session
    }

    Stream stream_;
    net::steady_timer timer_;   // fires at deadline_ or earlier (set_deadline)
    clock::time_point deadline_ = clock::time_point::max();
    bool timer_armed_ = false;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    response res_;
    std::string out_;   // res_ serialized; its capacity is kept from one response to the next
    http::response<http::empty_body> continue_;
    std::shared_ptr<http_server::state> st_;
    bool counted_;
    bool keep_alive_ = false;
    bool head_ = false;   ///< the request is HEAD: responses go without their body
    bool keep_open_ = false;   // the response being written leaves the connection open
    unsigned version_ = 11;
    std::optional<std::string> request_id_;   // the request's valid X-Request-Id
    std::uint64_t submitted_ = 0;   // requests this session submitted
    std::uint64_t awaiting_ = 0;    // the one whose completion it waits for; 0: none
    char scratch_[4096];
};

class listener : public closable, public std::enable_shared_from_this<listener> {
public:
    listener(net::io_context& ioc, const tcp::endpoint& ep, std::shared_ptr<http_server::state> st)
        : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(acceptor_.get_executor()),
          st_(std::move(st)) {
        acceptor_.open(ep.protocol());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(net::socket_base::max_listen_connections);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    void run() {
        net::dispatch(acceptor_.get_executor(),
                      beast::bind_front_handler(&listener::do_accept, shared_from_this()));
    }

    void close() override {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->acceptor_.close(ec);
            self->retry_.cancel();
        });
    }

private:
    void do_accept() {
        // A session's handlers must not run concurrently: a strand of its
        // own, unless one thread runs everything anyway.
        const net::any_io_executor session_executor =
            st_->options.one_thread ? net::any_io_executor(ioc_.get_executor()) : net::any_io_executor(net::make_strand(ioc_));
        acceptor_.async_accept(session_executor,
                               beast::bind_front_handler(&listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open() || st_->stopped)
            return;
        if (ec) {
            RAFTLITE_LOG_APP(error) << "http: accept failed: " << ec.message();
            // Typically out of file descriptors: accepting again at once would
            // spin, so pause briefly and keep serving the open connections.
            retry_.expires_after(std::chrono::milliseconds(100));
            retry_.async_wait([self = shared_from_this()](beast::error_code e) {
                if (!e)
                    self->do_accept();
            });
            return;
        }
        const bool full = st_->active.load() >= st_->options.max_connections;
        if (full)
            RAFTLITE_LOG_APP(warning) << "http: " << st_->options.max_connections
                                      << " connections open; refusing one more with 503";
        if (st_->tls)
            launch<tls_stream>(std::move(socket), !full);
        else
            launch<tcp::socket>(std::move(socket), !full);
        do_accept();
    }

    template <class Stream>
    void launch(tcp::socket&& socket, bool counted) {
        auto s = std::make_shared<session<Stream>>(std::move(socket), st_, counted);
        // Refused ones too: stop() must close a connection still lingering
        // after its 503, or it would hold the io_context for the linger time.
        st_->add_session(s);
        if (!counted)
            return s->reject();
        s->run();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_;
    std::shared_ptr<http_server::state> st_;
};

// TLS 1.2+; with a client CA, a client certificate it signed is required.
std::unique_ptr<net::ssl::context> make_tls_context(const http_server_options& o) {
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_compression |
                     net::ssl::context::single_dh_use);
    auto fail = [](const beast::error_code& ec, const char* what, const std::string& file) {
        throw boost::system::system_error(ec, std::string("kv http: cannot use ") + what + " '" + file + "'");
    };
    beast::error_code ec;
    ctx->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec)
        fail(ec, "the TLS certificate", o.tls_cert_file);
    ctx->use_private_key_file(o.tls_key_file, net::ssl::context::pem, ec);
    if (ec)
        fail(ec, "the TLS private key", o.tls_key_file);
    if (!o.client_ca_file.empty()) {
        ctx->load_verify_file(o.client_ca_file, ec);
        if (ec)
            fail(ec, "the client CA", o.client_ca_file);
        ctx->set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
}

} // namespace

http_server::http_server(net::io_context& ioc, http_server_options options, http_handlers handlers)
    : ioc_(ioc), state_(std::make_shared<state>()) {
    state_->options = std::move(options);
    state_->on = std::move(handlers);
}

http_server::~http_server() {
    stop();
}

void http_server::start() {
    if (!state_->options.tls_cert_file.empty() && !state_->tls)
        state_->tls = make_tls_context(state_->options);
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(state_->options.address, std::to_string(state_->options.port),
                                    tcp::resolver::passive);
    auto l = std::make_shared<listener>(ioc_, results.begin()->endpoint(), state_);
    port_ = l->port();
    {
        std::lock_guard lock(state_->mutex);
        state_->listener = l;
    }
    l->run();
}

std::uint16_t http_server::port() const noexcept {
    return port_;
}

void http_server::stop() {
    if (state_->stopped.exchange(true))
        return;
    std::vector<std::shared_ptr<closable>> all;
    {
        std::lock_guard lock(state_->mutex);
        for (auto& w : state_->sessions)
            if (auto s = w.lock())
                all.push_back(std::move(s));
        state_->sessions.clear();
        if (state_->listener)
            all.push_back(std::move(state_->listener));
    }
    for (auto& c : all)
        c->close();
}

std::size_t http_server::connections() const noexcept {
    return state_->active.load();
}

} // namespace raftlite::kv
