// route_request: the kv HTTP mapping as a pure function (http_routes.hpp),
// without sockets. The server tests (http_server_tests.cpp) cover the same
// routes end to end; these pin down the mapping's edge cases directly.
#include <boost/test/unit_test.hpp>

#include "http_routes.hpp"

#include <boost/beast/http.hpp>

#include <string>
#include <variant>

namespace http = boost::beast::http;
using namespace raftlite::kv;

namespace {

route route_of(http::verb method, const std::string& target, const std::string& body = {},
               const std::string& request_id = {}) {
    http_request req{method, target, 11};
    req.body() = body;
    if (!request_id.empty())
        req.set("X-Request-Id", request_id);
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
    BOOST_TEST(command_of(put).request_id == 7u);
    BOOST_TEST((command_of(route_of(http::verb::get, "/kv/k")).op == kv_op::get));
    BOOST_TEST((command_of(route_of(http::verb::delete_, "/kv/k")).op == kv_op::del));
    auto cas = route_of(http::verb::post, "/kv/k?cas", R"({"expected":null,"value":"x"})");
    BOOST_TEST((command_of(cas).op == kv_op::cas));
    BOOST_TEST(!command_of(cas).expected.has_value());
}

BOOST_AUTO_TEST_CASE(status_and_its_method) {
    BOOST_TEST(std::holds_alternative<status_route>(route_of(http::verb::get, "/status")));
    const auto r = route_of(http::verb::put, "/status");   // error_of refers into it
    auto& e = error_of(r);
    BOOST_TEST((e.status == http::status::method_not_allowed));
    BOOST_TEST(e.allow == "GET");
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
    BOOST_TEST(error_of(route_of(http::verb::patch, "/kv/k")).allow == "GET, PUT, DELETE, POST");
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

BOOST_AUTO_TEST_SUITE_END()
