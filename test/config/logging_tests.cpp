// Tests of raftlite::init_logging: records go to a file, one line each, with
// timestamp, severity, channel and node id, filtered by level.
#include <boost/test/unit_test.hpp>

#include <raftlite/log.hpp>
#include <raftlite/logging.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        lines.push_back(l);
    return lines;
}

struct log_file {
    fs::path path;
    log_file() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("raftlite-log-" + std::to_string(rd()) + ".log");
    }
    ~log_file() {
        raftlite::stop_logging();
        std::error_code ec;
        fs::remove(path, ec);
    }
};

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(severity_names) {
    using raftlite::severity;
    for (auto s : {severity::trace, severity::debug, severity::info, severity::warning,
                   severity::error})
        BOOST_TEST((raftlite::parse_severity(raftlite::severity_name(s)) == s));
    BOOST_TEST(!raftlite::parse_severity("INFO").has_value());
    BOOST_TEST(!raftlite::parse_severity("").has_value());
}

BOOST_AUTO_TEST_CASE(file_lines_have_every_field) {
    log_file f;
    raftlite::log_settings s;
    s.level = raftlite::severity::debug;
    s.file = f.path.string();
    s.node = 7;
    raftlite::init_logging(s);

    RAFTLITE_LOG_CORE(info) << "became leader term=" << 3;
    RAFTLITE_LOG_NET(warning) << "peer 2: handshake failed";
    RAFTLITE_LOG_DISK(trace) << "filtered out";
    RAFTLITE_LOG(raftlite::app_log(), debug) << "applied index=" << 12;
    {
        raftlite::log_node_scope scope(3);
        RAFTLITE_LOG_CORE(error) << "from a simulated node";
    }
    RAFTLITE_LOG_DISK(info) << "back to the process node";
    raftlite::stop_logging();
    RAFTLITE_LOG_CORE(error) << "after stop: dropped";

    auto lines = read_lines(f.path);
    BOOST_REQUIRE_EQUAL(lines.size(), 5u);
    // e.g. "2026-11-26T09:21:08.123456 info    [core] [n7] became leader term=3"
    BOOST_TEST(lines[0].size() > 27u);
    BOOST_TEST(lines[0][4] == '-');
    BOOST_TEST(lines[0][10] == 'T');
    BOOST_TEST(contains(lines[0], " info    [core] [n7] became leader term=3"));
    BOOST_TEST(contains(lines[1], " warning [net] [n7] peer 2: handshake failed"));
    BOOST_TEST(contains(lines[2], " debug   [app] [n7] applied index=12"));
    BOOST_TEST(contains(lines[3], " error   [core] [n3] from a simulated node"));
    BOOST_TEST(contains(lines[4], " info    [disk] [n7] back to the process node"));
}

BOOST_AUTO_TEST_CASE(level_filters_and_reinit_appends) {
    log_file f;
    raftlite::log_settings s;
    s.level = raftlite::severity::warning;
    s.file = f.path.string();
    raftlite::init_logging(s);
    RAFTLITE_LOG_CORE(info) << "below the level";
    RAFTLITE_LOG_CORE(warning) << "first";

    s.level = raftlite::severity::trace;
    raftlite::init_logging(s);   // replaces the sink; the file is appended to
    RAFTLITE_LOG_CORE(trace) << "second";
    raftlite::stop_logging();

    auto lines = read_lines(f.path);
    BOOST_REQUIRE_EQUAL(lines.size(), 2u);
    BOOST_TEST(contains(lines[0], "[core] [-] first"));
    BOOST_TEST(contains(lines[1], "trace   [core] [-] second"));
}

BOOST_AUTO_TEST_CASE(unopenable_file_throws) {
    raftlite::log_settings s;
    s.file = "/nonexistent-dir/raftlite.log";
    BOOST_CHECK_THROW(raftlite::init_logging(s), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
