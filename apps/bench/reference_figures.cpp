// Reference limits measured in the same run (reference_figures.hpp).
#include "reference_figures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace raftlite::bench {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

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
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
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

} // namespace raftlite::bench
