// The [kv] section of a peer's config file (apps/kv/kv_config.hpp): read into
// the HTTP server's options through the library's app_section hook.
#include <boost/test/unit_test.hpp>

#include "kv_config.hpp"
#include "config/peer_config_text.hpp"
#include "tls/tls_certs.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace raftlite;
using namespace raftlite::kv;
namespace fs = std::filesystem;

namespace {

/// The config, as if read from a file in the test certificates' directory,
/// so that relative paths point at them.
kv_config parse(const std::string& extra) {
    return parse_kv_config(test::two_peer_config + extra, test::test_certs::get().dir / "n1.ini");
}

/// The error parsing `extra` gives; empty when it parses.
std::string error_of(const std::string& extra) {
    return test::config_error_of([&] { parse(extra); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

} // namespace

BOOST_AUTO_TEST_SUITE(kv_config_file)

BOOST_AUTO_TEST_CASE(shipped_local_configs_load) {
    const auto root = test::test_certs::get().repo_root;
    for (node_id n = 1; n <= 3; ++n) {
        auto c = load_kv_config(root / "conf" / "local" / ("n" + std::to_string(n) + ".ini"));
        BOOST_TEST(c.peer.node.core.self == n);
        BOOST_TEST(listen_address(c.http).to_string() == "127.0.0.1:810" + std::to_string(n));
        BOOST_TEST(!serves_https(c.http));
    }
    // the template documents [kv] with its defaults
    auto t = load_kv_config(root / "conf" / "template.ini");
    const http_server_options d;
    BOOST_TEST(listen_address(t.http).to_string() == "127.0.0.1:8101");
    BOOST_TEST(t.http.body_limit == d.body_limit);
    BOOST_TEST(t.http.header_limit == d.header_limit);
    BOOST_TEST(t.http.idle_timeout == d.idle_timeout);
    BOOST_TEST(t.http.max_connections == d.max_connections);
    BOOST_TEST(t.space.quota_bytes == default_quota_bytes);
    BOOST_TEST(t.space.reserve_bytes == default_reserve_bytes);
}

BOOST_AUTO_TEST_CASE(every_key) {
    auto c = parse("[kv]\nlisten = [::1]:8102\nbody_limit_bytes = 4096\nheader_limit_bytes = 2048\n"
                   "idle_timeout_ms = 1500\nmax_connections = 7\n");
    BOOST_TEST(c.http.address == "::1");
    BOOST_TEST(c.http.port == 8102);
    BOOST_TEST(listen_address(c.http).to_string() == "[::1]:8102");
    BOOST_TEST(c.http.body_limit == 4096u);
    BOOST_TEST(c.http.header_limit == 2048u);
    BOOST_TEST(c.http.idle_timeout.count() == 1500);
    BOOST_TEST(c.http.max_connections == 7u);
    BOOST_TEST(c.http.tls_cert_file.empty());
}

BOOST_AUTO_TEST_CASE(defaults) {
    auto c = parse("[kv]\nlisten = 0.0.0.0:8101\n");
    const http_server_options d;
    BOOST_TEST(c.http.address == "0.0.0.0");
    BOOST_TEST(c.http.port == 8101);
    BOOST_TEST(c.http.body_limit == d.body_limit);
    BOOST_TEST(c.http.header_limit == d.header_limit);
    BOOST_TEST(c.http.idle_timeout == d.idle_timeout);
    BOOST_TEST(c.http.max_connections == d.max_connections);
    BOOST_TEST(!serves_https(c.http));
}

BOOST_AUTO_TEST_CASE(errors) {
    struct bad {
        std::string extra;
        std::vector<std::string> parts;   ///< each in the message
    };
    const std::vector<bad> cases = {
        {"", {"missing section [kv] (listen = host:port for clients)"}},
        {"[kv]\nbody_limit_bytes = 10\n", {"[kv] missing key 'listen'"}},
        {"[kv]\n", {"[kv] missing key 'listen'", "line 10"}},
        {"[kv]\nlisten = 127.0.0.1:7101\n",
         {"n1.ini:11: [kv] listen: 127.0.0.1:7101 is also [node] listen"}},
        {"[kv]\nlisten = :8102\n", {"n1.ini:11: [kv] listen", "got ':8102'"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nmax_connections =\n",
         {"n1.ini:12: [kv] max_connections", "got ''"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nidle_timeout_ms = 0\n",
         {"n1.ini:12: [kv] idle_timeout_ms: expected an integer in 1..3600000"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nbody_limit = 10\n",
         {"n1.ini:12: [kv] unknown key 'body_limit'", "body_limit_bytes"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nsession_expiry_s = 0\n",
         {"n1.ini:12: [kv] session_expiry_s", "1..315360000"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nmax_sessions = -1\n", {"n1.ini:12: [kv] max_sessions", "got '-1'"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nsession_tick_ms = soon\n",
         {"n1.ini:12: [kv] session_tick_ms", "got 'soon'"}},
        {"[kv]\nlisten = 127.0.0.1:8102\nsession_expiry_s = 2\nsession_tick_ms = 2000\n",
         {"n1.ini:13: [kv] session_tick_ms: 2000 ms; expected less than session_expiry_s (2 s)"}},
    };
    for (const auto& c : cases) {
        const auto e = error_of(c.extra);
        BOOST_TEST(!e.empty(), "accepted: " << c.extra);
        for (const auto& part : c.parts)
            BOOST_TEST(contains(e, part), e);
    }
}

// kvctl reads [kv] where present and skips peers without it.
BOOST_AUTO_TEST_CASE(optional_section) {
    std::optional<kv_settings> kv;
    auto c = parse_config(test::two_peer_config, "/x/n1.ini", {kv_section(kv, false)});
    BOOST_TEST(c.node.core.self == 1u);
    BOOST_TEST(!kv.has_value());
    parse_config(test::two_peer_config + "[kv]\nlisten = h:1\n", "/x/n1.ini", {kv_section(kv, false)});
    BOOST_REQUIRE(kv.has_value());
    BOOST_TEST(kv->http.address == "h");
}

BOOST_AUTO_TEST_CASE(tls_keys) {
    const auto& certs = test::test_certs::get();
    auto c = parse("[kv]\nlisten = 127.0.0.1:8101\ntls_cert = kv-server.pem\ntls_key = kv-server.key\nclient_ca = ca.pem\n");
    BOOST_TEST(serves_https(c.http));
    BOOST_TEST(c.http.tls_cert_file == certs.file("kv-server.pem"));
    BOOST_TEST(c.http.tls_key_file == certs.file("kv-server.key"));
    BOOST_TEST(c.http.client_ca_file == certs.file("ca.pem"));
    BOOST_TEST(!serves_https(parse("[kv]\nlisten = 127.0.0.1:8101\n").http));

    std::string e = error_of("[kv]\nlisten = 127.0.0.1:8101\ntls_cert = kv-server.pem\n");
    BOOST_TEST(contains(e, "[kv] missing key 'tls_key'"), e);
    e = error_of("[kv]\nlisten = 127.0.0.1:8101\nclient_ca = ca.pem\n");
    BOOST_TEST(contains(e, "[kv] client_ca: client certificates need HTTPS"), e);
    e = error_of("[kv]\nlisten = 127.0.0.1:8101\ntls_cert = kv-server.pem\ntls_key = kv.key\n");
    BOOST_TEST(contains(e, "kv.key does not exist"), e);
}

BOOST_AUTO_TEST_CASE(session_keys) {
    auto plain = parse("[kv]\nlisten = 127.0.0.1:8101\n");
    BOOST_TEST(plain.sessions.limits.expiry_ms == 3600000u);
    BOOST_TEST(plain.sessions.limits.max_sessions == 100000u);
    BOOST_TEST(plain.sessions.tick.count() == 1000);
    auto set = parse("[kv]\nlisten = 127.0.0.1:8101\nsession_expiry_s = 60\nmax_sessions = 5\nsession_tick_ms = 250\n");
    BOOST_TEST(set.sessions.limits.expiry_ms == 60000u);
    BOOST_TEST(set.sessions.limits.max_sessions == 5u);
    BOOST_TEST(set.sessions.tick.count() == 250);
}

BOOST_AUTO_TEST_CASE(read_mode_key) {
    auto plain = parse("[kv]\nlisten = 127.0.0.1:8101\n");
    BOOST_TEST(read_mode_name(plain.read_mode) == std::string("read_index"));
    BOOST_TEST(!plain.peer.node.lease_reads);
    auto log = parse("[kv]\nlisten = 127.0.0.1:8101\nread_mode = log\n");
    BOOST_TEST(read_mode_name(log.read_mode) == std::string("log"));
    // A lease is the library's: read_mode = lease turns it on.
    auto lease = parse("[kv]\nlisten = 127.0.0.1:8101\nread_mode = lease\n");
    BOOST_TEST(read_mode_name(lease.read_mode) == std::string("lease"));
    BOOST_TEST(lease.peer.node.lease_reads);
    std::string e = error_of("[kv]\nlisten = 127.0.0.1:8101\nread_mode = fast\n");
    BOOST_TEST(contains(e, "n1.ini:12: [kv] read_mode: expected log, read_index or lease, got 'fast'"), e);
    e = error_of("[raft]\ncheck_quorum = false\n[kv]\nlisten = 127.0.0.1:8101\nread_mode = lease\n");
    BOOST_TEST(contains(e, "read_mode = lease needs [raft] check_quorum = true and leader_stickiness = true"), e);
}

BOOST_AUTO_TEST_CASE(snapshots_by_default_unless_the_file_says_otherwise) {
    const std::string kv = "[kv]\nlisten = 127.0.0.1:8101\n";
    auto plain = parse(kv);
    BOOST_TEST(plain.peer.node.snapshot_entries == default_snapshot_entries);
    BOOST_TEST(plain.peer.node.snapshot_bytes == 0u);
    auto entries = parse("[raft]\nsnapshot_entries = 500\n" + kv);
    BOOST_TEST(entries.peer.node.snapshot_entries == 500u);
    BOOST_TEST(entries.peer.node.snapshot_bytes == 0u);
    // By size only: the count default does not come back.
    auto bytes = parse("[raft]\nsnapshot_bytes = 1048576\n" + kv);
    BOOST_TEST(bytes.peer.node.snapshot_entries == 0u);
    BOOST_TEST(bytes.peer.node.snapshot_bytes == 1048576u);
}

BOOST_AUTO_TEST_CASE(watch_history_bytes_key) {
    BOOST_TEST(parse("[kv]\nlisten = 127.0.0.1:8101\n").watch_history_bytes == default_watch_history_bytes);
    BOOST_TEST(parse("[kv]\nlisten = 127.0.0.1:8101\nwatch_history_bytes = 0\n").watch_history_bytes == 0u);
    BOOST_TEST(parse("[kv]\nlisten = 127.0.0.1:8101\nwatch_history_bytes = 65536\n").watch_history_bytes == 65536u);
    const std::string e = error_of("[kv]\nlisten = 127.0.0.1:8101\nwatch_history_bytes = lots\n");
    BOOST_TEST(contains(e, "watch_history_bytes"), e);
}

BOOST_AUTO_TEST_CASE(space_guard_keys) {
    const auto d = parse("[kv]\nlisten = 127.0.0.1:8101\n").space;
    BOOST_TEST(d.quota_bytes == default_quota_bytes);
    BOOST_TEST(d.reserve_bytes == default_reserve_bytes);
    const auto off = parse("[kv]\nlisten = 127.0.0.1:8101\nquota_bytes = 0\nreserve_bytes = 0\n").space;
    BOOST_TEST(off.quota_bytes == 0u);
    BOOST_TEST(off.reserve_bytes == 0u);
    BOOST_TEST(parse("[kv]\nlisten = 127.0.0.1:8101\nquota_bytes = 4096\n").space.quota_bytes == 4096u);
    for (const char* bad : {"quota_bytes = lots", "reserve_bytes = -1", "quota_bytes = 281474976710657"}) {
        const std::string e = error_of(std::string("[kv]\nlisten = 127.0.0.1:8101\n") + bad + "\n");
        BOOST_TEST(contains(e, std::string(bad).substr(0, std::string(bad).find(' '))), e);
    }
}

BOOST_AUTO_TEST_SUITE_END()
