// raftlite::node behaves like an Asio operation: executors, outstanding
// work, cancellation, async_stop, pull-style delivery, compositions, and
// fail-stop when the application's handler fails.
#include <boost/test/unit_test.hpp>

#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/node.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <tuple>
#include <string>
#include <thread>
#include <vector>

using namespace raftlite;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Options of node 1 in memory, listening on an ephemeral port. With
// `members` > 1 the other members never exist: no leader can be elected.
node_options one_node(std::size_t members = 1) {
    node_options o;
    o.core.self = 1;
    for (node_id m = 1; m <= members; ++m) {
        o.core.members.put(member{m, true, {}, {}});
        o.transport.peers[m] = {"127.0.0.1", 0};
    }
    o.transport.cluster_id = "asio-conventions";
    o.transport.listen = {"127.0.0.1", 0};
    o.election_timeout_min = 20ms;
    o.election_timeout_max = 40ms;
    o.heartbeat_interval = 5ms;
    return o;
}

// An io_context on a thread of its own, for the node.
struct io_thread {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
    std::thread thread{[this] { ioc.run(); }};
    ~io_thread() {
        work.reset();
        thread.join();
    }
};

template <class T>
T wait(std::future<T>& f) {
    BOOST_REQUIRE(f.wait_for(60s) == std::future_status::ready);
    return f.get();
}

// A callback that hands every completion argument, error included, to a
// future (use_future would throw the error instead).
template <class... Args>
struct capture {
    std::shared_ptr<std::promise<std::tuple<Args...>>> promise = std::make_shared<std::promise<std::tuple<Args...>>>();
    std::future<std::tuple<Args...>> future = promise->get_future();
    auto handler() {
        return [p = promise](Args... args) { p->set_value(std::tuple<Args...>(std::move(args)...)); };
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(asio_conventions)

BOOST_AUTO_TEST_CASE(a_node_runs_on_the_executor_it_is_given) {
    io_thread io;
    node n(asio::make_strand(io.ioc), one_node(), std::make_unique<memory_persister>());
    n.on_deliver([](index_t, const shared_bytes&) {});
    BOOST_REQUIRE(!n.start());
    auto f = n.async_broadcast(std::string("on a strand"), asio::use_future);
    BOOST_TEST(wait(f) >= 1u);
    n.stop();
}

BOOST_AUTO_TEST_CASE(a_pending_broadcast_keeps_its_handlers_executor_busy) {
    io_thread io;
    node_options o = one_node(2);   // no leader: the broadcast waits, then fails with not_leader
    o.core.hold_elections = 2;
    node n(io.ioc, o, std::make_unique<memory_persister>());
    n.on_deliver([](index_t, const shared_bytes&) {});
    BOOST_REQUIRE(!n.start());
    asio::io_context app;   // no work guard: only the pending operation keeps run() going
    bool ran = false;
    boost::system::error_code result;
    n.async_broadcast(std::string("x"), asio::bind_executor(app, [&](boost::system::error_code ec, index_t) {
                          ran = true;
                          result = ec;
                      }));
    app.run();   // returns once the handler ran, not before
    BOOST_TEST(ran);
    BOOST_TEST(result == make_error_code(errc::not_leader));
    n.stop();
}

BOOST_AUTO_TEST_CASE(cancelling_a_broadcast_that_never_left_the_node_aborts_it) {
    io_thread io;
    node_options o = one_node(2);
    o.core.hold_elections = 1000000;   // held for as long as the test needs
    node n(io.ioc, o, std::make_unique<memory_persister>());
    n.on_deliver([](index_t, const shared_bytes&) {});
    BOOST_REQUIRE(!n.start());
    asio::cancellation_signal signal;
    std::promise<boost::system::error_code> outcome;
    n.async_broadcast(std::string("never"),
                      asio::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, index_t) {
                          outcome.set_value(ec);
                      }));
    // Emitted on the node's io thread, after the broadcast reached the strand.
    asio::post(io.ioc, [&] { signal.emit(asio::cancellation_type::total); });
    auto f = outcome.get_future();
    const auto ec = wait(f);
    BOOST_TEST(ec == asio::error::operation_aborted);
    n.stop();
}

BOOST_AUTO_TEST_CASE(async_stop_completes_once_stopped) {
    io_thread io;
    node n(io.ioc, one_node(), std::make_unique<memory_persister>());
    n.on_deliver([](index_t, const shared_bytes&) {});
    BOOST_REQUIRE(!n.start());
    capture<boost::system::error_code> stopped;
    n.async_stop(stopped.handler());
    const auto [reason] = wait(stopped.future);
    BOOST_TEST(reason == make_error_code(errc::stopped));
    BOOST_TEST(!n.status().running);
    BOOST_TEST(n.status().stop_reason == make_error_code(errc::stopped));
    capture<boost::system::error_code, index_t> late;
    n.async_broadcast(std::string("late"), late.handler());
    BOOST_TEST(std::get<0>(wait(late.future)) == make_error_code(errc::stopped));
}

BOOST_AUTO_TEST_CASE(async_receive_pulls_committed_entries_in_order) {
    io_thread io;
    node n(io.ioc, one_node(), std::make_unique<memory_persister>());   // no delivery handler: pull
    BOOST_REQUIRE(!n.start());
    std::vector<index_t> indexes;
    for (const char* s : {"a", "b", "c"}) {
        auto f = n.async_broadcast(std::string(s), asio::use_future);
        indexes.push_back(wait(f));
    }
    for (std::size_t k = 0; k < 3; ++k) {
        capture<boost::system::error_code, index_t, shared_bytes> got;
        n.async_receive(got.handler());
        const auto [ec, index, payload] = wait(got.future);
        BOOST_TEST(!ec);
        BOOST_TEST(index == indexes[k]);
        BOOST_TEST(*payload == std::string(1, static_cast<char>('a' + k)));
    }
    n.stop();
}

BOOST_AUTO_TEST_CASE(a_consumer_that_stops_pulling_slows_delivery_and_loses_nothing) {
    io_thread io;
    node n(io.ioc, one_node(), std::make_unique<memory_persister>());
    BOOST_REQUIRE(!n.start());
    constexpr std::size_t total = 1500;   // more than the node queues for a consumer
    std::vector<std::future<index_t>> commits;
    for (std::size_t k = 0; k < total; ++k)
        commits.push_back(n.async_broadcast(std::to_string(k), asio::use_future));
    index_t last = 0;
    for (auto& f : commits) last = std::max(last, wait(f));
    // Everything committed, not everything applied: delivery waits for the consumer.
    const node_status held = n.status();
    BOOST_TEST(held.commit_index == last);
    BOOST_TEST(held.applied_index < last);
    for (std::size_t k = 0; k < total; ++k) {
        capture<boost::system::error_code, index_t, shared_bytes> got;
        n.async_receive(got.handler());
        const auto [ec, index, payload] = wait(got.future);
        BOOST_REQUIRE(!ec);
        BOOST_REQUIRE_EQUAL(*payload, std::to_string(k));
    }
    n.stop();
}

BOOST_AUTO_TEST_CASE(broadcasts_compose_with_deferred_and_parallel_group) {
    io_thread io;
    node n(io.ioc, one_node(), std::make_unique<memory_persister>());
    n.on_deliver([](index_t, const shared_bytes&) {});
    BOOST_REQUIRE(!n.start());
    auto group = asio::experimental::make_parallel_group(n.async_broadcast(std::string("p"), asio::deferred),
                                                         n.async_broadcast(std::string("q"), asio::deferred));
    auto f = group.async_wait(asio::experimental::wait_for_all(), asio::use_future);
    BOOST_REQUIRE(f.wait_for(60s) == std::future_status::ready);
    const auto [order, ec1, i1, ec2, i2] = f.get();
    BOOST_TEST(!ec1);
    BOOST_TEST(!ec2);
    BOOST_TEST(i1 != i2);
    BOOST_TEST(order.size() == 2u);
    n.stop();
}

BOOST_AUTO_TEST_CASE(a_throwing_delivery_handler_stops_the_node) {
    io_thread io;
    node n(io.ioc, one_node(), std::make_unique<memory_persister>());
    std::vector<std::string> applied;   // on the node's strand only, read after the stop
    n.on_deliver([&](index_t, const shared_bytes& p) {
        if (*p == "bad") throw std::runtime_error("cannot apply");
        applied.push_back(*p);
    });
    std::promise<boost::system::error_code> stopped;
    n.on_stop([&](boost::system::error_code reason) { stopped.set_value(reason); });
    BOOST_REQUIRE(!n.start());
    auto good = n.async_broadcast(std::string("good"), asio::use_future);
    wait(good);
    n.async_broadcast(std::string("bad"), asio::detached);
    auto stop_reason = stopped.get_future();
    BOOST_TEST(wait(stop_reason) == make_error_code(errc::delivery_failed));
    capture<boost::system::error_code, index_t> after;
    n.async_broadcast(std::string("after"), after.handler());
    BOOST_TEST(std::get<0>(wait(after.future)) == make_error_code(errc::delivery_failed));
    BOOST_TEST(n.status().stop_reason == make_error_code(errc::delivery_failed));
    BOOST_TEST(applied == (std::vector<std::string>{"good"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(error_codes_map_to_portable_conditions) {
    BOOST_TEST(make_error_code(errc::timed_out) == boost::system::errc::timed_out);
    BOOST_TEST(make_error_code(errc::busy) == boost::system::errc::resource_unavailable_try_again);
    BOOST_TEST(make_error_code(errc::stopped) == boost::system::errc::operation_canceled);
    BOOST_TEST(make_error_code(errc::bad_config) == boost::system::errc::invalid_argument);
    BOOST_TEST(make_error_code(errc::not_leader) != boost::system::errc::timed_out);
}

BOOST_AUTO_TEST_SUITE_END()
