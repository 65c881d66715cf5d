// The wide-area relay (relay.hpp): bytes arrive intact and in order through
// delay and jitter, a lossy route cuts connections and a new connection
// works once the loss is lifted, and bad command lines are refused with a
// message. Nothing here checks a duration: the delay's size is the
// benchmark's business (raftlite-bench measures the round trip through it).
#define BOOST_TEST_MODULE relay_tests
#include <boost/test/unit_test.hpp>

#include "relay/relay.hpp"
#include "../apps/bench/reference_figures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace raftlite::relay;
using raftlite::bench::echo_server;   // one connection at a time: each case's connections are sequential
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A relay on its own io_context thread.
struct running_relay {
    asio::io_context ioc{1};
    relay r;
    std::thread t;
    explicit running_relay(std::uint64_t seed) : r(ioc, seed) {}
    void run() {
        t = std::thread([this] { ioc.run(); });
    }
    ~running_relay() {
        r.stop();
        t.join();
    }
};

route_spec to(std::uint16_t target, link_options link) {
    route_spec s;
    s.target_port = target;
    s.link = link;
    return s;
}

tcp::socket connect(asio::io_context& ioc, std::uint16_t port) {
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    return s;
}

std::uint64_t seed_for_test() {
    const std::uint64_t seed = std::random_device{}();
    BOOST_TEST_MESSAGE("seed " << seed);
    return seed;
}

} // namespace

BOOST_AUTO_TEST_CASE(bytes_arrive_intact_and_in_order_under_jitter) {
    const auto seed = seed_for_test();
    echo_server echo("127.0.0.1", 0);
    running_relay relay(seed);
    link_options link;
    link.delay = 1ms;
    link.jitter = 3ms;   // larger than the delay: later chunks would overtake earlier ones if order were not kept
    const auto port = relay.r.add(to(echo.port(), link));
    relay.run();

    // Many writes of different sizes, so that the relay reads many chunks.
    std::mt19937_64 rng(seed);
    std::string sent;
    std::vector<std::size_t> sizes;
    while (sent.size() < (512u << 10)) {
        const auto n = std::uniform_int_distribution<std::size_t>(1, 6000)(rng);
        for (std::size_t i = 0; i < n; ++i) sent.push_back(static_cast<char>(rng()));
        sizes.push_back(n);
    }
    asio::io_context ioc;
    auto s = connect(ioc, port);
    s.set_option(tcp::no_delay(true));
    std::string received(sent.size(), '\0');
    std::thread reader([&] { asio::read(s, asio::buffer(received)); });
    std::size_t at = 0;
    for (auto n : sizes) {
        asio::write(s, asio::buffer(sent.data() + at, n));
        at += n;
    }
    reader.join();
    BOOST_TEST(received.size() == sent.size());
    BOOST_TEST((received == sent), "the echoed bytes differ from those sent (seed " << seed << ")");
    BOOST_TEST(relay.r.stats().cuts == 0u);
    BOOST_TEST(relay.r.stats().bytes >= sent.size());   // the way there, at least, is counted by now
}

BOOST_AUTO_TEST_CASE(bytes_arrive_intact_through_a_bandwidth_cap) {
    echo_server echo("127.0.0.1", 0);
    running_relay relay(seed_for_test());
    link_options link;
    link.bandwidth_mbit = 50;   // 256 KiB each way: about 40 ms, not checked
    const auto port = relay.r.add(to(echo.port(), link));
    relay.run();
    asio::io_context ioc;
    auto s = connect(ioc, port);
    std::string sent(256u << 10, '\0'), received(sent.size(), '\0');
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7 + i / 251);
    std::thread reader([&] { asio::read(s, asio::buffer(received)); });
    asio::write(s, asio::buffer(sent));
    reader.join();
    BOOST_TEST((received == sent));
}

BOOST_AUTO_TEST_CASE(a_lossy_route_cuts_connections_and_a_reconnect_works_once_it_heals) {
    const auto seed = seed_for_test();
    echo_server echo("127.0.0.1", 0);
    running_relay relay(seed);
    link_options link;
    link.drop_rate = 0.3;
    const auto port = relay.r.add(to(echo.port(), link));
    relay.run();

    asio::io_context ioc;
    // Round trips until the relay cuts the connection: each chunk read is
    // lost with probability 0.3, so a run of 200 survivors is out of reach.
    bool cut = false;
    {
        auto s = connect(ioc, port);
        char msg[100] = {'x'};
        for (int i = 0; i < 200 && !cut; ++i) {
            boost::system::error_code ec;
            asio::write(s, asio::buffer(msg), ec);
            if (!ec) asio::read(s, asio::buffer(msg), ec);
            cut = bool(ec);
        }
    }
    BOOST_TEST(cut);
    BOOST_TEST(relay.r.stats().cuts >= 1u);

    // Lifted: a new connection carries every byte (the route itself survived the cuts).
    relay.r.set_drop_rate(0, 0);
    const auto cuts = relay.r.stats().cuts;
    for (int attempt = 0; attempt < 50; ++attempt) {
        // set_drop_rate is posted: once a connection survives 20 round
        // trips the new rate is in force, until then a cut means it was not yet.
        auto s = connect(ioc, port);
        std::string msg = "after the loss";
        boost::system::error_code ec;
        int ok = 0;
        for (; ok < 20 && !ec; ++ok) {
            asio::write(s, asio::buffer(msg), ec);
            std::string back(msg.size(), '\0');
            if (!ec) asio::read(s, asio::buffer(back), ec);
            if (!ec) BOOST_REQUIRE(back == msg);
        }
        if (!ec) {
            BOOST_TEST(ok == 20);
            BOOST_TEST_MESSAGE("cuts before the rate was lifted: " << cuts << ", after: " << relay.r.stats().cuts);
            return;
        }
    }
    BOOST_FAIL("no connection survived after the drop rate was set to 0");
}

BOOST_AUTO_TEST_CASE(several_routes_in_one_relay) {
    echo_server a("127.0.0.1", 0), b("127.0.0.1", 0);
    running_relay relay(seed_for_test());
    const auto pa = relay.r.add(to(a.port(), {}));
    const auto pb = relay.r.add(to(b.port(), {}));
    relay.run();
    asio::io_context ioc;
    for (auto port : {pa, pb, pa}) {
        auto s = connect(ioc, port);
        std::string msg = "route " + std::to_string(port), back(msg.size(), '\0');
        asio::write(s, asio::buffer(msg));
        asio::read(s, asio::buffer(back));
        BOOST_TEST(back == msg);
    }
    BOOST_TEST(relay.r.stats().connections == 3u);
}

// Every chunk written is counted once in the lateness histogram (its
// values are the benchmark's business: this checks the bookkeeping).
BOOST_AUTO_TEST_CASE(every_chunk_written_is_counted_in_the_lateness_histogram) {
    echo_server echo("127.0.0.1", 0);
    running_relay relay(seed_for_test());
    const auto port = relay.r.add(to(echo.port(), {}));
    relay.run();
    asio::io_context ioc;
    auto s = connect(ioc, port);
    for (int i = 0; i < 5; ++i) {
        std::string msg = "round " + std::to_string(i), back(msg.size(), '\0');
        asio::write(s, asio::buffer(msg));
        asio::read(s, asio::buffer(back));
        BOOST_TEST(back == msg);
    }
    // Each round is one chunk each way: the echo's answer was written before it was read here.
    const auto st = relay.r.stats();
    std::uint64_t chunks = 0;
    for (auto n : st.late) chunks += n;
    BOOST_TEST(chunks == 10u);
    BOOST_TEST(st.late_percentile_us(0.5) >= 1.0);
    BOOST_TEST(st.late_percentile_us(0.5) <= st.late_percentile_us(0.99));
    BOOST_TEST(relay_stats{}.late_percentile_us(0.5) == 0.0);
}

BOOST_AUTO_TEST_CASE(command_line) {
    auto c = parse_arguments({"--route", "127.0.0.1:9001=127.0.0.1:7001", "--route", "[::1]:9002=10.0.0.2:7002",
                              "--delay-ms", "5", "--jitter-ms", "1.5", "--drop-rate", "0.2", "--bandwidth-mbit",
                              "100", "--seed", "42"});
    BOOST_REQUIRE_EQUAL(c.routes.size(), 2u);
    BOOST_TEST(c.routes[0].listen_port == 9001);
    BOOST_TEST(c.routes[0].target_port == 7001);
    BOOST_TEST(c.routes[1].listen_host == "::1");
    BOOST_TEST(c.routes[1].target_host == "10.0.0.2");
    BOOST_TEST(c.routes[1].link.delay.count() == 5000);
    BOOST_TEST(c.routes[1].link.jitter.count() == 1500);
    BOOST_TEST(c.routes[1].link.drop_rate == 0.2);
    BOOST_TEST(c.routes[1].link.bandwidth_mbit == 100);
    BOOST_TEST(c.seed == 42u);
    BOOST_TEST(!c.realtime);
    BOOST_TEST(parse_arguments({"--route", "127.0.0.1:9001=127.0.0.1:7001", "--realtime"}).realtime);
    BOOST_TEST(parse_arguments({"--help"}).help);
}

BOOST_AUTO_TEST_CASE(bad_command_lines_are_refused_with_a_message) {
    const std::vector<std::vector<std::string>> bad{
        {},                                                            // no route
        {"--route", "127.0.0.1:9001"},                                 // no target
        {"--route", "localhost:9001=127.0.0.1:7001"},                  // not numeric
        {"--route", "127.0.0.1:0=127.0.0.1:7001"},                     // port 0
        {"--route", "127.0.0.1:9001=127.0.0.1:70000"},                 // port out of range
        {"--route", "127.0.0.1:9001=127.0.0.1:7001", "--drop-rate", "1"},
        {"--route", "127.0.0.1:9001=127.0.0.1:7001", "--delay-ms", "-1"},
        {"--route", "127.0.0.1:9001=127.0.0.1:7001", "--jitter-ms", "x"},
        {"--route", "127.0.0.1:9001=127.0.0.1:7001", "--bandwidth-mbit", "-3"},
        {"--route", "127.0.0.1:9001=127.0.0.1:7001", "--no-such-option"},
    };
    for (const auto& args : bad) {
        std::string line;
        for (const auto& a : args) line += a + " ";
        BOOST_TEST_CONTEXT("arguments: " << line) {
            try {
                parse_arguments(args);
                BOOST_ERROR("accepted");
            } catch (const std::invalid_argument& e) {
                BOOST_TEST(std::string(e.what()).size() > 10u);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(an_address_it_cannot_listen_on_is_a_clear_error) {
    asio::io_context ioc;
    relay r(ioc, 1);
    route_spec s;
    s.listen_host = "203.0.113.7";   // TEST-NET-3: not an address of this machine
    s.target_port = 1;
    BOOST_CHECK_EXCEPTION(r.add(s), std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()).find("203.0.113.7") != std::string::npos;
    });
}
