// node::metrics(): the counters and histograms agree with what the test did
// to a real cluster (sockets, file persisters, the disk thread).
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/metrics.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <thread>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

// The shape every histogram must keep: one cumulative count per bound, never
// decreasing, none above the total.
void check_histogram(const histogram& h) {
    BOOST_TEST_REQUIRE(h.counts.size() == h.bounds.size());
    for (std::size_t i = 1; i < h.counts.size(); ++i) {
        BOOST_TEST(h.bounds[i - 1] < h.bounds[i]);
        BOOST_TEST(h.counts[i - 1] <= h.counts[i]);
    }
    if (!h.counts.empty()) BOOST_TEST(h.counts.back() <= h.count);
}

std::size_t wait_all(std::vector<std::future<index_t>>& futures) {
    std::size_t ok = 0;
    for (auto& f : futures) {
        BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
        f.get();   // throws system_error on failure
        ++ok;
    }
    return ok;
}

} // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(histogram_counts_are_cumulative) {
    histogram h({1, 2, 4});
    for (double v : {0.5, 1.0, 1.5, 3.0, 9.0}) h.observe(v);
    BOOST_TEST(h.counts == (std::vector<std::uint64_t>{2, 3, 4}));
    BOOST_TEST(h.count == 5u);
    BOOST_TEST(h.sum == 15.0);
    check_histogram(h);
}

BOOST_AUTO_TEST_CASE(counters_and_histograms_match_the_broadcasts) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id follower = leader == 1 ? 2 : 1;

    constexpr std::size_t on_leader = 12, on_follower = 5;
    std::vector<std::future<index_t>> futures;
    for (std::size_t i = 0; i < on_leader; ++i)
        futures.push_back(c.at(leader).async_broadcast("l" + std::to_string(i), boost::asio::use_future));
    for (std::size_t i = 0; i < on_follower; ++i)
        futures.push_back(c.at(follower).async_broadcast("f" + std::to_string(i), boost::asio::use_future));
    BOOST_TEST(wait_all(futures) == on_leader + on_follower);

    const node_metrics lm = c.at(leader).metrics();
    BOOST_TEST(lm.id == leader);
    BOOST_TEST(lm.role == "leader");
    BOOST_TEST(lm.leader == leader);
    BOOST_TEST(lm.broadcasts.committed == on_leader);
    BOOST_TEST(lm.broadcasts.total() == on_leader);
    BOOST_TEST(lm.broadcast_latency.count == on_leader);
    BOOST_TEST(lm.terms_as_leader >= 1u);
    BOOST_TEST(lm.elections_started >= 1u);
    check_histogram(lm.broadcast_latency);

    const node_metrics fm = c.at(follower).metrics();
    BOOST_TEST(fm.role == "follower");
    BOOST_TEST(fm.broadcasts.committed == on_follower);
    BOOST_TEST(fm.broadcasts.total() == on_follower);
    BOOST_TEST(fm.broadcast_latency.count == on_follower);

    for (node_id id = 1; id <= 3; ++id) {
        BOOST_TEST_CONTEXT("node " << id) {
            // A follower may still be syncing what it last received: wait
            // until every entry of its log went through one of its disk rounds.
            BOOST_TEST(c.wait_until([&] {
                const node_metrics m = c.at(id).metrics();
                return m.commit_index >= on_leader + on_follower &&
                       m.disk_round_entries.sum >= static_cast<double>(m.last_log_index);
            }));
            const node_metrics m = c.at(id).metrics();
            // The disk thread synced at least the term, the vote and the entries.
            BOOST_TEST(m.disk_round_latency.count > 0u);
            BOOST_TEST(m.disk_round_entries.count == m.disk_round_latency.count);
            check_histogram(m.disk_round_latency);
            check_histogram(m.disk_round_entries);
            BOOST_TEST(m.leader_changes >= 1u);
            BOOST_TEST_REQUIRE(!m.recent_leader_changes.empty());
            BOOST_TEST(m.recent_leader_changes.back().leader == leader);
            BOOST_TEST(m.recent_leader_changes.back().term == m.term);
            BOOST_TEST_REQUIRE(m.peers.size() == 2u);
            for (const peer_metrics& p : m.peers) {
                BOOST_TEST(p.id != id);
                // The leader talks with every follower; followers need not
                // have talked with each other (an election won at once).
                if (id == leader || p.id == leader) {
                    BOOST_TEST(p.frames_sent > 0u);
                    BOOST_TEST(p.bytes_sent > 0u);
                    BOOST_TEST(p.frames_received > 0u);
                    BOOST_TEST(p.bytes_received > 0u);
                }
                // Only a leader knows its followers' progress.
                BOOST_TEST(p.has_match == (id == leader));
            }
        }
    }

    // The followers catch up: the leader sees their lag fall to zero.
    BOOST_TEST(c.wait_until([&] {
        const node_metrics m = c.at(leader).metrics();
        for (const peer_metrics& p : m.peers)
            if (!p.has_match || p.match_lag != 0 || p.match_index != m.last_log_index) return false;
        return true;
    }));
}

// The transport's connection health reaches the node's metrics: a peer that
// never started is a run of failed connection attempts, a started one a
// connection made; a stranger's connection that sends no handshake is a
// refused handshake.
BOOST_AUTO_TEST_CASE(connection_failures_and_refused_handshakes_are_counted) {
    local_cluster c(3);
    c.start(1);
    c.start(2);
    BOOST_REQUIRE(c.wait_until([&] {
        const node_metrics m = c.at(1).metrics();
        for (const peer_metrics& p : m.peers)
            if ((p.id == 2 && p.connects == 0) || (p.id == 3 && p.connect_failures < 2)) return false;
        return true;
    }));
    for (const peer_metrics& p : c.at(1).metrics().peers) {
        BOOST_TEST_CONTEXT("peer " << p.id) {
            if (p.id == 3) BOOST_TEST(p.connects == 0u);
            // Nothing here accepts and stays silent: refused, not timed out.
            BOOST_TEST(p.handshake_ack_timeouts == 0u);
        }
    }
    BOOST_TEST(c.at(1).metrics().handshakes_rejected == 0u);

    // Bytes that are no handshake, then the connection closed by node 1.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket stranger(ioc);
    stranger.connect({boost::asio::ip::make_address("127.0.0.1"), c.port(1)});
    const std::string junk(64, 'x');
    boost::asio::write(stranger, boost::asio::buffer(junk));
    BOOST_TEST(c.wait_until([&] { return c.at(1).metrics().handshakes_rejected == 1u; }));
    BOOST_TEST(c.at(1).metrics().tls_handshakes_failed == 0u);
}

BOOST_AUTO_TEST_CASE(a_leader_change_is_counted_and_remembered) {
    local_cluster c(3);
    c.start_all();
    const node_id first = c.wait_for_leader();
    BOOST_REQUIRE(first != no_node);
    const node_id watcher = first == 1 ? 2 : 1;
    const std::uint64_t before = c.at(watcher).metrics().leader_changes;
    c.stop(first);
    const node_id second = c.wait_for_leader(first);
    BOOST_REQUIRE(second != no_node);
    BOOST_REQUIRE(c.wait_until([&] { return c.at(watcher).metrics().leader == second; }));
    const node_metrics m = c.at(watcher).metrics();
    BOOST_TEST(m.leader_changes > before);
    BOOST_TEST_REQUIRE(m.recent_leader_changes.size() >= 2u);
    const leader_change& last = m.recent_leader_changes.back();
    BOOST_TEST(last.leader == second);
    BOOST_TEST(last.term > m.recent_leader_changes.front().term);
    BOOST_TEST(last.unix_ms > 0);
}

BOOST_AUTO_TEST_CASE(a_refused_broadcast_counts_its_outcome) {
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);
    std::thread io([&] { ioc.run(); });
    node_options o;
    o.core.self = 1;
    o.core.members = {1};
    o.transport.cluster_id = "metrics-test";
    o.transport.listen = {"127.0.0.1", 0};
    o.transport.peers[1] = {"127.0.0.1", 0};
    node n(ioc, o, std::make_unique<memory_persister>());
    // Not started: the node refuses with errc::stopped.
    auto f = n.async_broadcast(std::string("x"), boost::asio::use_future);
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    BOOST_CHECK_THROW(f.get(), boost::system::system_error);
    const node_metrics m = n.metrics();
    BOOST_TEST(m.broadcasts.stopped == 1u);
    BOOST_TEST(m.broadcasts.total() == 1u);
    BOOST_TEST(m.broadcast_latency.count == 1u);
    // Memory storage is written inline: no disk thread, no disk rounds.
    BOOST_TEST(m.disk_round_latency.count == 0u);
    work.reset();
    io.join();
}

// Reads (thesis §6.4): each counts once, with its latency, on the node that
// was asked; the leader counts the heartbeat rounds that confirmed them; a
// read asked of a stopped node counts as stopped.
BOOST_AUTO_TEST_CASE(counters_and_histograms_match_the_reads) {
    local_cluster c(3);
    c.start_all();
    const node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id follower = leader == 1 ? 2 : 1;
    // The leader's no-op must commit before it serves reads.
    std::vector<std::future<index_t>> writes;
    writes.push_back(c.at(leader).async_broadcast("w", boost::asio::use_future));
    BOOST_TEST(wait_all(writes) == 1u);

    constexpr std::size_t on_leader = 7, on_follower = 4;
    std::vector<std::future<index_t>> reads;
    for (std::size_t i = 0; i < on_leader; ++i)
        reads.push_back(c.at(leader).async_read_index(boost::asio::use_future));
    for (std::size_t i = 0; i < on_follower; ++i)
        reads.push_back(c.at(follower).async_read_index(boost::asio::use_future));
    BOOST_TEST(wait_all(reads) == on_leader + on_follower);

    const node_metrics lm = c.at(leader).metrics();
    BOOST_TEST(lm.reads.ready == on_leader);
    BOOST_TEST(lm.reads.total() == on_leader);
    BOOST_TEST(lm.read_latency.count == on_leader);
    check_histogram(lm.read_latency);
    // At least one round confirmed the leader's own reads; the follower's
    // were confirmed by the leader too, so by rounds the leader counts.
    BOOST_TEST(lm.read_rounds >= 1u);
    BOOST_TEST(lm.lease_reads == 0u);   // leases are off by default

    const node_metrics fm = c.at(follower).metrics();
    BOOST_TEST(fm.reads.ready == on_follower);
    BOOST_TEST(fm.reads.total() == on_follower);
    BOOST_TEST(fm.read_latency.count == on_follower);
    BOOST_TEST(fm.read_rounds == 0u);

    auto stopped_future = c.at(follower).async_stop(boost::asio::use_future);
    BOOST_REQUIRE(stopped_future.wait_for(30s) == std::future_status::ready);
    auto late = c.at(follower).async_read_index(boost::asio::use_future);
    BOOST_REQUIRE(late.wait_for(30s) == std::future_status::ready);
    BOOST_CHECK_THROW(late.get(), boost::system::system_error);
    const node_metrics stopped = c.at(follower).metrics();
    BOOST_TEST(stopped.reads.stopped == 1u);
    BOOST_TEST(stopped.reads.total() == on_follower + 1);
    BOOST_TEST(stopped.read_latency.count == on_follower + 1);
}

BOOST_AUTO_TEST_SUITE_END()
