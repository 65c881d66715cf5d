// The [tls] section of a peer's config file, read into the node's transport
// options. (The [kv] TLS keys are the kv app's: test/kv/kv_config_tests.cpp.)
#include <boost/test/unit_test.hpp>

#include "config/peer_config_text.hpp"
#include "tls_certs.hpp"

#include <raftlite/config.hpp>

#include <filesystem>
#include <fstream>
#include <string>

using namespace raftlite;
using namespace raftlite::test;
namespace fs = std::filesystem;

namespace {

/// The config, as if read from a file in the certificates' directory, so
/// that relative paths point at them.
raft_config parse(const std::string& extra) {
    return parse_config(test::two_peer_config + extra, test_certs::get().dir / "n1.ini");
}

/// The error parsing `extra` gives; empty when it parses.
std::string error_of(const std::string& extra) {
    return test::config_error_of([&] { parse(extra); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

} // namespace

BOOST_AUTO_TEST_SUITE(config_tls)

BOOST_AUTO_TEST_CASE(no_tls_section_means_plain_tcp) {
    auto c = parse("");
    BOOST_TEST(!c.node.transport.tls.enabled);
    BOOST_TEST(c.node.transport.tls.ca_file.empty());
}

BOOST_AUTO_TEST_CASE(tls_section_paths_are_relative_to_the_config_file) {
    const auto& certs = test_certs::get();
    auto c = parse("[tls]\nenabled = true\nca = ca.pem\ncert = ./node-1.pem\nkey = " + certs.file("node-1.key") + "\n");
    const auto& tls = c.node.transport.tls;
    BOOST_TEST(tls.enabled);
    BOOST_TEST(tls.ca_file == certs.file("ca.pem"));
    BOOST_TEST(tls.cert_file == certs.file("node-1.pem"));
    BOOST_TEST(tls.key_file == certs.file("node-1.key"));
}

BOOST_AUTO_TEST_CASE(tls_section_errors) {
    std::string e = error_of("[tls]\nenabled = yes\n");
    BOOST_TEST(contains(e, "n1.ini:11: [tls] enabled: expected true or false, got 'yes'"), e);
    e = error_of("[tls]\nenabled = true\nca = ca.pem\ncert = node-1.pem\n");
    BOOST_TEST(contains(e, "[tls] missing key 'key'"), e);
    e = error_of("[tls]\nenabled = true\nca = ca.pem\ncert = node-1.pem\nkey = nope.key\n");
    BOOST_TEST(contains(e, "n1.ini:14: [tls] key: "), e);
    BOOST_TEST(contains(e, "nope.key does not exist"), e);
    BOOST_TEST(contains(e, "make-certs.sh"), e);
    e = error_of("[tls]\nenabled = true\nca = .\ncert = node-1.pem\nkey = node-1.key\n");
    BOOST_TEST(contains(e, "[tls] ca: "), e);
    BOOST_TEST(contains(e, "is not a regular file"), e);
    e = error_of("[tls]\nenabled = true\nca = ca.pem\ncert = node-1.pem\nkey = node-1.key\npassword = x\n");
    BOOST_TEST(contains(e, "[tls] unknown key 'password'"), e);
    // Switched off: the paths are kept in the file but not checked, nor used.
    BOOST_TEST(error_of("[tls]\nenabled = false\nca = missing.pem\n").empty());
    BOOST_TEST(parse("[tls]\nenabled = false\nca = ca.pem\n").node.transport.tls.ca_file.empty());
    BOOST_TEST(contains(error_of("[tls]\nca = ca.pem\n"), "[tls] missing key 'enabled'"));
}

BOOST_AUTO_TEST_SUITE_END()
