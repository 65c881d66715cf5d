// raftlite — reading a peer's configuration file.
//
// Boost.PropertyTree's ini parser reads the file; it reports syntax errors with
// a line number but keeps no line numbers in the tree. So a pre-scan of the
// lines records where every section and key is, and catches duplicates and
// keys outside a section with messages naming both lines. Validation then
// walks the tree and names the line of every bad value.
#include <raftlite/config.hpp>
#include <raftlite/error.hpp>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <set>
#include <sstream>
#include <utility>

namespace raftlite {
namespace {

namespace pt = boost::property_tree;

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
    if (s.empty())
        return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

// The keys a section accepts, and which of them must be present.
struct key_spec {
    const char* name;
    bool required;
};

struct section_spec {
    const char* name;
    bool required;
    std::vector<key_spec> keys;   ///< empty: any key ([peers], checked separately)
};

const std::vector<section_spec>& sections() {
    static const std::vector<section_spec> s = {
        {"cluster", true, {{"id", true}}},
        {"node", true, {{"id", true}, {"listen", true}, {"data_dir", true}}},
        {"peers", true, {}},
        {"raft", false,
         {{"election_timeout_min_ms", false}, {"election_timeout_max_ms", false},
          {"heartbeat_ms", false}, {"max_batch_entries", false}, {"max_batch_bytes", false},
          {"max_inflight", false}, {"max_pending", false}}},
        {"transport", false,
         {{"max_frame_bytes", false}, {"peer_queue_bytes", false},
          {"max_inbound_connections", false}}},
        {"tls", false, {{"enabled", true}, {"ca", false}, {"cert", false}, {"key", false}}},
        {"log", false, {{"level", false}, {"file", false}}},
        {"kv", false,
         {{"listen", true}, {"body_limit_bytes", false}, {"header_limit_bytes", false},
          {"idle_timeout_ms", false}, {"max_connections", false}, {"tls_cert", false},
          {"tls_key", false}, {"client_ca", false}}},
    };
    return s;
}

std::string join_section_names() {
    std::string out;
    for (auto& s : sections()) {
        if (!out.empty())
            out += ", ";
        out += "[" + std::string(s.name) + "]";
    }
    return out;
}

std::string join_key_names(const section_spec& s) {
    std::string out;
    for (auto& k : s.keys) {
        if (!out.empty())
            out += ", ";
        out += k.name;
    }
    return out;
}

class reader {
public:
    reader(std::string_view text, const std::filesystem::path& path)
        : text_(text), path_(path), name_(path.string()) {}

    raft_config read() {
        prescan();
        parse_tree();
        check_structure();

        raft_config c;
        c.source = path_;
        read_cluster(c);
        read_node(c);
        read_peers(c);
        read_raft(c);
        read_transport(c);
        read_tls(c);
        read_log(c);
        read_kv(c);
        return c;
    }

private:
    using key_loc = std::pair<std::string, std::string>;   // section, key

    [[noreturn]] void fail_at(int line, const std::string& what) const {
        throw config_error(name_ + ":" + std::to_string(line) + ": " + what);
    }
    [[noreturn]] void fail(const std::string& what) const {
        throw config_error(name_ + ": " + what);
    }
    [[noreturn]] void bad_value(const std::string& section, const std::string& key,
                                const std::string& expected, const std::string& got) const {
        fail_at(line_of(section, key),
                "[" + section + "] " + key + ": expected " + expected + ", got '" + got + "'");
    }

    int line_of(const std::string& section, const std::string& key) const {
        auto it = key_lines_.find({section, key});
        return it == key_lines_.end() ? 0 : it->second;
    }

    // Records the line of every section and key; rejects duplicates and keys
    // before the first section. Syntax errors are left to the ini parser.
    void prescan() {
        std::string section;
        bool in_section = false;
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
                auto end = line.find(']');
                if (end == std::string_view::npos)
                    fail_at(line_no, "expected a section header '[name]', got '" +
                                         std::string(line) + "'");
                if (end + 1 != line.size())
                    fail_at(line_no, "unexpected text after section header '" +
                                         std::string(line.substr(0, end + 1)) +
                                         "' (comments go on their own line)");
                section = std::string(trim(line.substr(1, end - 1)));
                in_section = true;
                auto [it, fresh] = section_lines_.emplace(section, line_no);
                if (!fresh)
                    fail_at(line_no, "duplicate section [" + section + "] (first on line " +
                                         std::to_string(it->second) +
                                         "); each section may appear once");
                continue;
            }
            auto eq = line.find('=');
            if (eq == std::string_view::npos || eq == 0)
                continue;   // the ini parser reports it, with its line
            std::string key(trim(line.substr(0, eq)));
            if (!in_section)
                fail_at(line_no, "key '" + key +
                                     "' outside any section; expected a section header "
                                     "such as [node] before it");
            auto [it, fresh] = key_lines_.emplace(key_loc{section, key}, line_no);
            if (!fresh)
                fail_at(line_no, "[" + section + "] duplicate key '" + key + "' (first on line " +
                                     std::to_string(it->second) + "); each key may appear once");
        }
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

    // Which sections and keys exist comes from the pre-scan as well as the
    // tree: the ini parser silently drops a section that has no keys.
    void check_structure() {
        for (auto& [name, line] : section_lines_)
            if (!find_section(name))
                fail_at(line, "unknown section [" + name + "]; expected one of " +
                                  join_section_names());
        for (auto& [name, sub] : tree_) {
            auto spec = find_section(name);
            if (!spec || spec->keys.empty())
                continue;
            for (auto& [key, value] : sub) {
                auto known = std::any_of(spec->keys.begin(), spec->keys.end(),
                                         [&](const key_spec& k) { return key == k.name; });
                if (!known)
                    fail_at(line_of(name, key), "[" + name + "] unknown key '" + key +
                                                    "'; expected one of " + join_key_names(*spec));
            }
        }
        for (auto& spec : sections()) {
            if (!has_section(spec.name)) {
                if (spec.required)
                    fail("missing section [" + std::string(spec.name) + "]" +
                         (spec.keys.empty() ? std::string(" (one 'id = host:port' line per peer)")
                                            : " (with keys " + join_key_names(spec) + ")"));
                continue;
            }
            for (auto& k : spec.keys)
                if (k.required && !value(spec.name, k.name))
                    fail("[" + std::string(spec.name) + "] missing key '" + k.name +
                         "' (section starts on line " + std::to_string(section_line(spec.name)) +
                         ")");
        }
    }

    bool has_section(const std::string& name) const { return section_lines_.count(name) != 0; }

    int section_line(const std::string& name) const {
        auto it = section_lines_.find(name);
        return it == section_lines_.end() ? 0 : it->second;
    }

    static const section_spec* find_section(const std::string& name) {
        for (auto& s : sections())
            if (name == s.name)
                return &s;
        return nullptr;
    }

    // The raw value of an optional key ('.' is a valid key character here).
    std::optional<std::string> value(const std::string& section, const std::string& key) const {
        auto sub = tree_.get_child_optional(pt::ptree::path_type(section, '\0'));
        if (!sub)
            return std::nullopt;
        auto v = sub->get_child_optional(pt::ptree::path_type(key, '\0'));
        if (!v)
            return std::nullopt;
        return v->data();
    }

    std::uint64_t number(const std::string& section, const std::string& key, std::uint64_t min,
                         std::uint64_t max, std::uint64_t fallback) const {
        auto v = value(section, key);
        if (!v)
            return fallback;
        auto n = parse_u64(*v);
        std::string range = max == std::numeric_limits<std::uint64_t>::max()
                                ? "an integer >= " + std::to_string(min)
                                : "an integer in " + std::to_string(min) + ".." +
                                      std::to_string(max);
        if (!n || *n < min || *n > max)
            bad_value(section, key, range, *v);
        return *n;
    }

    std::chrono::milliseconds millis(const std::string& section, const std::string& key,
                                     std::chrono::milliseconds fallback) const {
        // An hour bounds typos like an extra few zeros.
        return std::chrono::milliseconds(number(section, key, 1, 3'600'000,
                                                static_cast<std::uint64_t>(fallback.count())));
    }

    std::size_t size(const std::string& section, const std::string& key,
                     std::size_t fallback) const {
        return static_cast<std::size_t>(number(section, key, 1,
                                               std::numeric_limits<std::uint32_t>::max(),
                                               fallback));
    }

    host_port address(const std::string& section, const std::string& key) const {
        auto v = value(section, key).value_or("");
        auto a = host_port::parse(v);
        if (!a)
            bad_value(section, key, "an address 'host:port' with port 1..65535", v);
        return *a;
    }

    std::filesystem::path resolve(const std::string& p) const {
        std::filesystem::path path(p);
        if (path.is_relative()) {
            auto base = std::filesystem::absolute(path_).parent_path();
            path = base / path;
        }
        return path.lexically_normal();
    }

    void read_cluster(raft_config& c) const {
        auto id = value("cluster", "id").value_or("");
        auto ok = !id.empty() && id.size() <= 64 &&
                  std::all_of(id.begin(), id.end(), [](unsigned char ch) {
                      return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
                  });
        if (!ok)
            bad_value("cluster", "id",
                      "1 to 64 characters from letters, digits, '-', '_' and '.'", id);
        c.cluster_id = id;
    }

    void read_node(raft_config& c) const {
        c.self = number("node", "id", 1, std::numeric_limits<std::uint64_t>::max(), 0);
        c.listen = address("node", "listen");
        auto dir = value("node", "data_dir").value_or("");
        if (dir.empty())
            bad_value("node", "data_dir",
                      "a directory path (relative paths start at the config file's directory)",
                      dir);
        c.data_dir = resolve(dir);
    }

    void read_peers(raft_config& c) const {
        static const pt::ptree none;
        const auto& peers =
            tree_.get_child(pt::ptree::path_type("peers", '\0'), none);
        std::map<node_id, std::string> key_of;    // for messages about duplicates
        std::map<host_port_key, node_id> by_address;
        for (auto& [key, v] : peers) {
            auto id = parse_u64(key);
            if (!id || *id == 0)
                fail_at(line_of("peers", key),
                        "[peers] '" + key + "': expected a node id (an integer > 0) as the key");
            auto addr = host_port::parse(v.data());
            if (!addr)
                bad_value("peers", key, "an address 'host:port' with port 1..65535", v.data());
            if (auto [it, fresh] = key_of.emplace(*id, key); !fresh)
                fail_at(line_of("peers", key), "[peers] duplicate node id " + std::to_string(*id) +
                                                   " (first on line " +
                                                   std::to_string(line_of("peers", it->second)) +
                                                   ")");
            if (auto [it, fresh] = by_address.emplace(host_port_key{addr->host, addr->port}, *id);
                !fresh)
                fail_at(line_of("peers", key), "[peers] " + key + ": address " +
                                                   addr->to_string() +
                                                   " is also node " + std::to_string(it->second) +
                                                   "'s; expected one address per peer");
            c.peers.emplace(*id, *addr);
        }
        if (c.peers.empty())
            fail_at(section_line("peers"),
                    "[peers] is empty; expected one 'id = host:port' line per peer, this node "
                    "included");
        if (!c.peers.count(c.self))
            fail_at(line_of("node", "id"), "[node] id: this node's id " + std::to_string(c.self) +
                                               " is not among [peers]; expected the peers to "
                                               "include this node");
    }

    void read_raft(raft_config& c) const {
        auto& r = c.raft;
        r.election_timeout_min = millis("raft", "election_timeout_min_ms", r.election_timeout_min);
        r.election_timeout_max = millis("raft", "election_timeout_max_ms", r.election_timeout_max);
        r.heartbeat = millis("raft", "heartbeat_ms", r.heartbeat);
        r.max_batch_entries = size("raft", "max_batch_entries", r.max_batch_entries);
        r.max_batch_bytes = size("raft", "max_batch_bytes", r.max_batch_bytes);
        r.max_inflight = size("raft", "max_inflight", r.max_inflight);
        r.max_pending = size("raft", "max_pending", r.max_pending);

        auto where = [&](const char* a, const char* b) {
            int l = std::max(line_of("raft", a), line_of("raft", b));
            return l;
        };
        if (r.election_timeout_min > r.election_timeout_max) {
            auto what = "[raft] election_timeout_min_ms (" +
                        std::to_string(r.election_timeout_min.count()) +
                        ") is greater than election_timeout_max_ms (" +
                        std::to_string(r.election_timeout_max.count()) +
                        "); expected min <= max";
            if (int l = where("election_timeout_min_ms", "election_timeout_max_ms"))
                fail_at(l, what);
            fail(what);
        }
        // Followers must hear from the leader several times per election
        // timeout, or one delayed heartbeat starts an election.
        if (r.heartbeat * 2 >= r.election_timeout_min) {
            auto what = "[raft] heartbeat_ms (" + std::to_string(r.heartbeat.count()) +
                        ") is too close to election_timeout_min_ms (" +
                        std::to_string(r.election_timeout_min.count()) +
                        "); expected heartbeat_ms * 2 < election_timeout_min_ms";
            if (int l = where("heartbeat_ms", "election_timeout_min_ms"))
                fail_at(l, what);
            fail(what);
        }
    }

    void read_transport(raft_config& c) const {
        auto& t = c.transport;
        t.max_frame_bytes = size("transport", "max_frame_bytes", t.max_frame_bytes);
        t.peer_queue_bytes = size("transport", "peer_queue_bytes", t.peer_queue_bytes);
        t.max_inbound_connections =
            size("transport", "max_inbound_connections", t.max_inbound_connections);
        // A frame carries a whole batch; a limit below the batch size would
        // make the leader send frames every follower refuses.
        if (t.max_frame_bytes <= c.raft.max_batch_bytes) {
            auto what = "[transport] max_frame_bytes (" + std::to_string(t.max_frame_bytes) +
                        ") must exceed [raft] max_batch_bytes (" +
                        std::to_string(c.raft.max_batch_bytes) + ")";
            if (int l = line_of("transport", "max_frame_bytes"))
                fail_at(l, what);
            fail(what);
        }
    }

    // A path to a file that must exist now: TLS files are read when the node
    // starts, and a typo should stop it here with the line, not later.
    std::filesystem::path existing_file(const std::string& section, const std::string& key,
                                        const std::string& what) const {
        auto v = value(section, key).value_or("");
        if (v.empty())
            bad_value(section, key, what + " (relative paths start at the config file's directory)", v);
        auto p = resolve(v);
        std::error_code ec;
        if (!std::filesystem::is_regular_file(p, ec))
            fail_at(line_of(section, key), "[" + section + "] " + key + ": " + p.string() +
                                               (std::filesystem::exists(p, ec) ? " is not a regular file"
                                                                               : " does not exist") +
                                               "; expected " + what +
                                               (section == "tls" ? " (conf/tls/make-certs.sh makes test ones)" : ""));
        return p;
    }

    void require_keys(const std::string& section, std::initializer_list<const char*> keys,
                      const std::string& because) const {
        for (const char* k : keys)
            if (!value(section, k))
                fail_at(section_line(section), "[" + section + "] missing key '" + k + "' (" + because + ")");
    }

    void read_tls(raft_config& c) const {
        if (!has_section("tls"))
            return;
        auto on = value("tls", "enabled").value_or("");
        if (on != "true" && on != "false")
            bad_value("tls", "enabled", "true or false", on);
        c.tls.enabled = on == "true";
        if (!c.tls.enabled)
            return; // the other keys may stay, unchecked, for switching back on
        require_keys("tls", {"ca", "cert", "key"}, "required with enabled = true");
        c.tls.ca = existing_file("tls", "ca", "a PEM file with the cluster's CA certificate");
        c.tls.cert = existing_file("tls", "cert", "a PEM file with this node's certificate");
        c.tls.key = existing_file("tls", "key", "a PEM file with this node's private key");
    }

    void read_log(raft_config& c) const {
        c.log.node = c.self;
        if (auto level = value("log", "level")) {
            auto s = parse_severity(*level);
            if (!s)
                bad_value("log", "level", "one of trace, debug, info, warning, error", *level);
            c.log.level = *s;
        }
        if (auto file = value("log", "file")) {
            if (file->empty())
                bad_value("log", "file", "'console' or a file path", *file);
            c.log.file = *file == "console" ? *file : resolve(*file).string();
        }
    }

    void read_kv(raft_config& c) const {
        if (!has_section("kv"))
            return;
        kv_settings k;
        k.listen = address("kv", "listen");
        k.body_limit_bytes = size("kv", "body_limit_bytes", k.body_limit_bytes);
        k.header_limit_bytes = size("kv", "header_limit_bytes", k.header_limit_bytes);
        k.idle_timeout = millis("kv", "idle_timeout_ms", k.idle_timeout);
        k.max_connections = size("kv", "max_connections", k.max_connections);
        if (value("kv", "tls_cert") || value("kv", "tls_key")) {
            require_keys("kv", {"tls_cert", "tls_key"}, "HTTPS needs both tls_cert and tls_key");
            k.tls_cert = existing_file("kv", "tls_cert", "a PEM file with the HTTPS server certificate");
            k.tls_key = existing_file("kv", "tls_key", "a PEM file with its private key");
        }
        if (value("kv", "client_ca")) {
            if (!k.tls())
                fail_at(line_of("kv", "client_ca"),
                        "[kv] client_ca: client certificates need HTTPS; expected tls_cert and tls_key too");
            k.client_ca = existing_file("kv", "client_ca", "a PEM file with the CA of client certificates");
        }
        if (k.listen == c.listen)
            fail_at(line_of("kv", "listen"), "[kv] listen: " + k.listen.to_string() +
                                                 " is also [node] listen; expected a separate "
                                                 "address for HTTP clients");
        c.kv = k;
    }

    using host_port_key = std::pair<std::string, std::uint16_t>;

    std::string_view text_;
    std::filesystem::path path_;
    std::string name_;
    pt::ptree tree_;
    std::map<std::string, int> section_lines_;
    std::map<key_loc, int> key_lines_;
};

} // namespace

std::string host_port::to_string() const {
    if (host.find(':') != std::string::npos)
        return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::ostream& operator<<(std::ostream& os, const host_port& a) {
    return os << a.to_string();
}

std::optional<host_port> host_port::parse(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        // An unbracketed IPv6 address is ambiguous ("::1:7101").
        if (host.find(':') != std::string_view::npos)
            return std::nullopt;
    }
    auto invalid_char = [](unsigned char ch) {
        return std::isspace(ch) || ch == '/' || ch == '[' || ch == ']' || ch < 0x20;
    };
    if (host.empty() || std::any_of(host.begin(), host.end(), invalid_char))
        return std::nullopt;
    auto p = parse_u64(port);
    if (!p || *p == 0 || *p > 65535)
        return std::nullopt;
    return host_port{std::string(host), static_cast<std::uint16_t>(*p)};
}

std::vector<node_id> raft_config::members() const {
    std::vector<node_id> out;
    out.reserve(peers.size());
    for (auto& [id, addr] : peers)
        out.push_back(id);
    return out;
}

raft_config parse_config(std::string_view text, const std::filesystem::path& path) {
    return reader(text, path).read();
}

raft_config load_config(const std::filesystem::path& path) {
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
    return parse_config(buf.str(), path);
}

raft_config load_config(const std::filesystem::path& path, boost::system::error_code& ec,
                        std::string& message) {
    try {
        ec = {};
        message.clear();
        return load_config(path);
    } catch (const std::exception& e) {
        // config_error, and std::bad_alloc / filesystem errors while reading
        ec = make_error_code(errc::bad_config);
        message = e.what();
        return {};
    }
}

} // namespace raftlite
