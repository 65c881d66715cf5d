// raftlite-kv-load — an HTTP load generator for a raftlite-kv cluster.
//
//   raftlite-kv-load --cluster conf/local --connections 64 --workload put
//   raftlite-kv-load --target 127.0.0.1:8101 --workload get --duration 10 --json
//
// Closed loop: each of --connections keep-alive connections sends a request,
// waits for its response and sends the next, for --duration seconds after
// --warmup (or until --requests responses in all). Connection i goes to
// target i mod T, so the load spreads evenly over the peers named. Every
// connection runs its own request loop in callbacks (connect, write, read,
// next) on one of --threads event loops.
//
// A response other than 200 counts as an error under its status (429, 503,
// 504 are not retried: a client retrying would hide them), and so does a
// connection that fails or a request that times out; latency is recorded for
// the 200s. get and mixed first PUT every key once (--keys), so that reads
// find a value. Beside the figures it prints the run's own reference limits,
// as raftlite-bench does: the fdatasync rate of the data directories'
// filesystem and the loopback TCP round trip.
#include "../command_line.hpp"
#include "kv_config.hpp"

#include "../bench/latency_histogram.hpp"
#include "../bench/reference_figures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/program_options.hpp>

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace po = boost::program_options;
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using raftlite::bench::latency_histogram;

namespace {

enum class workload { put, get, mixed, fill };

const char* workload_name(workload w) {
    switch (w) {
    case workload::put: return "put";
    case workload::get: return "get";
    case workload::mixed: return "mixed";
    case workload::fill: return "fill";
    }
    return "?";
}

struct settings {
    std::vector<std::string> targets;   // host:port
    std::string cluster;
    int connections = 64;
    int threads = 1;
    workload load = workload::put;
    double read_ratio = 0.5;
    std::size_t value_bytes = 256;
    std::uint64_t keys = 1000;
    double duration = 5;
    double warmup = 1;
    std::uint64_t requests = 0;   // > 0: stop after this many responses instead of --duration
    bool fill = true;
    int timeout_ms = 15000;
    bool json = false;
    bool reference = true;
    std::string data_dir;
};

struct target {
    std::string name;   // host:port as given, or "n<id> host:port"
    std::string host;   // host:port, for the Host field
    tcp::endpoint endpoint;
};

// What one phase of the run shares between its threads.
struct phase {
    workload load = workload::put;
    double read_ratio = 0;
    std::uint64_t keys = 0;
    std::string value;
    std::chrono::milliseconds timeout{15000};
    std::uint64_t requests = 0;                // > 0: issue at most this many
    std::atomic<std::uint64_t> issued{0};
    std::atomic<std::uint64_t> next_fill{0};   // fill: the next key to PUT
    std::atomic<bool> measuring{false};
    std::atomic<bool> stopping{false};
};

// One event loop's figures; merged once every thread has finished.
struct worker {
    asio::io_context ioc{1};
    latency_histogram latency;
    std::uint64_t ok = 0;
    std::map<std::string, std::uint64_t> errors;   // by status, or "connect", "timeout", "io"
    std::vector<std::uint64_t> ok_by_target;
    std::uint64_t rng;

    worker(std::size_t targets, std::uint64_t seed) : ok_by_target(targets), rng(seed | 1) {}

    std::uint64_t next_random() {   // xorshift64
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
    }
};

// What a response's head says, parsed in place (parse_head).
struct response_head {
    unsigned status = 0;
    std::size_t head_bytes = 0;      // the status line and fields, with the empty line
    std::size_t content_length = 0;
    bool keep_alive = true;
};

bool iequals_prefix(std::string_view line, std::string_view name) {
    if (line.size() < name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    return true;
}

bool contains_token(std::string_view value, std::string_view token) {
    for (std::size_t i = 0; i + token.size() <= value.size(); ++i)
        if (iequals_prefix(value.substr(i), token)) return true;
    return false;
}

// Parses an HTTP/1.x response head from the start of `in`: nullopt while it
// is incomplete; `bad` set when it is not one this program understands (no
// status line, a chunked or unsized body: raftlite-kv always sends
// Content-Length). Only what the load needs is read: the status, the body's
// length and whether the connection stays open.
std::optional<response_head> parse_head(std::string_view in, bool& bad) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    response_head h;
    h.head_bytes = end + 4;
    std::string_view head = in.substr(0, end + 2);
    auto eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.x NNN reason"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
        bad = true;
        return std::nullopt;
    }
    for (std::size_t i = 9; i < 12; ++i) {
        if (status_line[i] < '0' || status_line[i] > '9') {
            bad = true;
            return std::nullopt;
        }
        h.status = h.status * 10 + static_cast<unsigned>(status_line[i] - '0');
    }
    h.keep_alive = status_line[7] == '1';   // HTTP/1.1: open unless "close"; 1.0: closed unless "keep-alive"
    bool sized = false;
    head.remove_prefix(eol + 2);
    while (!head.empty()) {
        eol = head.find("\r\n");
        const std::string_view line = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (iequals_prefix(line, "content-length:")) {
            std::size_t n = 0;
            if (value.empty()) bad = true;
            for (char c : value) {
                if (c < '0' || c > '9' || n > (std::size_t(1) << 40)) {
                    bad = true;
                    break;
                }
                n = n * 10 + static_cast<std::size_t>(c - '0');
            }
            h.content_length = n;
            sized = true;
        } else if (iequals_prefix(line, "transfer-encoding:")) {
            bad = true;
        } else if (iequals_prefix(line, "connection:")) {
            if (contains_token(value, "close")) h.keep_alive = false;
            else if (contains_token(value, "keep-alive")) h.keep_alive = true;
        }
    }
    if (!sized || bad) {
        bad = true;
        return std::nullopt;
    }
    return h;
}

// One keep-alive connection's request loop. This program shares the
// machine's cores with the cluster it measures, so a request should cost it
// little beyond its two system calls (figures in docs/performance.md,
// "raftlite-kv over HTTP"): a plain socket (no per-operation timer: the
// worker's watchdog enforces --timeout-ms), requests formatted into a buffer
// the connection keeps, responses parsed in place in another.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(worker& w, phase& p, const target& t, std::size_t target_index)
        : w_(w), p_(p), t_(t), target_index_(target_index), socket_(w.ioc), pause_(w.ioc), in_(4096) {}

    void start() { do_connect(); }

    /// Called by the worker's watchdog: a connection whose operation is past
    /// its deadline is closed, and the operation fails as a timeout.
    void check_deadline(clock_type::time_point now) {
        if (!waiting_ || now < deadline_) return;
        timed_out_ = true;
        beast::error_code ignored;
        socket_.close(ignored);
    }

    /// Nothing more will run for this connection: the phase is over for it.
    bool finished() const { return finished_; }

private:
    void arm() {
        waiting_ = true;
        timed_out_ = false;
        deadline_ = clock_type::now() + p_.timeout;
    }

    void do_connect() {
        if (p_.stopping) return finish();
        arm();
        socket_.async_connect(t_.endpoint, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
    }

    void on_connect(beast::error_code ec) {
        waiting_ = false;
        if (ec) return fail(timed_out_ ? "timeout" : "connect");
        // The client's own writes must not wait for Nagle: what is measured
        // is the server.
        socket_.set_option(tcp::no_delay(true), ec);
        have_ = 0;
        do_write();
    }

    // Builds and sends the next request, unless the phase is over.
    void do_write() {
        if (p_.stopping) return finish();
        if (p_.requests > 0 && p_.issued.fetch_add(1) >= p_.requests) return finish();
        std::uint64_t key;
        if (p_.load == workload::fill) {
            // Every key once, in order, shared by all connections.
            key = p_.next_fill.fetch_add(1);
            if (key >= p_.keys) return finish();
            read_ = false;
        } else {
            key = w_.next_random() % p_.keys;
            read_ = p_.load == workload::get ||
                    (p_.load == workload::mixed &&
                     static_cast<double>(w_.next_random() % 1000000) < p_.read_ratio * 1000000);
        }
        char digits[24];
        const auto key_end = std::to_chars(digits, digits + sizeof digits, key).ptr;
        out_.clear();
        out_ += read_ ? "GET /kv/k" : "PUT /kv/k";
        out_.append(digits, key_end);
        out_ += " HTTP/1.1\r\nHost: ";
        out_ += t_.host;
        if (!read_) {
            out_ += "\r\nContent-Length: ";
            out_ += value_length_;
        }
        out_ += "\r\n\r\n";
        if (!read_) out_ += p_.value;
        started_ = clock_type::now();
        arm();
        asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->waiting_ = false;
                return self->fail(self->timed_out_ ? "timeout" : "io");
            }
            self->do_read();
        });
    }

    void do_read() {
        socket_.async_read_some(asio::buffer(in_.data() + have_, in_.size() - have_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        if (ec) {
            waiting_ = false;
            return fail(timed_out_ ? "timeout" : "io");
        }
        have_ += n;
        const std::string_view in(in_.data(), have_);
        bool bad = false;
        const auto head = parse_head(in, bad);
        if (bad) {
            waiting_ = false;
            return fail("bad_response");
        }
        const std::size_t needed = head ? head->head_bytes + head->content_length : 0;
        if (!head || have_ < needed) {
            // A response larger than the buffer: make room (an error body,
            // a large value).
            if (have_ == in_.size()) {
                if (in_.size() >= max_response_bytes) {
                    waiting_ = false;
                    return fail("bad_response");
                }
                in_.resize(std::max(in_.size() * 2, needed));
            }
            return do_read();
        }
        waiting_ = false;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - started_).count();
        // A 200 to a GET must carry the value every PUT of the run wrote.
        const bool ok = head->status == 200 &&
                        (!read_ || in.substr(head->head_bytes, head->content_length) == std::string_view(p_.value));
        if (p_.measuring) {
            if (ok) {
                ++w_.ok;
                ++w_.ok_by_target[target_index_];
                w_.latency.record(static_cast<std::uint64_t>(ns));
            } else {
                ++w_.errors[head->status == 200 ? std::string("wrong_value") : std::to_string(head->status)];
            }
        }
        // A closed-loop client sends nothing before the answer: bytes beyond
        // it are a server's mistake.
        if (have_ != needed) return fail("bad_response");
        have_ = 0;
        if (!head->keep_alive) {
            // The server ends the connection after this answer (e.g. 503
            // too_many_connections): open another one.
            // (async_connect opens the closed socket again.)
            close();
            return do_connect();
        }
        do_write();
    }

    // A failed connection is counted, closed and opened again after a pause,
    // so that a peer that is down does not make the loop spin.
    void fail(const char* what) {
        if (p_.measuring) ++w_.errors[what];
        close();
        if (p_.stopping) return finish();
        // With a request budget a failure uses it up too, so that a peer that
        // is down cannot keep the run going.
        if (p_.requests > 0 && p_.issued.fetch_add(1) >= p_.requests) return finish();
        have_ = 0;
        pause_.expires_after(100ms);
        pause_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->do_connect();
        });
    }

    void close() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    void finish() {
        close();
        finished_ = true;
    }

    static constexpr std::size_t max_response_bytes = 64u << 20;

    worker& w_;
    phase& p_;
    const target& t_;
    std::size_t target_index_;
    tcp::socket socket_;
    asio::steady_timer pause_;
    std::string out_;                                           // the request being sent
    std::string value_length_ = std::to_string(p_.value.size());   // its Content-Length, formatted once
    std::vector<char> in_;                                      // the response being read
    std::size_t have_ = 0;                                      // bytes of it in in_
    bool read_ = false;                                         // the request is a GET
    bool waiting_ = false;                                      // an operation with a deadline is pending
    bool timed_out_ = false;
    bool finished_ = false;
    clock_type::time_point started_;
    clock_type::time_point deadline_;
};

// Enforces --timeout-ms for every connection of one event loop, ten times a
// second, until all of them have finished: one timer for the loop instead
// of one per operation.
class watchdog : public std::enable_shared_from_this<watchdog> {
public:
    watchdog(worker& w, std::vector<std::shared_ptr<connection>> connections)
        : timer_(w.ioc), connections_(std::move(connections)) {}

    void start() { arm(); }

private:
    void arm() {
        timer_.expires_after(100ms);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) return;
            const auto now = clock_type::now();
            bool all_finished = true;
            for (const auto& c : self->connections_) {
                c->check_deadline(now);
                all_finished = all_finished && c->finished();
            }
            if (!all_finished) self->arm();
        });
    }

    asio::steady_timer timer_;
    std::vector<std::shared_ptr<connection>> connections_;
};

struct phase_result {
    double elapsed_s = 0;
    latency_histogram latency;
    std::uint64_t ok = 0;
    std::map<std::string, std::uint64_t> errors;
    std::vector<std::uint64_t> ok_by_target;

    std::uint64_t error_count() const {
        std::uint64_t n = 0;
        for (const auto& [k, v] : errors) n += v;
        return n;
    }
};

// Runs one phase: `warmup` seconds unmeasured, then `duration` measured
// seconds (or, with p.requests, until that many responses, all measured).
phase_result run_phase(const settings& s, const std::vector<target>& targets, phase& p, double warmup,
                       double duration) {
    std::vector<std::unique_ptr<worker>> workers;
    for (int i = 0; i < s.threads; ++i)
        workers.push_back(std::make_unique<worker>(targets.size(), 0x9e3779b97f4a7c15ull * (i + 1) ^
                                                                      static_cast<std::uint64_t>(::getpid())));
    std::vector<std::vector<std::shared_ptr<connection>>> by_worker(workers.size());
    for (int c = 0; c < s.connections; ++c) {
        const auto wi = static_cast<std::size_t>(c % s.threads);
        const std::size_t t = static_cast<std::size_t>(c) % targets.size();
        by_worker[wi].push_back(std::make_shared<connection>(*workers[wi], p, targets[t], t));
    }
    for (std::size_t wi = 0; wi < workers.size(); ++wi) {
        for (auto& c : by_worker[wi]) c->start();
        std::make_shared<watchdog>(*workers[wi], std::move(by_worker[wi]))->start();
    }
    const bool counted = p.requests > 0 || p.load == workload::fill;
    if (counted) p.measuring = true;
    const auto start = clock_type::now();
    std::vector<std::thread> threads;
    std::atomic<std::size_t> finished{0};
    for (auto& w : workers)
        threads.emplace_back([&w, &finished] {
            w->ioc.run();
            ++finished;
        });
    clock_type::time_point measured_from = start, measured_to{};
    if (counted) {
        // A bound for a cluster that stops answering, not a measurement.
        const auto limit = start + std::chrono::seconds(120);
        while (finished < workers.size() && clock_type::now() < limit) std::this_thread::sleep_for(10ms);
        measured_to = clock_type::now();
        p.stopping = true;
    } else {
        std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
        measured_from = clock_type::now();
        p.measuring = true;
        std::this_thread::sleep_for(std::chrono::duration<double>(duration));
        p.measuring = false;
        measured_to = clock_type::now();
        // Connections finish the request in flight (bounded by the timeout) and close.
        p.stopping = true;
    }
    for (auto& t : threads) t.join();

    phase_result r;
    r.elapsed_s = std::chrono::duration<double>(measured_to - measured_from).count();
    r.ok_by_target.resize(targets.size());
    for (auto& w : workers) {
        r.latency.merge(w->latency);
        r.ok += w->ok;
        for (const auto& [k, v] : w->errors) r.errors[k] += v;
        for (std::size_t i = 0; i < targets.size(); ++i) r.ok_by_target[i] += w->ok_by_target[i];
    }
    return r;
}

std::vector<target> resolve_targets(const settings& s, std::string& data_dir) {
    std::vector<std::pair<std::string, raftlite::endpoint_address>> named;
    if (!s.cluster.empty()) {
        for (const auto& peer : raftlite::kv::load_kv_cluster(s.cluster)) {
            if (raftlite::kv::serves_https(peer.http))
                throw std::runtime_error("n" + std::to_string(peer.id) + " serves HTTPS; raftlite-kv-load speaks plain HTTP");
            named.push_back({"n" + std::to_string(peer.id), raftlite::kv::listen_address(peer.http)});
            if (data_dir.empty() && std::filesystem::is_directory(peer.data_dir.parent_path()))
                data_dir = peer.data_dir.parent_path().string();
        }
    }
    for (const auto& t : s.targets) {
        auto a = raftlite::endpoint_address::parse(t);
        if (!a) throw std::runtime_error("--target " + t + ": expected host:port");
        named.push_back({"", *a});
    }
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    std::vector<target> out;
    for (const auto& [id, a] : named) {
        const auto results = resolver.resolve(a.host, std::to_string(a.port));
        out.push_back({(id.empty() ? "" : id + " ") + a.to_string(), a.to_string(), results.begin()->endpoint()});
    }
    return out;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    std::string load = "put";
    po::options_description desc("raftlite-kv-load options");
    raftlite::apps::add_standard_options(desc);
    desc.add_options()
        ("target", po::value(&s.targets)->composing(), "host:port of a peer's HTTP front end (repeatable)")
        ("cluster", po::value(&s.cluster), "directory of the peers' config files (e.g. conf/local): every peer's [kv] listen")
        ("connections", po::value(&s.connections)->default_value(64), "keep-alive connections, spread over the targets")
        ("threads", po::value(&s.threads)->default_value(1), "event-loop threads of this program")
        ("workload", po::value(&load)->default_value("put"), "put | get | mixed")
        ("read-ratio", po::value(&s.read_ratio)->default_value(0.5), "mixed: the share of GETs (0..1)")
        ("value-bytes", po::value(&s.value_bytes)->default_value(256), "bytes of each PUT's value")
        ("keys", po::value(&s.keys)->default_value(1000), "keys k0..k(K-1), chosen at random")
        ("duration", po::value(&s.duration)->default_value(5), "measured seconds (after the warm-up)")
        ("warmup", po::value(&s.warmup)->default_value(1), "warm-up seconds")
        ("requests", po::value(&s.requests)->default_value(0),
         "stop after this many responses, all measured (no warm-up; overrides --duration)")
        ("no-fill", "get/mixed: do not PUT every key before the run")
        ("timeout-ms", po::value(&s.timeout_ms)->default_value(15000), "a request without a response by then is an error")
        ("data-dir", po::value(&s.data_dir),
         "where to measure the fdatasync reference (default: the cluster's data directories, else a temporary one)")
        ("no-reference", "skip the reference figures (fdatasync rate, loopback round trip)")
        ("reference-only", "measure and print only the reference figures, send no load "
                           "(the references beside another client's figures, e.g. wrk's)")
        ("json", po::bool_switch(&s.json), "print one JSON object");
    po::variables_map vm;
    if (auto status = raftlite::apps::parse_command_line("raftlite-kv-load", argc, argv, desc, vm)) return *status;
    s.fill = !vm.count("no-fill");
    s.reference = !vm.count("no-reference");
    if (load == "put") s.load = workload::put;
    else if (load == "get") s.load = workload::get;
    else if (load == "mixed") s.load = workload::mixed;
    else {
        std::cerr << "raftlite-kv-load: --workload put|get|mixed\n";
        return 2;
    }
    if (s.connections < 1 || s.threads < 1 || s.keys < 1 || s.duration <= 0 || s.warmup < 0 ||
        s.read_ratio < 0 || s.read_ratio > 1 || s.timeout_ms < 1) {
        std::cerr << "raftlite-kv-load: --connections, --threads, --keys, --timeout-ms >= 1, --duration > 0, "
                     "--warmup >= 0, 0 <= --read-ratio <= 1\n";
        return 2;
    }
    if (s.targets.empty() && s.cluster.empty()) {
        std::cerr << "raftlite-kv-load: name the peers: --target host:port (repeatable) or --cluster DIR\n";
        return 2;
    }
    std::string data_dir = s.data_dir;
    std::vector<target> targets;
    try {
        targets = resolve_targets(s, data_dir);
    } catch (const std::exception& e) {
        std::cerr << "raftlite-kv-load: " << e.what() << "\n";
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    const bool reference_only = vm.count("reference-only") > 0;
    if (reference_only) s.reference = true;

    // Reference figures first, while the cluster is idle: measured during
    // the load they would measure the load.
    double fsyncs = 0, rtt = 0;
    if (s.reference) {
        if (data_dir.empty()) data_dir = std::filesystem::temp_directory_path().string();
        fsyncs = raftlite::bench::measure_fdatasync_per_s(data_dir);
        rtt = raftlite::bench::measure_loopback_rtt_us();
    }
    if (reference_only) {
        if (s.json)
            std::cout << std::fixed << std::setprecision(1) << "{\"fdatasync_per_s\":" << fsyncs << ",\"rtt_us\":" << rtt
                      << "}\n";
        else
            std::cout << std::fixed << std::setprecision(1) << "raftlite-kv-load: reference: fdatasync/s " << fsyncs
                      << " (" << 1e6 / std::max(fsyncs, 1.0) << " us each), loopback rtt " << rtt << " us\n";
        return 0;
    }

    const std::string value(s.value_bytes, 'v');
    if (s.fill && s.load != workload::put) {
        phase f;
        f.load = workload::fill;
        f.keys = s.keys;
        f.value = value;
        f.timeout = std::chrono::milliseconds(s.timeout_ms);
        const auto r = run_phase(s, targets, f, 0, 0);
        if (r.ok != s.keys) {
            std::cerr << "raftlite-kv-load: filling " << s.keys << " keys: " << r.ok << " acknowledged, "
                      << r.error_count() << " errors\n";
            return 1;
        }
    }
    phase p;
    p.load = s.load;
    p.read_ratio = s.load == workload::mixed ? s.read_ratio : s.load == workload::get ? 1 : 0;
    p.keys = s.keys;
    p.value = value;
    p.timeout = std::chrono::milliseconds(s.timeout_ms);
    p.requests = s.requests;
    const auto r = run_phase(s, targets, p, s.warmup, s.duration);

    const auto& h = r.latency;
    const double ops = r.elapsed_s > 0 ? r.ok / r.elapsed_s : 0;
    if (s.json) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(1) << "{\"ops_per_s\":" << ops << ",\"mean_us\":" << h.mean_us()
          << ",\"p50_us\":" << h.percentile_us(0.5) << ",\"p90_us\":" << h.percentile_us(0.9)
          << ",\"p99_us\":" << h.percentile_us(0.99) << ",\"max_us\":" << h.max() / 1000.0 << ",\"ok\":" << r.ok
          << ",\"errors\":" << r.error_count() << ",\"errors_by_status\":{";
        bool first = true;
        for (const auto& [k, v] : r.errors) {
            o << (first ? "" : ",") << "\"" << k << "\":" << v;
            first = false;
        }
        o << "},\"ok_by_target\":{";
        for (std::size_t i = 0; i < targets.size(); ++i)
            o << (i ? "," : "") << "\"" << json_escape(targets[i].name) << "\":" << r.ok_by_target[i];
        o << "},\"seconds\":" << std::setprecision(3) << r.elapsed_s << std::setprecision(1)
          << ",\"workload\":\"" << workload_name(s.load) << "\",\"read_ratio\":" << p.read_ratio
          << ",\"connections\":" << s.connections << ",\"threads\":" << s.threads
          << ",\"value_bytes\":" << s.value_bytes << ",\"keys\":" << s.keys << ",\"fdatasync_per_s\":" << fsyncs
          << ",\"rtt_us\":" << rtt << "}";
        std::cout << o.str() << "\n";
    } else {
        std::cout << std::fixed << std::setprecision(1) << "raftlite-kv-load: " << s.connections
                  << " keep-alive connections to";
        for (const auto& t : targets) std::cout << " " << t.name;
        std::cout << "\n  workload " << workload_name(s.load);
        if (s.load == workload::mixed) std::cout << " (" << p.read_ratio * 100 << " % GET)";
        std::cout << ", " << s.value_bytes << "-byte values, " << s.keys << " keys, " << r.elapsed_s << " s";
        if (s.requests == 0) std::cout << " after a " << s.warmup << " s warm-up";
        std::cout << "\n  ops/s " << ops << "   (" << r.ok << " answered 200)"
                  << "\n  latency us  mean " << h.mean_us() << "  p50 " << h.percentile_us(0.5) << "  p90 "
                  << h.percentile_us(0.9) << "  p99 " << h.percentile_us(0.99) << "  max " << h.max() / 1000.0
                  << "\n  errors " << r.error_count();
        for (const auto& [k, v] : r.errors) std::cout << "  " << k << ": " << v;
        if (targets.size() > 1) {
            std::cout << "\n  200s by target";
            for (std::size_t i = 0; i < targets.size(); ++i) std::cout << "  " << targets[i].name << ": " << r.ok_by_target[i];
        }
        if (s.reference)
            std::cout << "\n  reference: fdatasync/s " << fsyncs << " (" << 1e6 / std::max(fsyncs, 1.0)
                      << " us each), loopback rtt " << rtt << " us";
        std::cout << "\n";
    }
    return r.ok > 0 ? 0 : 1;
}
