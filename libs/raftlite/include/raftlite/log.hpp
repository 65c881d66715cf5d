// raftlite — writing log records: one Boost.Log logger per channel.
//
//   #include <raftlite/log.hpp>
//   RAFTLITE_LOG(raftlite::core_log(), info) << "became leader term=" << term;
//   RAFTLITE_LOG_NET(warning) << "peer " << id << ": bad handshake: " << why;
//
// The stream expression is not evaluated when the record is filtered out, so
// trace records cost one filter check when tracing is off. Include the term in
// the message of every event that has one (the design asks for node and term;
// the node id is added automatically).
// Where records go is the application's choice: its own Boost.Log sinks, or
// init_logging() (logging.hpp). raftlite adds no sink by itself.
#ifndef RAFTLITE_LOG_HPP
#define RAFTLITE_LOG_HPP

#include <raftlite/logging.hpp>

#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>

#include <ostream>
#include <string>

namespace raftlite {

/// A thread-safe logger with a fixed channel and a severity per record.
using channel_logger = boost::log::sources::severity_channel_logger_mt<severity, std::string>;

channel_logger& core_log();   ///< channel "core": the algorithm and the node's decisions
channel_logger& net_log();    ///< channel "net": transport, sessions, handshakes
channel_logger& disk_log();   ///< channel "disk": the persister, recovery
channel_logger& app_log();    ///< channel "app": the programs built on raftlite

/// Streams the severity's name (Boost.Log formatters and tests use it).
std::ostream& operator<<(std::ostream& os, severity s);

} // namespace raftlite

/// RAFTLITE_LOG(logger, sev) << ...; sev is one of trace, debug, info, warning, error.
#define RAFTLITE_LOG(logger, sev) BOOST_LOG_SEV((logger), ::raftlite::severity::sev)

#define RAFTLITE_LOG_CORE(sev) RAFTLITE_LOG(::raftlite::core_log(), sev)
#define RAFTLITE_LOG_NET(sev) RAFTLITE_LOG(::raftlite::net_log(), sev)
#define RAFTLITE_LOG_DISK(sev) RAFTLITE_LOG(::raftlite::disk_log(), sev)
#define RAFTLITE_LOG_APP(sev) RAFTLITE_LOG(::raftlite::app_log(), sev)

#endif
