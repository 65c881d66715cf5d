// Reference limits measured in the same run (reference_figures.hpp).
#include "reference_figures.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <memory>
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

struct echo_server::impl {
    asio::io_context ioc{1};
    asio::ip::tcp::acceptor acceptor{ioc};
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
            if (ec) return;
            s.set_option(asio::ip::tcp::no_delay(true), ec);
            echo(std::make_shared<asio::ip::tcp::socket>(std::move(s)), std::make_shared<std::array<char, 4096>>());
        });
    }
    // One connection; the next is accepted when it ends.
    void echo(std::shared_ptr<asio::ip::tcp::socket> s, std::shared_ptr<std::array<char, 4096>> buf) {
        s->async_read_some(asio::buffer(*buf), [this, s, buf](boost::system::error_code ec, std::size_t n) {
            if (ec) return accept();
            asio::async_write(*s, asio::buffer(buf->data(), n), [this, s, buf](boost::system::error_code ec, std::size_t) {
                if (ec) return accept();
                echo(s, buf);
            });
        });
    }
};

echo_server::echo_server(const std::string& host, std::uint16_t port) : impl_(std::make_unique<impl>()) {
    const asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->accept();
    impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

echo_server::~echo_server() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint16_t echo_server::port() const { return impl_->acceptor.local_endpoint().port(); }

double measure_rtt_us(const std::string& host, std::uint16_t port, int rounds) {
    asio::io_context ioc;
    asio::ip::tcp::socket a(ioc);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) a.connect({address, port}, ec);
    if (ec) return 0;
    a.set_option(asio::ip::tcp::no_delay(true), ec);
    char msg[64] = {};
    const auto start = clock_type::now();
    for (int i = 0; i < rounds; ++i) {
        asio::write(a, asio::buffer(msg), ec);
        if (!ec) asio::read(a, asio::buffer(msg), ec);
        if (ec) return 0;
    }
    return std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / rounds;
}

double measure_loopback_rtt_us() {
    echo_server echo("127.0.0.1", 0);
    return measure_rtt_us("127.0.0.1", echo.port(), 2000);
}

} // namespace raftlite::bench
