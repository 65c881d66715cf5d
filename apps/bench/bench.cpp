// raftlite-bench — throughput and latency of a real cluster of processes.
//
// The parent process starts N peer processes (this same program with
// --peer) on 127.0.0.1 with free ports and a temporary data directory, waits
// until one of them leads, tells that leader to drive a closed-loop load of C
// concurrent broadcasts of P-byte payloads through the library API for D
// seconds (after a warm-up), collects its figures, stops every process it
// started (also on Ctrl-C), and prints one table (or --json).
#include <raftlite/file_persister.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/node.hpp>
#include <raftlite/logging.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace po = boost::program_options;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct settings {
    int clients = 1;
    std::size_t payload = 256;
    double seconds = 5;
    double warmup = 1;
    std::string durability = "fsync";
    int nodes = 3;
    bool json = false;
    std::string dir;
};

// ---------------------------------------------------------------------------
// Reference limits measured in the same run.

double measure_fdatasync_per_s(const std::filesystem::path& dir) {
    const auto file = dir / "fdatasync-probe";
    int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) return 0;
    char buf[256];
    std::memset(buf, 'x', sizeof buf);
    int n = 0;
    const auto start = clock_type::now();
    while (clock_type::now() - start < 1s) {
        if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) break;
        ::fdatasync(fd);
        ++n;
    }
    const double s = std::chrono::duration<double>(clock_type::now() - start).count();
    ::close(fd);
    std::filesystem::remove(file);
    return n / s;
}

double measure_loopback_rtt_us() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket a(ioc), b(ioc);
    a.connect(acc.local_endpoint());
    acc.accept(b);
    a.set_option(asio::ip::tcp::no_delay(true));
    b.set_option(asio::ip::tcp::no_delay(true));
    std::thread echo([&] {
        char c[64];
        boost::system::error_code ec;
        while (asio::read(b, asio::buffer(c), ec) == sizeof c && !ec) asio::write(b, asio::buffer(c), ec);
    });
    char msg[64] = {};
    const int rounds = 2000;
    const auto start = clock_type::now();
    for (int i = 0; i < rounds; ++i) {
        asio::write(a, asio::buffer(msg));
        asio::read(a, asio::buffer(msg));
    }
    const double us = std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / rounds;
    a.close();
    echo.join();
    return us;
}

std::uint16_t free_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// ---------------------------------------------------------------------------
// Peer mode: one node; commands on stdin, reports on stdout.
//   stdout: "ready", "leader", "result <json>"
//   stdin:  "run" (drive the load, if leader), "quit"

struct load_result {
    std::vector<double> latencies_us;
    double elapsed_s = 0;
    std::size_t errors = 0;
};

int run_peer(const settings& s, raftlite::node_id id, const std::vector<std::uint16_t>& ports) {
    raftlite::log_settings ls;
    ls.level = raftlite::severity::warning;
    ls.node = id;
    raftlite::init_logging(ls);

    raftlite::node_options o;
    o.core.self = id;
    for (std::size_t i = 0; i < ports.size(); ++i) {
        o.core.members.push_back(i + 1);
        o.transport.peers[i + 1] = {"127.0.0.1", ports[i]};
    }
    o.transport.cluster_id = "bench";
    o.transport.listen = {"127.0.0.1", ports[id - 1]};
    o.core.max_pending = std::max<std::size_t>(4096, s.clients * 2);
    // Node 1 times out first, so the leader is usually node 1.
    o.election_timeout_min = id == 1 ? 100ms : 400ms;
    o.election_timeout_max = id == 1 ? 150ms : 800ms;
    o.heartbeat_interval = 30ms;
    o.seed = id;

    std::unique_ptr<raftlite::persister> storage;
    if (s.durability == "none")
        storage = std::make_unique<raftlite::memory_persister>();
    else
        storage = std::make_unique<raftlite::file_persister>((std::filesystem::path(s.dir) / std::to_string(id)).string());

    asio::io_context ioc(1);
    raftlite::node n(ioc, o, std::move(storage));
    // The benchmark measures commits, not an application: deliveries are
    // taken and dropped (without a handler they would wait for async_receive).
    n.on_deliver([](raftlite::index_t, const raftlite::shared_bytes&) {});
    if (auto ec = n.start()) {
        std::cerr << "peer " << id << ": cannot start: " << ec.message() << "\n";
        return 1;
    }
    std::thread io([&] { ioc.run(); });

    std::cout << "ready" << std::endl;
    bool told_leader = false;
    std::atomic<bool> quit{false};
    std::thread input([&] {
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line == "quit") break;
            if (line == "run") {
                load_result r;
                std::mutex m;
                const std::string payload(s.payload, 'p');
                const auto data = raftlite::make_bytes(payload);
                std::atomic<bool> measuring{false}, stopping{false};
                std::atomic<int> outstanding{0};
                std::vector<double> lat;
                lat.reserve(1 << 20);
                std::function<void()> issue;
                issue = [&] {
                    if (stopping) return;
                    ++outstanding;
                    const auto t0 = clock_type::now();
                    n.async_broadcast(data, [&, t0](boost::system::error_code ec, raftlite::index_t) {
                        const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
                        {
                            std::lock_guard<std::mutex> lock(m);
                            if (measuring) {
                                if (ec) ++r.errors;
                                else lat.push_back(us);
                            }
                        }
                        --outstanding;
                        issue();
                    });
                };
                for (int c = 0; c < s.clients; ++c) asio::post(ioc, issue);
                std::this_thread::sleep_for(std::chrono::duration<double>(s.warmup));
                const auto start = clock_type::now();
                measuring = true;
                std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
                {
                    std::lock_guard<std::mutex> lock(m);
                    measuring = false;
                    r.elapsed_s = std::chrono::duration<double>(clock_type::now() - start).count();
                    r.latencies_us = lat;
                }
                stopping = true;
                while (outstanding > 0) std::this_thread::sleep_for(1ms);
                std::sort(r.latencies_us.begin(), r.latencies_us.end());
                auto pct = [&](double q) {
                    if (r.latencies_us.empty()) return 0.0;
                    return r.latencies_us[std::min(r.latencies_us.size() - 1,
                                                   static_cast<std::size_t>(q * r.latencies_us.size()))];
                };
                const double ops = r.latencies_us.size() / r.elapsed_s;
                std::ostringstream js;
                js << std::fixed << std::setprecision(1) << "{\"ops_per_s\":" << ops
                   << ",\"mb_per_s\":" << std::setprecision(3) << ops * s.payload / 1e6 << std::setprecision(1)
                   << ",\"p50_us\":" << pct(0.5) << ",\"p90_us\":" << pct(0.9) << ",\"p99_us\":" << pct(0.99)
                   << ",\"p999_us\":" << pct(0.999)
                   << ",\"max_us\":" << (r.latencies_us.empty() ? 0.0 : r.latencies_us.back())
                   << ",\"operations\":" << r.latencies_us.size() << ",\"errors\":" << r.errors << "}";
                std::cout << "result " << js.str() << std::endl;
            }
        }
        quit = true;
    });
    while (!quit) {
        if (!told_leader && n.status().role == raftlite::role::leader) {
            told_leader = true;
            std::cout << "leader" << std::endl;
        }
        std::this_thread::sleep_for(10ms);
    }
    input.join();
    n.stop();
    ioc.stop();
    io.join();
    return 0;
}

// ---------------------------------------------------------------------------
// Parent mode.

struct child {
    pid_t pid = -1;
    FILE* to = nullptr;     // its stdin
    FILE* from = nullptr;   // its stdout
};

std::vector<child> children;

void kill_children() {
    for (auto& c : children)
        if (c.pid > 0) ::kill(c.pid, SIGKILL);
}

void on_signal(int) {
    kill_children();
    std::_Exit(130);
}

child spawn(const char* self, const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::close(in[0]); ::close(in[1]); ::close(out[0]); ::close(out[1]);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(self));
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        std::_Exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    child c;
    c.pid = pid;
    c.to = ::fdopen(in[1], "w");
    c.from = ::fdopen(out[0], "r");
    return c;
}

std::optional<std::string> read_line(FILE* f, int timeout_ms) {
    // poll-free: the children always answer; a timeout only guards against a crash
    (void)timeout_ms;
    char buf[4096];
    if (!std::fgets(buf, sizeof buf, f)) return std::nullopt;
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

double json_number(const std::string& js, const std::string& key) {
    auto p = js.find("\"" + key + "\":");
    if (p == std::string::npos) return 0;
    return std::stod(js.substr(p + key.size() + 3));
}

int run_parent(const char* self, settings s) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    const bool own_dir = s.dir.empty();
    if (own_dir)
        s.dir = (std::filesystem::temp_directory_path() / ("raftlite-bench-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(s.dir);

    const double fsyncs = measure_fdatasync_per_s(s.dir);
    const double rtt = measure_loopback_rtt_us();

    std::vector<std::uint16_t> ports;
    for (int i = 0; i < s.nodes; ++i) ports.push_back(free_port());
    std::string port_list;
    for (auto p : ports) port_list += (port_list.empty() ? "" : ",") + std::to_string(p);

    for (int i = 1; i <= s.nodes; ++i) {
        children.push_back(spawn(self, {"--peer", std::to_string(i), "--ports", port_list, "--clients",
                                         std::to_string(s.clients), "--payload", std::to_string(s.payload),
                                         "--seconds", std::to_string(s.seconds), "--warmup",
                                         std::to_string(s.warmup), "--durability", s.durability, "--dir", s.dir}));
    }
    int status = 1;
    std::string result;
    // Each child prints "ready", then "leader" if it becomes leader. Node 1 is
    // configured to time out first; we read its lines until it leads.
    auto& first = children.front();
    for (;;) {
        auto line = read_line(first.from, 0);
        if (!line) break;
        if (*line == "leader") {
            std::fputs("run\n", first.to);
            std::fflush(first.to);
        } else if (line->rfind("result ", 0) == 0) {
            result = line->substr(7);
            status = 0;
            break;
        }
    }
    for (auto& c : children) {
        std::fputs("quit\n", c.to);
        std::fflush(c.to);
    }
    for (auto& c : children) {
        int st = 0;
        ::waitpid(c.pid, &st, 0);
        c.pid = -1;
    }
    if (own_dir) std::filesystem::remove_all(s.dir);
    if (status != 0) {
        std::cerr << "raftlite-bench: the leader produced no result\n";
        return 1;
    }
    if (s.json) {
        result.pop_back();   // the closing brace
        std::cout << result << std::fixed << std::setprecision(1) << ",\"fdatasync_per_s\":" << fsyncs
                  << ",\"rtt_us\":" << rtt << ",\"clients\":" << s.clients << ",\"payload\":" << s.payload
                  << ",\"nodes\":" << s.nodes << ",\"durability\":\"" << s.durability << "\"}\n";
        return 0;
    }
    std::cout << std::fixed << std::setprecision(1);
    std::cout << "raftlite-bench: " << s.nodes << " processes on 127.0.0.1, " << s.clients << " clients, "
              << s.payload << "-byte payloads, durability " << s.durability << ", " << s.seconds << " s\n";
    std::cout << "  ops/s " << json_number(result, "ops_per_s") << "   MB/s " << json_number(result, "mb_per_s")
              << "\n  latency us  p50 " << json_number(result, "p50_us") << "  p90 "
              << json_number(result, "p90_us") << "  p99 " << json_number(result, "p99_us") << "  p99.9 "
              << json_number(result, "p999_us") << "  max " << json_number(result, "max_us")
              << "\n  errors " << json_number(result, "errors")
              << "\n  reference: fdatasync/s " << fsyncs << " (" << 1e6 / std::max(fsyncs, 1.0)
              << " us each), loopback rtt " << rtt << " us\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    int peer = 0;
    std::string ports;
    po::options_description desc("raftlite-bench options");
    desc.add_options()("help,h", "this help")
        ("clients", po::value(&s.clients)->default_value(1), "concurrent broadcasts (closed loop)")
        ("payload", po::value(&s.payload)->default_value(256), "payload bytes")
        ("seconds", po::value(&s.seconds)->default_value(5), "measured seconds (after the warm-up)")
        ("warmup", po::value(&s.warmup)->default_value(1), "warm-up seconds")
        ("durability", po::value(&s.durability)->default_value("fsync"), "fsync (file persister) | none (memory persister)")
        ("nodes", po::value(&s.nodes)->default_value(3), "3 or 5 processes")
        ("json", po::bool_switch(&s.json), "print one JSON object")
        ("dir", po::value(&s.dir), "data directory (default: a temporary one)")
        ("peer", po::value(&peer), "internal: run as peer N")
        ("ports", po::value(&ports), "internal: the peers' ports");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "raftlite-bench: " << e.what() << "\n" << desc;
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc;
        return 0;
    }
    if ((s.durability != "fsync" && s.durability != "none") || (s.nodes != 3 && s.nodes != 5) || s.clients < 1 ||
        s.seconds <= 0) {
        std::cerr << "raftlite-bench: --durability fsync|none, --nodes 3|5, --clients >= 1, --seconds > 0\n";
        return 2;
    }
    if (peer > 0) {
        std::vector<std::uint16_t> p;
        std::stringstream ss(ports);
        for (std::string x; std::getline(ss, x, ',');) p.push_back(static_cast<std::uint16_t>(std::stoi(x)));
        return run_peer(s, peer, p);
    }
    return run_parent(argv[0], s);
}
