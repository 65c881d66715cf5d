// raftlite — a peer's configuration file.
//
// The file is INI (read with Boost.PropertyTree's ini parser). Every key is
// documented, with its default, in conf/template.ini. The library's sections:
//   [cluster]   id
//   [node]      id, listen, data_dir
//   [peers]     <node id> = host:port    (one line per voter, this node included)
//   [raft]      the protocol's timers and limits          (optional section and keys)
//   [transport] the network's limits and timers           (optional section and keys)
//   [tls]       enabled, ca, cert, key   (optional section; with enabled = true
//               ca, cert and key are required and must be readable files)
//   [log]       level, file                               (optional section and keys)
// Reading fills the library's own options (node_options) directly: a key
// left out keeps the default written in those structs. Every tunable of
// node_options, its core_config and its transport_options has a key;
// node_options::applied_index and seed have none: the first is the
// application's state after a restart, and peers sharing a seed would draw
// the same election timeouts.
//
// An application keeps its own sections in the same file (the key-value app
// has [kv]) and reads them through an app_section hook, with the same
// helpers and the same kind of messages as the library's sections.
//
// Comments are whole lines starting with ';' or '#'. Unknown sections or keys,
// duplicates, missing keys and bad values are errors (config_error) whose
// message names the file, the line (or the missing key) and what is expected.
// A key is known when its section's reader asks for it.
// A relative data_dir, log file or certificate path is resolved against the
// directory holding the config file, so a config works from any working
// directory.
#ifndef RAFTLITE_CONFIG_HPP
#define RAFTLITE_CONFIG_HPP

#include <raftlite/logging.hpp>
#include <raftlite/node_options.hpp>
#include <raftlite/transport_options.hpp>
#include <raftlite/types.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raftlite {

/// An invalid or unreadable configuration file. what() is the whole message,
/// e.g. "conf/n1.ini:7: [node] id: expected an integer >= 1, got 'x'".
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail { class config_file; }

/// One section of a config file while it is being read. Every getter marks
/// its key as known (keys nobody asks for are reported as unknown once the
/// section has been read), and every failure throws config_error naming the
/// file, the key's line, the section and the key. Valid only during the read
/// that handed it out.
class config_section {
public:
    config_section(detail::config_file& file, std::string name);

    const std::string& name() const noexcept { return name_; }
    /// The section is in the file (possibly without keys).
    bool present() const;
    /// The line of the section header; 0 when absent.
    int line() const;
    /// The line of `key`; 0 when absent.
    int line(std::string_view key) const;
    /// The keys present, in file order (without marking them known).
    std::vector<std::string> keys() const;

    /// The raw value of `key`; nullopt when absent.
    std::optional<std::string> value(std::string_view key) const;
    /// The raw value of a required key (missing: an error).
    std::string required(std::string_view key) const;
    /// An integer in [min, max]; `fallback` when absent.
    std::uint64_t integer(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                          std::uint64_t max) const;
    /// A count or size: an integer in 1..2^32-1; `fallback` when absent.
    std::size_t count(std::string_view key, std::size_t fallback) const;
    /// A duration in whole milliseconds, 1..3600000; `fallback` when absent.
    std::chrono::milliseconds millis(std::string_view key, std::chrono::milliseconds fallback) const;
    /// true or false; `fallback` when absent.
    bool boolean(std::string_view key, bool fallback) const;
    /// Replaces `field` by the key's value when the key is present, read as
    /// count(), integer() in 1..2^32-1, millis() or boolean(); otherwise
    /// `field` keeps its default.
    void get(std::string_view key, std::size_t& field) const { field = count(key, field); }
    void get(std::string_view key, unsigned& field) const;
    void get(std::string_view key, std::chrono::milliseconds& field) const { field = millis(key, field); }
    void get(std::string_view key, bool& field) const { field = boolean(key, field); }
    /// A required "host:port" (see endpoint_address::parse).
    endpoint_address address(std::string_view key) const;
    /// A required, non-empty path, resolved against the config file's directory.
    std::filesystem::path path(std::string_view key, std::string_view what) const;
    /// As path(), and the file must exist now and be a regular file.
    std::filesystem::path existing_file(std::string_view key, std::string_view what) const;

    /// Fails unless every key in `keys` is present ("missing key ... (because)").
    void require_all(std::initializer_list<std::string_view> keys, std::string_view because) const;
    /// "file:line: [section] key: expected <expected>, got '<got>'".
    [[noreturn]] void bad_value(std::string_view key, std::string_view expected,
                                std::string_view got) const;
    /// "file:line: <what>", at the last line among `keys` of this section
    /// that is in the file, else at the section's header ("file: <what>"
    /// when the section is absent too).
    [[noreturn]] void fail(std::initializer_list<std::string_view> keys, const std::string& what) const;

private:
    detail::config_file* file_;
    std::string name_;
};

struct raft_config;

/// An application's own section of the config file. Sections that neither
/// the library nor an app_section names are errors.
struct app_section {
    std::string name;
    /// Required: a file without the section is an error, ending with `hint`.
    bool required = false;
    std::string hint;
    /// Called when the section is in the file, after the library's sections
    /// were read (`cfg` holds them). Empty: the section is accepted and left
    /// unread (for programs sharing a file with the application owning it).
    std::function<void(const config_section& section, const raft_config& cfg)> read;
};

/// One peer's whole configuration: the node's options, and what the library
/// needs beside them to run a peer.
struct raft_config {
    /// [cluster] id and [node] id, listen go to node.core and node.transport;
    /// [peers] to node.core.members (the bootstrap configuration, with each
    /// peer's address) and node.transport.peers (self included), unless
    /// [node] join = true (see set_join); [raft], [transport] and [tls] to
    /// the fields they name.
    node_options node;
    std::filesystem::path data_dir;   ///< [node] data_dir, absolute after loading
    log_settings log;                 ///< [log]; log.node == node.core.self
    std::filesystem::path source;     ///< the file this was read from
};

/// Makes the node one that joins a running cluster ([node] join = true, or
/// a program's --join): no bootstrap configuration (it never stands for
/// election until a leader adds it and promotes it; thesis §4.2.1), the
/// config file's peers are only where to reach the cluster, and peers it
/// has not heard of may connect (the leader that adds it; the handshake
/// and TLS still bind their identity).
void set_join(raft_config& cfg);

/// Reads and validates a config file; `apps` are the application's sections.
/// Throws config_error.
raft_config load_config(const std::filesystem::path& path,
                        const std::vector<app_section>& apps = {});

/// As above, without throwing: on failure `ec` is errc::bad_config, `message`
/// holds the description and the returned value is default-constructed.
raft_config load_config(const std::filesystem::path& path, boost::system::error_code& ec,
                        std::string& message, const std::vector<app_section>& apps = {});

/// Parses config text as if read from `path` (used in messages and to resolve
/// relative paths; the file need not exist). Throws config_error.
raft_config parse_config(std::string_view text, const std::filesystem::path& path,
                         const std::vector<app_section>& apps = {});

} // namespace raftlite

#endif
