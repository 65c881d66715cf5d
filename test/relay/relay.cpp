// The relay's connections (relay.hpp says what a link does).
#include "relay/relay.hpp"

#include <raftlite/transport_options.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <deque>
#include <random>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <pthread.h>
#include <sched.h>

namespace raftlite::relay {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// A direction stops reading while this much is queued and not yet written
// (a slow target must not grow the relay without bound); it reads again
// once the queue is below half of it.
constexpr std::size_t max_queued_bytes = 4 << 20;
constexpr std::size_t read_size = 64 << 10;

struct route_state {
    route_spec spec;
    tcp::acceptor acceptor;
    double drop_rate;
    route_state(asio::io_context& ioc, route_spec s) : spec(std::move(s)), acceptor(ioc), drop_rate(spec.link.drop_rate) {}
};

} // namespace

struct relay::impl : std::enable_shared_from_this<relay::impl> {
    class connection;

    asio::io_context& ioc;
    std::mt19937_64 rng;
    std::vector<std::unique_ptr<route_state>> routes;
    std::unordered_map<connection*, std::weak_ptr<connection>> open;
    bool stopped = false;
    std::atomic<std::uint64_t> connections{0}, cuts{0}, bytes{0};
    std::array<std::atomic<std::uint64_t>, relay_stats::late_buckets> late{};

    void note_lateness(clock_type::duration d) {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        const std::size_t k = us <= 0 ? 0 : std::min<std::size_t>(std::bit_width(static_cast<std::uint64_t>(us)), late.size() - 1);
        late[k].fetch_add(1, std::memory_order_relaxed);
    }

    impl(asio::io_context& c, std::uint64_t seed) : ioc(c), rng(seed) {}

    void accept(route_state& r);
    void close_all();
};

// One accepted connection and the one it opened to the target; two
// directions, each a queue of chunks waiting for their arrival time.
class relay::impl::connection : public std::enable_shared_from_this<connection> {
public:
    connection(std::shared_ptr<impl> owner, route_state& route, tcp::socket accepted)
        : owner_(std::move(owner)), route_(route), client_(std::move(accepted)), server_(owner_->ioc),
          up_(client_, server_, owner_->ioc), down_(server_, client_, owner_->ioc) {}

    void start() {
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(route_.spec.target_host, ec);
        if (ec) return close();
        server_.async_connect(tcp::endpoint(address, route_.spec.target_port),
                              [self = shared_from_this()](boost::system::error_code ec) {
                                  if (ec || self->closed_) return self->close();
                                  ++self->owner_->connections;
                                  self->client_.set_option(tcp::no_delay(true), ec);
                                  self->server_.set_option(tcp::no_delay(true), ec);
                                  self->read(self->up_);
                                  self->read(self->down_);
                              });
    }

    /// Both sockets closed, whatever was queued dropped.
    void close() {
        if (closed_) return;
        closed_ = true;
        boost::system::error_code ignored;
        client_.close(ignored);
        server_.close(ignored);
        up_.timer.cancel();
        down_.timer.cancel();
        up_.queue.clear();
        down_.queue.clear();
        owner_->open.erase(this);
    }

private:
    struct chunk {
        std::string bytes;
        clock_type::time_point arrival;
    };
    struct direction {
        tcp::socket& from;
        tcp::socket& to;
        asio::steady_timer timer;
        std::vector<char> buffer = std::vector<char>(read_size);
        std::deque<chunk> queue;
        std::size_t queued = 0;
        clock_type::time_point last_arrival{};   // chunks keep their order
        clock_type::time_point link_free{};      // bandwidth: when the last chunk is serialized
        bool reading = false;
        bool writing = false;
        bool ended = false;                      // `from` closed: close once the queue is written
        direction(tcp::socket& f, tcp::socket& t, asio::io_context& ioc) : from(f), to(t), timer(ioc) {}
    };

    void read(direction& d) {
        if (closed_ || d.reading || d.ended || d.queued >= max_queued_bytes) return;
        d.reading = true;
        d.from.async_read_some(asio::buffer(d.buffer),
                               [self = shared_from_this(), &d](boost::system::error_code ec, std::size_t n) {
                                   d.reading = false;
                                   if (self->closed_) return;
                                   if (ec) {
                                       d.ended = true;
                                       if (d.queue.empty() && !d.writing) self->close();
                                       return;
                                   }
                                   self->received(d, n);
                               });
    }

    void received(direction& d, std::size_t n) {
        auto& rng = owner_->rng;
        const double p = route_.drop_rate;
        if (p > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < p) {
            ++owner_->cuts;
            return close();
        }
        const auto& link = route_.spec.link;
        auto now = clock_type::now();
        if (link.bandwidth_mbit > 0) {
            const auto serialize = std::chrono::duration_cast<clock_type::duration>(
                std::chrono::duration<double>(static_cast<double>(n) * 8 / (link.bandwidth_mbit * 1e6)));
            d.link_free = std::max(d.link_free, now) + serialize;
            now = d.link_free;
        }
        auto jitter = clock_type::duration::zero();
        if (link.jitter.count() > 0)
            jitter = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double, std::micro>(
                std::uniform_real_distribution<double>(0, static_cast<double>(link.jitter.count()))(rng)));
        d.last_arrival = std::max(d.last_arrival, now + link.delay + jitter);
        d.queue.push_back(chunk{std::string(d.buffer.data(), n), d.last_arrival});
        d.queued += n;
        pump(d);
        read(d);
    }

    // Writes the chunks whose time has come, one at a time, in order.
    void pump(direction& d) {
        if (closed_ || d.writing) return;
        if (d.queue.empty()) {
            if (d.ended) close();
            return;
        }
        d.writing = true;
        if (d.queue.front().arrival > clock_type::now()) {
            d.timer.expires_at(d.queue.front().arrival);
            d.timer.async_wait([self = shared_from_this(), &d](boost::system::error_code) {
                d.writing = false;
                self->pump(d);
            });
            return;
        }
        owner_->note_lateness(clock_type::now() - d.queue.front().arrival);
        asio::async_write(d.to, asio::buffer(d.queue.front().bytes),
                          [self = shared_from_this(), &d](boost::system::error_code ec, std::size_t n) {
                              d.writing = false;
                              if (self->closed_) return;
                              if (ec) return self->close();
                              self->owner_->bytes += n;
                              d.queued -= n;
                              d.queue.pop_front();
                              self->pump(d);
                              if (d.queued < max_queued_bytes / 2) self->read(d);
                          });
    }

    std::shared_ptr<impl> owner_;
    route_state& route_;
    tcp::socket client_;
    tcp::socket server_;
    direction up_;     // client → target
    direction down_;   // target → client
    bool closed_ = false;
};

void relay::impl::accept(route_state& r) {
    r.acceptor.async_accept([self = shared_from_this(), &r](boost::system::error_code ec, tcp::socket s) {
        if (self->stopped) return;
        if (!ec) {
            auto c = std::make_shared<connection>(self, r, std::move(s));
            self->open[c.get()] = c;
            c->start();
        }
        self->accept(r);
    });
}

void relay::impl::close_all() {
    stopped = true;
    boost::system::error_code ignored;
    for (auto& r : routes) r->acceptor.close(ignored);
    auto copy = open;
    for (auto& [p, weak] : copy)
        if (auto c = weak.lock()) c->close();
}

relay::relay(asio::io_context& ioc, std::uint64_t seed) : impl_(std::make_shared<impl>(ioc, seed)) {}

relay::~relay() { impl_->close_all(); }

std::uint16_t relay::add(const route_spec& spec) {
    auto r = std::make_unique<route_state>(impl_->ioc, spec);
    const auto where = spec.listen_host + ":" + std::to_string(spec.listen_port);
    try {
        tcp::endpoint ep(asio::ip::make_address(spec.listen_host), spec.listen_port);
        r->acceptor.open(ep.protocol());
        r->acceptor.set_option(tcp::acceptor::reuse_address(true));
        r->acceptor.bind(ep);
        r->acceptor.listen();
        asio::ip::make_address(spec.target_host);   // a bad target is the caller's error, not a later silent close
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("relay: cannot listen on " + where + " for " + spec.target_host + ":" +
                                 std::to_string(spec.target_port) + ": " + e.code().message());
    }
    const auto port = r->acceptor.local_endpoint().port();
    impl_->routes.push_back(std::move(r));
    impl_->accept(*impl_->routes.back());
    return port;
}

void relay::set_drop_rate(std::size_t route, double p) {
    asio::post(impl_->ioc, [i = impl_, route, p] {
        if (route < i->routes.size()) i->routes[route]->drop_rate = p;
    });
}

void relay::stop() {
    asio::post(impl_->ioc, [i = impl_] { i->close_all(); });
}

bool make_thread_realtime() {
    sched_param p{};
    p.sched_priority = sched_get_priority_min(SCHED_FIFO);
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
}

relay_stats relay::stats() const {
    relay_stats s{impl_->connections.load(), impl_->cuts.load(), impl_->bytes.load(), {}};
    for (std::size_t k = 0; k < s.late.size(); ++k) s.late[k] = impl_->late[k].load(std::memory_order_relaxed);
    return s;
}

double relay_stats::late_percentile_us(double q) const {
    std::uint64_t total = 0;
    for (auto n : late) total += n;
    if (total == 0) return 0;
    std::uint64_t seen = 0;
    for (std::size_t k = 0; k < late.size(); ++k) {
        seen += late[k];
        if (static_cast<double>(seen) >= q * static_cast<double>(total)) return static_cast<double>(std::uint64_t(1) << k);
    }
    return static_cast<double>(std::uint64_t(1) << (late.size() - 1));
}

// ---------------------------------------------------------------------------
// The command line.

namespace {

namespace po = boost::program_options;

po::options_description options(double* delay_ms, double* jitter_ms, double* drop, double* mbit,
                                 std::vector<std::string>* routes, std::uint64_t* seed, bool* realtime) {
    po::options_description d("raftlite-relay options");
    d.add_options()("help,h", "this help")
        ("route", po::value(routes), "LISTEN=TARGET, each HOST:PORT with a numeric host (repeat for more routes)")
        ("delay-ms", po::value(delay_ms)->default_value(0), "one-way delay per direction, milliseconds")
        ("jitter-ms", po::value(jitter_ms)->default_value(0), "extra delay per chunk, uniform in 0..J ms (order kept)")
        ("drop-rate", po::value(drop)->default_value(0), "probability in [0, 1) that a chunk cuts its connection")
        ("bandwidth-mbit", po::value(mbit)->default_value(0), "per direction and connection, Mbit/s (0: unlimited)")
        ("seed", po::value(seed), "seed of the jitter and loss draws (default: random, printed)")
        ("realtime", po::bool_switch(realtime), "run as a real-time thread (SCHED_FIFO; needs root), so the relayed processes cannot hold it off a core");
    return d;
}

std::optional<endpoint_address> numeric_address(const std::string& text) {
    auto a = endpoint_address::parse(text);
    if (!a) return std::nullopt;
    boost::system::error_code ec;
    asio::ip::make_address(a->host, ec);
    if (ec) return std::nullopt;
    return a;
}

} // namespace

relay_config parse_arguments(const std::vector<std::string>& args) {
    double delay_ms = 0, jitter_ms = 0, drop = 0, mbit = 0;
    std::vector<std::string> routes;
    relay_config c;
    c.seed = std::random_device{}();
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(options(&delay_ms, &jitter_ms, &drop, &mbit, &routes, &c.seed, &c.realtime)).run(), vm);
        po::notify(vm);
    } catch (const std::exception& e) {
        throw std::invalid_argument(e.what());
    }
    if (vm.count("help")) {
        c.help = true;
        return c;
    }
    if (!(delay_ms >= 0 && delay_ms <= 60000)) throw std::invalid_argument("--delay-ms must be in 0..60000");
    if (!(jitter_ms >= 0 && jitter_ms <= 60000)) throw std::invalid_argument("--jitter-ms must be in 0..60000");
    if (!(drop >= 0 && drop < 1)) throw std::invalid_argument("--drop-rate must be in [0, 1)");
    if (!(mbit >= 0)) throw std::invalid_argument("--bandwidth-mbit must be >= 0");
    if (routes.empty()) throw std::invalid_argument("at least one --route LISTEN=TARGET is needed");
    link_options link;
    link.delay = std::chrono::microseconds(static_cast<long long>(delay_ms * 1000));
    link.jitter = std::chrono::microseconds(static_cast<long long>(jitter_ms * 1000));
    link.drop_rate = drop;
    link.bandwidth_mbit = mbit;
    for (const auto& r : routes) {
        const auto eq = r.find('=');
        auto from = numeric_address(r.substr(0, eq));
        auto to = eq == std::string::npos ? std::nullopt : numeric_address(r.substr(eq + 1));
        if (!from || !to)
            throw std::invalid_argument("--route " + r + ": expected LISTEN=TARGET, each HOST:PORT with a numeric host "
                                        "(e.g. 127.0.0.1:9001=127.0.0.1:7001)");
        c.routes.push_back(route_spec{from->host, from->port, to->host, to->port, link});
    }
    return c;
}

std::string usage() {
    double d, j, p, b;
    std::vector<std::string> r;
    std::uint64_t s;
    bool rt;
    std::ostringstream o;
    o << "usage: raftlite-relay --route LISTEN=TARGET [--route ...] [--delay-ms D] [--jitter-ms J] [--drop-rate P]\n"
         "                      [--bandwidth-mbit B] [--seed S] [--realtime]\n"
      << options(&d, &j, &p, &b, &r, &s, &rt);
    return o.str();
}

} // namespace raftlite::relay
