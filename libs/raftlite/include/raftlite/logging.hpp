// raftlite — logging set-up (Boost.Log), without the Boost.Log headers.
//
// This header is light on purpose: config.hpp and programs' main() include it.
// Code that writes log records includes <raftlite/log.hpp> (the macros and the
// per-channel loggers), which pulls in Boost.Log.
//
// The contract, as for any library on Boost.Log: raftlite writes records to
// the application's logging core and never adds a sink, sets the core's
// filter or switches logging on or off by itself. Every record carries the
// attributes
//   "Channel"  std::string        core, net, disk or app
//   "Severity" raftlite::severity trace .. error
//   "Node"     raftlite::node_id  the node it is about (no_node: unknown)
// so an application routes or silences raftlite with its own filters, e.g.
// only warnings from the transport:
//   namespace expr = boost::log::expressions;
//   core->set_filter(!expr::has_attr<std::string>("Channel") ||
//                    expr::attr<std::string>("Channel") != "net" ||
//                    expr::attr<raftlite::severity>("Severity") >= raftlite::severity::warning);
// Note Boost.Log's own rule: with no sink at all in the core, records go to
// its built-in default sink (stdout, every severity). An application that
// wants silence adds a sink that keeps nothing, or disables the core.
//
// init_logging() is the ready-made sink the programs ask for. It writes one
// line per record:
//   2026-11-26T09:21:08.123456 info    [core] [n1] became leader term=3
// timestamp (local time, microseconds), severity, channel, node id, message.
#ifndef RAFTLITE_LOGGING_HPP
#define RAFTLITE_LOGGING_HPP

#include <raftlite/types.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace raftlite {

/// Severities, lowest first. A sink shows records at or above its level.
enum class severity { trace, debug, info, warning, error };

/// "trace", "debug", "info", "warning", "error".
const char* severity_name(severity s) noexcept;

/// The inverse of severity_name(); nullopt for anything else (case-sensitive).
std::optional<severity> parse_severity(std::string_view name) noexcept;

/// The [log] section of a config file.
struct log_settings {
    severity level = severity::info;
    /// A file path (records are appended), or "console" for std::clog.
    std::string file = "console";
    /// Shown as "[n<id>]" on every record; no_node shows "[-]".
    node_id node = no_node;
};

/// Adds raftlite's sink per `s` to the logging core (replacing the one a
/// previous call added; the application's own sinks and the core's filter are
/// left alone) and adds a global "TimeStamp" attribute. Thread-safe, but
/// records written by other threads during the switch may go to either sink.
/// Throws std::runtime_error when the log file cannot be opened.
void init_logging(const log_settings& s);

/// Opens the log file of the sink init_logging added again, by its path, and
/// writes the next records there: after a rotation renamed the file
/// (logrotate's `create` mode; a daemon does this on SIGHUP), records go to a
/// new file of that name instead of the renamed one. None is lost or split: a
/// record being written finishes in the old file. Nothing to do for "console"
/// or when no sink was added. Throws std::runtime_error when the file cannot
/// be opened; records then keep going to the old one.
void reopen_log();

/// Flushes and removes the sink init_logging added. Records then go to the
/// application's other sinks, if any (see the note on Boost.Log's default
/// sink above). Tests use it to read a log file back completely.
void stop_logging();

/// While alive, records written *on this thread* carry `node` instead of the
/// process-wide node id. For drivers that run several nodes in one thread
/// (the simulator, multi-node tests): wrap each node's step in one.
class log_node_scope {
public:
    explicit log_node_scope(node_id node);
    ~log_node_scope();
    log_node_scope(const log_node_scope&) = delete;
    log_node_scope& operator=(const log_node_scope&) = delete;

private:
    node_id previous_;
};

} // namespace raftlite

#endif
