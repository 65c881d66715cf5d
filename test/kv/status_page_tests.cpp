// GET / (the status page) and GET /metrics on a real http_server, and their
// routes. The page itself runs in a browser; here: that it is served as HTML,
// carries the elements its script fills, and asks nothing of other hosts.
#include <boost/test/unit_test.hpp>

#include "http_routes.hpp"
#include "http_server.hpp"
#include "prometheus.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <thread>
#include <variant>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace raftlite::kv;

namespace {

struct page_server {
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    http_server server;
    std::thread thread;

    explicit page_server(status_fn metrics, local_read_fn local_read = {})
        : server(ioc, http_server_options{},
                 {.submit = [](kv_command, std::function<void(http_result)>) {},
                  .status = [] { return std::string(R"({"id":1})"); },
                  .metrics = std::move(metrics),
                  .local_read = std::move(local_read)}) {
        server.start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~page_server() {
        server.stop();
        work.reset();
        thread.join();
    }

    http::response<http::string_body> get(const std::string& target, http::verb verb = http::verb::get) {
        net::io_context client;
        beast::tcp_stream stream(client);
        stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.prepare_payload();
        http::write(stream, req);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        return res;
    }
};

route route_of(http::verb method, const std::string& target) {
    http_request req{method, target, 11};
    return route_request(req);
}

} // namespace

BOOST_AUTO_TEST_SUITE(status_page)

BOOST_AUTO_TEST_CASE(routes) {
    BOOST_TEST(std::holds_alternative<page_route>(route_of(http::verb::get, "/")));
    BOOST_TEST(std::holds_alternative<metrics_route>(route_of(http::verb::get, "/metrics")));
    for (const char* target : {"/", "/metrics"}) {
        const auto r = route_of(http::verb::post, target);
        BOOST_TEST_REQUIRE(std::holds_alternative<route_error>(r));
        BOOST_TEST((std::get<route_error>(r).status == http::status::method_not_allowed));
        BOOST_TEST(std::get<route_error>(r).allow == "GET, HEAD");
    }
    const auto r = route_of(http::verb::get, "/metricsx");
    BOOST_TEST_REQUIRE(std::holds_alternative<route_error>(r));
    BOOST_TEST((std::get<route_error>(r).status == http::status::not_found));
}

BOOST_AUTO_TEST_CASE(the_page_is_self_contained_html_with_its_elements, *boost::unit_test::timeout(60)) {
    page_server s({});
    const auto res = s.get("/");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(std::string(res[http::field::content_type]).rfind("text/html", 0) == 0);
    const std::string& body = res.body();
    BOOST_TEST(body.rfind("<!DOCTYPE html>", 0) == 0);
    for (const char* id : {"self", "role", "term", "leader", "commit", "applied", "last-index", "snapshot-index",
                           "log-start", "log-entries", "snapshots", "digest", "members",
                           "leader-changes", "broadcasts", "updated", "error", "health", "version", "keys", "watches", "level", "space"})
        BOOST_TEST(body.find(std::string("id=\"") + id + "\"") != std::string::npos, "no element " << id);
    // It reads its peer's endpoints, and nothing from elsewhere.
    BOOST_TEST(body.find("fetch(\"/status\")") != std::string::npos);
    BOOST_TEST(body.find("fetch(\"/metrics\")") != std::string::npos);
    BOOST_TEST(body.find("fetch(\"/health\")") != std::string::npos);
    BOOST_TEST(body.find("http://") == std::string::npos);
    BOOST_TEST(body.find("https://") == std::string::npos);
    BOOST_TEST(body.find(" src=") == std::string::npos);
    BOOST_TEST(body.find("innerHTML") == std::string::npos);
    BOOST_TEST(s.get("/", http::verb::delete_).result_int() == 405);
}

BOOST_AUTO_TEST_CASE(metrics_are_served_as_prometheus_text, *boost::unit_test::timeout(60)) {
    page_server s([] { return std::string("# HELP raftlite_term t.\n# TYPE raftlite_term gauge\nraftlite_term 4\n"); });
    const auto res = s.get("/metrics");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(std::string(res[http::field::content_type]) == prometheus_content_type);
    BOOST_TEST(res.body() == "# HELP raftlite_term t.\n# TYPE raftlite_term gauge\nraftlite_term 4\n");
}

BOOST_AUTO_TEST_CASE(metrics_without_a_callback_are_not_found, *boost::unit_test::timeout(60)) {
    page_server s({});
    BOOST_TEST(s.get("/metrics").result_int() == 404);
    BOOST_TEST(s.get("/status").result_int() == 200);
}

// GET /kv/<key>?stale=1 is answered by the local read callback; the submit
// callback (the log) never sees it.
BOOST_AUTO_TEST_CASE(stale_reads_come_from_the_local_read_callback, *boost::unit_test::timeout(60)) {
    page_server s({}, [](const std::string& key) -> std::optional<std::string> {
        if (key == "k") return std::string("local value");
        return std::nullopt;
    });
    auto res = s.get("/kv/k?stale=1");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "local value");
    BOOST_TEST(s.get("/kv/other?stale=1").result_int() == 404);
    page_server without({});
    res = without.get("/kv/k?stale=1");
    BOOST_TEST(res.result_int() == 404);
    BOOST_TEST(res.body().find("no_such_route") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
