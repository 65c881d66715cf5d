// raftlite::runner on its own: the driver order every world relies on.
//
// One runner over a memory_persister, with a host that records what the
// runner asked of its world; disk rounds are deferred (the test completes
// them), so what waits for a sync is visible.
#include "core_test_util.hpp"

#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/runner.hpp>

#include <functional>
#include <optional>
#include <string>

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
    std::vector<outcome> read_outcomes;
    std::size_t election_resets = 0;
    std::optional<bool> heartbeat;
    std::optional<boost::system::error_code> failure;

    std::size_t pending_calls = 0;            // deliveries_pending
    std::vector<std::string> order;   // "restore N" / "deliver N", as they came

    void send(envelope m) override { sent.push_back(std::move(m)); }
    void write_and_sync(disk_round r) override { rounds.push_back(std::move(r)); }
    void deliver(const log_entry& e) override {
        delivered.push_back(e);
        order.push_back("deliver " + std::to_string(e.index));
    }
    void deliveries_pending() override { ++pending_calls; }
    void restore(const snapshot_meta& meta) override {
        restored.push_back(meta);
        order.push_back("restore " + std::to_string(meta.index));
    }
    void take_snapshot(index_t index, term_t term, const membership&) override { snapshot_asks.emplace_back(index, term); }
    std::vector<snapshot_meta> restored;
    std::vector<std::pair<index_t, term_t>> snapshot_asks;
    void broadcast_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        outcomes.push_back({request, ec, index});
    }
    void read_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        read_outcomes.push_back({request, ec, index});
    }
    void membership_done(std::uint64_t request, boost::system::error_code ec, index_t index) override {
        change_outcomes.push_back({request, ec, index});
    }
    void configuration_changed(const membership& m) override {
        configurations.push_back(m);
        sent_before_configuration.push_back(sent.size());
    }
    std::vector<outcome> change_outcomes;
    std::vector<membership> configurations;
    std::vector<std::size_t> sent_before_configuration;   // messages sent when each was reported
    void reset_election_timer() override { ++election_resets; }
    void set_heartbeat(bool on) override { heartbeat = on; }
    void storage_failed(boost::system::error_code ec) override { failure = ec; }
};

// A runner for node `self` of an n-node cluster, loaded and started, with at
// most two disk rounds in flight.
struct fixture {
    explicit fixture(std::size_t n = 3, node_id self = 1, bool inline_sync = false,
                     std::function<void(runner_options&)> tweak = {}) {
        runner_options o;
        o.core = make_config(self, n);
        o.sync_inline = inline_sync;
        o.max_rounds_in_flight = 2;
        if (tweak) tweak(o);
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
    fixture f(3, 1, false, [](runner_options& o) { o.core.pre_vote = false; });
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

// A heartbeat that writes nothing, to a follower whose writes are all synced,
// is answered at once: the answer promises only what is already durable (it
// confirms the leader's read round, thesis §6.4, without a disk round). While
// an earlier write is still syncing, the same answer waits for it.
BOOST_AUTO_TEST_CASE(an_answer_that_promises_only_durable_entries_leaves_at_once) {
    fixture f(3, 2);
    f.r->step(message_received{envelope{1, 2, log_request{1, 0, 0, 0, {make_entry(1, 1, "x")}}}});
    f.complete_round();
    BOOST_REQUIRE_EQUAL(of_type<log_response>(f.host.sent).size(), 1u);

    log_request heartbeat{1, 1, 1, 0, {}};
    heartbeat.read_round = 7;
    f.r->step(message_received{envelope{1, 2, heartbeat}});
    BOOST_TEST(f.host.rounds.empty());
    auto acks = of_type<log_response>(f.host.sent);
    BOOST_REQUIRE_EQUAL(acks.size(), 2u);
    BOOST_TEST(acks[1].second.ack == 1u);
    BOOST_TEST(acks[1].second.read_round == 7u);

    // An append in flight: the next heartbeat's answer (which acknowledges
    // the log as it is then, the unsynced entry included) waits for it.
    f.r->step(message_received{envelope{1, 2, log_request{1, 1, 1, 0, {make_entry(1, 2, "y")}}}});
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 1u);
    heartbeat = log_request{1, 2, 1, 0, {}};
    f.r->step(message_received{envelope{1, 2, heartbeat}});
    BOOST_TEST(of_type<log_response>(f.host.sent).size() == 2u);
    BOOST_TEST(f.r->after_sync_waiting() == 2u);
    f.settle();   // the append's round, then the answer's own (two may be in flight)
    acks = of_type<log_response>(f.host.sent);
    BOOST_REQUIRE_EQUAL(acks.size(), 4u);
    BOOST_TEST(acks[3].second.ack == 2u);
    BOOST_TEST(f.disk.durable_last_index() == 2u);
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

BOOST_AUTO_TEST_CASE(broadcasts_fed_together_share_a_write_and_each_completes) {
    fixture f(1, 1, true);
    f.r->step(election_timeout{});
    BOOST_REQUIRE(f.r->raft().role() == role::leader);
    std::vector<shared_bytes> payloads{make_bytes("a"), make_bytes("b"), make_bytes("c")};
    const std::uint64_t first = f.r->broadcasts(std::move(payloads));
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 3u);
    for (std::uint64_t k = 0; k < 3; ++k) {
        BOOST_TEST(f.host.outcomes[k].request == first + k);   // consecutive ids
        BOOST_TEST(!f.host.outcomes[k].ec);
        BOOST_TEST(f.host.outcomes[k].index == k + 2);
    }
    BOOST_TEST(f.disk.durable_last_index() == 4u);
    // After a stop every one of them is told at once.
    f.r->stop(errc::stopped);
    const std::uint64_t later = f.r->broadcasts({make_bytes("x"), make_bytes("y")});
    BOOST_REQUIRE_EQUAL(f.host.outcomes.size(), 5u);
    BOOST_TEST(f.host.outcomes[3].request == later);
    BOOST_TEST(f.host.outcomes[4].request == later + 1);
    BOOST_TEST(f.host.outcomes[4].ec == make_error_code(errc::stopped));
}

// The forwards a leader takes in one turn leave together when the runner
// carries the turn out (flush ends the core's turn, core::end_turn): one
// log_request per follower holding both.
BOOST_AUTO_TEST_CASE(forwards_fed_together_leave_in_one_log_request_per_follower) {
    fixture f(3, 1, true);
    f.r->step(election_timeout{});
    if (f.r->raft().role() == role::pre_candidate) {
        vote_response yes{f.r->raft().current_term() + 1, true};
        yes.pre_vote = true;
        f.r->step(recv(2, 1, yes));
    }
    f.r->step(recv(2, 1, vote_response{f.r->raft().current_term(), true}));
    BOOST_REQUIRE(f.r->raft().role() == role::leader);
    // Both followers take the no-op: both are replicating.
    const term_t t = f.r->raft().current_term();
    const index_t n = f.r->raft().log().length();
    for (node_id p : {node_id{2}, node_id{3}})
        f.r->step(recv(p, 1, log_response{t, n, true, n - 1}));
    BOOST_REQUIRE_EQUAL(f.r->raft().commit_length(), n);
    const std::size_t sent = f.host.sent.size();
    f.r->feed(recv(2, 1, forward_request{7, n, make_bytes("a")}));
    f.r->feed(recv(3, 1, forward_request{8, n, make_bytes("b")}));
    f.r->flush();
    const std::vector<envelope> after(f.host.sent.begin() + static_cast<std::ptrdiff_t>(sent), f.host.sent.end());
    for (node_id p : {node_id{2}, node_id{3}}) {
        const auto requests = between<log_request>(after, 1, p);
        BOOST_REQUIRE_EQUAL(requests.size(), 1u);
        BOOST_TEST(requests[0].prefix_len == n);
        BOOST_TEST(requests[0].suffix.size() == 2u);
    }
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

// ---- bounded deliveries and snapshots (Raft §7; thesis §5) ----------------------

namespace {

// A one-node leader of term 1 with `n` entries after its no-op committed, in
// one round (so they commit together).
void lead_and_commit(fixture& f, std::size_t n) {
    f.r->step(election_timeout{});
    f.settle();
    BOOST_REQUIRE(f.r->raft().role() == role::leader);
    for (std::size_t k = 0; k < n; ++k) f.r->feed_broadcast(make_bytes("e" + std::to_string(k)));
    f.r->flush();
    f.settle();
}

// The application's side of take_snapshot: write `data` and finish.
snapshot_meta write_snapshot(memory_persister& disk, index_t index, term_t term, const std::string& data,
                             membership members) {
    std::unique_ptr<snapshot_writer> w;
    BOOST_REQUIRE(!disk.begin_snapshot(index, term, std::move(members), w));
    BOOST_REQUIRE(!w->write(data));
    snapshot_meta meta;
    BOOST_REQUIRE(!w->finish(meta));
    return meta;
}

} // namespace

// A long catch-up is handed over a bounded number of entries per call, so
// timers and messages get their turns in between; the rest follows, in order,
// on resume_deliveries.
BOOST_AUTO_TEST_CASE(bounded_deliveries_per_turn_resume_in_order) {
    fixture f(1, 1, false, [](runner_options& o) { o.max_deliveries_per_turn = 2; });
    f.r->step(election_timeout{});
    f.settle();
    BOOST_REQUIRE_EQUAL(f.host.delivered.size(), 1u);   // the no-op
    for (int k = 0; k < 5; ++k) f.r->feed_broadcast(make_bytes("x" + std::to_string(k)));
    f.r->flush();
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 1u);   // one round: the five commit together
    f.complete_round();
    BOOST_TEST(indexes_of(f.host.delivered) == (std::vector<index_t>{1, 2, 3}), boost::test_tools::per_element());
    BOOST_TEST(f.host.pending_calls == 1u);
    BOOST_TEST(f.r->deliveries_waiting() == 3u);
    BOOST_TEST(f.r->applied() == 3u);
    f.r->resume_deliveries();
    BOOST_TEST(indexes_of(f.host.delivered) == (std::vector<index_t>{1, 2, 3, 4, 5}),
               boost::test_tools::per_element());
    BOOST_TEST(f.host.pending_calls == 2u);
    f.r->resume_deliveries();
    BOOST_TEST(indexes_of(f.host.delivered) == (std::vector<index_t>{1, 2, 3, 4, 5, 6}),
               boost::test_tools::per_element());
    BOOST_TEST(f.host.pending_calls == 2u);   // nothing waits any more
    BOOST_TEST(f.r->deliveries_waiting() == 0u);
    BOOST_TEST(f.host.delivered.back().data() == "x4");
}

// The application snapshots what it has applied; the prefix goes only once
// the snapshot is durable, and in the same round as the snapshot becomes
// current (use_snapshot before remove_prefix: §7), keeping log_keep_entries.
BOOST_AUTO_TEST_CASE(a_finished_snapshot_compacts_the_log_in_the_next_round) {
    fixture f(1, 1, false, [](runner_options& o) { o.core.log_keep_entries = 2; });
    lead_and_commit(f, 4);   // entries 1 (no-op) .. 5
    BOOST_REQUIRE_EQUAL(f.r->applied(), 5u);
    BOOST_REQUIRE(f.r->request_snapshot());
    BOOST_REQUIRE_EQUAL(f.host.snapshot_asks.size(), 1u);
    BOOST_TEST(f.host.snapshot_asks[0].first == 5u);
    BOOST_TEST(f.host.snapshot_asks[0].second == 1u);
    BOOST_TEST(f.r->snapshot_in_progress());
    BOOST_TEST(!f.r->request_snapshot());   // one at a time
    // Nothing is dropped while the application writes.
    BOOST_TEST(f.host.rounds.empty());
    BOOST_TEST(f.disk.log_start() == 1u);
    const snapshot_meta meta = write_snapshot(f.disk, 5, 1, "state at 5", f.r->raft().config().members);
    f.r->snapshot_done(meta, {});
    BOOST_TEST(!f.r->snapshot_in_progress());
    BOOST_TEST(f.r->snapshots_taken() == 1u);
    BOOST_REQUIRE_EQUAL(f.host.rounds.size(), 1u);
    const write_batch& b = f.host.rounds[0].batches().back();
    BOOST_REQUIRE(b.use_snapshot.has_value());
    BOOST_TEST((*b.use_snapshot == meta));
    BOOST_REQUIRE(b.remove_prefix.has_value());
    BOOST_TEST(b.remove_prefix->first == 4u);   // entries 4 and 5 stay (log_keep_entries 2)
    BOOST_TEST(b.remove_prefix->second == 1u);
    BOOST_TEST(f.r->raft().log().start() == 4u);
    BOOST_TEST(f.r->raft().snapshot().index == 5u);
    BOOST_TEST(f.disk.log_start() == 1u);   // not written yet
    f.complete_round();
    BOOST_TEST(f.disk.log_start() == 4u);
    BOOST_REQUIRE(f.disk.durable_state().snapshot.has_value());
    BOOST_TEST((*f.disk.durable_state().snapshot == meta));
    BOOST_TEST(f.disk.durable_state().log_start == 4u);
}

// A snapshot the application failed to write changes nothing; it is asked
// for again after as many more entries.
BOOST_AUTO_TEST_CASE(a_failed_snapshot_changes_nothing) {
    fixture f(1);
    lead_and_commit(f, 2);
    BOOST_REQUIRE(f.r->request_snapshot());
    f.r->snapshot_done(snapshot_meta{}, make_error_code(errc::storage_failed));
    BOOST_TEST(!f.r->snapshot_in_progress());
    BOOST_TEST(f.host.rounds.empty());
    BOOST_TEST(f.r->raft().snapshot().index == 0u);
    BOOST_TEST(f.r->running());
}

// A restart restores the newest snapshot first and delivers only the
// committed entries after it, though the log still holds some before it.
BOOST_AUTO_TEST_CASE(a_restart_restores_the_snapshot_then_delivers_what_follows) {
    memory_persister disk;
    snapshot_meta meta;
    {
        fixture f(1, 1, false, [](runner_options& o) { o.core.log_keep_entries = 2; });
        lead_and_commit(f, 5);   // 1 .. 6
        BOOST_REQUIRE(f.r->request_snapshot());
        meta = write_snapshot(f.disk, 6, 1, "state at 6", f.r->raft().config().members);
        f.r->snapshot_done(meta, {});
        f.settle();
        f.r->broadcast(make_bytes("after 1"));
        f.r->broadcast(make_bytes("after 2"));
        f.settle();
        BOOST_REQUIRE_EQUAL(f.r->applied(), 8u);
        BOOST_REQUIRE_EQUAL(f.disk.durable_state().log_start, 5u);   // entries 5 and 6 kept below the snapshot
        disk = f.disk;
    }
    disk.crash();   // power loss: everything above was synced
    recording_host host;
    runner_options o;
    o.core = make_config(1, 1);
    o.core.log_keep_entries = 2;
    runner r(std::move(o), disk, host);
    BOOST_REQUIRE(!r.load());
    r.start();
    BOOST_REQUIRE_EQUAL(host.restored.size(), 1u);
    BOOST_TEST((host.restored[0] == meta));
    // The state machine can read it back.
    std::string data;
    BOOST_TEST(!disk.read_snapshot(meta, 0, meta.size, data));
    BOOST_TEST(data == "state at 6");
    // Leading again commits 7, 8 and the new no-op: delivered after the restore.
    r.step(election_timeout{});
    while (!host.rounds.empty()) {
        disk_round round = std::move(host.rounds.front());
        host.rounds.erase(host.rounds.begin());
        const auto ec = round.write_and_sync(disk);
        r.disk_round_done(std::move(round), ec);
    }
    BOOST_REQUIRE(r.raft().role() == role::leader);
    const std::vector<std::string> expected{"restore 6", "deliver 7", "deliver 8", "deliver 9"};
    BOOST_TEST(host.order == expected, boost::test_tools::per_element());
    BOOST_TEST(host.delivered[0].data() == "after 1");
}

// A received snapshot whose data does not match what the leader announced
// (size and CRC-32C) is not installed: the follower asks for it from the
// start again (next_offset 0), once the answer's term is durable (§5.1).
BOOST_AUTO_TEST_CASE(a_received_snapshot_that_fails_its_checksum_is_asked_for_again) {
    fixture f(3, 2);
    memory_persister leader_disk;
    snapshot_meta meta = write_snapshot(leader_disk, 5, 1, "leader state", {1, 2, 3});
    const std::string data = "leader stati";   // damaged in transit: same size, another CRC
    install_snapshot m{1, meta, 0, make_bytes(data), true};
    f.r->step(message_received{envelope{1, 2, m}});
    f.settle();
    BOOST_TEST(f.host.restored.empty());
    BOOST_TEST(f.r->snapshots_installed() == 0u);
    BOOST_TEST(!f.disk.current_snapshot().has_value());
    auto answers = of_type<install_snapshot_response>(f.host.sent);
    BOOST_REQUIRE(!answers.empty());
    BOOST_TEST(answers.back().second.next_offset == 0u);
    BOOST_TEST(!answers.back().second.installed);
    BOOST_TEST(answers.back().second.index == 5u);
    // The leader starts over with the right data: installed and restored.
    install_snapshot again{1, meta, 0, make_bytes("leader state"), true};
    f.r->step(message_received{envelope{1, 2, again}});
    f.settle();
    BOOST_TEST(f.r->snapshots_installed() == 1u);
    BOOST_REQUIRE_EQUAL(f.host.restored.size(), 1u);
    BOOST_TEST((f.host.restored[0] == meta));
    answers = of_type<install_snapshot_response>(f.host.sent);
    BOOST_TEST(answers.back().second.installed);
    BOOST_TEST(f.r->raft().log().start() == 6u);
}

// ---- membership changes -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_host_learns_the_configuration_at_start_and_before_the_messages_to_a_new_server) {
    fixture f(1, 1, true);
    f.r->step(election_timeout{});
    BOOST_REQUIRE(f.r->raft().role() == role::leader);
    BOOST_REQUIRE_EQUAL(f.host.configurations.size(), 1u);   // at start: the bootstrap one
    BOOST_TEST((f.host.configurations[0] == membership{1}));
    const std::size_t sent = f.host.sent.size();
    const auto request = f.r->change_membership({membership_change::action::add_learner, member{2, false, "h:1", {}}});
    BOOST_REQUIRE_EQUAL(f.host.configurations.size(), 2u);
    BOOST_TEST(f.host.configurations[1].contains(2));
    // Told before the first message to server 2 left (a transport must know it first).
    BOOST_TEST(f.host.sent_before_configuration[1] == sent);
    BOOST_TEST(f.host.sent.size() > sent);
    // One voter: committed once durable (inline here), the learner does not count.
    BOOST_REQUIRE_EQUAL(f.host.change_outcomes.size(), 1u);
    BOOST_TEST(f.host.change_outcomes[0].request == request);
    BOOST_TEST(!f.host.change_outcomes[0].ec);
    BOOST_TEST(f.host.change_outcomes[0].index == f.r->raft().configuration_index());
}

BOOST_AUTO_TEST_CASE(a_follower_answers_not_leader_and_an_abandoned_change_is_reported_once) {
    fixture f;
    f.r->change_membership({membership_change::action::remove, member{3, true, {}, {}}});
    BOOST_REQUIRE_EQUAL(f.host.change_outcomes.size(), 1u);
    BOOST_TEST((f.host.change_outcomes[0].ec == errc::not_leader));

    fixture g(1, 1, true);
    g.r->step(election_timeout{});
    g.r->set_sync_inline(false);
    const auto request = g.r->change_membership({membership_change::action::add_learner, member{2, false, {}, {}}});
    BOOST_TEST(g.host.change_outcomes.empty());   // waits for its sync
    g.r->abandon_change(request, errc::timed_out);
    BOOST_REQUIRE_EQUAL(g.host.change_outcomes.size(), 1u);
    BOOST_TEST((g.host.change_outcomes[0].ec == errc::timed_out));
    g.settle();
    BOOST_TEST(g.host.change_outcomes.size() == 1u);   // the later commit is not reported
    BOOST_TEST(g.r->raft().configuration().contains(2));
}

BOOST_AUTO_TEST_CASE(a_stopped_runner_fails_changes_with_its_reason) {
    fixture f(1, 1, false);
    f.r->step(election_timeout{});
    f.settle();
    const auto pending = f.r->change_membership({membership_change::action::add_learner, member{2, false, {}, {}}});
    f.r->stop(errc::stopped);
    const auto after = f.r->change_membership({membership_change::action::add_learner, member{3, false, {}, {}}});
    BOOST_REQUIRE_EQUAL(f.host.change_outcomes.size(), 2u);
    BOOST_TEST(f.host.change_outcomes[0].request == pending);
    BOOST_TEST((f.host.change_outcomes[0].ec == errc::stopped));
    BOOST_TEST(f.host.change_outcomes[1].request == after);
    BOOST_TEST((f.host.change_outcomes[1].ec == errc::stopped));
}

BOOST_AUTO_TEST_CASE(a_snapshot_is_taken_with_the_configuration_of_its_index) {
    fixture f(1, 1, true);
    f.r->step(election_timeout{});
    f.r->change_membership({membership_change::action::add_learner, member{2, false, "h:2", "i"}});
    BOOST_REQUIRE(f.r->request_snapshot());
    BOOST_REQUIRE_EQUAL(f.host.snapshot_asks.size(), 1u);
    const membership expected = f.r->raft().configuration();
    BOOST_TEST(expected.contains(2));
    // The application writes the snapshot with what it was given; the core
    // refuses one carrying another configuration than its index's.
    const snapshot_meta bad = write_snapshot(f.disk, f.host.snapshot_asks[0].first, f.host.snapshot_asks[0].second,
                                             "state", membership{1});
    BOOST_CHECK_THROW(f.r->snapshot_done(bad, {}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
