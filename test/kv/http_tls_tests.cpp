// HTTPS on the kv client port: server certificate, optional client
// certificates ([kv] client_ca), plaintext refused. Certificates are made at
// run time (test/tls/tls_certs.hpp). Every wait is for a response or an end of
// stream; no sleeps, no timing assertions.
#include <boost/test/unit_test.hpp>

#include "http_server.hpp"
#include "kv_test_util.hpp"
#include "tls/tls_certs.hpp"

#include <raftlite/config.hpp>
#include <raftlite/error.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/system/system_error.hpp>

#include <memory>
#include <optional>
#include <thread>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace raftlite::kv;
using namespace raftlite::kv::testing;
using raftlite::test::test_certs;

namespace {

using response = http::response<http::string_body>;

/// An HTTPS server on an ephemeral port, run by one background thread; its
/// submit applies commands to a kv_store.
struct tls_server {
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    kv_store store;
    std::unique_ptr<http_server> server;
    std::thread thread;

    explicit tls_server(bool client_certificates) {
        const auto& certs = test_certs::get();
        http_server_options o;
        o.port = 0;
        o.idle_timeout = std::chrono::seconds(30);
        o.tls_cert_file = certs.file("kv-server.pem");
        o.tls_key_file = certs.file("kv-server.key");
        if (client_certificates)
            o.client_ca_file = certs.file("ca.pem");
        server = std::make_unique<http_server>(
            ioc, o,
            http_handlers{.submit =
                              [this](kv_command c, std::function<void(http_result)> done) {
                                  http_result r;
                                  r.result = apply_next(store, c);
                                  done(r);
                              },
                          .status = [] { return std::string("{}"); }});
        server->start();
        thread = std::thread([this] { ioc.run(); });
    }

    ~tls_server() {
        server->stop();
        work.reset();
        ioc.stop();
        thread.join();
    }

    std::uint16_t port() const { return server->port(); }
};

/// A blocking HTTPS client; `cert` names a certificate of test_certs ("" for none).
struct tls_client {
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<ssl::stream<beast::tcp_stream>> stream;
    beast::flat_buffer buffer;

    tls_client(std::uint16_t port, const std::string& cert, const std::string& ca = "ca.pem") {
        const auto& certs = test_certs::get();
        ctx.set_verify_mode(ssl::verify_peer);
        ctx.load_verify_file(certs.file(ca));
        if (!cert.empty()) {
            ctx.use_certificate_chain_file(certs.file(cert + ".pem"));
            ctx.use_private_key_file(certs.file(cert + ".key"), ssl::context::pem);
        }
        stream.emplace(ioc, ctx);
        stream->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
        beast::get_lowest_layer(*stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        stream->handshake(ssl::stream_base::client);
    }

    response request(http::verb method, std::string target, std::string body = {}) {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.body() = std::move(body);
        req.prepare_payload();
        http::write(*stream, req);
        response res;
        http::read(*stream, buffer, res);
        return res;
    }
};

/// The status of one request, or nullopt when the connection or TLS failed.
std::optional<unsigned> try_request(std::uint16_t port, const std::string& cert, const std::string& ca = "ca.pem") {
    try {
        tls_client c(port, cert, ca);
        return c.request(http::verb::get, "/status").result_int();
    } catch (const boost::system::system_error& e) {
        BOOST_TEST_MESSAGE("refused as expected? " << e.what());
        return std::nullopt;
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_tls)

BOOST_AUTO_TEST_CASE(https_requests, *boost::unit_test::timeout(60)) {
    tls_server s(false);
    tls_client c(s.port(), "");
    BOOST_TEST(c.request(http::verb::put, "/kv/k", "v").result_int() == 200u);
    auto r = c.request(http::verb::get, "/kv/k");   // same connection: keep-alive over TLS
    BOOST_TEST(r.result_int() == 200u);
    BOOST_TEST(r.body() == "v");
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_trust_the_server_gives_up, *boost::unit_test::timeout(60)) {
    tls_server s(false);
    BOOST_TEST(!try_request(s.port(), "", "rogue-ca.pem"));
}

BOOST_AUTO_TEST_CASE(client_certificates_when_client_ca_is_set, *boost::unit_test::timeout(60)) {
    tls_server s(true);
    BOOST_TEST(try_request(s.port(), "kvctl").value_or(0) == 200u);
    BOOST_TEST(!try_request(s.port(), ""));                 // none
    BOOST_TEST(!try_request(s.port(), "rogue-node-3"));     // signed by another CA
}

BOOST_AUTO_TEST_CASE(plaintext_to_the_https_port_gets_no_answer, *boost::unit_test::timeout(60)) {
    tls_server s(false);
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), s.port()));
    http::request<http::string_body> req{http::verb::get, "/status", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buffer;
    response res;
    beast::error_code ec;
    http::read(stream, buffer, res, ec);
    BOOST_TEST(ec.failed());   // closed (perhaps after a TLS alert), never an HTTP response
}

BOOST_AUTO_TEST_CASE(unusable_tls_files_fail_start, *boost::unit_test::timeout(60)) {
    net::io_context ioc;
    http_server_options o;
    o.tls_cert_file = test_certs::get().file("kv-server.pem");
    o.tls_key_file = test_certs::get().file("missing.key");
    http_server server(ioc, o,
                       {.submit = [](kv_command, std::function<void(http_result)>) {},
                        .status = [] { return std::string(); }});
    try {
        server.start();
        BOOST_ERROR("start() succeeded with a missing key");
    } catch (const boost::system::system_error& e) {
        BOOST_TEST(std::string(e.what()).find("missing.key") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_SUITE_END()
