// route_request: the kv HTTP mapping as a pure function (http_routes.hpp),
// without sockets. The server tests (http_server_tests.cpp) cover the same
// routes end to end; these pin down the mapping's edge cases directly.
#include <boost/test/unit_test.hpp>

#include "http_routes.hpp"

#include <boost/beast/http.hpp>

#include <string>
#include <utility>
#include <vector>
#include <variant>

namespace http = boost::beast::http;
using namespace raftlite::kv;

namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

http_request request_of(http::verb method, const std::string& target, const std::string& body = {},
                        const header_list& headers = {}) {
    http_request req{method, target, 11};
    req.body() = body;
    for (const auto& [name, value] : headers)
        req.insert(name, value);   // insert: a test may repeat a header
    return req;
}

route route_of(http::verb method, const std::string& target, const std::string& body = {},
               const std::string& request_id = {}) {
    auto req = request_of(method, target, body,
                          request_id.empty() ? header_list{} : header_list{{"X-Request-Id", request_id}});
    return route_request(req);
}

route route_with(http::verb method, const std::string& target, const header_list& headers,
                 const std::string& body = {}) {
    auto req = request_of(method, target, body, headers);
    return route_request(req);
}

const route_error& error_of(const route& r) {
    BOOST_TEST_REQUIRE(std::holds_alternative<route_error>(r));
    return std::get<route_error>(r);
}

const kv_command& command_of(const route& r) {
    BOOST_TEST_REQUIRE(std::holds_alternative<kv_command>(r));
    return std::get<kv_command>(r);
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_routes)

BOOST_AUTO_TEST_CASE(commands_from_the_four_methods) {
    auto put = route_of(http::verb::put, "/kv/a%2Fb", "v", "7");
    BOOST_TEST((command_of(put).op == kv_op::put));
    BOOST_TEST(command_of(put).key == "a/b");
    BOOST_TEST(command_of(put).value == "v");
    // X-Request-Id is validated but not part of the command (only echoed).
    BOOST_TEST(command_of(put).origin_request == 0u);
    BOOST_TEST(command_of(put).client_id == 0u);
    BOOST_TEST((command_of(route_of(http::verb::get, "/kv/k")).op == kv_op::get));
    BOOST_TEST((command_of(route_of(http::verb::delete_, "/kv/k")).op == kv_op::del));
    auto cas = route_of(http::verb::post, "/kv/k?cas", R"({"expected":null,"value":"x"})");
    BOOST_TEST((command_of(cas).op == kv_op::cas));
    BOOST_TEST(!command_of(cas).expected.has_value());
}

BOOST_AUTO_TEST_CASE(deletes_by_range_and_by_comparison) {
    const kv_command prefix = command_of(route_of(http::verb::delete_, "/kv?prefix=user%2F"));
    BOOST_TEST((prefix.op == kv_op::delete_range));
    BOOST_TEST(prefix.key == "user/");
    BOOST_TEST(prefix.value == "user0");
    const kv_command bounds = command_of(route_of(http::verb::delete_, "/kv?start=a&end=c"));
    BOOST_TEST(bounds.key == "a");
    BOOST_TEST(bounds.value == "c");
    // Without an end, and for an empty prefix: up to the system keys, never into them.
    BOOST_TEST(command_of(route_of(http::verb::delete_, "/kv?start=m")).value == "\xff");
    BOOST_TEST(command_of(route_of(http::verb::delete_, "/kv?prefix=")).key.empty());
    BOOST_TEST(command_of(route_of(http::verb::delete_, "/kv?prefix=")).value == "\xff");
    BOOST_TEST(command_of(route_of(http::verb::delete_, "/kv?start=a&end=%FF%FF")).value == "\xff");
    // In a client session like any write.
    const kv_command in_session = command_of(
        route_with(http::verb::delete_, "/kv?prefix=a", {{"X-Client-Id", "5"}, {"X-Client-Seq", "2"}}));
    BOOST_TEST(in_session.client_id == 5u);
    BOOST_TEST(in_session.client_seq == 2u);
    for (const char* target : {"/kv", "/kv?prefix=a&limit=3", "/kv?prefix=a&stale=1", "/kv?start=b&end=a",
                               "/kv?start=b&end=b", "/kv?prefix=a&watch=1", "/kv?prefix=a&end=b"})
        BOOST_TEST(error_of(route_of(http::verb::delete_, target)).token == "bad_range", target);
    BOOST_TEST(error_of(route_of(http::verb::delete_, "/kv?prefix=%FF")).token == "reserved_key");

    // Compare-and-delete: "value": null.
    const kv_command cad = command_of(route_of(http::verb::post, "/kv/lock?cas", R"({"expected":"me","value":null})"));
    BOOST_TEST((cad.op == kv_op::cas_delete));
    BOOST_TEST((cad.expected == std::optional<std::string>("me")));
    BOOST_TEST(cad.value.empty());
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/lock?cas", R"({"expected":null,"value":null})")).token ==
               "bad_body");
}

BOOST_AUTO_TEST_CASE(transactions_are_posted_to_txn) {
    const kv_command t = command_of(route_with(http::verb::post, "/txn", {{"X-Client-Id", "5"}, {"X-Client-Seq", "1"}},
                                               R"({"compare":[{"key":"a","absent":true}],)"
                                               R"("success":[{"op":"put","key":"a","value":"1"}]})"));
    BOOST_TEST((t.op == kv_op::txn));
    BOOST_TEST(t.client_id == 5u);
    const kv_txn decoded = decode_txn(t.value);
    BOOST_TEST(decoded.compare.size() == 1u);
    BOOST_TEST(decoded.success.at(0).value == "1");
    BOOST_TEST(error_of(route_of(http::verb::get, "/txn")).allow == "POST");
    BOOST_TEST(error_of(route_of(http::verb::post, "/txn?x=1", "{}")).token == "bad_request");
    BOOST_TEST(error_of(route_of(http::verb::post, "/txn", "{\"compare\":3}")).token == "bad_body");
    BOOST_TEST(error_of(route_of(http::verb::post, "/txn",
                                 R"({"success":[{"op":"put","key_base64":"/2t2","value":"1"}]})"))
                   .token == "bad_body");
}

BOOST_AUTO_TEST_CASE(system_keys_are_read_only) {
    BOOST_TEST((command_of(route_of(http::verb::get, "/kv/%FFkv%2Flevel%2Fcluster")).op == kv_op::get));
    BOOST_TEST(std::holds_alternative<stale_read_route>(route_of(http::verb::get, "/kv/%FFx?stale=1")));
    BOOST_TEST(error_of(route_of(http::verb::put, "/kv/%FFx", "2")).token == "reserved_key");
    BOOST_TEST(error_of(route_of(http::verb::delete_, "/kv/%FFx")).token == "reserved_key");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/%FFx?cas", R"({"expected":null,"value":"3"})")).token ==
               "reserved_key");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/%FFx?cas", R"({"expected":"1","value":null})")).token ==
               "reserved_key");
}

BOOST_AUTO_TEST_CASE(status_and_its_method) {
    BOOST_TEST(std::holds_alternative<status_route>(route_of(http::verb::get, "/status")));
    const auto r = route_of(http::verb::put, "/status");   // error_of refers into it
    auto& e = error_of(r);
    BOOST_TEST((e.status == http::status::method_not_allowed));
    BOOST_TEST(e.allow == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(stale_reads_are_their_own_route) {
    auto r = route_of(http::verb::get, "/kv/a%2Fb?stale=1");
    BOOST_TEST_REQUIRE(std::holds_alternative<stale_read_route>(r));
    BOOST_TEST(std::get<stale_read_route>(r).key == "a/b");
    BOOST_TEST(error_of(route_of(http::verb::put, "/kv/k?stale=1", "v")).token == "bad_request");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/?stale=1")).token == "bad_command");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/k?stale=0")).token == "bad_request");
}

BOOST_AUTO_TEST_CASE(hostile_targets_are_errors) {
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/%")).token == "bad_key");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/%4")).token == "bad_key");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/%zz")).token == "bad_key");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/")).token == "bad_command");   // empty key
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/" + std::string(1025, 'k'))).token ==
               "bad_command");
    BOOST_TEST(error_of(route_of(http::verb::get, "/nope")).token == "no_such_route");
    BOOST_TEST(error_of(route_of(http::verb::get, "")).token == "no_such_route");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/k?x")).token == "bad_request");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/k")).token == "bad_request");
    BOOST_TEST(error_of(route_of(http::verb::patch, "/kv/k")).allow == "GET, HEAD, PUT, DELETE, POST");
}

BOOST_AUTO_TEST_CASE(health_takes_get_only) {
    BOOST_TEST(std::holds_alternative<health_route>(route_of(http::verb::get, "/health")));
    BOOST_TEST(error_of(route_of(http::verb::post, "/health")).allow == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(absolute_form_targets) {
    // What a proxy sends: the scheme and authority are dropped, the rest routes as usual.
    BOOST_TEST(command_of(route_of(http::verb::get, "http://10.0.0.1:8101/kv/k")).key == "k");
    BOOST_TEST(command_of(route_of(http::verb::get, "HTTPS://peer/kv/a%2Fb")).key == "a/b");
    BOOST_TEST(error_of(route_of(http::verb::get, "http://peer/kv/k?x")).token == "bad_request");
    BOOST_TEST(std::holds_alternative<status_route>(route_of(http::verb::get, "http://peer:8101/status")));
    BOOST_TEST(std::holds_alternative<page_route>(route_of(http::verb::get, "http://peer:8101")));
    // Not a scheme of ours: no route.
    BOOST_TEST(error_of(route_of(http::verb::get, "ftp://peer/kv/k")).token == "no_such_route");
}

BOOST_AUTO_TEST_CASE(hostile_headers_and_bodies_are_errors) {
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/k", {}, "-1")).token == "bad_request_id");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/k", {}, "18446744073709551616")).token ==
               "bad_request_id");
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv/k", {}, "1x")).token == "bad_request_id");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/k?cas", "[1]")).token == "bad_body");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/k?cas", R"({"value":"x"})")).token ==
               "bad_body");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/k?cas", "{\"value\":\"x\",")).token ==
               "bad_body");
    BOOST_TEST(error_of(route_of(http::verb::post, "/kv/k?cas",
                                 R"({"expected":null,"value":"x","z":1})"))
                   .token == "bad_body");
}

BOOST_AUTO_TEST_CASE(request_ids_are_for_tracing_only) {
    auto req = request_of(http::verb::get, "/kv/k", {}, {{"X-Request-Id", "42"}});
    BOOST_TEST((valid_request_id(req) == std::optional<std::string>("42")));
    auto bad = request_of(http::verb::get, "/kv/k", {}, {{"X-Request-Id", "4 2"}});
    BOOST_TEST(!valid_request_id(bad).has_value());
    BOOST_TEST(!valid_request_id(request_of(http::verb::get, "/kv/k")).has_value());
    BOOST_TEST(error_of(route_of(http::verb::post, "/session", {}, "x")).token == "bad_request_id");
}

BOOST_AUTO_TEST_CASE(session_routes) {
    auto open = route_of(http::verb::post, "/session");
    BOOST_TEST((command_of(open).op == kv_op::open_session));
    auto close = route_of(http::verb::delete_, "/session/17");
    BOOST_TEST((command_of(close).op == kv_op::close_session));
    BOOST_TEST(command_of(close).client_id == 17u);
    BOOST_TEST(error_of(route_of(http::verb::get, "/session")).allow == "POST");
    BOOST_TEST(error_of(route_of(http::verb::post, "/session/17")).allow == "DELETE");
    BOOST_TEST(error_of(route_of(http::verb::delete_, "/session/0")).token == "bad_client_id");
    BOOST_TEST(error_of(route_of(http::verb::delete_, "/session/x")).token == "bad_client_id");
    BOOST_TEST(error_of(route_of(http::verb::delete_, "/session/")).token == "bad_client_id");
    BOOST_TEST(error_of(route_of(http::verb::delete_, "/session/18446744073709551616")).token == "bad_client_id");
    BOOST_TEST(error_of(route_of(http::verb::post, "/session?x")).token == "bad_request");
    BOOST_TEST(error_of(route_with(http::verb::post, "/session", {{"X-Client-Id", "1"}, {"X-Client-Seq", "1"}}))
                   .token == "bad_session");
}

BOOST_AUTO_TEST_CASE(session_headers) {
    auto cas = route_with(http::verb::post, "/kv/k?cas", {{"X-Client-Id", "5"}, {"X-Client-Seq", "9"}},
                          R"({"expected":"a","value":"b"})");
    BOOST_TEST(command_of(cas).client_id == 5u);
    BOOST_TEST(command_of(cas).client_seq == 9u);
    auto get = route_with(http::verb::get, "/kv/k", {{"X-Client-Id", "5"}, {"X-Client-Seq", "10"}});
    BOOST_TEST(command_of(get).client_seq == 10u);
    const std::vector<header_list> bad = {
        {{"X-Client-Id", "5"}},
        {{"X-Client-Seq", "5"}},
        {{"X-Client-Id", "0"}, {"X-Client-Seq", "1"}},
        {{"X-Client-Id", "1"}, {"X-Client-Seq", "0"}},
        {{"X-Client-Id", "-1"}, {"X-Client-Seq", "1"}},
        {{"X-Client-Id", "1"}, {"X-Client-Seq", ""}},
        {{"X-Client-Id", "18446744073709551616"}, {"X-Client-Seq", "1"}},
        // Twice: the server does not pick one session, or one number, of two.
        {{"X-Client-Id", "6"}, {"X-Client-Id", "7"}, {"X-Client-Seq", "1"}},
        {{"X-Client-Id", "6"}, {"X-Client-Seq", "1"}, {"X-Client-Seq", "1"}},
    };
    for (const auto& h : bad) {
        const auto r = route_with(http::verb::put, "/kv/k", h, "v");
        BOOST_TEST(error_of(r).token == "bad_session");
    }
    BOOST_TEST(error_of(route_with(http::verb::get, "/kv/k?stale=1", {{"X-Client-Id", "1"}, {"X-Client-Seq", "1"}}))
                   .token == "bad_session");
}

const range_route& range_of(const route& r) {
    BOOST_TEST_REQUIRE(std::holds_alternative<range_route>(r));
    return std::get<range_route>(r);
}

BOOST_AUTO_TEST_CASE(range_reads_by_prefix_or_bounds) {
    const range_route all = range_of(route_of(http::verb::get, "/kv"));
    BOOST_TEST(all.query.from.empty());
    // Up to the system keys, which only a range starting among them lists.
    BOOST_TEST((all.query.to == std::optional<std::string>("\xff")));
    BOOST_TEST(!range_of(route_of(http::verb::get, "/kv?start=%FFkv")).query.to.has_value());
    BOOST_TEST(all.query.limit == 1000u);
    BOOST_TEST(all.query.max_bytes == max_range_bytes);
    BOOST_TEST(!all.stale);

    const range_route p = range_of(route_of(http::verb::get, "/kv?prefix=a%2Fb&limit=5&keys_only=1&stale=1"));
    BOOST_TEST(p.query.from == "a/b");
    BOOST_TEST((p.query.to == std::optional<std::string>("a/c")));
    BOOST_TEST(p.query.limit == 5u);
    BOOST_TEST(p.query.keys_only);
    BOOST_TEST(p.stale);

    const range_route b = range_of(route_of(http::verb::head, "/kv?start=b&end=d"));
    BOOST_TEST(b.query.from == "b");
    BOOST_TEST(!b.query.from_exclusive);
    BOOST_TEST((b.query.to == std::optional<std::string>("d")));

    // after= continues a page: keys above it, still within the range.
    const range_route next = range_of(route_of(http::verb::get, "/kv?prefix=a&after=a7"));
    BOOST_TEST(next.query.from == "a7");
    BOOST_TEST(next.query.from_exclusive);
    BOOST_TEST((next.query.to == std::optional<std::string>("b")));
    const range_route before = range_of(route_of(http::verb::get, "/kv?prefix=b&after=a"));
    BOOST_TEST(before.query.from == "b");   // after a key below the range: the range's start
    BOOST_TEST(!before.query.from_exclusive);
}

BOOST_AUTO_TEST_CASE(malformed_range_reads_are_errors) {
    for (const char* target : {"/kv?prefx=a", "/kv?prefix=a&start=b", "/kv?start=a&after=b", "/kv?limit=0",
                               "/kv?limit=10001", "/kv?limit=x", "/kv?limit=", "/kv?prefix=a&prefix=b",
                               "/kv?keys_only=yes", "/kv?stale=0", "/kv?prefix=%zz", "/kv?&", "/kv?=a"}) {
        const route_error e = error_of(route_of(http::verb::get, target));
        BOOST_TEST(e.token == "bad_range", target);
        BOOST_TEST((e.status == http::status::bad_request), target);
    }
    BOOST_TEST(error_of(route_of(http::verb::get, "/kv?prefix=" + std::string(1025, 'k'))).token == "bad_range");
    BOOST_TEST((error_of(route_of(http::verb::put, "/kv?prefix=a")).status == http::status::method_not_allowed));
    BOOST_TEST(error_of(route_of(http::verb::put, "/kv?prefix=a")).allow == "GET, HEAD, DELETE");
    BOOST_TEST(error_of(route_with(http::verb::get, "/kv?prefix=a", {{"X-Client-Id", "1"}, {"X-Client-Seq", "1"}}))
                   .token == "bad_session");
}

BOOST_AUTO_TEST_CASE(counts_of_a_range) {
    const range_route counted = range_of(route_of(http::verb::get, "/kv?prefix=a&count_only=1"));
    BOOST_TEST(counted.count_only);
    BOOST_TEST(counted.query.from == "a");
    BOOST_TEST(range_of(route_of(http::verb::get, "/kv?count_only=1&stale=1")).stale);
    BOOST_TEST(!range_of(route_of(http::verb::get, "/kv?prefix=a")).count_only);
    for (const char* target : {"/kv?count_only=1&limit=3", "/kv?count_only=1&after=a", "/kv?count_only=1&keys_only=1",
                               "/kv?count_only=1&watch=1", "/kv?count_only=2", "/kv?count_only=1&count_only=1"})
        BOOST_TEST(error_of(route_of(http::verb::get, target)).token == "bad_range", target);
}

const watch_route& watch_of(const route& r) {
    BOOST_TEST_REQUIRE(std::holds_alternative<watch_route>(r));
    return std::get<watch_route>(r);
}

BOOST_AUTO_TEST_CASE(watches_of_a_range) {
    const watch_route w = watch_of(route_of(http::verb::get, "/kv?prefix=a&watch=1&since=42&timeout_ms=500&limit=7"));
    BOOST_TEST(w.range.from == "a");
    BOOST_TEST((w.range.to == std::optional<std::string>("b")));
    BOOST_TEST(w.range.limit == 7u);
    BOOST_TEST((w.since == std::optional<raftlite::index_t>(42)));
    BOOST_TEST(w.timeout.count() == 500);
    const watch_route now = watch_of(route_of(http::verb::get, "/kv?watch=1&start=k"));
    BOOST_TEST(!now.since.has_value());
    BOOST_TEST(now.timeout.count() == 30000);
    BOOST_TEST((now.range.to == std::optional<std::string>("\xff")));
    for (const char* target : {"/kv?watch=1&after=a", "/kv?watch=1&stale=1", "/kv?since=3", "/kv?timeout_ms=10",
                               "/kv?watch=1&since=x", "/kv?watch=1&since=", "/kv?watch=1&timeout_ms=0",
                               "/kv?watch=1&timeout_ms=300001", "/kv?watch=2", "/kv?watch=1&watch=1"})
        BOOST_TEST(error_of(route_of(http::verb::get, target)).token == "bad_range", target);
}

BOOST_AUTO_TEST_SUITE_END()
