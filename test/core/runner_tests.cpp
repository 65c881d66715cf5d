// raftlite::runner on its own: the driver order every world relies on.
//
// One runner over a memory_persister, with a host that records what the
// runner asked of its world; disk rounds are deferred (the test completes
// them), so what waits for a sync is visible.
#include "core_test_util.hpp"

#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/runner.hpp>

#include <optional>

using namespace raftlite;
using namespace raftlite::test;

namespace {

struct recording_host final : runner_host {
    std::vector<envelope> sent;
    std::vector<disk_round> rounds;   // handed to the disk, not yet completed
    std::vector<log_entry> delivered;
    struct outcome {
        std::uint64_t request;
        boost::system::error_code ec;
        index_t index;
    };
    std::vector<outcome> outcomes;
    std::size_t election_resets = 0;
    std::optional<bool> heartbeat;
    std::optional<boost::system::error_code> failure;

    void send(envelope m) override { sent.push_back(std::move(m)); }
    void write_and_sync(disk_round r) override { rounds.push_back(std::move(r)); }
    void deliver(const log_entry& e) override { delivered.push_back(e); }
    void restore(const snapshot_meta& meta) override { restored.push_back(meta); }
    void take_snapshot(index_t index, term_t term) override { snapshot_asks.emplace_back(index, term); }
    std::vector<snapshot_meta> restored;
    std::vector<std::pair<index_t, term_t>> snapshot_asks;
    void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        outcomes.push_back({request, ec, index});
    }
    void reset_election_timer() override { ++election_resets; }
    void set_heartbeat(bool on) override { heartbeat = on; }
    void storage_failed(boost::system::error_code ec) override { failure = ec; }
};

// A runner for node `self` of an n-node cluster, loaded and started, with at
// most two disk rounds in flight.
struct fixture {
    explicit fixture(std::size_t n = 3, node_id self = 1, bool inline_sync = false) {
        runner_options o;
        o.core = make_config(self, n);
        o.sync_inline = inline_sync;
        o.max_rounds_in_flight = 2;
        r.emplace(std::move(o), disk, host);
        BOOST_REQUIRE(!r->load());
        r->start();
    }
    // Completes rounds until none is in flight (a one-node cluster's candidacy
    // and the new leader's no-op).
    void settle() {
        while (!host.rounds.empty()) complete_round();
    }
    // Writes and syncs the oldest round handed to the host, then hands it back.
    void complete_round() {
        BOOST_REQUIRE(!host.rounds.empty());
        disk_round round = std::move(host.rounds.front());
        host.rounds.erase(host.rounds.begin());
        const auto ec = round.write_and_sync(disk);
        r->disk_round_done(std::move(round), ec);
    }
    memory_persister disk;
    recording_host host;
    std::optional<runner> r;
};

} // namespace

BOOST_AUTO_TEST_SUITE(runner_driver)

BOOST_AUTO_TEST_CASE(start_arms_the_election_timer) {
    fixture f;
    BOOST_TEST(f.host.election_resets == 1u);
    BOOST_TEST(f.host.sent.empty());
    BOOST_TEST(f.host.rounds.empty());
}

BOOST_AUTO_TEST_CASE(votes_wait_for_the_sync_of_the_candidacy) {
    fixture f;
    f.r->step(election_timeout{});
    // The vote requests promise a durable vote for ourselves: held.
    BOOST_TEST(f.host.sent.empty());
    BOOST_TEST(f.r->after_sync_waiting() == 2u);
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 1u);
    BOOST_TEST(f.disk.durable_hard_state().current_term == 0u);
    f.complete_round();
    BOOST_TEST(f.disk.durable_hard_state() == (hard_state{1, 1}));
    BOOST_TEST(of_type<vote_request>(f.host.sent).size() == 2u);
    BOOST_TEST(f.r->after_sync_waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(two_rounds_in_flight_and_what_queues_meanwhile_shares_the_next) {
    fixture f(1);   // a one-node cluster leads at once
    f.r->step(election_timeout{});
    f.settle();
    BOOST_REQUIRE(f.r->raft().role() == role::leader);
    f.r->broadcast(make_bytes("a"));
    f.r->broadcast(make_bytes("b"));
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 2u);   // a syncing, b waiting at the disk
    f.r->broadcast(make_bytes("c"));
    f.r->broadcast(make_bytes("d"));
    BOOST_TEST(f.host.rounds.size() == 2u);   // nothing more reaches the disk meanwhile
    BOOST_TEST(f.r->queued().size() == 2u);
    f.complete_round();   // a is durable and commits; c and d go in one round
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 2u);
    BOOST_TEST(f.host.rounds.back().batches().size() == 2u);
    BOOST_TEST(f.host.outcomes.size() == 1u);
    f.complete_round();
    const auto syncs = f.disk.sync_count();
    f.complete_round();
    BOOST_TEST(f.disk.sync_count() == syncs + 1);   // one sync for both
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 4u);
    for (const auto& o : f.host.outcomes) BOOST_TEST(!o.ec);
    BOOST_TEST(f.host.outcomes[0].index == 2u);
    BOOST_TEST(f.host.outcomes[3].index == 5u);
    BOOST_REQUIRE_EQUAL(f.host.delivered.size(), 5u);   // the no-op too, in order
    BOOST_TEST(f.host.delivered[4].data() == "d");
}

BOOST_AUTO_TEST_CASE(one_round_in_flight_when_asked) {
    runner_options o;
    o.core = make_config(1, 1);
    o.max_rounds_in_flight = 1;
    memory_persister disk;
    recording_host host;
    runner r(std::move(o), disk, host);
    BOOST_REQUIRE(!r.load());
    r.start();
    r.step(election_timeout{});
    BOOST_REQUIRE_EQUAL(host.rounds.size(), 1u);
    r.broadcast(make_bytes("a"));   // the leader's no-op is in flight: a waits
    BOOST_TEST(host.rounds.size() == 1u);
    BOOST_TEST(r.queued().size() == 1u);
    BOOST_TEST(r.rounds_in_flight() == 1u);
}

// A follower's acknowledgements of a later round never overtake an earlier
// round's sync (Raft §5.1: respond only after stable storage is updated).
BOOST_AUTO_TEST_CASE(a_later_rounds_acknowledgements_wait_for_every_earlier_sync) {
    fixture f(3, 2);
    log_request first{1, 0, 0, 0, {make_entry(1, 1, "x")}};
    log_request second{1, 1, 1, 0, {make_entry(1, 2, "y")}};
    f.r->step(message_received{envelope{1, 2, first}});
    f.r->step(message_received{envelope{1, 2, second}});
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 2u);
    BOOST_TEST(of_type<log_response>(f.host.sent).empty());
    f.complete_round();
    auto acks = of_type<log_response>(f.host.sent);
    BOOST_REQUIRE_EQUAL(acks.size(), 1u);
    BOOST_TEST(acks[0].second.ack == 1u);
    BOOST_TEST(f.disk.durable_last_index() == 1u);
    f.complete_round();
    acks = of_type<log_response>(f.host.sent);
    BOOST_REQUIRE_EQUAL(acks.size(), 2u);
    BOOST_TEST(acks[1].second.ack == 2u);
}

BOOST_AUTO_TEST_CASE(inline_rounds_complete_inside_the_step) {
    fixture f(1, 1, true);
    f.r->step(election_timeout{});
    BOOST_TEST(f.host.rounds.empty());
    BOOST_REQUIRE(f.r->raft().role() == role::leader);
    const std::uint64_t req = f.r->broadcast(make_bytes("x"));
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 1u);
    BOOST_TEST(f.host.outcomes[0].request == req);
    BOOST_TEST(f.host.outcomes[0].index == 2u);
    BOOST_TEST(f.disk.durable_last_index() == 2u);
}

BOOST_AUTO_TEST_CASE(an_abandoned_broadcast_reports_once) {
    fixture f(3);
    const std::uint64_t req = f.r->broadcast(make_bytes("x"));   // held: no leader known
    BOOST_TEST(f.r->outstanding() == 1u);
    f.r->abandon(req, errc::timed_out);
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 1u);
    BOOST_TEST(f.host.outcomes[0].ec == make_error_code(errc::timed_out));
    f.r->abandon(req, errc::timed_out);
    f.r->stop(errc::stopped);
    BOOST_TEST(f.host.outcomes.size() == 1u);   // never a second outcome
}

BOOST_AUTO_TEST_CASE(cancelling_a_held_broadcast_withdraws_it) {
    fixture f(3);
    const std::uint64_t req = f.r->broadcast(make_bytes("x"));   // held: no leader known
    f.r->cancel(req);
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 1u);
    BOOST_TEST(f.host.outcomes[0].ec == boost::system::errc::operation_canceled);
    BOOST_TEST(f.r->raft().pending_broadcasts() == 0u);   // it will never be forwarded
}

BOOST_AUTO_TEST_CASE(cancelling_an_appended_broadcast_says_its_outcome_is_unknown) {
    fixture f(1);
    f.r->step(election_timeout{});
    f.settle();
    const std::uint64_t req = f.r->broadcast(make_bytes("a"));   // appended, its write in flight
    f.r->cancel(req);
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 1u);
    BOOST_TEST(f.host.outcomes[0].ec == make_error_code(errc::outcome_unknown));
    f.settle();   // it commits after all: still only one outcome
    BOOST_TEST(f.host.outcomes.size() == 1u);
    BOOST_TEST(f.host.delivered.back().data() == "a");
}

BOOST_AUTO_TEST_CASE(stop_completes_every_outstanding_broadcast) {
    fixture f(3);
    f.r->broadcast(make_bytes("x"));
    f.r->broadcast(make_bytes("y"));
    f.r->stop(errc::stopped);
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 2u);
    for (const auto& o : f.host.outcomes) BOOST_TEST(o.ec == make_error_code(errc::stopped));
    // Events after the stop are ignored; a late broadcast is told at once.
    f.r->step(election_timeout{});
    BOOST_TEST(f.host.rounds.empty());
    f.r->broadcast(make_bytes("z"));
    BOOST_TEST(f.host.outcomes.back().ec == make_error_code(errc::stopped));
}

BOOST_AUTO_TEST_CASE(a_failed_write_fails_outstanding_broadcasts_and_stops) {
    fixture f(1);
    f.r->step(election_timeout{});
    f.settle();
    f.disk.fail_after(0, make_error_code(errc::storage_failed));
    f.r->broadcast(make_bytes("x"));
    f.complete_round();   // its write fails
    BOOST_REQUIRE(f.host.failure.has_value());
    BOOST_TEST(f.r->failed());
    BOOST_TEST(!f.r->running());
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 1u);
    BOOST_TEST(f.host.outcomes[0].ec == make_error_code(errc::storage_failed));
    BOOST_TEST(f.host.delivered.size() == 1u);   // only the no-op: nothing unstored is applied
}

BOOST_AUTO_TEST_CASE(request_ids_start_above_the_nodes_entries_in_the_log) {
    memory_persister disk;
    log_entry e = make_entry(1, 1, "old", entry_kind::application, entry_origin{1, 500});
    disk.save_hard_state(hard_state{1, 1});
    disk.append({e});
    disk.sync();
    recording_host host;
    runner_options o;
    o.core = make_config(1, 3);
    o.first_request = 7;
    runner r(std::move(o), disk, host);
    BOOST_REQUIRE(!r.load());
    BOOST_TEST(r.next_request() == 501u);
}

BOOST_AUTO_TEST_CASE(write_queued_stores_what_waits_behind_the_rounds_in_flight) {
    fixture f(1);
    f.r->step(election_timeout{});
    f.settle();
    f.r->broadcast(make_bytes("a"));   // in flight
    f.r->broadcast(make_bytes("b"));   // in flight, waiting at the disk
    f.r->broadcast(make_bytes("c"));   // queued behind them
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 2u);
    f.r->stop(errc::stopped);
    // The rounds in flight finish on their own (a disk thread); then the rest.
    for (disk_round& in_flight : f.host.rounds) BOOST_REQUIRE(!in_flight.write_and_sync(f.disk));
    BOOST_REQUIRE(!f.r->write_queued());
    BOOST_TEST(f.disk.durable_last_index() == 4u);
    // The commit index goes with the hard state, for the next start.
    BOOST_TEST(f.disk.durable_hard_state().commit == f.r->raft().commit_length());
    BOOST_TEST(f.r->raft().commit_length() >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()
