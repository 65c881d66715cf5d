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
//
// --watchers W adds W clients following the changes (a long-polling watch of
// every load key, GET /kv?prefix=k&watch=1&since=I, spread over the targets
// like the connections) to a put load: each PUT's value then starts with the
// time it was sent, and the program reports the changes the watchers
// received a second and the delay from a PUT being sent to its change
// reaching a watcher.
#include "../command_line.hpp"
#include "kv_config.hpp"

#include "../bench/latency_histogram.hpp"
#include "../bench/reference_figures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/json.hpp>
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
    int watchers = 0;
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
    bool stamp = false;                        // PUT values start with their send time (--watchers)
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
    latency_histogram watch_delay;   // PUT sent -> its change received by a watcher
    std::uint64_t watch_events = 0;
    std::map<std::string, std::uint64_t> watch_errors;
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

// One HTTP response read into a buffer kept from one response to the next
// (parsed in place by parse_head), grown as a larger response needs, up to
// max_response_bytes. The load's connections and the watchers read with it.
class response_buffer {
public:
    enum class state { incomplete, complete, bad };

    explicit response_buffer(std::size_t initial) : in_(initial) {}

    /// Forgets what was read: the next response starts at the beginning.
    void clear() { have_ = 0; }
    /// Where the next bytes go.
    asio::mutable_buffer space() { return asio::buffer(in_.data() + have_, in_.size() - have_); }

    /// `n` more bytes arrived: whether a whole response is in now (then
    /// head() and body() describe it), more is needed, or it is not a
    /// response this program reads (or is over max_response_bytes).
    state took(std::size_t n) {
        have_ += n;
        bool bad = false;
        head_ = parse_head(std::string_view(in_.data(), have_), bad);
        const std::size_t needed = head_ ? head_->head_bytes + head_->content_length : 0;
        if (bad || needed > max_response_bytes) return state::bad;
        if (head_ && have_ >= needed) return state::complete;
        if (have_ == in_.size()) {
            // A head that does not fit yet, or a body larger than the buffer.
            if (in_.size() >= max_response_bytes) return state::bad;
            in_.resize(std::max(in_.size() * 2, needed));
        }
        return state::incomplete;
    }

    const response_head& head() const { return *head_; }
    std::string_view body() const { return std::string_view(in_.data() + head_->head_bytes, head_->content_length); }
    /// Nothing beyond the response arrived (a closed-loop client sends
    /// nothing before its answer, so anything more is the server's mistake).
    bool exact() const { return have_ == head_->head_bytes + head_->content_length; }

private:
    static constexpr std::size_t max_response_bytes = 64u << 20;

    std::vector<char> in_;
    std::size_t have_ = 0;
    std::optional<response_head> head_;
};

// A PUT value's first stamp_bytes with --watchers: its send time on this
// program's steady clock, in nanoseconds, as hexadecimal digits.
constexpr std::size_t stamp_bytes = 16;

void write_stamp(clock_type::time_point t, char* out) {
    auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
    for (std::size_t i = stamp_bytes; i-- > 0; ns >>= 4) out[i] = "0123456789abcdef"[ns & 15];
}

std::optional<clock_type::time_point> read_stamp(std::string_view value) {
    if (value.size() < stamp_bytes) return std::nullopt;
    std::uint64_t ns = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + stamp_bytes, ns, 16);
    if (ec != std::errc() || end != value.data() + stamp_bytes) return std::nullopt;
    return clock_type::time_point(std::chrono::duration_cast<clock_type::duration>(std::chrono::nanoseconds(ns)));
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
        in_.clear();
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
        started_ = clock_type::now();
        if (!read_) {
            out_ += p_.value;
            if (p_.stamp) write_stamp(started_, out_.data() + out_.size() - p_.value.size());
        }
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
        socket_.async_read_some(in_.space(), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        if (ec) {
            waiting_ = false;
            return fail(timed_out_ ? "timeout" : "io");
        }
        const auto got = in_.took(n);
        if (got == response_buffer::state::incomplete) return do_read();
        if (got == response_buffer::state::bad) {
            waiting_ = false;
            return fail("bad_response");
        }
        const response_head& head = in_.head();
        waiting_ = false;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - started_).count();
        // A 200 to a GET must carry the value every PUT of the run wrote.
        const bool ok = head.status == 200 && (!read_ || in_.body() == std::string_view(p_.value));
        if (p_.measuring) {
            if (ok) {
                ++w_.ok;
                ++w_.ok_by_target[target_index_];
                w_.latency.record(static_cast<std::uint64_t>(ns));
            } else {
                ++w_.errors[head.status == 200 ? std::string("wrong_value") : std::to_string(head.status)];
            }
        }
        if (!in_.exact()) return fail("bad_response");
        in_.clear();
        if (!head.keep_alive) {
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
        in_.clear();
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

    worker& w_;
    phase& p_;
    const target& t_;
    std::size_t target_index_;
    tcp::socket socket_;
    asio::steady_timer pause_;
    std::string out_;                                           // the request being sent
    std::string value_length_ = std::to_string(p_.value.size());   // its Content-Length, formatted once
    response_buffer in_;                                        // the response being read
    bool read_ = false;                                         // the request is a GET
    bool waiting_ = false;                                      // an operation with a deadline is pending
    bool timed_out_ = false;
    bool finished_ = false;
    clock_type::time_point started_;
    clock_type::time_point deadline_;
};

// One client following the changes of every load key (--watchers): a
// long-polling watch, each poll continuing from the index the last one gave
// (since), on one keep-alive connection. For each change it receives while
// the phase is measured it records the delay since its PUT was sent, read
// from the value's stamp. Its own timer, ten times a second, closes the
// connection when the poll is overdue or the phase is over.
class watcher : public std::enable_shared_from_this<watcher> {
public:
    watcher(worker& w, phase& p, const target& t) : w_(w), p_(p), t_(t), socket_(w.ioc), timer_(w.ioc), in_(65536) {}

    void start() {
        tick();
        do_connect();
    }

private:
    static constexpr int poll_ms = 5000;   // the server answers a poll without changes after this

    void tick() {
        timer_.expires_after(100ms);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) return;
            if (self->p_.stopping) return self->close();   // and no more ticks: the loop may end
            if (self->waiting_ && clock_type::now() >= self->deadline_) {
                self->timed_out_ = true;
                self->close();
            }
            self->tick();
        });
    }

    void arm(clock_type::duration limit) {
        waiting_ = true;
        timed_out_ = false;
        deadline_ = clock_type::now() + limit;
    }

    void do_connect() {
        if (p_.stopping) return;
        arm(p_.timeout);
        socket_.async_connect(t_.endpoint, [self = shared_from_this()](beast::error_code ec) {
            self->waiting_ = false;
            if (ec) return self->fail(self->timed_out_ ? "watch_timeout" : "watch_connect");
            self->socket_.set_option(tcp::no_delay(true), ec);
            self->do_poll();
        });
    }

    void do_poll() {
        if (p_.stopping) return close();
        out_ = "GET /kv?prefix=k&watch=1&timeout_ms=" + std::to_string(poll_ms);
        if (since_) out_ += "&since=" + std::to_string(*since_);
        out_ += " HTTP/1.1\r\nHost: " + t_.host + "\r\n\r\n";
        in_.clear();
        arm(std::chrono::milliseconds(poll_ms) + p_.timeout);
        asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->waiting_ = false;
                return self->fail(self->timed_out_ ? "watch_timeout" : "watch_io");
            }
            self->do_read();
        });
    }

    void do_read() {
        socket_.async_read_some(in_.space(), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        if (ec) {
            waiting_ = false;
            return fail(timed_out_ ? "watch_timeout" : "watch_io");
        }
        const auto got = in_.took(n);
        if (got == response_buffer::state::incomplete) return do_read();
        waiting_ = false;
        if (got == response_buffer::state::bad) return fail("watch_bad_response");
        const response_head& head = in_.head();
        if (head.status == 200) {
            if (!take_events(in_.body(), clock_type::now())) return fail("watch_bad_response");
        } else {
            // 410: the changes after since are gone here; go on from now.
            if (head.status == 410) since_.reset();
            count_error("watch_" + std::to_string(head.status));
        }
        if (!in_.exact() || !head.keep_alive) {
            close();
            return do_connect();
        }
        do_poll();
    }

    // {"events":[{"index","key","type","value"},...],"index":N}
    bool take_events(std::string_view body, clock_type::time_point now) {
        boost::system::error_code ec;
        const boost::json::value v = boost::json::parse(body, ec);
        const boost::json::object* answer = ec ? nullptr : v.if_object();
        const boost::json::value* events = answer ? answer->if_contains("events") : nullptr;
        const boost::json::value* index = answer ? answer->if_contains("index") : nullptr;
        if (!events || !events->is_array() || !index || !index->is_number()) return false;
        since_ = index->to_number<std::uint64_t>();
        if (!p_.measuring) return true;
        for (const auto& e : events->get_array()) {
            const boost::json::object* event = e.if_object();
            const boost::json::value* value = event ? event->if_contains("value") : nullptr;
            const auto sent = value && value->is_string() ? read_stamp(value->get_string()) : std::nullopt;
            if (!sent) continue;   // a delete, or a value from before the stamps
            ++w_.watch_events;
            w_.watch_delay.record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - *sent).count()));
        }
        return true;
    }

    void count_error(const std::string& what) {
        if (p_.measuring) ++w_.watch_errors[what];
    }

    void fail(const std::string& what) {
        count_error(what);
        close();
        if (p_.stopping) return;
        auto pause = std::make_shared<asio::steady_timer>(w_.ioc, 100ms);
        pause->async_wait([self = shared_from_this(), pause](beast::error_code ec) {
            if (!ec) self->do_connect();
        });
    }

    void close() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    worker& w_;
    phase& p_;
    const target& t_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    std::string out_;
    response_buffer in_;
    std::optional<std::uint64_t> since_;   // none: changes after the peer's state now
    bool waiting_ = false;
    bool timed_out_ = false;
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
    latency_histogram watch_delay;
    std::uint64_t watch_events = 0;
    std::map<std::string, std::uint64_t> watch_errors;

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
    // Watchers only while the load is measured by time (not fill phases).
    if (p.stamp)
        for (int i = 0; i < s.watchers; ++i) {
            const auto wi = static_cast<std::size_t>(i % s.threads);
            std::make_shared<watcher>(*workers[wi], p, targets[static_cast<std::size_t>(i) % targets.size()])->start();
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
        r.watch_delay.merge(w->watch_delay);
        r.watch_events += w->watch_events;
        for (const auto& [k, v] : w->watch_errors) r.watch_errors[k] += v;
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
        ("watchers", po::value(&s.watchers)->default_value(0),
         "put: clients following every change with a long-polling watch, spread over the targets (values then "
         "start with their send time)")
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
    if (s.watchers < 0 ||
        (s.watchers > 0 && (s.load != workload::put || s.value_bytes < stamp_bytes || s.requests > 0))) {
        std::cerr << "raftlite-kv-load: --watchers N goes with --workload put, a --duration (not --requests) and "
                     "--value-bytes of at least "
                  << stamp_bytes << " (each value starts with its send time)\n";
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
    p.stamp = s.watchers > 0;
    const auto r = run_phase(s, targets, p, s.warmup, s.duration);
    const double watch_events = r.elapsed_s > 0 ? r.watch_events / r.elapsed_s : 0;
    std::uint64_t watch_error_count = 0;
    for (const auto& [k, v] : r.watch_errors) watch_error_count += v;

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
          << ",\"rtt_us\":" << rtt << ",\"watchers\":" << s.watchers
          << ",\"watch_events_per_s\":" << watch_events
          << ",\"watch_delay_p50_us\":" << r.watch_delay.percentile_us(0.5)
          << ",\"watch_delay_p99_us\":" << r.watch_delay.percentile_us(0.99)
          << ",\"watch_errors\":" << watch_error_count << "}";
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
        if (s.watchers > 0) {
            std::cout << "\n  watchers " << s.watchers << ": changes received/s " << watch_events << " ("
                      << watch_events / s.watchers << " each), delay from PUT sent to change received us  p50 "
                      << r.watch_delay.percentile_us(0.5) << "  p99 " << r.watch_delay.percentile_us(0.99)
                      << "\n  watch errors " << watch_error_count;
            for (const auto& [k, v] : r.watch_errors) std::cout << "  " << k << ": " << v;
        }
        if (s.reference)
            std::cout << "\n  reference: fdatasync/s " << fsyncs << " (" << 1e6 / std::max(fsyncs, 1.0)
                      << " us each), loopback rtt " << rtt << " us";
        std::cout << "\n";
    }
    return r.ok > 0 ? 0 : 1;
}
