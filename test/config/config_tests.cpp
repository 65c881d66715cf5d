// Tests of raftlite::load_config: the shipped configs load, and every kind of
// bad config is refused with a message naming the file, the line or key, and
// what was expected.
#define BOOST_TEST_MODULE config_tests
#include <boost/test/unit_test.hpp>

#include <raftlite/config.hpp>
#include <raftlite/error.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace fs = std::filesystem;
using raftlite::config_error;
using raftlite::parse_config;

namespace {

// The repository root, found from the working directory, the test program's
// location or this source file's (b2 may run the test from any of them).
fs::path repo_root() {
    std::vector<fs::path> starts = {fs::current_path(), fs::path(__FILE__)};
    auto& master = boost::unit_test::framework::master_test_suite();
    if (master.argc > 0)
        starts.push_back(fs::path(master.argv[0]));
    for (auto start : starts) {
        std::error_code ec;
        auto p = fs::absolute(start, ec);
        for (; !ec && !p.empty(); p = p.parent_path()) {
            if (fs::exists(p / "conf" / "local" / "n1.ini") && fs::exists(p / "Jamroot"))
                return p;
            if (p == p.parent_path())
                break;
        }
    }
    BOOST_FAIL("cannot find the repository root (conf/local/n1.ini)");
    return {};
}

const std::string good = R"(; a comment
# another comment
[cluster]
id = test-cluster

[node]
id = 2
listen = 127.0.0.1:7102
data_dir = data/n2

[peers]
1 = 127.0.0.1:7101
2 = 127.0.0.1:7102
3 = 127.0.0.1:7103
)";

// Replaces the first occurrence of `from` in `text` (which must contain it).
std::string replace(std::string text, const std::string& from, const std::string& to) {
    auto pos = text.find(from);
    BOOST_REQUIRE_MESSAGE(pos != std::string::npos, "test text lacks '" << from << "'");
    return text.replace(pos, from.size(), to);
}

// Expects parse_config(text) to fail with a message holding every substring.
void expect_error(const std::string& text, std::initializer_list<std::string> parts) {
    try {
        parse_config(text, "/etc/raft/bad.ini");
        BOOST_ERROR("config was accepted; expected an error containing '" << *parts.begin()
                                                                          << "'");
    } catch (const config_error& e) {
        std::string msg = e.what();
        BOOST_TEST_MESSAGE("message: " << msg);
        BOOST_CHECK_MESSAGE(msg.find("/etc/raft/bad.ini") == 0,
                            "message does not start with the file name: " << msg);
        for (auto& p : parts)
            BOOST_CHECK_MESSAGE(msg.find(p) != std::string::npos,
                                "message lacks '" << p << "': " << msg);
    }
}

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("raftlite-config-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(shipped)

BOOST_AUTO_TEST_CASE(local_cluster_configs_load) {
    auto root = repo_root();
    for (raftlite::node_id n = 1; n <= 3; ++n) {
        auto path = root / "conf" / "local" / ("n" + std::to_string(n) + ".ini");
        auto c = raftlite::load_config(path);
        BOOST_TEST(c.cluster_id == "local");
        BOOST_TEST(c.self == n);
        BOOST_TEST(c.listen.to_string() == "127.0.0.1:710" + std::to_string(n));
        BOOST_TEST(c.peers.size() == 3u);
        BOOST_TEST(c.peers.at(n) == c.listen);
        BOOST_TEST((c.members() == std::vector<raftlite::node_id>{1, 2, 3}));
        // data/local/nN at the repository root, whatever the working directory
        BOOST_TEST(c.data_dir ==
                   (fs::absolute(root) / "data" / "local" / ("n" + std::to_string(n)))
                       .lexically_normal());
        BOOST_TEST(c.log.node == n);
        BOOST_REQUIRE(c.kv.has_value());
        BOOST_TEST(c.kv->listen.to_string() == "127.0.0.1:810" + std::to_string(n));
        BOOST_TEST(c.source == path);
    }
}

BOOST_AUTO_TEST_CASE(template_loads) {
    auto c = raftlite::load_config(repo_root() / "conf" / "template.ini");
    BOOST_TEST(c.cluster_id == "example");
    BOOST_TEST(c.raft.election_timeout_min.count() == 300);
    BOOST_TEST(c.transport.max_inbound_connections == 64u);
    BOOST_TEST(c.kv.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(values)

BOOST_AUTO_TEST_CASE(defaults) {
    auto c = parse_config(good, "/etc/raft/n2.ini");
    BOOST_TEST(c.cluster_id == "test-cluster");
    BOOST_TEST(c.self == 2u);
    BOOST_TEST(c.data_dir == fs::path("/etc/raft/data/n2"));
    BOOST_TEST(c.raft.election_timeout_min.count() == 300);
    BOOST_TEST(c.raft.election_timeout_max.count() == 600);
    BOOST_TEST(c.raft.heartbeat.count() == 50);
    BOOST_TEST(c.raft.max_batch_entries == 512u);
    BOOST_TEST(c.raft.max_batch_bytes == 1048576u);
    BOOST_TEST(c.raft.max_inflight == 8u);
    BOOST_TEST(c.raft.max_pending == 4096u);
    BOOST_TEST(c.transport.max_frame_bytes > c.raft.max_batch_bytes);
    BOOST_TEST((c.log.level == raftlite::severity::info));
    BOOST_TEST(c.log.file == "console");
    BOOST_TEST(c.log.node == 2u);
    BOOST_TEST(!c.kv.has_value());
}

BOOST_AUTO_TEST_CASE(every_key) {
    auto text = good + R"(
[raft]
election_timeout_min_ms = 1000
election_timeout_max_ms = 2000
heartbeat_ms = 100
max_batch_entries = 64
max_batch_bytes = 65536
max_inflight = 2
max_pending = 100

[transport]
max_frame_bytes = 131072
peer_queue_bytes = 262144
max_inbound_connections = 9

[log]
level = debug
file = logs/n2.log

[kv]
listen = [::1]:8102
body_limit_bytes = 4096
header_limit_bytes = 2048
idle_timeout_ms = 1500
max_connections = 7
)";
    auto c = parse_config(text, "/etc/raft/n2.ini");
    BOOST_TEST(c.raft.election_timeout_min.count() == 1000);
    BOOST_TEST(c.raft.election_timeout_max.count() == 2000);
    BOOST_TEST(c.raft.heartbeat.count() == 100);
    BOOST_TEST(c.raft.max_batch_entries == 64u);
    BOOST_TEST(c.raft.max_batch_bytes == 65536u);
    BOOST_TEST(c.raft.max_inflight == 2u);
    BOOST_TEST(c.raft.max_pending == 100u);
    BOOST_TEST(c.transport.max_frame_bytes == 131072u);
    BOOST_TEST(c.transport.peer_queue_bytes == 262144u);
    BOOST_TEST(c.transport.max_inbound_connections == 9u);
    BOOST_TEST((c.log.level == raftlite::severity::debug));
    BOOST_TEST(c.log.file == "/etc/raft/logs/n2.log");
    BOOST_REQUIRE(c.kv.has_value());
    BOOST_TEST(c.kv->listen.host == "::1");
    BOOST_TEST(c.kv->listen.port == 8102);
    BOOST_TEST(c.kv->listen.to_string() == "[::1]:8102");
    BOOST_TEST(c.kv->body_limit_bytes == 4096u);
    BOOST_TEST(c.kv->header_limit_bytes == 2048u);
    BOOST_TEST(c.kv->idle_timeout.count() == 1500);
    BOOST_TEST(c.kv->max_connections == 7u);
}

BOOST_AUTO_TEST_CASE(absolute_data_dir_kept) {
    auto c = parse_config(replace(good, "data_dir = data/n2", "data_dir = /var/lib/raft/n2"),
                          "/etc/raft/n2.ini");
    BOOST_TEST(c.data_dir == fs::path("/var/lib/raft/n2"));
}

BOOST_AUTO_TEST_CASE(single_node_cluster) {
    auto text = replace(replace(good, "1 = 127.0.0.1:7101\n", ""), "3 = 127.0.0.1:7103\n", "");
    auto c = parse_config(text, "x.ini");
    BOOST_TEST(c.peers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(host_port_parsing) {
    using raftlite::host_port;
    BOOST_TEST(host_port::parse("localhost:80").has_value());
    BOOST_TEST(host_port::parse("[::1]:80")->host == "::1");
    BOOST_TEST(!host_port::parse("::1:80").has_value());
    BOOST_TEST(!host_port::parse("host").has_value());
    BOOST_TEST(!host_port::parse(":80").has_value());
    BOOST_TEST(!host_port::parse("host:").has_value());
    BOOST_TEST(!host_port::parse("host:0").has_value());
    BOOST_TEST(!host_port::parse("host:65536").has_value());
    BOOST_TEST(!host_port::parse("host:+80").has_value());
    BOOST_TEST(!host_port::parse("host:80x").has_value());
    BOOST_TEST(!host_port::parse("ho st:80").has_value());
    BOOST_TEST(!host_port::parse("[::1]80").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(missing_file) {
    BOOST_CHECK_EXCEPTION(raftlite::load_config("/nonexistent/raft.ini"), config_error,
                          [](const config_error& e) {
                              std::string m = e.what();
                              return m.find("/nonexistent/raft.ini") != std::string::npos &&
                                     m.find("cannot open") != std::string::npos;
                          });
}

BOOST_AUTO_TEST_CASE(directory_instead_of_file) {
    temp_dir dir;
    BOOST_CHECK_EXCEPTION(raftlite::load_config(dir.path), config_error,
                          [&](const config_error& e) {
                              std::string m = e.what();
                              return m.find(dir.path.string()) == 0 &&
                                     m.find("is a directory; expected a config file") !=
                                         std::string::npos;
                          });
}

BOOST_AUTO_TEST_CASE(kv_listen_collides_with_node_listen) {
    expect_error(good + "[kv]\nlisten = 127.0.0.1:7102\n",
                 {"bad.ini:16:", "[kv] listen: 127.0.0.1:7102 is also [node] listen"});
}

BOOST_AUTO_TEST_CASE(non_throwing_overload) {
    temp_dir dir;
    auto path = dir.path / "bad.ini";
    std::ofstream(path) << replace(good, "id = 2", "id = two");
    boost::system::error_code ec;
    std::string message;
    auto c = raftlite::load_config(path, ec, message);
    BOOST_TEST((ec == raftlite::errc::bad_config));
    BOOST_TEST(message.find(path.string() + ":7: [node] id: expected an integer >= 1, got 'two'") ==
               0u);
    BOOST_TEST(c.self == raftlite::no_node);

    std::ofstream(path, std::ios::trunc) << good;
    c = raftlite::load_config(path, ec, message);
    BOOST_TEST(!ec);
    BOOST_TEST(message.empty());
    BOOST_TEST(c.self == 2u);
    BOOST_TEST(c.data_dir == (dir.path / "data" / "n2").lexically_normal());
}

BOOST_AUTO_TEST_CASE(unknown_section) {
    expect_error(good + "[raftt]\nheartbeat_ms = 10\n",
                 {"bad.ini:15:", "unknown section [raftt]", "expected one of", "[raft]"});
    // a section without keys is still checked (the ini parser drops it)
    expect_error(good + "[extra]\n", {"bad.ini:15:", "unknown section [extra]"});
}

BOOST_AUTO_TEST_CASE(unknown_key) {
    expect_error(replace(good, "listen = 127.0.0.1:7102", "listen = 127.0.0.1:7102\nlisten_on = x"),
                 {"bad.ini:9:", "[node] unknown key 'listen_on'", "expected one of id, listen, "
                                                                  "data_dir"});
    expect_error(good + "[raft]\nheartbeat = 10\n",
                 {"bad.ini:16:", "[raft] unknown key 'heartbeat'", "heartbeat_ms"});
}

BOOST_AUTO_TEST_CASE(missing_sections_and_keys) {
    expect_error(replace(good, "[cluster]\nid = test-cluster\n", ""),
                 {"missing section [cluster]", "id"});
    expect_error(replace(good, "[peers]", "[peerz]"), {"unknown section [peerz]"});
    expect_error(good.substr(0, good.find("[peers]")), {"missing section [peers]"});
    expect_error(replace(good, "listen = 127.0.0.1:7102\n", ""),
                 {"[node] missing key 'listen'", "line 6"});
    expect_error(replace(good, "data_dir = data/n2\n", ""), {"[node] missing key 'data_dir'"});
    expect_error(good + "[kv]\nbody_limit_bytes = 10\n", {"[kv] missing key 'listen'"});
    expect_error(good + "[kv]\n", {"[kv] missing key 'listen'", "line 15"});
    expect_error(replace(good, "1 = 127.0.0.1:7101\n2 = 127.0.0.1:7102\n3 = 127.0.0.1:7103\n", ""),
                 {"bad.ini:11:", "[peers] is empty"});
}

BOOST_AUTO_TEST_CASE(duplicates) {
    expect_error(replace(good, "id = 2\n", "id = 2\nid = 3\n"),
                 {"bad.ini:8:", "[node] duplicate key 'id'", "first on line 7"});
    expect_error(good + "[node]\n", {"bad.ini:15:", "duplicate section [node]", "first on line 6"});
    expect_error(replace(good, "3 = 127.0.0.1:7103", "02 = 127.0.0.1:7109"),
                 {"bad.ini:14:", "[peers] duplicate node id 2", "first on line 13"});
    expect_error(replace(good, "3 = 127.0.0.1:7103", "3 = 127.0.0.1:7101"),
                 {"bad.ini:14:", "address 127.0.0.1:7101 is also node 1's"});
}

BOOST_AUTO_TEST_CASE(syntax) {
    expect_error(replace(good, "data_dir = data/n2", "data_dir data/n2"),
                 {"bad.ini:9:", "'=' character not found"});
    expect_error(replace(good, "[peers]", "[peers"), {"bad.ini:11:", "section header"});
    expect_error(replace(good, "[peers]", "[peers] ; all of them"),
                 {"bad.ini:11:", "unexpected text after section header"});
    expect_error("id = 1\n" + good, {"bad.ini:1:", "key 'id' outside any section"});
}

BOOST_AUTO_TEST_CASE(self_not_among_peers) {
    expect_error(replace(good, "id = 2", "id = 4"),
                 {"bad.ini:7:", "[node] id", "4 is not among [peers]"});
}

BOOST_AUTO_TEST_CASE(bad_numbers) {
    expect_error(replace(good, "id = 2", "id = 0"),
                 {"bad.ini:7:", "[node] id: expected an integer >= 1, got '0'"});
    expect_error(replace(good, "id = 2", "id = -2"), {"bad.ini:7:", "got '-2'"});
    expect_error(replace(good, "id = 2", "id = 99999999999999999999999"),
                 {"bad.ini:7:", "expected an integer"});
    expect_error(replace(good, "1 = 127", "x = 127"),
                 {"bad.ini:12:", "[peers] 'x'", "expected a node id"});
    expect_error(good + "[raft]\nmax_inflight = 0\n",
                 {"bad.ini:16:", "[raft] max_inflight: expected an integer in 1..", "got '0'"});
    expect_error(good + "[raft]\nheartbeat_ms = 10ms\n",
                 {"bad.ini:16:", "[raft] heartbeat_ms", "got '10ms'"});
    expect_error(good + "[raft]\nelection_timeout_max_ms = 36000000\n",
                 {"bad.ini:16:", "1..3600000"});
    expect_error(good + "[kv]\nlisten = 127.0.0.1:8102\nmax_connections =\n",
                 {"bad.ini:17:", "[kv] max_connections", "got ''"});
}

BOOST_AUTO_TEST_CASE(bad_addresses) {
    expect_error(replace(good, "listen = 127.0.0.1:7102", "listen = 127.0.0.1"),
                 {"bad.ini:8:", "[node] listen: expected an address 'host:port'", "got '127.0.0.1'"});
    expect_error(replace(good, "3 = 127.0.0.1:7103", "3 = 127.0.0.1:70000"),
                 {"bad.ini:14:", "[peers] 3: expected an address", "got '127.0.0.1:70000'"});
    expect_error(good + "[kv]\nlisten = :8102\n", {"bad.ini:16:", "[kv] listen", "got ':8102'"});
}

BOOST_AUTO_TEST_CASE(bad_strings) {
    expect_error(replace(good, "id = test-cluster", "id = my cluster"),
                 {"bad.ini:4:", "[cluster] id: expected 1 to 64 characters", "got 'my cluster'"});
    expect_error(replace(good, "data_dir = data/n2", "data_dir ="),
                 {"bad.ini:9:", "[node] data_dir: expected a directory path"});
    expect_error(good + "[log]\nlevel = verbose\n",
                 {"bad.ini:16:", "[log] level: expected one of trace, debug, info, warning, error",
                  "got 'verbose'"});
}

BOOST_AUTO_TEST_CASE(timeouts) {
    expect_error(good + "[raft]\nelection_timeout_min_ms = 700\n",
                 {"bad.ini:16:", "election_timeout_min_ms (700) is greater than "
                                 "election_timeout_max_ms (600)",
                  "expected min <= max"});
    expect_error(good + "[raft]\nheartbeat_ms = 150\n",
                 {"bad.ini:16:", "heartbeat_ms (150) is too close to election_timeout_min_ms (300)",
                  "heartbeat_ms * 2 < election_timeout_min_ms"});
    // exactly half is still too close
    expect_error(good + "[raft]\nelection_timeout_min_ms = 100\nheartbeat_ms = 50\n",
                 {"bad.ini:17:", "heartbeat_ms * 2 < election_timeout_min_ms"});
    BOOST_CHECK_NO_THROW(
        parse_config(good + "[raft]\nelection_timeout_min_ms = 101\nheartbeat_ms = 50\n", "x.ini"));
    BOOST_CHECK_NO_THROW(parse_config(
        good + "[raft]\nelection_timeout_min_ms = 500\nelection_timeout_max_ms = 500\n", "x.ini"));
}

BOOST_AUTO_TEST_CASE(frame_limit_below_batch) {
    expect_error(good + "[transport]\nmax_frame_bytes = 1000\n",
                 {"bad.ini:16:", "[transport] max_frame_bytes (1000) must exceed [raft] "
                                 "max_batch_bytes (1048576)"});
}

BOOST_AUTO_TEST_SUITE_END()
