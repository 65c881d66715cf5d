// raftlite — reading a peer's configuration file.
//
// Boost.PropertyTree's ini parser reads the file; it reports syntax errors with
// a line number but keeps no line numbers in the tree. So a pre-scan of the
// lines records where every section and key is, and catches duplicates and
// keys outside a section with messages naming both lines. Each section's
// reader then asks config_section for its keys, which names the line of
// every bad value, and the keys no reader asked for are reported as unknown.
// Defaults are those of node_options and log_settings: a key left out leaves
// its field untouched.
#include <raftlite/config.hpp>
#include <raftlite/error.hpp>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace raftlite {

namespace pt = boost::property_tree;

namespace {

std::string_view trim(std::string_view s) {
    const char* ws = " \t\r\n\f\v";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos)
        return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

std::string join(const std::vector<std::string>& names, const char* open = "",
                 const char* close = "") {
    std::string out;
    for (auto& n : names)
        out += (out.empty() ? "" : ", ") + std::string(open) + n + close;
    return out;
}

constexpr std::uint64_t max_count = std::numeric_limits<std::uint32_t>::max();
// An hour bounds typos like an extra few zeros.
constexpr std::uint64_t max_millis = 3'600'000;

} // namespace

namespace detail {

/// The file's text, its tree and where every section and key is; which keys
/// the readers asked for.
class config_file {
public:
    using key_loc = std::pair<std::string, std::string>;   // section, key

    config_file(std::string_view text, const std::filesystem::path& path)
        : text_(text), path_(path), name_(path.string()) {
        prescan();
        parse_tree();
    }

    [[noreturn]] void fail_at(int line, const std::string& what) const {
        if (line == 0)
            throw config_error(name_ + ": " + what);
        throw config_error(name_ + ":" + std::to_string(line) + ": " + what);
    }

    int section_line(const std::string& name) const {
        auto it = section_lines_.find(name);
        return it == section_lines_.end() ? 0 : it->second;
    }

    int key_line(const std::string& section, const std::string& key) const {
        auto it = key_lines_.find({section, key});
        return it == key_lines_.end() ? 0 : it->second;
    }

    /// Sections in the file, in file order.
    const std::vector<std::pair<std::string, int>>& sections() const { return section_order_; }

    /// Keys of `section` in file order.
    std::vector<std::string> keys(const std::string& section) const {
        std::vector<std::string> out;
        if (auto sub = tree_.get_child_optional(pt::ptree::path_type(section, '\0')))
            for (auto& kv : *sub)
                out.push_back(kv.first);
        return out;
    }

    std::optional<std::string> value(const std::string& section, const std::string& key) {
        auto& asked = asked_[section];
        if (std::find(asked.begin(), asked.end(), key) == asked.end())
            asked.push_back(key);
        // '.' is a valid key character here, not a path separator.
        auto sub = tree_.get_child_optional(pt::ptree::path_type(section, '\0'));
        if (!sub)
            return std::nullopt;
        auto v = sub->get_child_optional(pt::ptree::path_type(key, '\0'));
        if (!v)
            return std::nullopt;
        return v->data();
    }

    /// Reports the first key of `section` that no reader asked for.
    void check_known_keys(const std::string& section) {
        const auto& asked = asked_[section];
        for (auto& key : keys(section))
            if (std::find(asked.begin(), asked.end(), key) == asked.end())
                fail_at(key_line(section, key), "[" + section + "] unknown key '" + key +
                                                    "'; expected one of " + join(asked));
    }

    std::filesystem::path resolve(const std::string& p) const {
        std::filesystem::path path(p);
        if (path.is_relative())
            path = std::filesystem::absolute(path_).parent_path() / path;
        return path.lexically_normal();
    }

private:
    // Records the line of every section and key; rejects duplicates and keys
    // before the first section. Syntax errors are left to the ini parser.
    void prescan() {
        std::string section;
        int line_no = 0;
        std::size_t pos = 0;
        while (pos <= text_.size()) {
            auto nl = text_.find('\n', pos);
            if (nl == std::string_view::npos)
                nl = text_.size();
            auto line = trim(text_.substr(pos, nl - pos));
            pos = nl + 1;
            ++line_no;
            if (line.empty() || line[0] == ';' || line[0] == '#')
                continue;
            if (line[0] == '[') {
                section = section_header(line, line_no);
                continue;
            }
            auto eq = line.find('=');
            if (eq == std::string_view::npos || eq == 0)
                continue;   // the ini parser reports it, with its line
            std::string key(trim(line.substr(0, eq)));
            // The ini reader's paths would split a key at a control
            // character (NUL is its separator): such a key could be listed
            // but never read back.
            if (std::any_of(key.begin(), key.end(), [](char ch) {
                    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
                }))
                fail_at(line_no, "a key contains a control character; expected printable text");
            if (section_order_.empty())
                fail_at(line_no, "key '" + key +
                                     "' outside any section; expected a section header "
                                     "such as [node] before it");
            auto [it, fresh] = key_lines_.emplace(key_loc{section, key}, line_no);
            if (!fresh)
                fail_at(line_no, "[" + section + "] duplicate key '" + key + "' (first on line " +
                                     std::to_string(it->second) + "); each key may appear once");
        }
    }

    std::string section_header(std::string_view line, int line_no) {
        auto end = line.find(']');
        if (end == std::string_view::npos)
            fail_at(line_no, "expected a section header '[name]', got '" + std::string(line) + "'");
        if (end + 1 != line.size())
            fail_at(line_no, "unexpected text after section header '" +
                                 std::string(line.substr(0, end + 1)) +
                                 "' (comments go on their own line)");
        std::string section(trim(line.substr(1, end - 1)));
        if (std::any_of(section.begin(), section.end(), [](char ch) {
                return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
            }))
            fail_at(line_no, "a section name contains a control character; expected printable text");
        auto [it, fresh] = section_lines_.emplace(section, line_no);
        if (!fresh)
            fail_at(line_no, "duplicate section [" + section + "] (first on line " +
                                 std::to_string(it->second) + "); each section may appear once");
        section_order_.emplace_back(section, line_no);
        return section;
    }

    void parse_tree() {
        std::istringstream in{std::string(text_)};
        try {
            pt::ini_parser::read_ini(in, tree_);
        } catch (const pt::ini_parser_error& e) {
            fail_at(static_cast<int>(e.line()),
                    e.message() + "; expected '[section]', 'key = value' or a comment");
        }
    }

    std::string_view text_;
    std::filesystem::path path_;
    std::string name_;
    pt::ptree tree_;
    std::map<std::string, int> section_lines_;
    std::vector<std::pair<std::string, int>> section_order_;
    std::map<key_loc, int> key_lines_;
    std::map<std::string, std::vector<std::string>> asked_;   ///< per section, in order asked
};

} // namespace detail

// ---- config_section ---------------------------------------------------------

config_section::config_section(detail::config_file& file, std::string name)
    : file_(&file), name_(std::move(name)) {}

bool config_section::present() const { return file_->section_line(name_) != 0; }

int config_section::line() const { return file_->section_line(name_); }

int config_section::line(std::string_view key) const {
    return file_->key_line(name_, std::string(key));
}

std::vector<std::string> config_section::keys() const { return file_->keys(name_); }

std::optional<std::string> config_section::value(std::string_view key) const {
    return file_->value(name_, std::string(key));
}

void config_section::require_all(std::initializer_list<std::string_view> keys,
                                 std::string_view because) const {
    for (auto key : keys)
        if (!value(key))
            file_->fail_at(0, "[" + name_ + "] missing key '" + std::string(key) + "' (" +
                                  std::string(because) + "; section starts on line " +
                                  std::to_string(line()) + ")");
}

std::string config_section::required(std::string_view key) const {
    auto v = value(key);
    if (!v)
        file_->fail_at(0, "[" + name_ + "] missing key '" + std::string(key) +
                              "' (section starts on line " + std::to_string(line()) + ")");
    return *v;
}

void config_section::bad_value(std::string_view key, std::string_view expected,
                               std::string_view got) const {
    file_->fail_at(line(key), "[" + name_ + "] " + std::string(key) + ": expected " +
                                  std::string(expected) + ", got '" + std::string(got) + "'");
}

void config_section::fail(std::initializer_list<std::string_view> keys,
                          const std::string& what) const {
    int last = 0;
    for (auto key : keys)
        last = std::max(last, line(key));
    file_->fail_at(last ? last : line(), what);
}

std::uint64_t config_section::integer(std::string_view key, std::uint64_t fallback,
                                      std::uint64_t min, std::uint64_t max) const {
    auto v = value(key);
    if (!v)
        return fallback;
    auto n = parse_u64(*v);
    if (!n || *n < min || *n > max)
        bad_value(key,
                  max == std::numeric_limits<std::uint64_t>::max()
                      ? "an integer >= " + std::to_string(min)
                      : "an integer in " + std::to_string(min) + ".." + std::to_string(max),
                  *v);
    return *n;
}

std::size_t config_section::count(std::string_view key, std::size_t fallback) const {
    return static_cast<std::size_t>(integer(key, fallback, 1, max_count));
}

void config_section::get(std::string_view key, unsigned& field) const {
    field = static_cast<unsigned>(integer(key, field, 1, max_count));
}

std::chrono::milliseconds config_section::millis(std::string_view key,
                                                 std::chrono::milliseconds fallback) const {
    return std::chrono::milliseconds(
        integer(key, static_cast<std::uint64_t>(fallback.count()), 1, max_millis));
}

bool config_section::boolean(std::string_view key, bool fallback) const {
    auto v = value(key);
    if (!v)
        return fallback;
    if (*v != "true" && *v != "false")
        bad_value(key, "true or false", *v);
    return *v == "true";
}

endpoint_address config_section::address(std::string_view key) const {
    auto v = required(key);
    auto a = endpoint_address::parse(v);
    if (!a)
        bad_value(key, "an address 'host:port' with port 1..65535", v);
    return *a;
}

std::filesystem::path config_section::path(std::string_view key, std::string_view what) const {
    auto v = required(key);
    if (v.empty())
        bad_value(key,
                  std::string(what) + " (relative paths start at the config file's directory)", v);
    return file_->resolve(v);
}

// A file read later (a certificate, a key) must exist now: a typo should stop
// the program here, with the line, not when the file is first opened.
std::filesystem::path config_section::existing_file(std::string_view key,
                                                    std::string_view what) const {
    auto p = path(key, what);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec))
        file_->fail_at(line(key), "[" + name_ + "] " + std::string(key) + ": " + p.string() +
                                      (std::filesystem::exists(p, ec) ? " is not a regular file"
                                                                      : " does not exist") +
                                      "; expected " + std::string(what) +
                                      (name_ == "tls" ? " (conf/tls/make-certs.sh makes test ones)"
                                                      : ""));
    return p;
}

// ---- the library's sections -------------------------------------------------

namespace {

// Fails unless the value of `lo_key` is at most that of `hi_key`.
void check_order(const config_section& s, std::string_view lo_key, std::uint64_t lo,
                 std::string_view hi_key, std::uint64_t hi) {
    if (lo > hi)
        s.fail({lo_key, hi_key}, "[" + s.name() + "] " + std::string(lo_key) + " (" +
                                     std::to_string(lo) + ") is greater than " +
                                     std::string(hi_key) + " (" + std::to_string(hi) +
                                     "); expected min <= max");
}

void read_cluster(const config_section& s, raft_config& c) {
    auto id = s.required("id");
    auto ok = !id.empty() && id.size() <= 64 &&
              std::all_of(id.begin(), id.end(), [](unsigned char ch) {
                  return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
              });
    if (!ok)
        s.bad_value("id", "1 to 64 characters from letters, digits, '-', '_' and '.'", id);
    c.node.transport.cluster_id = id;
}

void read_node(const config_section& s, raft_config& c) {
    s.required("id");
    c.node.core.self = s.integer("id", no_node, 1, std::numeric_limits<std::uint64_t>::max());
    c.node.transport.self = c.node.core.self;
    if (!c.node.transport.peers.count(c.node.core.self))
        s.fail({"id"}, "[node] id: this node's id " + std::to_string(c.node.core.self) +
                           " is not among [peers]; expected the peers to include this node");
    c.node.transport.listen = s.address("listen");
    c.data_dir = s.path("data_dir", "a directory path");
    c.log.node = c.node.core.self;
    if (s.boolean("join", false)) set_join(c);
}

void read_peers(const config_section& s, raft_config& c) {
    auto& peers = c.node.transport.peers;
    std::map<node_id, std::string> key_of;   // for messages about duplicates
    for (auto& key : s.keys()) {
        auto v = s.required(key);
        auto id = parse_u64(key);
        if (!id || *id == 0)
            s.fail({key}, "[peers] '" + key + "': expected a node id (an integer > 0) as the key");
        auto addr = endpoint_address::parse(v);
        if (!addr)
            s.bad_value(key, "an address 'host:port' with port 1..65535", v);
        if (auto [it, fresh] = key_of.emplace(*id, key); !fresh)
            s.fail({key}, "[peers] duplicate node id " + std::to_string(*id) + " (first on line " +
                              std::to_string(s.line(it->second)) + ")");
        for (auto& [other, other_addr] : peers)
            if (other_addr == *addr)
                s.fail({key}, "[peers] " + key + ": address " + addr->to_string() +
                                  " is also node " + std::to_string(other) +
                                  "'s; expected one address per peer");
        peers.emplace(*id, *addr);
        // The bootstrap configuration carries each peer's address, so that
        // a server added later learns where everyone is from the log.
        c.node.core.members.put(member{*id, true, addr->to_string(), {}});
    }
    if (peers.empty())
        s.fail({}, "[peers] is empty; expected one 'id = host:port' line per peer, this node "
                   "included");
}

// Every tunable of node_options with a key: f(section, key, field). A key
// left out of the file leaves the field at the default its struct states.
template <class F>
void for_each_tunable(node_options& o, F&& f) {
    f("raft", "election_timeout_min_ms", o.election_timeout_min);
    f("raft", "election_timeout_max_ms", o.election_timeout_max);
    f("raft", "heartbeat_ms", o.heartbeat_interval);
    f("raft", "broadcast_timeout_ms", o.broadcast_timeout);
    f("raft", "max_batch_entries", o.core.max_batch_entries);
    f("raft", "max_batch_bytes", o.core.max_batch_bytes);
    f("raft", "max_inflight", o.core.max_inflight);
    f("raft", "max_inflight_bytes", o.core.max_inflight_bytes);
    f("raft", "max_pending", o.core.max_pending);
    f("raft", "max_uncommitted", o.core.max_uncommitted);
    f("raft", "hold_elections", o.core.hold_elections);
    f("raft", "forward_retry_after", o.core.forward_retry_after);
    f("raft", "check_quorum", o.core.check_quorum);
    f("raft", "leader_stickiness", o.core.leader_stickiness);
    f("raft", "pre_vote", o.core.pre_vote);
    f("raft", "max_pending_reads", o.core.max_pending_reads);
    f("raft", "read_rounds_in_flight", o.core.read_rounds_in_flight);
    f("raft", "lease_reads", o.lease_reads);
    f("raft", "snapshot_entries", o.snapshot_entries);
    f("raft", "snapshot_bytes", o.snapshot_bytes);
    f("raft", "snapshot_keep_entries", o.core.log_keep_entries);
    f("raft", "snapshot_chunk_bytes", o.core.snapshot_chunk_bytes);
    f("raft", "snapshot_chunks_inflight", o.core.snapshot_chunks_inflight);
    f("raft", "max_deliveries_per_turn", o.max_deliveries_per_turn);
    f("transport", "max_frame_bytes", o.transport.max_frame_bytes);
    f("transport", "peer_queue_bytes", o.transport.max_queue_bytes);
    f("transport", "peer_queue_messages", o.transport.max_queue_messages);
    f("transport", "max_inbound_connections", o.transport.max_inbound_connections);
    f("transport", "reconnect_min_ms", o.transport.reconnect_min);
    f("transport", "reconnect_max_ms", o.transport.reconnect_max);
    f("transport", "handshake_timeout_ms", o.transport.handshake_timeout);
    f("transport", "max_message_entries", o.transport.limits.max_entries);
    f("transport", "max_payload_bytes", o.transport.limits.max_payload_bytes);
    f("transport", "max_cluster_id_bytes", o.transport.limits.max_cluster_id_bytes);
    f("transport", "max_snapshot_chunk_bytes", o.transport.limits.max_snapshot_chunk_bytes);
}

// Reads the tunables of section `s`.
void read_tunables(const config_section& s, node_options& o) {
    for_each_tunable(o, [&s](std::string_view section, std::string_view key, auto& field) {
        if (section == s.name())
            s.get(key, field);
    });
}

void read_raft(const config_section& s, raft_config& c) {
    auto& o = c.node;
    read_tunables(s, o);

    check_order(s, "election_timeout_min_ms", o.election_timeout_min.count(),
                "election_timeout_max_ms", o.election_timeout_max.count());
    // Followers must hear from the leader several times per election
    // timeout, or one delayed heartbeat starts an election.
    if (o.heartbeat_interval * 2 >= o.election_timeout_min)
        s.fail({"heartbeat_ms", "election_timeout_min_ms"},
               "[raft] heartbeat_ms (" + std::to_string(o.heartbeat_interval.count()) +
                   ") is too close to election_timeout_min_ms (" +
                   std::to_string(o.election_timeout_min.count()) +
                   "); expected heartbeat_ms * 2 < election_timeout_min_ms");
    unsigned drift_percent = static_cast<unsigned>(o.max_clock_drift * 100.0 + 0.5);
    s.get("max_clock_drift_percent", drift_percent);
    if (drift_percent >= 100)
        s.fail({"max_clock_drift_percent"}, "[raft] max_clock_drift_percent must be below 100");
    o.max_clock_drift = drift_percent / 100.0;
    // A lease is safe only while the followers that confirmed it keep their
    // promise not to elect anyone else (thesis §6.4.1).
    if (o.lease_reads && (!o.core.check_quorum || !o.core.leader_stickiness))
        s.fail({"lease_reads"}, "[raft] lease_reads = true needs check_quorum = true and leader_stickiness = true");
    // 0 (off) is a value here, unlike every count read_tunables reads
    // (config_section::count and get refuse 0 for those).
    o.completions_per_drain =
        static_cast<std::size_t>(s.integer("completions_per_drain", o.completions_per_drain, 0, max_count));
}

// Fails unless [transport] `key`'s `value` is at least (or, `strict`, more
// than) `other`, the value of what `other_name` names.
void check_at_least(const config_section& s, std::string_view key, std::size_t value,
                    const std::string& other_name, std::size_t other, bool strict = false) {
    if (strict ? value <= other : value < other)
        s.fail({key}, "[transport] " + std::string(key) + " (" + std::to_string(value) + ") must " +
                          (strict ? "exceed " : "be at least ") + other_name + " (" +
                          std::to_string(other) + ")");
}

void read_transport(const config_section& s, raft_config& c) {
    auto& t = c.node.transport;
    read_tunables(s, c.node);

    check_order(s, "reconnect_min_ms", t.reconnect_min.count(), "reconnect_max_ms",
                t.reconnect_max.count());
    // A frame carries a whole batch: a limit at or below the batch size
    // would make the leader send frames every follower refuses; likewise for
    // the entries in one message, and the cluster id in the handshake.
    const auto& core = c.node.core;
    check_at_least(s, "max_frame_bytes", t.max_frame_bytes, "[raft] max_batch_bytes",
                   core.max_batch_bytes, true);
    check_at_least(s, "max_message_entries", t.limits.max_entries, "[raft] max_batch_entries",
                   core.max_batch_entries);
    // Likewise a snapshot chunk: the leader sends chunks of this size.
    check_at_least(s, "max_frame_bytes", t.max_frame_bytes, "[raft] snapshot_chunk_bytes",
                   core.snapshot_chunk_bytes, true);
    check_at_least(s, "max_snapshot_chunk_bytes", t.limits.max_snapshot_chunk_bytes, "[raft] snapshot_chunk_bytes",
                   core.snapshot_chunk_bytes);
    check_at_least(s, "max_cluster_id_bytes", t.limits.max_cluster_id_bytes,
                   "the length of [cluster] id", t.cluster_id.size());
    // A frame a peer accepts must fit in the queue that sends it.
    check_at_least(s, "peer_queue_bytes", t.max_queue_bytes, "max_frame_bytes", t.max_frame_bytes);
    // So must the pipeline window (which one batch may overshoot): a queue
    // smaller than it drops the oldest requests of a healthy window.
    check_at_least(s, "peer_queue_bytes", t.max_queue_bytes, "[raft] max_inflight_bytes + max_batch_bytes",
                   core.max_inflight_bytes + core.max_batch_bytes);
}

void read_tls(const config_section& s, raft_config& c) {
    if (!s.present())
        return;
    auto& tls = c.node.transport.tls;
    s.required("enabled");
    tls.enabled = s.boolean("enabled", false);
    // Without TLS the other keys may stay, unchecked, for switching back on.
    for (auto key : {"ca", "cert", "key"})
        s.value(key);
    if (!tls.enabled)
        return;
    s.require_all({"ca", "cert", "key"}, "required with enabled = true");
    tls.ca_file = s.existing_file("ca", "a PEM file with the cluster's CA certificate").string();
    tls.cert_file = s.existing_file("cert", "a PEM file with this node's certificate").string();
    tls.key_file = s.existing_file("key", "a PEM file with this node's private key").string();
}

void read_log(const config_section& s, raft_config& c) {
    if (auto level = s.value("level")) {
        auto sev = parse_severity(*level);
        if (!sev)
            s.bad_value("level", "one of trace, debug, info, warning, error", *level);
        c.log.level = *sev;
    }
    if (s.value("file"))
        c.log.file = *s.value("file") == "console"
                         ? "console"
                         : s.path("file", "'console' or a file path").string();
}

struct library_section {
    const char* name;
    bool required;
    const char* hint;   ///< ends the message when the section is missing
    void (*read)(const config_section&, raft_config&);
};

const library_section library_sections[] = {
    {"cluster", true, " (with key id)", read_cluster},
    {"peers", true, " (one 'id = host:port' line per peer)", read_peers},
    {"node", true, " (with keys id, listen, data_dir)", read_node},
    {"raft", false, "", read_raft},
    {"transport", false, "", read_transport},
    {"tls", false, "", read_tls},
    {"log", false, "", read_log},
};

// Every section in the file is the library's or an application's, and
// every required one is there.
void check_sections(const detail::config_file& file, const std::vector<app_section>& apps) {
    std::vector<std::string> known;
    for (auto& s : library_sections)
        known.push_back(s.name);
    for (auto& a : apps)
        known.push_back(a.name);
    for (auto& [name, line] : file.sections())
        if (std::find(known.begin(), known.end(), name) == known.end())
            file.fail_at(line, "unknown section [" + name + "]; expected one of " +
                                   join(known, "[", "]"));
    for (auto& s : library_sections)
        if (s.required && !file.section_line(s.name))
            file.fail_at(0, "missing section [" + std::string(s.name) + "]" + s.hint);
    for (auto& a : apps)
        if (a.required && !file.section_line(a.name))
            file.fail_at(0, "missing section [" + a.name + "]" +
                                (a.hint.empty() ? "" : " (" + a.hint + ")"));
}

} // namespace

void set_join(raft_config& cfg) {
    cfg.node.core.members = membership{};
    cfg.node.transport.accept_unknown_peers = true;
}

raft_config parse_config(std::string_view text, const std::filesystem::path& path,
                         const std::vector<app_section>& apps) {
    detail::config_file file(text, path);
    check_sections(file, apps);
    raft_config c;
    c.source = path;
    for (auto& s : library_sections) {
        s.read(config_section(file, s.name), c);
        file.check_known_keys(s.name);
    }
    for (auto& a : apps) {
        if (!a.read || !file.section_line(a.name))
            continue;
        a.read(config_section(file, a.name), c);
        file.check_known_keys(a.name);
    }
    return c;
}

raft_config load_config(const std::filesystem::path& path, const std::vector<app_section>& apps) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw config_error(path.string() + ": is a directory; expected a config file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw config_error(path.string() + ": cannot open the config file for reading");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad())
        throw config_error(path.string() + ": error while reading the config file");
    return parse_config(buf.str(), path, apps);
}

raft_config load_config(const std::filesystem::path& path, boost::system::error_code& ec,
                        std::string& message, const std::vector<app_section>& apps) {
    try {
        ec = {};
        message.clear();
        return load_config(path, apps);
    } catch (const std::exception& e) {
        // config_error, and std::bad_alloc / filesystem errors while reading
        ec = make_error_code(errc::bad_config);
        message = e.what();
        return {};
    }
}

} // namespace raftlite
