#include "kv_process_cluster.hpp"

#include "ports/loopback_ports.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <iostream>
#include <random>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace raftlite::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

std::filesystem::path staged_program(const std::string& name) {
    const auto self = std::filesystem::read_symlink("/proc/self/exe");
    return self.parent_path().parent_path() / "bin" / name;
}

namespace {

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& body, const http_headers& headers) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || method == "PUT" || method == "POST") {
        req.body() = body;
        req.prepare_payload();
    }
    return req;
}

} // namespace

std::optional<http_reply> http_call(std::uint16_t port, const std::string& method, const std::string& target,
                                    const std::string& body, std::chrono::milliseconds timeout,
                                    const http_headers& headers) {
    // Asynchronous operations, so that the deadline covers connect, write and
    // read alike (tcp_stream's timeouts do not apply to synchronous calls).
    asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    auto req = make_request(method, target, body, headers);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    bool done = false;
    stream.expires_after(timeout);
    stream.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                         [&](boost::system::error_code ec) {
        if (ec) return;
        http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
            if (ec) return;
            http::async_read(stream, buf, res, [&](boost::system::error_code ec, std::size_t) {
                done = !ec;
            });
        });
    });
    ioc.run();
    if (!done) return std::nullopt;
    http_reply reply{res.result_int(), res.body(), {}};
    for (const auto& field : res) reply.headers[std::string(field.name_string())] = std::string(field.value());
    return reply;
}

bool http_send_and_hang_up(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body, const http_headers& headers) {
    asio::io_context ioc;
    asio::ip::tcp::socket socket(ioc);
    boost::system::error_code ec;
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return false;
    auto req = make_request(method, target, body, headers);
    http::write(socket, req, ec);
    socket.close();
    return !ec;
}

bool full_checks() {
    const char* v = std::getenv("RAFTLITE_FULL_CHECKS");
    return v && std::string(v) == "1";
}

run_result run_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                       const std::filesystem::path& input, bool discard_stderr) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
        if (!input.empty()) {
            const int in = ::open(input.c_str(), O_RDONLY);
            if (in < 0 || ::dup2(in, 0) < 0) std::_Exit(126);
            ::close(in);
        }
        ::dup2(out[1], 1);
        if (discard_stderr) {
            const int null = ::open("/dev/null", O_WRONLY);
            if (null < 0 || ::dup2(null, 2) < 0) std::_Exit(126);
            ::close(null);
        } else {
            ::dup2(out[1], 2);
        }
        ::close(out[0]);
        ::close(out[1]);
        std::vector<char*> argv{const_cast<char*>(program.c_str())};
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(program.c_str(), argv.data());
        std::_Exit(127);
    }
    ::close(out[1]);
    run_result r;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

namespace {

// One keep-alive connection of bulk_put: PUTs the next index it takes from
// the shared counter, retrying an index until it is acknowledged.
class bulk_writer : public std::enable_shared_from_this<bulk_writer> {
public:
    struct shared {
        std::size_t next = 0, count = 0, acked = 0;
        std::uint16_t port = 0;
        const std::function<std::string(std::size_t)>* key = nullptr;
        const std::function<std::string(std::size_t)>* value = nullptr;
        std::size_t failures = 0;   // connections lost or refused, in a row
    };

    bulk_writer(asio::io_context& ioc, shared& sh) : ioc_(ioc), stream_(ioc), timer_(ioc), sh_(sh) {}

    void start() { connect(); }

private:
    void connect() {
        stream_.close();
        buf_.clear();
        stream_.expires_after(30s);
        stream_.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), sh_.port),
                              [self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->failed();
            self->next();
        });
    }

    void failed() {
        // A peer that stopped answering ends the run (the caller sees fewer
        // acknowledgements); a connection that dropped is opened again.
        if (++sh_.failures > 50) return;
        connect();
    }

    void next() {
        if (!current_) {
            if (sh_.next >= sh_.count) return;
            current_ = sh_.next++;
        }
        req_ = {http::verb::put, "/kv/" + (*sh_.key)(*current_), 11};
        req_.set(http::field::host, "127.0.0.1");
        req_.keep_alive(true);
        req_.body() = (*sh_.value)(*current_);
        req_.prepare_payload();
        res_ = {};
        stream_.expires_after(30s);
        http::async_write(stream_, req_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->failed();
            http::async_read(self->stream_, self->buf_, self->res_,
                             [self](boost::system::error_code ec, std::size_t) { self->answered(ec); });
        });
    }

    void answered(boost::system::error_code ec) {
        if (ec) return failed();
        sh_.failures = 0;
        if (res_.result_int() == 200) {
            ++sh_.acked;
            current_.reset();
        } else if (res_.result_int() == 429 || res_.result_int() == 503 || res_.result_int() == 504) {
            // Busy or no leader for a moment: the same write again after a pause.
            if (!res_.keep_alive()) return connect();
            timer_.expires_after(20ms);
            timer_.async_wait([self = shared_from_this()](boost::system::error_code) { self->next(); });
            return;
        } else {
            BOOST_TEST_MESSAGE("bulk put: HTTP " << res_.result_int() << " " << res_.body());
            current_.reset();   // not retryable: counted as not acknowledged
        }
        if (!res_.keep_alive()) return connect();
        next();
    }

    asio::io_context& ioc_;
    boost::beast::tcp_stream stream_;
    asio::steady_timer timer_;
    shared& sh_;
    std::optional<std::size_t> current_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    boost::beast::flat_buffer buf_;
};

} // namespace

std::size_t bulk_put(std::uint16_t port, std::size_t count, std::size_t connections,
                     const std::function<std::string(std::size_t)>& key,
                     const std::function<std::string(std::size_t)>& value) {
    asio::io_context ioc;
    bulk_writer::shared sh;
    sh.count = count;
    sh.port = port;
    sh.key = &key;
    sh.value = &value;
    for (std::size_t i = 0; i < connections; ++i) std::make_shared<bulk_writer>(ioc, sh)->start();
    ioc.run();
    return sh.acked;
}

kv_process_cluster::kv_process_cluster(std::size_t peers, const std::string& raft_extra, const std::string& kv_extra)
    : dir_(std::filesystem::temp_directory_path() / ("raftlite-kv-test-" + std::to_string(std::random_device{}()))),
      raft_extra_(raft_extra), kv_extra_(kv_extra) {
    std::filesystem::create_directories(dir_);
    for (std::size_t i = 0; i < peers; ++i) {
        peer_ports_.push_back(raftlite::test_support::free_loopback_port());
        kv_ports_.push_back(raftlite::test_support::free_loopback_port());
    }
    for (std::size_t i = 1; i <= peers; ++i) write_config(i, peers);
}

void kv_process_cluster::write_config(node_id i, std::size_t peers) const {
    std::ofstream f(config(i));
    f << "[cluster]\nid = process-test\n[node]\nid = " << i << "\nlisten = 127.0.0.1:" << peer_ports_[i - 1]
      << "\ndata_dir = n" << i << "\n[peers]\n";
    for (std::size_t j = 1; j <= peers; ++j) f << j << " = 127.0.0.1:" << peer_ports_[j - 1] << "\n";
    f << "[raft]\nelection_timeout_min_ms = 200\nelection_timeout_max_ms = 400\nheartbeat_ms = 40\n" << raft_extra_
      << "[log]\nlevel = info\nfile = n" << i << ".log\n[kv]\nlisten = 127.0.0.1:" << kv_ports_[i - 1] << "\n" << kv_extra_;
}

node_id kv_process_cluster::add_peer() {
    peer_ports_.push_back(raftlite::test_support::free_loopback_port());
    kv_ports_.push_back(raftlite::test_support::free_loopback_port());
    const node_id id = kv_ports_.size();
    write_config(id, kv_ports_.size());
    return id;
}

kv_process_cluster::~kv_process_cluster() {
    for (auto& [id, pid] : pids_) {
        ::kill(pid, SIGKILL);
        int st;
        ::waitpid(pid, &st, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::filesystem::path kv_process_cluster::config(node_id id) const {
    return dir_ / ("n" + std::to_string(id) + ".ini");
}

std::filesystem::path kv_process_cluster::data_dir(node_id id) const { return dir_ / ("n" + std::to_string(id)); }

void kv_process_cluster::start(node_id id, const std::vector<std::string>& extra_args) {
    BOOST_REQUIRE(!pids_.count(id));
    const auto program = staged_program("raftlite-kv");
    const auto cfg = config(id);
    std::vector<std::string> args{program.string(), "--config", cfg.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::execv(program.c_str(), argv.data());
        std::_Exit(127);
    }
    pids_[id] = pid;
    paused_[id] = false;
}

void kv_process_cluster::kill(node_id id) {
    auto it = pids_.find(id);
    if (it == pids_.end()) return;
    ::kill(it->second, SIGKILL);
    int st;
    ::waitpid(it->second, &st, 0);
    pids_.erase(it);
    paused_.erase(id);
}

std::optional<int> kv_process_cluster::terminate(node_id id, std::chrono::seconds limit) {
    const pid_t pid = pids_.at(id);
    ::kill(pid, SIGTERM);
    int st = 0;
    const bool ended = eventually([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, limit);
    if (!ended) {
        BOOST_TEST_MESSAGE("n" << id << " still running " << limit.count() << " s after SIGTERM: SIGKILL");
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
    }
    pids_.erase(id);
    paused_.erase(id);
    if (!ended || !WIFEXITED(st)) return std::nullopt;
    return WEXITSTATUS(st);
}

std::string kv_process_cluster::log_text(node_id id) const {
    std::ifstream in(dir_ / ("n" + std::to_string(id) + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void kv_process_cluster::signal(node_id id, int sig) { ::kill(pids_.at(id), sig); }

void kv_process_cluster::pause(node_id id) {
    signal(id, SIGSTOP);
    paused_[id] = true;
}

void kv_process_cluster::resume(node_id id) {
    signal(id, SIGCONT);
    paused_[id] = false;
}

bool kv_process_cluster::running(node_id id) const { return pids_.count(id) > 0; }

std::optional<peer_status> kv_process_cluster::status(node_id id) const {
    auto r = http_call(kv_port(id), "GET", "/status", {}, 2s);
    if (!r || r->status != 200) return std::nullopt;
    try {
        auto o = boost::json::parse(r->body).as_object();
        peer_status s;
        s.role = boost::json::value_to<std::string>(o.at("role"));
        s.term = o.at("term").to_number<term_t>();
        s.leader = o.at("leader").to_number<node_id>();
        s.applied = o.at("applied_index").to_number<index_t>();
        s.digest = boost::json::value_to<std::string>(o.at("digest"));
        auto u64 = [&](const char* key) -> std::uint64_t {
            const auto* v = o.if_contains(key);
            return v ? v->to_number<std::uint64_t>() : 0;
        };
        s.state_index = u64("state_index");
        s.last_log_index = u64("last_log_index");
        s.snapshot_index = u64("snapshot_index");
        s.log_start = u64("log_start");
        s.log_entries = u64("log_entries");
        s.snapshots_taken = u64("snapshots_taken");
        s.snapshots_installed = u64("snapshots_installed");
        s.keys = u64("keys");
        if (const auto* level = o.if_contains("level")) {
            const auto& l = level->as_object();
            s.cluster_level = l.at("cluster").to_number<unsigned>();
            s.max_level = l.at("max").to_number<unsigned>();
            s.level_pending = l.at("pending").as_bool();
        }
        return s;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<node_id> kv_process_cluster::wait_for_leader() {
    std::optional<node_id> leader;
    const bool agreed = eventually([&] {
        leader.reset();
        for (auto& [id, pid] : pids_) {
            if (paused_[id]) continue;
            auto s = status(id);
            if (!s || s->leader == 0 || (leader && *leader != s->leader)) return false;
            leader = s->leader;
        }
        if (!leader || !pids_.count(*leader) || paused_[*leader]) return false;
        const auto l = status(*leader);
        return l && l->role == "leader";
    });
    if (!agreed) {
        BOOST_TEST_MESSAGE("no leader every peer agrees on:\n" << describe());
        return std::nullopt;
    }
    return leader;
}

std::string kv_process_cluster::describe() const {
    std::ostringstream os;
    for (const auto& [id, pid] : pids_) {
        os << "n" << id << " (pid " << pid << ", raft port " << raft_port(id) << ", kv port " << kv_port(id) << "): ";
        // The process's state letter, without reaping it (a zombie has exited).
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(stat, line);
        const auto paren = line.rfind(')');
        const char state = paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
        if (state == 'Z' || state == '?') os << "process exited";
        else if (auto s = status(id))
            os << s->role << " term " << s->term << " leader n" << s->leader << " applied " << s->applied;
        else
            os << "running, /status does not answer";
        const std::string log = log_text(id);
        std::size_t from = log.size();   // the start of its last 20 lines
        for (int lines = 0; lines < 20 && from > 0; ++lines) from = from >= 2 ? log.rfind('\n', from - 2) + 1 : 0;   // npos + 1 == 0
        os << "\n  log tail:\n" << log.substr(from) << "\n";
    }
    return os.str();
}

unsigned test_seed() {
    const char* fixed = std::getenv("RAFTLITE_TEST_SEED");
    const unsigned seed = fixed ? static_cast<unsigned>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
    BOOST_TEST_MESSAGE("seed " << seed << " (replay with RAFTLITE_TEST_SEED=" << seed << ")");
    std::cout << "seed " << seed << " (replay with RAFTLITE_TEST_SEED=" << seed << ")" << std::endl;
    return seed;
}

std::optional<node_id> kv_process_cluster::start_all() {
    for (node_id id = 1; id <= size(); ++id) start(id);
    return wait_for_leader();
}

bool kv_process_cluster::wait_converged() {
    return eventually([&] {
        std::optional<peer_status> first;
        for (auto& [id, pid] : pids_) {
            auto s = status(id);
            if (!s || s->level_pending) return false;
            if (first && (s->applied != first->applied || s->digest != first->digest)) return false;
            if (!first) first = s;
        }
        return true;
    });
}

bool kv_process_cluster::put(const std::string& key, const std::string& value, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::size_t next = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        const node_id id = next++ % size() + 1;
        if (!running(id) || paused_[id]) continue;
        auto r = http_call(kv_port(id), "PUT", "/kv/" + key, value, 15s);
        if (r && r->status == 200) return true;
        BOOST_TEST_MESSAGE("put " << key << " via n" << id << ": "
                                  << (r ? std::to_string(r->status) + " " + r->body : std::string("no answer")));
        std::this_thread::sleep_for(20ms);   // back off before the next peer
    }
    return false;
}

} // namespace raftlite::test
