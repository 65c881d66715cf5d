// Sending a snapshot to a follower (Raft §7; thesis §5.3): chunks in order,
// at most snapshot_chunks_inflight unanswered, and when a follower stops
// answering, empty chunks only until it answers again (etcd's probe state).
#include "core_test_util.hpp"
#include "../test_access.hpp"

using namespace raftlite;
using namespace raftlite::test;

namespace {

constexpr std::uint64_t chunk_bytes = 4, chunks_inflight = 2, window = chunk_bytes * chunks_inflight;

// Snapshot data bytes in `o` for follower `f`, and how many empty chunks.
struct chunks_to {
    std::uint64_t bytes = 0;
    std::size_t empty = 0;
    index_t index = 0;   // the snapshot the last chunk belongs to
};
chunks_to chunks_for(const output& o, node_id f) {
    chunks_to c;
    for (const snapshot_send& s : o.snapshot_sends) {
        if (s.to != f) continue;
        c.bytes += s.length;
        if (s.length == 0) ++c.empty;
        c.index = s.msg.meta.index;
    }
    return c;
}

// A 3-node leader (self 1) whose follower 3 stopped answering after the
// no-op: entries beyond it are committed with follower 2 and compacted into
// a snapshot of 20 bytes, so follower 3 needs the snapshot.
struct leader_with_a_silent_follower {
    core l{make_config(1, 3, [] {
        core_config c;
        c.snapshot_chunk_bytes = chunk_bytes;
        c.snapshot_chunks_inflight = chunks_inflight;
        c.log_keep_entries = 0;
        return c;
    }())};
    bool broken = false;
    std::uint64_t next_request = 1;

    explicit leader_with_a_silent_follower(bool broken_rule) : broken(broken_rule) {
        detail::core_test_access::faults(l).resend_snapshot_window_unanswered = broken;
        establish_leader(l);
        compact(3);
    }

    // Commits `n` more entries with follower 2 and snapshots them all.
    output compact(int n) {
        for (int k = 0; k < n; ++k) l.step(broadcast_request{next_request++, make_bytes("v")});
        synced(l);
        const term_t t = l.current_term();
        l.step(recv(2, 1, log_response{t, l.log().length(), true, l.log().length() - 1}));
        BOOST_REQUIRE_EQUAL(l.commit_length(), l.log().length());
        snapshot_meta meta;
        meta.index = l.commit_length();
        meta.term = t;
        meta.members = l.configuration_at(meta.index);
        meta.size = 20;
        return l.step(snapshot_taken{meta});
    }

    // Heartbeats until the leader starts sending follower 3 the snapshot;
    // what that heartbeat sent it.
    chunks_to start_transfer() {
        for (int k = 0; k < 10; ++k) {
            const chunks_to c = chunks_for(l.step(heartbeat_timeout{}), 3);
            if (c.bytes > 0) return c;
        }
        BOOST_FAIL("no snapshot transfer to follower 3");
        return {};
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(snapshot_transfer_7)

BOOST_AUTO_TEST_CASE(a_follower_that_stops_answering_gets_empty_chunks_until_it_answers) {
    for (bool broken : {false, true}) {
        leader_with_a_silent_follower s(broken);
        const chunks_to first = s.start_transfer();
        BOOST_TEST(first.bytes == window);   // one window, chunks in order
        // Ten heartbeats without an answer: the first two wait for one, then
        // the leader probes with empty chunks. Broken, it sends the window
        // again every two heartbeats.
        std::uint64_t resent = 0;
        std::size_t probes = 0;
        for (int k = 0; k < 10; ++k) {
            const chunks_to c = chunks_for(s.l.step(heartbeat_timeout{}), 3);
            resent += c.bytes;
            probes += c.empty;
        }
        BOOST_TEST(resent == (broken ? 5 * window : 0u), "broken=" << broken);
        if (!broken) {
            BOOST_TEST(probes >= 8u);
            // It answers (it has nothing of this snapshot): one window again.
            const term_t t = s.l.current_term();
            const output o = s.l.step(recv(3, 1, install_snapshot_response{t, first.index, 0, false}));
            BOOST_TEST(chunks_for(o, 3).bytes == window);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_newer_snapshot_starts_with_an_empty_chunk_for_a_follower_that_did_not_answer) {
    for (bool broken : {false, true}) {
        leader_with_a_silent_follower s(broken);
        const chunks_to first = s.start_transfer();
        BOOST_REQUIRE(first.bytes > 0u);
        // A newer snapshot before follower 3 answered: the transfer starts
        // over with it, first asking where the follower stands.
        const chunks_to restart = chunks_for(s.compact(2), 3);
        BOOST_TEST(restart.index > first.index);
        BOOST_TEST(restart.bytes == (broken ? window : 0u), "broken=" << broken);
        if (broken) continue;
        BOOST_TEST(restart.empty == 1u);
        const term_t t = s.l.current_term();
        const output o = s.l.step(recv(3, 1, install_snapshot_response{t, restart.index, 0, false}));
        const chunks_to after = chunks_for(o, 3);
        BOOST_TEST(after.bytes == window);
        BOOST_TEST(after.index == restart.index);
    }
}

BOOST_AUTO_TEST_SUITE_END()
