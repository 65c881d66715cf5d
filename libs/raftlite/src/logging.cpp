// raftlite — Boost.Log set-up: channels, severities, one line per record.
#include <raftlite/log.hpp>
#include <raftlite/logging.hpp>

#include <boost/core/null_deleter.hpp>
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/date_time/posix_time/time_formatters.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/function.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions/message.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/utility/formatting_ostream.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace raftlite {
namespace {

namespace logging = boost::log;
using sink_t = logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>;

// The process-wide node id, and a per-thread override (log_node_scope).
std::atomic<node_id> process_node{no_node};
thread_local node_id thread_node = no_node;

node_id current_node() {
    return thread_node != no_node ? thread_node : process_node.load(std::memory_order_relaxed);
}

void format_record(const logging::record_view& rec, logging::formatting_ostream& out) {
    if (auto ts = logging::extract<boost::posix_time::ptime>("TimeStamp", rec))
        out << boost::posix_time::to_iso_extended_string(*ts);
    out << ' ';
    // Fixed width so that messages line up when reading a log by eye.
    std::string sev = "-";
    if (auto s = logging::extract<severity>("Severity", rec))
        sev = severity_name(*s);
    sev.resize(7, ' ');
    out << sev << " [";
    if (auto ch = logging::extract<std::string>("Channel", rec))
        out << *ch;
    out << "] [";
    auto node = logging::extract<node_id>("Node", rec);
    if (node && *node != no_node)
        out << 'n' << *node;
    else
        out << '-';
    out << "] " << rec[logging::expressions::smessage];
}

struct state {
    std::mutex mutex;
    boost::shared_ptr<sink_t> sink;   ///< the sink init_logging added, if any
    std::string file;                 ///< its file's path; empty for the console
    boost::shared_ptr<std::ostream> stream;   ///< its stream
};

// The log file at `path`, opened for appending (O_APPEND: a rotation that
// copies and truncates the file leaves the next record at its new end).
boost::shared_ptr<std::ostream> open_log_file(const std::string& path, const char* verb) {
    auto file = boost::make_shared<std::ofstream>(path, std::ios::out | std::ios::app);
    if (!*file) throw std::runtime_error(std::string("cannot ") + verb + " log file '" + path + "' for appending");
    return file;
}

state& global_state() {
    static state s;
    return s;
}

// Caller holds the state's mutex. Only init_logging gets here: the
// application asked for raftlite's sink, and only that sink is touched
// (never the core's filter, other sinks, or whether logging is enabled).
void install(state& st, const log_settings& s) {
    auto core = logging::core::get();
    // The time of a record, for this sink's format. A global attribute
    // because the application asked for raftlite's output; an application
    // with its own sinks usually adds its own (add_common_attributes), and
    // adding it twice is harmless (the first one stays).
    static std::once_flag attributes_added;
    std::call_once(attributes_added,
                   [&] { core->add_global_attribute("TimeStamp", logging::attributes::local_clock()); });

    auto backend = boost::make_shared<logging::sinks::text_ostream_backend>();
    const bool console = s.file == "console";
    auto stream = console ? boost::shared_ptr<std::ostream>(&std::clog, boost::null_deleter())
                          : open_log_file(s.file, "open");
    backend->add_stream(stream);
    // Flush every record: a node killed by a crash test (or a real crash)
    // must leave its last words in the file.
    backend->auto_flush(true);

    auto sink = boost::make_shared<sink_t>(backend);
    sink->set_formatter(&format_record);
    const severity level = s.level;
    sink->set_filter([level](const logging::attribute_value_set& attrs) {
        auto v = attrs["Severity"].extract<severity>();
        return v && *v >= level;
    });

    if (st.sink) {
        core->remove_sink(st.sink);
        st.sink->flush();
    }
    process_node.store(s.node, std::memory_order_relaxed);
    core->add_sink(sink);
    st.sink = sink;
    st.file = console ? std::string() : s.file;
    st.stream = stream;
}

// A library logs to whatever the application set up: creating a logger adds
// no sink and changes nothing in the core. The node id travels with each
// record as a source attribute, so an application's own sinks see it too.
channel_logger make_logger(const char* channel) {
    channel_logger lg(boost::log::keywords::channel = std::string(channel));
    lg.add_attribute("Node", logging::attributes::make_function(&current_node));
    return lg;
}

} // namespace

const char* severity_name(severity s) noexcept {
    switch (s) {
    case severity::trace: return "trace";
    case severity::debug: return "debug";
    case severity::info: return "info";
    case severity::warning: return "warning";
    case severity::error: return "error";
    }
    return "unknown";
}

std::optional<severity> parse_severity(std::string_view name) noexcept {
    for (auto s : {severity::trace, severity::debug, severity::info, severity::warning,
                   severity::error})
        if (name == severity_name(s))
            return s;
    return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, severity s) {
    return os << severity_name(s);
}

void init_logging(const log_settings& s) {
    auto& st = global_state();
    std::lock_guard lock(st.mutex);
    install(st, s);
}

void reopen_log() {
    auto& st = global_state();
    std::lock_guard lock(st.mutex);
    if (!st.sink || st.file.empty()) return;
    auto stream = open_log_file(st.file, "reopen");
    // The backend's lock: a record being written finishes in the old file,
    // the next one goes to the new file.
    auto backend = st.sink->locked_backend();
    backend->flush();
    backend->remove_stream(st.stream);
    backend->add_stream(stream);
    st.stream = std::move(stream);
}

void stop_logging() {
    auto& st = global_state();
    std::lock_guard lock(st.mutex);
    if (st.sink) {
        logging::core::get()->remove_sink(st.sink);
        st.sink->flush();
        st.sink.reset();
        st.file.clear();
        st.stream.reset();
    }
}

log_node_scope::log_node_scope(node_id node) : previous_(thread_node) {
    thread_node = node;
}

log_node_scope::~log_node_scope() {
    thread_node = previous_;
}

channel_logger& core_log() {
    static channel_logger lg = make_logger("core");
    return lg;
}

channel_logger& net_log() {
    static channel_logger lg = make_logger("net");
    return lg;
}

channel_logger& disk_log() {
    static channel_logger lg = make_logger("disk");
    return lg;
}

channel_logger& app_log() {
    static channel_logger lg = make_logger("app");
    return lg;
}

} // namespace raftlite
