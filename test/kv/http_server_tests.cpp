// Tests of the kv HTTP front end against a fake submit, with a Beast client
// on 127.0.0.1. No sleeps and no timing assertions: every wait is for a
// response, an end of stream, or a promise the fake submit fulfils.
#include <boost/test/unit_test.hpp>

#include "http_server.hpp"
#include "kv_test_util.hpp"

#include <raftlite/config.hpp>
#include <raftlite/error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <future>
#include <mutex>
#include <thread>

#include <poll.h>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace raftlite::kv;
using namespace raftlite::kv::testing;

namespace {

using response = http::response<http::string_body>;

// A server on an ephemeral port, run by one background thread, whose submit
// applies commands to a kv_store, except for a few keys that simulate the
// node's errors.
struct server_fixture {
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    kv_store store;   // touched only by the server thread
    std::mutex mutex;
    std::vector<kv_command> submitted;
    std::promise<std::function<void(http_result)>> deferred;   // for key "later"
    std::unique_ptr<http_server> server;
    std::thread thread;

    explicit server_fixture(http_server_options o = options()) {
        server = std::make_unique<http_server>(
            ioc, o,
            http_handlers{
                .submit = [this](kv_command c, std::function<void(http_result)> done) { submit(c, done); },
                .status = [] { return std::string(R"({"role":"leader","term":3})"); },
                .health = [this](std::function<void(boost::system::error_code)> done) { health(done); },
                .range = [this](range_route r, std::function<void(range_result)> done) { range(r, done); },
                .watch = [this](watch_route w, std::function<void(watch_result)> done) { watch(w, done); }});
        server->start();
        thread = std::thread([this] { ioc.run(); });
    }

    ~server_fixture() {
        server->stop();
        work.reset();
        ioc.stop();
        thread.join();
    }

    static http_server_options options() {
        http_server_options o;
        o.port = 0;
        o.body_limit = 1024;
        o.header_limit = 1024;
        o.idle_timeout = std::chrono::seconds(30);
        o.max_connections = 16;
        return o;
    }

    void submit(const kv_command& c, const std::function<void(http_result)>& done) {
        {
            std::lock_guard lock(mutex);
            submitted.push_back(c);
        }
        http_result r;
        if (c.key == "no-leader")
            r.error = raftlite::errc::not_leader;
        else if (c.key == "busy")
            r.error = raftlite::errc::busy;
        else if (c.key == "slow")
            r.error = raftlite::errc::timed_out;
        else if (c.key == "stopped")
            r.error = raftlite::errc::stopped;
        else if (c.key == "throw")
            throw std::runtime_error("wiring broke");
        else if (c.key == "later")
            return deferred.set_value(done);   // completed by the test thread
        else
            r.result = apply_next(store, c);
        done(r);
        done(r);   // a second call must be ignored
    }

    // GET /health answers with the next of `health_outcomes` (called on the
    // server thread).
    std::vector<boost::system::error_code> health_outcomes;
    void health(const std::function<void(boost::system::error_code)>& done) {
        const auto ec = health_outcomes.at(0);
        health_outcomes.erase(health_outcomes.begin());
        done(ec);
        done({});   // a second call must be ignored
    }

    // Range reads from the same store; a range starting at "no-leader"
    // fails as a read does without a leader.
    void range(const range_route& r, const std::function<void(range_result)>& done) {
        if (r.query.from == "no-leader")
            done({raftlite::errc::not_leader, {}});
        else
            done({{}, store.range(r.query)});
        done({});   // a second call must be ignored
    }

    // Watches: since 0 is before what is kept (gone); any other since gets
    // two changes after it, one of them a binary value.
    void watch(const watch_route& w, const std::function<void(watch_result)>& done) {
        if (w.since == std::optional<raftlite::index_t>(0))
            return done({{}, true, {}, 9});
        const raftlite::index_t since = w.since.value_or(5);
        done({{}, false, {{since + 1, "a", false, std::string("\x00\xff", 2)}, {since + 2, "b", true, ""}}, since + 2});
        done({});   // a second call must be ignored
    }

    std::uint16_t port() const { return server->port(); }
};

struct client {
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;

    explicit client(std::uint16_t port) {
        stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }

    response request(http::verb method, std::string target, std::string body = {},
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        for (auto& [k, v] : headers)
            req.set(k, v);
        req.body() = std::move(body);
        req.prepare_payload();
        http::write(stream, req);
        return read();
    }

    response read() {
        response res;
        http::read(stream, buffer, res);
        return res;
    }

    // True when the server closed the connection (end of stream or reset).
    bool closed_by_server() {
        char c;
        beast::error_code ec;
        stream.socket().read_some(net::buffer(&c, 1), ec);
        return ec == net::error::eof || ec == net::error::connection_reset;
    }
};

response one_request(std::uint16_t port, http::verb method, std::string target,
                     std::string body = {}) {
    client c(port);
    return c.request(method, std::move(target), std::move(body));
}

boost::json::object json_of(const response& r) {
    BOOST_TEST(r[http::field::content_type] == "application/json");
    return boost::json::parse(r.body()).as_object();
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_front_end)

BOOST_FIXTURE_TEST_CASE(put_get_delete, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::put, "/kv/greeting", "hello");
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(json_of(r).at("result").as_string() == "ok");

    r = c.request(http::verb::get, "/kv/greeting");
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(r.body() == "hello");
    BOOST_TEST(r[http::field::content_type] == "application/octet-stream");

    r = c.request(http::verb::delete_, "/kv/greeting");
    BOOST_TEST(r.result_int() == 200);

    r = c.request(http::verb::get, "/kv/greeting");
    BOOST_TEST(r.result_int() == 404);
    BOOST_TEST(json_of(r).at("error").as_string() == "not_found");

    r = c.request(http::verb::delete_, "/kv/greeting");
    BOOST_TEST(r.result_int() == 404);
    // all on one keep-alive connection
    BOOST_TEST(r.keep_alive());
}

BOOST_FIXTURE_TEST_CASE(commands_reach_submit, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto put = c.request(http::verb::put, "/kv/a%2Fb%20c", std::string("\0v", 2), {{"X-Request-Id", "12345"}});
    BOOST_TEST(put.result_int() == 200);
    // X-Request-Id is only echoed: it is not in the command, whose origin
    // the peer fills in.
    BOOST_TEST(put["X-Request-Id"] == "12345");
    auto r = c.request(http::verb::get, "/kv/a%2fb%20c");
    BOOST_TEST(r.body() == std::string("\0v", 2));
    BOOST_TEST((r.find("X-Request-Id") == r.end()));   // not carried over from the previous request
    std::lock_guard lock(mutex);
    BOOST_REQUIRE_EQUAL(submitted.size(), 2u);
    BOOST_TEST(submitted[0].key == "a/b c");
    BOOST_TEST((submitted[0].op == kv_op::put));
    BOOST_TEST(submitted[0].origin_request == 0u);
    BOOST_TEST(submitted[0].client_id == 0u);
    BOOST_TEST((submitted[1].op == kv_op::get));
}

// Client sessions end to end, the fixture's submit applying to a kv_store:
// a retried write (same X-Client-Id, X-Client-Seq) gets the original answer
// and is applied once; an older seq and an unknown session are refused.
BOOST_FIXTURE_TEST_CASE(session_commands_apply_once, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto opened = c.request(http::verb::post, "/session");
    BOOST_TEST_REQUIRE(opened.result_int() == 200);
    const auto id = json_of(opened).at("client_id").to_number<std::uint64_t>();
    BOOST_TEST(id > 0u);
    const std::string sid = std::to_string(id);
    auto in_session = [&](std::uint64_t seq) {
        return std::vector<std::pair<std::string, std::string>>{{"X-Client-Id", sid},
                                                                {"X-Client-Seq", std::to_string(seq)}};
    };
    BOOST_TEST(c.request(http::verb::put, "/kv/k", "a").result_int() == 200);
    const std::string swap = R"({"expected":"a","value":"b"})";
    BOOST_TEST(c.request(http::verb::post, "/kv/k?cas", swap, in_session(1)).result_int() == 200);
    // Someone else moves the value on; the retry must not see that.
    BOOST_TEST(c.request(http::verb::put, "/kv/k", "a").result_int() == 200);
    BOOST_TEST(c.request(http::verb::post, "/kv/k?cas", swap, in_session(1)).result_int() == 200);
    BOOST_TEST(c.request(http::verb::get, "/kv/k").body() == "a");   // the retry changed nothing
    auto second = c.request(http::verb::post, "/kv/k?cas", swap, in_session(2));
    BOOST_TEST(second.result_int() == 200);
    BOOST_TEST(c.request(http::verb::get, "/kv/k").body() == "b");
    auto stale = c.request(http::verb::post, "/kv/k?cas", swap, in_session(1));
    BOOST_TEST(stale.result_int() == 409);
    BOOST_TEST(json_of(stale).at("error").as_string() == "stale_request");
    BOOST_TEST(c.request(http::verb::delete_, "/session/" + sid).result_int() == 200);
    auto gone = c.request(http::verb::put, "/kv/k", "c", in_session(3));
    BOOST_TEST(gone.result_int() == 410);
    BOOST_TEST(json_of(gone).at("error").as_string() == "session_expired");
    BOOST_TEST(c.request(http::verb::delete_, "/session/" + sid).result_int() == 410);
    BOOST_TEST(c.request(http::verb::get, "/kv/k").body() == "b");
}

BOOST_FIXTURE_TEST_CASE(compare_and_swap, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::post, "/kv/lock?cas", R"({"expected":null,"value":"me"})");
    BOOST_TEST(r.result_int() == 200);

    r = c.request(http::verb::post, "/kv/lock?cas", R"({"expected":null,"value":"you"})");
    BOOST_TEST(r.result_int() == 409);
    auto j = json_of(r);
    BOOST_TEST(j.at("error").as_string() == "cas_failed");
    BOOST_TEST(j.at("current").as_string() == "me");

    r = c.request(http::verb::post, "/kv/lock?cas", R"({"expected":"me","value":"you"})");
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(c.request(http::verb::get, "/kv/lock").body() == "you");

    r = c.request(http::verb::post, "/kv/absent?cas", R"({"expected":"x","value":"y"})");
    BOOST_TEST(r.result_int() == 409);
    BOOST_TEST(json_of(r).at("current").is_null());
}

BOOST_FIXTURE_TEST_CASE(bad_cas_bodies, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    for (std::string body : {"not json", "[1,2]", R"({"value":"v"})", R"({"expected":null})",
                             R"({"expected":1,"value":"v"})", R"({"expected":null,"value":2})",
                             R"({"expected":null,"value":"v","ttl":3})"}) {
        auto r = c.request(http::verb::post, "/kv/k?cas", body);
        BOOST_TEST(r.result_int() == 400, "body " << body);
        BOOST_TEST(json_of(r).at("error").as_string() == "bad_body");
    }
    auto r = c.request(http::verb::post, "/kv/k", R"({"expected":null,"value":"v"})");
    BOOST_TEST(r.result_int() == 400);
    std::lock_guard lock(mutex);
    BOOST_TEST(submitted.empty());
}

BOOST_FIXTURE_TEST_CASE(status, server_fixture, *boost::unit_test::timeout(60)) {
    auto r = one_request(port(), http::verb::get, "/status");
    BOOST_TEST(r.result_int() == 200);
    auto j = json_of(r);
    BOOST_TEST(j.at("role").as_string() == "leader");
    BOOST_TEST(j.at("term").as_int64() == 3);

    r = one_request(port(), http::verb::post, "/status");
    BOOST_TEST(r.result_int() == 405);
    BOOST_TEST(r[http::field::allow] == "GET, HEAD");
}

BOOST_FIXTURE_TEST_CASE(bad_requests, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::get, "/nothing/here");
    BOOST_TEST(r.result_int() == 404);
    BOOST_TEST(json_of(r).at("error").as_string() == "no_such_route");

    r = c.request(http::verb::patch, "/kv/k");
    BOOST_TEST(r.result_int() == 405);
    BOOST_TEST(r[http::field::allow] == "GET, HEAD, PUT, DELETE, POST");

    r = c.request(http::verb::get, "/kv/");
    BOOST_TEST(r.result_int() == 400);
    BOOST_TEST(json_of(r).at("message").as_string() == "empty key");

    r = c.request(http::verb::get, "/kv/bad%zz");
    BOOST_TEST(r.result_int() == 400);
    BOOST_TEST(json_of(r).at("error").as_string() == "bad_key");

    r = c.request(http::verb::get, "/kv/bad%2");
    BOOST_TEST(r.result_int() == 400);

    r = c.request(http::verb::get, "/kv/k?cas");
    BOOST_TEST(r.result_int() == 400);

    r = c.request(http::verb::get, "/kv/k", {}, {{"X-Request-Id", "12x"}});
    BOOST_TEST(r.result_int() == 400);
    BOOST_TEST(json_of(r).at("error").as_string() == "bad_request_id");

    r = c.request(http::verb::get, "/kv/" + std::string(max_key_bytes + 1, 'k'));
    BOOST_TEST((r.result_int() == 400 || r.result_int() == 431));

    std::lock_guard lock(mutex);
    BOOST_TEST(submitted.empty());
}

BOOST_FIXTURE_TEST_CASE(submit_errors, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::put, "/kv/no-leader?x", "v");
    // a query on PUT is refused before submit; now the real one
    BOOST_TEST(r.result_int() == 400);

    r = c.request(http::verb::put, "/kv/no-leader", "v");
    BOOST_TEST(r.result_int() == 503);
    auto j = json_of(r);
    BOOST_TEST(j.at("error").as_string() == "not_leader");
    BOOST_TEST(!r.count(http::field::location));

    r = c.request(http::verb::get, "/kv/no-leader");
    BOOST_TEST(r.result_int() == 503);
    BOOST_TEST(json_of(r).at("error").as_string() == "not_leader");

    r = c.request(http::verb::get, "/kv/busy");
    BOOST_TEST(r.result_int() == 429);
    BOOST_TEST(r[http::field::retry_after] == "1");
    BOOST_TEST(json_of(r).at("error").as_string() == "busy");

    r = c.request(http::verb::get, "/kv/slow");
    BOOST_TEST(r.result_int() == 504);
    BOOST_TEST(json_of(r).at("error").as_string() == "timed_out");

    r = c.request(http::verb::get, "/kv/stopped");
    BOOST_TEST(r.result_int() == 503);
    BOOST_TEST(json_of(r).at("error").as_string() == "unavailable");

    // the connection survived every error response
    BOOST_TEST(c.request(http::verb::put, "/kv/fine", "v").result_int() == 200);

    // a submit that throws gets 500 and the connection is closed
    r = c.request(http::verb::get, "/kv/throw");
    BOOST_TEST(r.result_int() == 500);
    BOOST_TEST(!r.keep_alive());
}

BOOST_FIXTURE_TEST_CASE(completion_from_another_thread, server_fixture,
                        *boost::unit_test::timeout(60)) {
    auto done = deferred.get_future();
    auto answer = std::async(std::launch::async, [p = port()] {
        return one_request(p, http::verb::get, "/kv/later");
    });
    auto complete = done.get();   // submit was called and handed us its completion
    http_result r;
    r.result.value = "from the test thread";
    complete(r);
    auto res = answer.get();
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "from the test thread");
}

// raftlite-kv runs the server on its one thread without a strand per
// session (http_server_options::one_thread): the same answers on connections
// used in turn, and a completion posted back from another thread.
struct one_thread_fixture : server_fixture {
    one_thread_fixture() : server_fixture(with_one_thread()) {}
    static http_server_options with_one_thread() {
        auto o = options();
        o.one_thread = true;
        return o;
    }
};

BOOST_FIXTURE_TEST_CASE(one_thread_sessions_answer_interleaved_connections, one_thread_fixture,
                        *boost::unit_test::timeout(60)) {
    client a(port()), b(port());
    BOOST_TEST(a.request(http::verb::put, "/kv/x", "1").result_int() == 200);
    BOOST_TEST(b.request(http::verb::put, "/kv/y", "2").result_int() == 200);
    auto ra = a.request(http::verb::get, "/kv/y", {}, {{"X-Request-Id", "7"}});
    auto rb = b.request(http::verb::get, "/kv/x");
    BOOST_TEST(ra.result_int() == 200);
    BOOST_TEST(ra.body() == "2");
    BOOST_TEST(ra["X-Request-Id"] == "7");
    BOOST_TEST(rb.body() == "1");
    BOOST_TEST(ra.keep_alive());
    BOOST_TEST(rb.keep_alive());
    BOOST_TEST(a.request(http::verb::get, "/kv/none").result_int() == 404);

    auto done = deferred.get_future();
    auto answer = std::async(std::launch::async, [p = port()] {
        return one_request(p, http::verb::get, "/kv/later");
    });
    auto complete = done.get();
    http_result r;
    r.result.value = "from the test thread";
    complete(r);
    auto res = answer.get();
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "from the test thread");
}

BOOST_FIXTURE_TEST_CASE(body_too_large, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::put, "/kv/big", std::string(64 * 1024, 'x'));
    BOOST_TEST(r.result_int() == 413);
    BOOST_TEST(json_of(r).at("error").as_string() == "payload_too_large");
    BOOST_TEST(!r.keep_alive());
    BOOST_TEST(c.closed_by_server());

    // exactly at the limit is fine
    BOOST_TEST(one_request(port(), http::verb::put, "/kv/big", std::string(1024, 'x')).result_int() ==
               200);
    std::lock_guard lock(mutex);
    BOOST_TEST(submitted.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(declared_body_too_large_refused_before_it_is_sent, server_fixture,
                        *boost::unit_test::timeout(60)) {
    client c(port());
    http::request<http::string_body> req{http::verb::put, "/kv/big", 11};
    req.set(http::field::host, "127.0.0.1");
    req.body() = std::string(64 * 1024, 'x');
    req.prepare_payload();
    http::request_serializer<http::string_body> sr{req};
    http::write_header(c.stream, sr);   // the header only: Content-Length says it all
    auto r = c.read();
    BOOST_TEST(r.result_int() == 413);
    BOOST_TEST(c.closed_by_server());
}

BOOST_FIXTURE_TEST_CASE(expect_100_continue, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    http::request<http::string_body> req{http::verb::put, "/kv/k", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::expect, "100-continue");
    req.body() = std::string(900, 'x');
    req.prepare_payload();
    http::request_serializer<http::string_body> sr{req};
    http::write_header(c.stream, sr);
    http::response<http::empty_body> cont;
    http::read(c.stream, c.buffer, cont);   // the server asks for the body ...
    BOOST_TEST(cont.result_int() == 100);
    http::write(c.stream, sr);              // ... and gets it
    auto r = c.read();
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(c.request(http::verb::get, "/kv/k").body() == std::string(900, 'x'));
}

// Bodies that arrived with their heads are parsed from the read buffer (the
// server skips a composed read for them): requests written back to back in
// one write each get their answer, in order, and a chunked body over the
// limit found there still gets 413.
BOOST_FIXTURE_TEST_CASE(bodies_already_read_with_their_heads, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    const std::string head = " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    net::write(c.stream.socket(),
               net::buffer("PUT /kv/a" + head + "Content-Length: 3\r\n\r\none" +
                           "PUT /kv/b" + head + "Transfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n" +
                           "GET /kv/a" + head + "\r\n" + "GET /kv/b" + head + "\r\n"));
    BOOST_TEST(c.read().result_int() == 200);
    BOOST_TEST(c.read().result_int() == 200);
    BOOST_TEST(c.read().body() == "one");
    BOOST_TEST(c.read().body() == "two");

    const std::string chunk(800, 'x');
    net::write(c.stream.socket(), net::buffer("PUT /kv/big" + head + "Transfer-Encoding: chunked\r\n\r\n320\r\n" +
                                              chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    auto r = c.read();
    BOOST_TEST(r.result_int() == 413);
    BOOST_TEST(json_of(r).at("error").as_string() == "payload_too_large");
    BOOST_TEST(c.closed_by_server());
    std::lock_guard lock(mutex);
    BOOST_TEST(submitted.size() == 4u);
}

BOOST_FIXTURE_TEST_CASE(header_too_large, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::get, "/kv/k", {}, {{"X-Padding", std::string(4096, 'p')}});
    BOOST_TEST(r.result_int() == 431);
    BOOST_TEST(json_of(r).at("error").as_string() == "header_too_large");
    BOOST_TEST(c.closed_by_server());
}

BOOST_FIXTURE_TEST_CASE(malformed_request, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    net::write(c.stream.socket(), net::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
    auto r = c.read();
    BOOST_TEST(r.result_int() == 400);
    BOOST_TEST(c.closed_by_server());
}

// HEAD: GET's status and fields, Content-Length the body's, and no body (the
// next response on the connection follows the head directly).
BOOST_FIXTURE_TEST_CASE(head_answers_like_get_without_a_body, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    BOOST_TEST(c.request(http::verb::put, "/kv/a", "hello").result_int() == 200);
    const std::string pipelined = "HEAD /kv/a HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "HEAD /kv/missing HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /kv/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    net::write(c.stream.socket(), net::buffer(pipelined));
    std::string all;
    beast::error_code ec;
    for (char buf[4096];;) {
        const std::size_t n = c.stream.socket().read_some(net::buffer(buf), ec);
        if (ec) break;
        all.append(buf, n);
    }
    // Four responses: the three heads carry no body, the GET its value.
    const auto first = all.find("HTTP/1.1 200 OK\r\n");
    BOOST_REQUIRE(first == 0u);
    BOOST_TEST(all.find("Content-Length: 5\r\n\r\nHTTP/1.1 404 Not Found\r\n") != std::string::npos, all);
    const auto status_head = all.find("HTTP/1.1 200 OK\r\n", 1);
    BOOST_REQUIRE(status_head != std::string::npos);
    const auto status_end = all.find("\r\n\r\n", status_head);
    BOOST_TEST(all.compare(status_end + 4, 17, "HTTP/1.1 200 OK\r\n") == 0, all);
    BOOST_TEST(all.substr(all.size() - 9) == "\r\n\r\nhello", all);
    BOOST_TEST(all.find("not_found") == std::string::npos, all);   // the 404's body stayed home
}

// GET /health: 200 while the callback says a linearizable read would be
// served, 503 with a token saying why not; the connection stays open.
BOOST_FIXTURE_TEST_CASE(health, server_fixture, *boost::unit_test::timeout(60)) {
    health_outcomes = {{}, raftlite::errc::not_leader, raftlite::errc::timed_out, raftlite::errc::stopped};
    client c(port());
    auto r = c.request(http::verb::get, "/health");
    BOOST_TEST(r.result_int() == 200);
    BOOST_TEST(boost::json::parse(r.body()) == boost::json::parse(R"({"health":true})"));
    for (const char* token : {"no_leader", "timed_out", "unavailable"}) {
        r = c.request(http::verb::get, "/health");
        BOOST_TEST(r.result_int() == 503);
        const auto j = boost::json::parse(r.body()).as_object();
        BOOST_TEST(j.at("health").as_bool() == false);
        BOOST_TEST(j.at("error").as_string() == token);
        BOOST_TEST(r.keep_alive());
    }
    BOOST_TEST(c.request(http::verb::post, "/health").result_int() == 405);
    BOOST_TEST(health_outcomes.empty());
}

// GET /kv?...: entries in key order as JSON, bytes that are not UTF-8 in
// base64 fields, pages that continue with after=, errors as a GET's.
BOOST_FIXTURE_TEST_CASE(range_reads, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"a/1", "one"},
                                     {"a/2", std::string("\x00\xff", 2)},
                                     {"a/3", "three"},
                                     {"b", "other"}})
        BOOST_TEST(c.request(http::verb::put, "/kv/" + key, value).result_int() == 200);

    auto r = c.request(http::verb::get, "/kv?prefix=a%2F&limit=2");
    BOOST_TEST(r.result_int() == 200);
    auto o = json_of(r);
    auto& entries = o.at("entries").as_array();
    BOOST_TEST_REQUIRE(entries.size() == 2u);
    BOOST_TEST(entries[0].as_object().at("key").as_string() == "a/1");
    BOOST_TEST(entries[0].as_object().at("value").as_string() == "one");
    BOOST_TEST(!entries[1].as_object().contains("value"));
    BOOST_TEST(entries[1].as_object().at("value_base64").as_string() == "AP8=");
    BOOST_TEST(o.at("more").as_bool());

    r = c.request(http::verb::get, "/kv?prefix=a%2F&limit=2&after=a%2F2&keys_only=1");
    o = json_of(r);
    BOOST_TEST_REQUIRE(o.at("entries").as_array().size() == 1u);
    BOOST_TEST(o.at("entries").as_array()[0].as_object().at("key").as_string() == "a/3");
    BOOST_TEST(!o.at("entries").as_array()[0].as_object().contains("value"));
    BOOST_TEST(!o.at("more").as_bool());

    r = c.request(http::verb::get, "/kv?start=no-leader");
    BOOST_TEST(r.result_int() == 503);
    BOOST_TEST(json_of(r).at("error").as_string() == "not_leader");
    r = c.request(http::verb::get, "/kv?prefix=a&limit=0");
    BOOST_TEST(r.result_int() == 400);
    BOOST_TEST(json_of(r).at("error").as_string() == "bad_range");

    // A cas that fails on a binary value names it in base64, in valid JSON.
    r = c.request(http::verb::post, "/kv/a%2F2?cas", R"({"expected":"x","value":"y"})");
    BOOST_TEST(r.result_int() == 409);
    BOOST_TEST(json_of(r).at("current_base64").as_string() == "AP8=");
}

// GET /kv?...&watch=1: the changes as JSON (type, base64 for binary
// values, no value for a delete or with keys_only), 410 when gone.
BOOST_FIXTURE_TEST_CASE(watches, server_fixture, *boost::unit_test::timeout(60)) {
    client c(port());
    auto r = c.request(http::verb::get, "/kv?prefix=&watch=1&since=10");
    BOOST_TEST(r.result_int() == 200);
    auto o = json_of(r);
    BOOST_TEST(o.at("index").as_int64() == 12);
    auto& events = o.at("events").as_array();
    BOOST_TEST_REQUIRE(events.size() == 2u);
    BOOST_TEST(events[0].as_object().at("index").as_int64() == 11);
    BOOST_TEST(events[0].as_object().at("type").as_string() == "put");
    BOOST_TEST(events[0].as_object().at("value_base64").as_string() == "AP8=");
    BOOST_TEST(events[1].as_object().at("type").as_string() == "delete");
    BOOST_TEST(!events[1].as_object().contains("value"));

    r = c.request(http::verb::get, "/kv?watch=1&since=10&keys_only=1");
    BOOST_TEST(!json_of(r).at("events").as_array()[0].as_object().contains("value_base64"));

    r = c.request(http::verb::get, "/kv?watch=1&since=0");
    BOOST_TEST(r.result_int() == 410);
    o = json_of(r);
    BOOST_TEST(o.at("error").as_string() == "history_gone");
    BOOST_TEST(o.at("index").as_int64() == 9);

    r = c.request(http::verb::get, "/kv?watch=1&since=-1");
    BOOST_TEST(r.result_int() == 400);
}

BOOST_AUTO_TEST_CASE(too_many_connections, *boost::unit_test::timeout(60)) {
    auto o = server_fixture::options();
    o.max_connections = 1;
    server_fixture f(o);
    client first(f.port());
    // A full round trip proves the server counts the first connection.
    BOOST_TEST(first.request(http::verb::put, "/kv/a", "1").result_int() == 200);
    BOOST_TEST(f.server->connections() == 1u);

    client second(f.port());
    auto r = second.read();   // answered without sending anything
    BOOST_TEST(r.result_int() == 503);
    auto j = boost::json::parse(r.body()).as_object();
    BOOST_TEST(j.at("error").as_string() == "too_many_connections");
    BOOST_TEST(second.closed_by_server());

    // the first connection is unaffected
    BOOST_TEST(first.request(http::verb::get, "/kv/a").body() == "1");
}

BOOST_AUTO_TEST_CASE(slow_loris_is_disconnected, *boost::unit_test::timeout(60)) {
    auto o = server_fixture::options();
    o.idle_timeout = std::chrono::milliseconds(200);
    server_fixture f(o);
    client c(f.port());
    // Half a request, then nothing: the server must hang up on its own.
    net::write(c.stream.socket(), net::buffer(std::string("GET /kv/a HTTP/1.1\r\nHost: x\r\n")));
    BOOST_TEST(c.closed_by_server());
    std::lock_guard lock(f.mutex);
    BOOST_TEST(f.submitted.empty());
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed, *boost::unit_test::timeout(60)) {
    auto o = server_fixture::options();
    o.idle_timeout = std::chrono::milliseconds(200);
    server_fixture f(o);
    // Never a byte: closed.
    client silent(f.port());
    BOOST_TEST(silent.closed_by_server());
    // Kept alive after an answer, then nothing more: closed too.
    client done(f.port());
    BOOST_TEST(done.request(http::verb::put, "/kv/a", "1").result_int() == 200);
    BOOST_TEST(done.closed_by_server());
}

// A slow loris that keeps every gap far below idle_timeout: a deadline per
// read would never fire, but the whole request must arrive within
// idle_timeout, so the server hangs up without an answer.
BOOST_AUTO_TEST_CASE(trickled_request_is_cut_off, *boost::unit_test::timeout(60)) {
    auto o = server_fixture::options();
    o.idle_timeout = std::chrono::milliseconds(300);
    o.header_limit = 64u << 10;   // never the reason it ends
    server_fixture f(o);
    client c(f.port());
    auto& socket = c.stream.socket();
    net::write(socket, net::buffer(std::string("PUT /kv/a HTTP/1.1\r\nHost: x\r\nX-Pad: ")));
    bool closed = false;
    for (int i = 0; i < 20000 && !closed; ++i) {
        beast::error_code ec;
        net::write(socket, net::buffer("p", 1), ec);
        if (ec)
            break;   // the server is gone (reset)
        // Paces the trickle, and returns as soon as the server's close arrives.
        pollfd p{socket.native_handle(), POLLIN, 0};
        closed = ::poll(&p, 1, 30) > 0;
    }
    BOOST_TEST(c.closed_by_server());
    std::lock_guard lock(f.mutex);
    BOOST_TEST(f.submitted.empty());
}

BOOST_AUTO_TEST_CASE(stop_closes_connections, *boost::unit_test::timeout(60)) {
    server_fixture f;
    client c(f.port());
    BOOST_TEST(c.request(http::verb::put, "/kv/a", "1").result_int() == 200);
    f.server->stop();
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_SUITE_END()
