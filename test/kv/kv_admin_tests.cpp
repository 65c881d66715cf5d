// The admin API (/members): its routes and strict input checks
// (http_routes.hpp, admin_route), the answers to a completed change and the
// membership as JSON (kv_admin.hpp), and a server that keeps serving after
// bad admin requests.
#include <boost/test/unit_test.hpp>

#include "http_routes.hpp"
#include "http_server.hpp"
#include "kv_admin.hpp"

#include <raftlite/error.hpp>
#include <raftlite/node.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <string>
#include <thread>
#include <variant>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace raftlite;
using namespace raftlite::kv;

namespace {

route route_of(http::verb method, const std::string& target, const std::string& body = {},
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http_request req{method, target, 11};
    req.body() = body;
    for (const auto& [k, v] : headers) req.set(k, v);
    return route_request(req);
}

const admin_route& admin_of(const route& r) {
    BOOST_TEST_REQUIRE(std::holds_alternative<admin_route>(r));
    return std::get<admin_route>(r);
}

const route_error& error_of(const route& r) {
    BOOST_TEST_REQUIRE(std::holds_alternative<route_error>(r));
    return std::get<route_error>(r);
}

// The message of a 400 for POST /members with `body`.
std::string bad_body(const std::string& body) {
    const auto r = route_of(http::verb::post, "/members", body);
    const auto& e = error_of(r);
    BOOST_TEST(e.status == http::status::bad_request);
    BOOST_TEST(e.token == "bad_body");
    BOOST_TEST(!e.message.empty());
    return e.message;
}

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

member make_member(node_id id, bool voter, std::string address = {}, std::string info = {}) {
    return member{id, voter, std::move(address), std::move(info)};
}

// n1..n3 from the config files (no address, no info), n4 a learner added
// through POST /members.
node_status status_of(node_id self, role r, node_id leader) {
    node_status s;
    s.id = self;
    s.role = r;
    s.leader = leader;
    s.last_log_index = 40;
    s.configuration_index = 31;
    s.members = membership(std::vector<member>{make_member(1, true), make_member(2, true), make_member(3, true),
                                               make_member(4, false, "10.0.0.4:7104", "10.0.0.4:8104")});
    if (r == role::leader) s.match_index = {{2, 40}, {3, 38}, {4, 12}};
    return s;
}

member_directory directory_of(node_id self) {
    member_directory d;
    d.self = self;
    d.self_kv = "127.0.0.1:810" + std::to_string(self);
    d.raft_peers = {{1, "127.0.0.1:7101"}, {2, "127.0.0.1:7102"}, {3, "127.0.0.1:7103"}};
    return d;
}

json::object body_of(const admin_reply& r) { return json::parse(r.body).as_object(); }

} // namespace

BOOST_AUTO_TEST_SUITE(kv_admin)

BOOST_AUTO_TEST_CASE(routes_of_the_admin_api) {
    BOOST_TEST((admin_of(route_of(http::verb::get, "/members")).what == admin_route::action::list));

    const auto add = route_of(http::verb::post, "/members", R"({"id":4,"raft":"127.0.0.1:7104","kv":"127.0.0.1:8104"})");
    const auto& a = admin_of(add);
    BOOST_TEST((a.what == admin_route::action::add_learner));
    BOOST_TEST(a.id == 4u);
    BOOST_TEST(a.raft == "127.0.0.1:7104");
    BOOST_TEST(a.kv == "127.0.0.1:8104");

    const auto promote = route_of(http::verb::post, "/members/4/promote");
    BOOST_TEST((admin_of(promote).what == admin_route::action::promote));
    BOOST_TEST(admin_of(promote).id == 4u);
    const auto transfer = route_of(http::verb::post, "/members/3/transfer");
    BOOST_TEST((admin_of(transfer).what == admin_route::action::transfer_leadership));
    BOOST_TEST(admin_of(transfer).id == 3u);
    BOOST_TEST(error_of(route_of(http::verb::get, "/members/3/transfer")).allow == "POST");
    BOOST_TEST((admin_of(route_of(http::verb::post, "/members/12/demote")).what == admin_route::action::demote));
    const auto remove = route_of(http::verb::delete_, "/members/18446744073709551615");
    BOOST_TEST((admin_of(remove).what == admin_route::action::remove));
    BOOST_TEST(admin_of(remove).id == 18446744073709551615ull);
    // Host names and bracketed IPv6 are addresses too.
    const auto named = route_of(http::verb::post, "/members", R"({"kv":"kv-4.example:80","raft":"[::1]:7104","id":9})");
    BOOST_TEST(admin_of(named).raft == "[::1]:7104");
    BOOST_TEST(admin_of(named).kv == "kv-4.example:80");
}

BOOST_AUTO_TEST_CASE(bad_member_bodies_are_400_with_a_reason) {
    BOOST_TEST(mentions(bad_body(""), "not valid JSON"));
    BOOST_TEST(mentions(bad_body("{\"id\":4,"), "not valid JSON"));
    BOOST_TEST(mentions(bad_body("[4]"), "JSON object"));
    BOOST_TEST(mentions(bad_body(R"({"raft":"h:1","kv":"h:2"})"), "\"id\" is required"));
    for (const char* id : {"0", "-4", "4.5", "\"4\"", "null", "true", "1e3"})
        BOOST_TEST(mentions(bad_body(std::string(R"({"raft":"h:1","kv":"h:2","id":)") + id + "}"), "above 0"),
                   "id " << id);
    BOOST_TEST(mentions(bad_body(R"({"id":4,"kv":"h:2"})"), "\"raft\" is required"));
    BOOST_TEST(mentions(bad_body(R"({"id":4,"raft":"h:1"})"), "\"kv\" is required"));
    BOOST_TEST(mentions(bad_body(R"({"id":4,"raft":7104,"kv":"h:2"})"), "\"raft\" is required"));
    for (const char* address : {"", "localhost", "h:0", "h:65536", "h:-1", "a b:1", "a/b:1", ":80", "h:80x",
                                "::1:80", "[::1]"})
        BOOST_TEST(mentions(bad_body(std::string(R"({"id":4,"raft":"h:1","kv":")") + address + "\"}"),
                            "\"kv\" must be \"host:port\""),
                   "address '" << address << "'");
    BOOST_TEST(mentions(bad_body(R"({"id":4,"raft":"h:1","kv":"h:1"})"), "must differ"));
    BOOST_TEST(mentions(bad_body(R"({"id":4,"raft":"h:1","kv":"h:2","voter":true})"), "unknown field 'voter'"));
}

BOOST_AUTO_TEST_CASE(bad_member_paths_and_methods) {
    for (const char* target : {"/members/0", "/members/x", "/members/-1", "/members/", "/members/4x/promote",
                               "/members/18446744073709551616"}) {
        const auto r = route_of(http::verb::delete_, target);
        BOOST_TEST(error_of(r).status == http::status::bad_request, target);
        BOOST_TEST(error_of(r).token == "bad_member_id", target);
    }
    BOOST_TEST(error_of(route_of(http::verb::post, "/members/4/frobnicate")).status == http::status::not_found);
    const auto put = route_of(http::verb::put, "/members");
    BOOST_TEST(error_of(put).status == http::status::method_not_allowed);
    BOOST_TEST(error_of(put).allow == "GET, HEAD, POST");
    BOOST_TEST(error_of(route_of(http::verb::get, "/members/4")).allow == "DELETE");
    BOOST_TEST(error_of(route_of(http::verb::get, "/members/4/promote")).allow == "POST");
    BOOST_TEST(error_of(route_of(http::verb::get, "/members?x=1")).token == "bad_request");
    BOOST_TEST(error_of(route_of(http::verb::get, "/members", {}, {{"X-Client-Id", "1"}, {"X-Client-Seq", "1"}}))
                   .token == "bad_session");
    BOOST_TEST(error_of(route_of(http::verb::get, "/members", {}, {{"X-Request-Id", "x"}})).token == "bad_request_id");
}

BOOST_AUTO_TEST_CASE(members_as_json) {
    // The leader: every member with its match index; n2 and n3 came from
    // the config files, so their kv address is unknown (null), n4's is its info.
    auto o = members_object(status_of(1, role::leader, 1), directory_of(1));
    BOOST_TEST(o.at("leader").to_number<std::int64_t>() == 1);
    BOOST_TEST(o.at("leader_kv").as_string() == "127.0.0.1:8101");
    BOOST_TEST(o.at("configuration_index").to_number<std::int64_t>() == 31);
    const auto& m = o.at("members").as_array();
    BOOST_TEST_REQUIRE(m.size() == 4u);
    BOOST_TEST(m[0].at("kv").as_string() == "127.0.0.1:8101");
    BOOST_TEST(m[0].at("raft").as_string() == "127.0.0.1:7101");
    BOOST_TEST(m[0].at("match_index").to_number<std::int64_t>() == 40);
    BOOST_TEST(m[1].at("kv").is_null());
    BOOST_TEST(m[2].at("match_index").to_number<std::int64_t>() == 38);
    BOOST_TEST(m[3].at("voter").as_bool() == false);
    BOOST_TEST(m[3].at("raft").as_string() == "10.0.0.4:7104");
    BOOST_TEST(m[3].at("kv").as_string() == "10.0.0.4:8104");
    BOOST_TEST(m[3].at("match_index").to_number<std::int64_t>() == 12);

    // A follower: no match indexes; a leader with a kv address it knows.
    auto s = status_of(2, role::follower, 4);
    o = members_object(s, directory_of(2));
    BOOST_TEST(o.at("leader_kv").as_string() == "10.0.0.4:8104");
    for (const auto& v : o.at("members").as_array()) BOOST_TEST(!v.as_object().contains("match_index"));
    // No leader known, or one whose kv address is unknown: null.
    s.leader = 0;
    BOOST_TEST(members_object(s, directory_of(2)).at("leader_kv").is_null());
    s.leader = 3;
    BOOST_TEST(members_object(s, directory_of(2)).at("leader_kv").is_null());
}

BOOST_AUTO_TEST_CASE(answers_to_completed_changes) {
    admin_route promote{admin_route::action::promote, 4, {}, {}};
    const auto d = directory_of(2);
    const auto follower = status_of(2, role::follower, 4);
    const auto& before = follower.members;

    auto r = change_reply(promote, {}, 45, follower, d, before);
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(body_of(r).at("result").as_string() == "ok");
    BOOST_TEST(body_of(r).at("index").to_number<std::int64_t>() == 45);

    r = change_reply(promote, errc::not_leader, 0, follower, d, before);
    BOOST_TEST(r.status == 503u);
    BOOST_TEST(body_of(r).at("error").as_string() == "not_leader");
    BOOST_TEST(body_of(r).at("leader").to_number<std::int64_t>() == 4);
    BOOST_TEST(body_of(r).at("leader_kv").as_string() == "10.0.0.4:8104");
    BOOST_TEST(mentions(std::string(body_of(r).at("message").as_string()), "n4 at 10.0.0.4:8104"));

    r = change_reply(promote, errc::busy, 0, follower, d, before);
    BOOST_TEST(r.status == 409u);
    BOOST_TEST(body_of(r).at("error").as_string() == "busy");
    BOOST_TEST_REQUIRE(r.headers.size() == 1u);
    BOOST_TEST(r.headers[0].first == "Retry-After");

    BOOST_TEST(change_reply(promote, errc::not_caught_up, 0, follower, d, before).status == 409u);
    const admin_route transfer{admin_route::action::transfer_leadership, 9, {}, {}};
    BOOST_TEST(change_reply(transfer, errc::transfer_timed_out, 0, follower, d, before).status == 409u);
    const auto rejected = change_reply(transfer, errc::transfer_rejected, 0, follower, d, before);
    BOOST_TEST(rejected.status == 400u);
    BOOST_TEST(rejected.body.find("not a voter") != std::string::npos, rejected.body);
    // A transfer to the peer asked, the leader itself: it says so.
    const auto leader = status_of(4, role::leader, 4);
    const auto to_self = change_reply({admin_route::action::transfer_leadership, 4, {}, {}},
                                      errc::transfer_rejected, 0, leader, d, leader.members);
    BOOST_TEST(to_self.status == 400u);
    BOOST_TEST(mentions(std::string(body_of(to_self).at("message").as_string()), "n4 leads already"));
    BOOST_TEST(body_of(change_reply(promote, errc::not_caught_up, 0, follower, d, before)).at("error").as_string() ==
               "not_caught_up");
    BOOST_TEST(change_reply(promote, errc::outcome_unknown, 0, follower, d, before).status == 504u);
    BOOST_TEST(body_of(change_reply(promote, errc::timed_out, 0, follower, d, before)).at("error").as_string() ==
               "timed_out");
    BOOST_TEST(change_reply(promote, errc::stopped, 0, follower, d, before).status == 503u);

    // change_rejected: 400, saying why.
    auto why = [&](admin_route c) {
        auto reply = change_reply(c, errc::change_rejected, 0, follower, d, before);
        BOOST_TEST(reply.status == 400u);
        BOOST_TEST(body_of(reply).at("error").as_string() == "change_rejected");
        return std::string(body_of(reply).at("message").as_string());
    };
    BOOST_TEST(mentions(why({admin_route::action::add_learner, 2, "h:1", "h:2"}), "n2 is already a member (voter)"));
    BOOST_TEST(mentions(why({admin_route::action::promote, 7, {}, {}}), "no member n7"));
    BOOST_TEST(mentions(why({admin_route::action::remove, 7, {}, {}}), "no member n7"));
    const membership last_voter(std::vector<member>{make_member(1, true), make_member(4, false)});
    auto reply = change_reply({admin_route::action::remove, 1, {}, {}}, errc::change_rejected, 0, follower, d, last_voter);
    BOOST_TEST(mentions(std::string(body_of(reply).at("message").as_string()), "last voter"));
    // Nothing recognised: the configuration is named.
    BOOST_TEST(mentions(why({admin_route::action::demote, 4, {}, {}}), "does not fit the configuration"));
    // The same learner record again is no conflict (the node answers at once).
    BOOST_TEST(change_conflict(before, {admin_route::action::add_learner, 4, "10.0.0.4:7104", "10.0.0.4:8104"}).empty());
}

// A real server: bad admin requests get 400 and the server goes on serving;
// the admin callback's status, body and headers reach the client.
BOOST_AUTO_TEST_CASE(server_answers_admin_requests, *boost::unit_test::timeout(60)) {
    net::io_context ioc;
    auto work = net::make_work_guard(ioc);
    std::vector<admin_route> asked;
    http_server server(
        ioc, http_server_options{},
        {.submit = [](kv_command, std::function<void(http_result)>) {},
         .status = [] { return std::string("{}"); },
         .admin = [&](admin_route r, std::function<void(admin_reply)> done) {
             asked.push_back(r);
             if (r.what == admin_route::action::list) return done({200, R"({"members":[]})", {}});
             done(change_reply(r, errc::busy, 0, status_of(1, role::leader, 1), directory_of(1), {}));
             done({200, "{}", {}});   // ignored: exactly once
         }});
    server.start();
    std::thread thread([&] { ioc.run(); });

    net::io_context client_ioc;
    beast::tcp_stream stream(client_ioc);
    stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
    beast::flat_buffer buffer;
    auto call = [&](http::verb method, const std::string& target, const std::string& body = {}) {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.body() = body;
        req.prepare_payload();
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        return res;
    };
    for (const char* body : {"not json", R"({"id":0,"raft":"h:1","kv":"h:2"})", R"({"id":5,"raft":"h","kv":"h:2"})"}) {
        auto res = call(http::verb::post, "/members", body);
        BOOST_TEST(res.result_int() == 400);
        BOOST_TEST(json::parse(res.body()).at("error").as_string() == "bad_body");
        BOOST_TEST(res.keep_alive());   // the same connection goes on
    }
    auto res = call(http::verb::get, "/members");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == R"({"members":[]})");
    res = call(http::verb::post, "/members/5/promote");
    BOOST_TEST(res.result_int() == 409);
    BOOST_TEST(res[http::field::retry_after] == "1");
    BOOST_TEST(json::parse(res.body()).at("error").as_string() == "busy");

    server.stop();
    work.reset();
    thread.join();
    // Only the valid requests reached the callback.
    BOOST_TEST_REQUIRE(asked.size() == 2u);
    BOOST_TEST((asked[1].what == admin_route::action::promote));
    BOOST_TEST(asked[1].id == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
