// Snapshots on the networked node (Raft §7; thesis §5): taken by the
// application off the strand, compacting the log; restored at a restart; sent
// in chunks to a follower that fell behind the leader's log start. Real
// sockets and file persisters; waits are on conditions, never on time.
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>
#include <raftlite/file_persister.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <random>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

void broadcast_ok(node& n, const std::string& payload) {
    auto f = n.async_broadcast(payload, boost::asio::use_future);
    BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
    f.get();   // throws system_error on failure
}

// Snapshots every `every` entries, `keep` entries kept below each, and
// `chunk`-byte chunks, so that a short test compacts and chunks.
local_cluster::options_hook snapshot_options(index_t every, index_t keep, std::size_t chunk) {
    return [=](node_id, node_options& o) {
        o.snapshot_entries = every;
        o.core.log_keep_entries = keep;
        o.core.snapshot_chunk_bytes = chunk;
        o.core.snapshot_chunks_inflight = 2;
    };
}

} // namespace

BOOST_AUTO_TEST_SUITE(snapshots)

BOOST_AUTO_TEST_CASE(a_node_compacts_its_log_and_restarts_from_its_snapshot) {
    local_cluster c(1, snapshot_options(5, 2, 1 << 20));
    c.enable_snapshots();
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader());
    for (int k = 0; k < 20; ++k) broadcast_ok(c.at(1), "v" + std::to_string(k));
    BOOST_REQUIRE(c.wait_delivered(1, 20));
    // An explicit snapshot covers everything applied. (One already being
    // taken when asked answers first: ask until the answer covers it all,
    // so that no snapshot is left in flight to finish after the status.)
    index_t at = 0;
    for (int attempt = 0; attempt < 10 && at < c.at(1).status().applied_index; ++attempt) {
        auto f = c.at(1).async_snapshot(boost::asio::use_future);
        BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
        at = f.get();
    }
    const node_status s = c.at(1).status();
    BOOST_TEST(at == s.applied_index);
    BOOST_TEST(at <= s.applied_index);
    BOOST_TEST(s.snapshot_index >= at);
    BOOST_TEST(s.snapshots_taken >= 1u);
    BOOST_TEST(s.log_start == s.snapshot_index + 1 - 2);   // two entries kept below the snapshot
    const auto before = c.delivered(1);

    c.stop(1);
    c.start(1);
    BOOST_REQUIRE(c.wait_for_leader());
    // The state came back from the snapshot, not by delivering the log again.
    BOOST_TEST(c.restored(1).index == s.snapshot_index);
    BOOST_TEST(c.delivered(1) == before);
    broadcast_ok(c.at(1), "after");
    BOOST_REQUIRE(c.wait_until([&] { return c.delivered(1).size() == before.size() + 1; }));
    BOOST_TEST(c.delivered(1).back().second == "after");
}

BOOST_AUTO_TEST_CASE(a_follower_behind_the_log_start_catches_up_by_install_snapshot) {
    // 64-byte chunks: the snapshot travels in many chunks, two in flight.
    local_cluster c(3, snapshot_options(10, 5, 64));
    c.enable_snapshots();
    c.start_all();
    node_id leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    const node_id behind = leader == 3 ? 2 : 3;
    c.stop(behind);
    for (int k = 0; k < 60; ++k) broadcast_ok(c.at(leader), "entry-" + std::to_string(k));
    BOOST_REQUIRE(c.wait_until([&] { return c.at(leader).status().log_start > 2; }));
    const node_status ls = c.at(leader).status();
    BOOST_TEST_MESSAGE("leader log from " << ls.log_start << ", snapshot to " << ls.snapshot_index);

    c.start(behind);
    // It restores a snapshot that reaches the leader's log. (Chunks of an
    // older snapshot, queued for it while it was down, may arrive first:
    // it installs that one, then the newer.)
    BOOST_REQUIRE(c.wait_until([&] { return c.restored(behind).index >= ls.log_start - 1; }));
    // The status is published when the strand's turn ends, after the
    // restore handler ran: wait for it rather than read it at once.
    BOOST_TEST(c.wait_until([&] { return c.at(behind).status().snapshots_installed >= 1u; }));
    // Its state is the leader's: the restored list plus what followed it.
    BOOST_REQUIRE(c.wait_until([&] { return c.delivered(behind).size() == c.delivered(leader).size(); }));
    BOOST_TEST(c.delivered(behind) == c.delivered(leader));
    leader = c.wait_for_leader();
    BOOST_REQUIRE(leader != no_node);
    broadcast_ok(c.at(leader), "last");
    BOOST_REQUIRE(c.wait_until([&] {
        auto d = c.delivered(behind);
        return !d.empty() && d.back().second == "last";
    }));
}

BOOST_AUTO_TEST_CASE(a_node_with_a_snapshot_does_not_start_without_a_restore_handler) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("raftlite-snapshot-test-" + std::to_string(std::random_device{}()));
    {
        local_cluster c(1, snapshot_options(3, 1, 1 << 20));
        c.set_data_dir(1, dir);
        c.enable_snapshots();
        c.start_all();
        BOOST_REQUIRE(c.wait_for_leader());
        for (int k = 0; k < 6; ++k) broadcast_ok(c.at(1), "x");
        BOOST_REQUIRE(c.wait_until([&] { return c.at(1).status().snapshot_index > 0; }));
    }
    boost::asio::io_context ioc;
    node_options o;
    o.core.self = 1;
    o.core.members = {1};
    o.transport.listen = {"127.0.0.1", 0};
    node n(ioc, o, std::make_unique<file_persister>(dir.string()));
    n.on_deliver([](index_t, const shared_bytes&) {});
    BOOST_TEST(n.start() == make_error_code(errc::bad_config));
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

BOOST_AUTO_TEST_SUITE_END()
