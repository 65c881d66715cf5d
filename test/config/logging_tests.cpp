// Tests of raftlite's logging: as a library, it writes records with channel,
// severity and node id to the application's sinks and adds none of its own;
// init_logging, the programs' sink: records go to a file, one line each, with
// timestamp, severity, channel and node id, filtered by level.
#include <boost/test/unit_test.hpp>

#include <raftlite/log.hpp>
#include <raftlite/logging.hpp>

#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <unistd.h>
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

// An application's own sink: keeps what each record carries.
struct seen_record {
    std::string channel;
    raftlite::severity level;
    raftlite::node_id node;
    std::string message;
};

class keeping_backend : public boost::log::sinks::basic_sink_backend<boost::log::sinks::synchronized_feeding> {
public:
    void consume(const boost::log::record_view& rec) {
        seen_record r{};
        if (auto c = boost::log::extract<std::string>("Channel", rec)) r.channel = *c;
        if (auto s = boost::log::extract<raftlite::severity>("Severity", rec)) r.level = *s;
        auto node = boost::log::extract<raftlite::node_id>("Node", rec);
        r.node = node ? *node : 12345;   // 12345: no Node attribute
        if (auto m = boost::log::extract<std::string>("Message", rec)) r.message = *m;
        records.push_back(std::move(r));
    }
    std::vector<seen_record> records;
};

using keeping_sink = boost::log::sinks::synchronous_sink<keeping_backend>;

// The application's sink for one test: added to the core, removed after (with
// the core's filter reset, as the test may set one).
struct app_sink {
    boost::shared_ptr<keeping_backend> backend = boost::make_shared<keeping_backend>();
    boost::shared_ptr<keeping_sink> sink = boost::make_shared<keeping_sink>(backend);
    app_sink() { boost::log::core::get()->add_sink(sink); }
    ~app_sink() {
        boost::log::core::get()->remove_sink(sink);
        boost::log::core::get()->reset_filter();
    }
    std::vector<std::string> messages() const {
        std::vector<std::string> m;
        for (const auto& r : backend->records) m.push_back(r.message);
        return m;
    }
};

// Everything this process writes to its stdout and stderr (file descriptors
// 1 and 2: std::cout, std::clog and Boost.Log's default sink alike) while
// alive; no Boost.Test assertions inside, they write to stdout too.
class captured_output {
public:
    captured_output() : file_(std::tmpfile()) {
        std::fflush(stdout);
        std::cout.flush();
        std::clog.flush();
        saved_out_ = ::dup(1);
        saved_err_ = ::dup(2);
        ::dup2(::fileno(file_), 1);
        ::dup2(::fileno(file_), 2);
    }
    ~captured_output() { restore(); if (file_) std::fclose(file_); }

    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
        return out;
    }

private:
    void restore() {
        if (saved_out_ < 0) return;
        std::fflush(stdout);
        std::cout.flush();
        std::clog.flush();
        ::dup2(saved_out_, 1);
        ::dup2(saved_err_, 2);
        ::close(saved_out_);
        ::close(saved_err_);
        saved_out_ = saved_err_ = -1;
    }
    std::FILE* file_;
    int saved_out_ = -1, saved_err_ = -1;
};

} // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(an_application_sink_gets_every_channel_and_raftlite_adds_no_sink) {
    app_sink app;
    std::string output;
    {
        captured_output capture;
        RAFTLITE_LOG_CORE(warning) << "core record";
        RAFTLITE_LOG_NET(error) << "net record";
        RAFTLITE_LOG_DISK(info) << "disk record";
        RAFTLITE_LOG_APP(trace) << "app record";
        {
            raftlite::log_node_scope scope(4);
            RAFTLITE_LOG_CORE(warning) << "about node 4";
        }
        output = capture.text();
    }
    // Only the application's sink: nothing printed anywhere else.
    BOOST_TEST(output == "");
    const auto& r = app.backend->records;
    BOOST_REQUIRE_EQUAL(r.size(), 5u);
    BOOST_TEST(r[0].channel == "core");
    BOOST_TEST((r[0].level == raftlite::severity::warning));
    BOOST_TEST(r[0].node != 12345u);   // present (the process-wide id: whatever an earlier test set)
    BOOST_TEST(r[0].node != 4u);
    BOOST_TEST(r[0].message == "core record");
    BOOST_TEST(r[1].channel == "net");
    BOOST_TEST((r[1].level == raftlite::severity::error));
    BOOST_TEST(r[2].channel == "disk");
    BOOST_TEST(r[3].channel == "app");
    BOOST_TEST((r[3].level == raftlite::severity::trace));   // no filter of raftlite's own
    BOOST_TEST(r[4].node == 4u);
}

// The recipe in logging.hpp: a core filter on the channel silences the
// transport below warning and leaves everything else (the application's own
// records without a channel included) alone; init_logging and stop_logging
// keep the application's filter and sinks working.
BOOST_AUTO_TEST_CASE(a_core_filter_on_the_channel_routes_raftlite_records) {
    namespace expr = boost::log::expressions;
    app_sink app;
    boost::log::core::get()->set_filter(
        !expr::has_attr<std::string>("Channel") || expr::attr<std::string>("Channel") != "net" ||
        expr::attr<raftlite::severity>("Severity") >= raftlite::severity::warning);

    log_file f;
    raftlite::log_settings s;
    s.file = f.path.string();
    raftlite::init_logging(s);
    raftlite::stop_logging();

    boost::log::sources::logger own;   // the application's logger, no channel
    BOOST_LOG(own) << "application record";
    RAFTLITE_LOG_NET(info) << "net info";
    RAFTLITE_LOG_NET(warning) << "net warning";
    RAFTLITE_LOG_CORE(info) << "core info";
    const std::vector<std::string> expected{"application record", "net warning", "core info"};
    BOOST_TEST(app.messages() == expected, boost::test_tools::per_element());
}

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
    RAFTLITE_LOG_CORE(error) << "after stop: not in the file";

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

// A rotation renames the file; reopen_log then starts a new one by the same
// name, and each record is in exactly one of the two.
BOOST_AUTO_TEST_CASE(reopen_after_a_rotation_writes_a_new_file) {
    log_file f;
    const fs::path rotated = f.path.string() + ".1";
    raftlite::log_settings s;
    s.file = f.path.string();
    raftlite::init_logging(s);
    RAFTLITE_LOG_APP(info) << "before the rotation";
    fs::rename(f.path, rotated);
    RAFTLITE_LOG_APP(info) << "after the rename, before the reopen";
    raftlite::reopen_log();
    RAFTLITE_LOG_APP(info) << "after the reopen";
    raftlite::stop_logging();

    const auto old_lines = read_lines(rotated);
    BOOST_REQUIRE_EQUAL(old_lines.size(), 2u);
    BOOST_TEST(contains(old_lines[0], "before the rotation"));
    BOOST_TEST(contains(old_lines[1], "after the rename, before the reopen"));
    const auto new_lines = read_lines(f.path);
    BOOST_REQUIRE_EQUAL(new_lines.size(), 1u);
    BOOST_TEST(contains(new_lines[0], "[app] [-] after the reopen"));
    std::error_code ec;
    fs::remove(rotated, ec);
}

// A file that cannot be opened again: reopen_log throws and the records keep
// going to the file open until then. With the console, or no sink, there is
// nothing to reopen.
BOOST_AUTO_TEST_CASE(a_failed_reopen_keeps_the_old_file) {
    const fs::path dir = fs::temp_directory_path() / ("raftlite-logdir-" + std::to_string(std::random_device{}()));
    fs::create_directory(dir);
    const fs::path moved = dir.string() + ".moved";
    raftlite::log_settings s;
    s.file = (dir / "n1.log").string();
    raftlite::init_logging(s);
    RAFTLITE_LOG_APP(info) << "one";
    fs::rename(dir, moved);   // the path no longer leads to a directory
    BOOST_CHECK_THROW(raftlite::reopen_log(), std::runtime_error);
    RAFTLITE_LOG_APP(info) << "two";
    raftlite::stop_logging();
    const auto lines = read_lines(moved / "n1.log");
    BOOST_REQUIRE_EQUAL(lines.size(), 2u);
    BOOST_TEST(contains(lines[1], "two"));
    std::error_code ec;
    fs::remove_all(moved, ec);

    BOOST_CHECK_NO_THROW(raftlite::reopen_log());   // no sink
    s.file = "console";
    raftlite::init_logging(s);
    BOOST_CHECK_NO_THROW(raftlite::reopen_log());
    raftlite::stop_logging();
}

BOOST_AUTO_TEST_CASE(unopenable_file_throws) {
    raftlite::log_settings s;
    s.file = "/nonexistent-dir/raftlite.log";
    BOOST_CHECK_THROW(raftlite::init_logging(s), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
