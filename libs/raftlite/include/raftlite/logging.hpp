// raftlite — logging set-up (Boost.Log), without the Boost.Log headers.
//
// This header is light on purpose: config.hpp and programs' main() include it.
// Code that writes log records includes <raftlite/log.hpp> (the macros and the
// per-channel loggers), which pulls in Boost.Log.
//
// Every record is one line:
//   2026-11-26 09:21:08.123456 info    [core] [n1] became leader term=3
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

/// (Re)configures logging for the whole process: removes the sinks a previous
/// call added and installs one sink per `s`. Thread-safe, but records written
/// by other threads during the switch may go to either sink.
/// Throws std::runtime_error when the log file cannot be opened.
void init_logging(const log_settings& s);

/// Flushes and removes raftlite's sink (records are then dropped until the
/// next init_logging). Tests use it to read a log file back completely.
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
