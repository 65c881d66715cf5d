// raftlite — memory_persister: the contract, the crash model, fault injection.
#include "persister/helpers.hpp"

#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>

#include <boost/test/unit_test.hpp>

using namespace persister_test;

namespace {

persistent_state loaded(memory_persister& p) {
    persistent_state st;
    BOOST_TEST_REQUIRE(!p.load(st));
    return st;
}

} // namespace

BOOST_AUTO_TEST_SUITE(memory_persister_tests)

BOOST_AUTO_TEST_CASE(round_trip_before_any_crash) {
    memory_persister p;
    BOOST_TEST(loaded(p).entries.empty());
    BOOST_TEST(!p.save_hard_state({4, 2}));
    BOOST_TEST(!p.append(make_entries(1, 10, 4)));
    BOOST_TEST(!p.truncate_suffix(8));
    BOOST_TEST(!p.append(make_entries(8, 9, 5)));
    BOOST_TEST(!p.remove_prefix(3, 4));
    BOOST_TEST(p.durable_last_index() == 0u);
    const auto st = loaded(p);   // what was written is visible before any sync
    BOOST_TEST((st.hard == hard_state{4, 2}));
    BOOST_TEST(st.log_start == 3u);
    BOOST_TEST(st.prefix_term == 4u);
    std::vector<log_entry> want = make_entries(3, 7, 4);
    for (auto& e : make_entries(8, 9, 5)) want.push_back(e);
    BOOST_TEST(log_diff(st.entries, want) == "");
    BOOST_TEST(p.last_index() == 9u);
    // ... and load() made it durable (a restart acts on what it read).
    BOOST_TEST(p.durable_last_index() == 9u);
    BOOST_TEST(p.unsynced_ops() == 0u);
}

BOOST_AUTO_TEST_CASE(crash_loses_exactly_what_was_not_synced) {
    memory_persister p;
    BOOST_TEST(!p.save_hard_state({1, 1}));
    BOOST_TEST(!p.append(make_entries(1, 5, 1)));
    BOOST_TEST(!p.sync());
    BOOST_TEST(p.sync_count() == 1u);
    // After the sync: a new term, a truncation, new entries, a compaction.
    BOOST_TEST(!p.save_hard_state({2, 3}));
    BOOST_TEST(!p.truncate_suffix(4));
    BOOST_TEST(!p.append(make_entries(4, 8, 2)));
    BOOST_TEST(!p.remove_prefix(3, 1));
    BOOST_TEST(p.unsynced_ops() == 4u);
    p.crash();
    const auto st = loaded(p);
    BOOST_TEST((st.hard == hard_state{1, 1}));
    BOOST_TEST(st.log_start == 1u);
    BOOST_TEST(log_diff(st.entries, make_entries(1, 5, 1)) == "");
    BOOST_TEST(p.unsynced_ops() == 0u);
    // Synced writes survive a crash.
    BOOST_TEST(!p.save_hard_state({2, 3}));
    BOOST_TEST(!p.append(make_entries(6, 6, 2)));
    BOOST_TEST(!p.sync());
    p.crash();
    BOOST_TEST((loaded(p).hard == hard_state{2, 3}));
    BOOST_TEST(loaded(p).last_index() == 6u);
}

BOOST_AUTO_TEST_CASE(crash_keeping_a_prefix_of_unsynced_writes) {
    memory_persister p;
    BOOST_TEST(!p.append(make_entries(1, 3, 1)));
    BOOST_TEST(!p.sync());
    BOOST_TEST(!p.append(make_entries(4, 4, 1)));   // op 1
    BOOST_TEST(!p.save_hard_state({9, 9}));         // op 2
    BOOST_TEST(!p.append(make_entries(5, 5, 1)));   // op 3
    memory_persister copy = p;                      // an independent copy
    p.crash_keeping(2);
    auto st = loaded(p);
    BOOST_TEST(st.last_index() == 4u);
    BOOST_TEST((st.hard == hard_state{9, 9}));
    // The copy did not crash: it still sees everything.
    BOOST_TEST(copy.last_index() == 5u);
    BOOST_TEST(copy.durable_last_index() == 3u);
    copy.crash_keeping(100);   // more than there are: keeps all
    BOOST_TEST(loaded(copy).last_index() == 5u);
    BOOST_TEST(copy.durable_last_index() == 5u);
}

BOOST_AUTO_TEST_CASE(process_crash_keeps_writes_readable_but_not_durable) {
    memory_persister p;
    BOOST_TEST(!p.save_hard_state({1, 1}));
    BOOST_TEST(!p.append(make_entries(1, 3, 1)));
    BOOST_TEST(!p.sync());
    BOOST_TEST(!p.save_hard_state({2, 2}));
    BOOST_TEST(!p.truncate_suffix(3));
    BOOST_TEST(!p.append(make_entries(3, 6, 2)));
    p.process_crash();
    // The page cache survived: every write is still there ...
    BOOST_TEST(p.last_index() == 6u);
    BOOST_TEST((p.current_hard_state() == hard_state{2, 2}));
    // ... but not durable: a power loss now would still lose it.
    BOOST_TEST(p.unsynced_ops() == 3u);
    BOOST_TEST(p.durable_last_index() == 3u);
    BOOST_TEST((p.durable_hard_state() == hard_state{1, 1}));
    memory_persister no_restart = p;
    no_restart.crash();
    BOOST_TEST(no_restart.last_index() == 3u);
    BOOST_TEST((no_restart.current_hard_state() == hard_state{1, 1}));
}

// The load-time durability rule: a node restarted after a process crash acts
// on what load() returned (it repeats the vote, acknowledges the entries), so
// a power loss after the restart must not take any of it back.
BOOST_AUTO_TEST_CASE(load_after_a_process_crash_makes_what_it_returns_durable) {
    memory_persister p;
    BOOST_TEST(!p.append(make_entries(1, 2, 1)));
    BOOST_TEST(!p.sync());
    BOOST_TEST(!p.save_hard_state({3, 2}));
    BOOST_TEST(!p.append(make_entries(3, 5, 3)));
    BOOST_TEST(!p.remove_prefix(2, 1));
    p.process_crash();
    BOOST_TEST_REQUIRE(p.unsynced_ops() == 3u);   // the check below can fail
    const std::uint64_t syncs = p.sync_count();
    const auto restarted = loaded(p);
    BOOST_TEST(p.unsynced_ops() == 0u);
    BOOST_TEST(p.durable_last_index() == 5u);
    BOOST_TEST(p.sync_count() == syncs);   // load is not a sync() call
    // The restarted node acknowledges one more entry, then the power goes.
    BOOST_TEST(!p.append(make_entries(6, 6, 3)));
    BOOST_TEST(!p.sync());
    BOOST_TEST(!p.append(make_entries(7, 7, 3)));   // never synced
    p.crash();
    const auto after = loaded(p);
    BOOST_TEST((after.hard == restarted.hard));
    BOOST_TEST(after.log_start == 2u);
    BOOST_TEST(after.prefix_term == 1u);
    std::vector<log_entry> want = restarted.entries;
    want.push_back(make_entry(6, 3));
    BOOST_TEST(log_diff(after.entries, want) == "");
}

// Without the rule, the same sequence loses data: a process crash followed
// by a power loss, with no load() (no restart) in between, drops what the
// process had written. This is what load() must prevent once it has
// returned the data to a node.
BOOST_AUTO_TEST_CASE(process_crash_then_power_loss_without_a_restart_loses_unsynced_writes) {
    memory_persister p;
    BOOST_TEST(!p.append(make_entries(1, 2, 1)));
    BOOST_TEST(!p.sync());
    BOOST_TEST(!p.append(make_entries(3, 5, 1)));
    p.process_crash();
    BOOST_TEST(p.last_index() == 5u);
    p.crash();
    BOOST_TEST(loaded(p).last_index() == 2u);
}

BOOST_AUTO_TEST_CASE(process_crash_clears_an_injected_fault) {
    memory_persister p;
    BOOST_TEST(!p.append(make_entries(1, 2, 1)));
    const auto eio = boost::system::errc::make_error_code(boost::system::errc::io_error);
    p.fail_after(0, eio);
    BOOST_TEST((p.sync() == eio));
    BOOST_TEST(p.failed());
    p.process_crash();
    BOOST_TEST(!p.failed());
    BOOST_TEST(p.unsynced_ops() == 1u);   // the failed sync made nothing durable
    BOOST_TEST(loaded(p).last_index() == 2u);
    BOOST_TEST(p.durable_last_index() == 2u);
    BOOST_TEST(!p.append(make_entries(3, 3, 1)));
    BOOST_TEST(!p.sync());
}

BOOST_AUTO_TEST_CASE(same_rules_as_the_file_persister) {
    memory_persister p;
    BOOST_TEST((p.append(make_entries(2, 2, 1)) == boost::system::errc::invalid_argument));
    BOOST_TEST(!p.failed());
    BOOST_TEST(!p.append(make_entries(1, 10, 1)));
    BOOST_TEST(!p.truncate_suffix(20));   // beyond the end: nothing
    BOOST_TEST(p.last_index() == 10u);
    BOOST_TEST(!p.remove_prefix(4, 1));
    BOOST_TEST(!p.truncate_suffix(2));    // below the start: everything
    BOOST_TEST(p.last_index() == 3u);
    BOOST_TEST(p.log_start() == 4u);
    BOOST_TEST(!p.remove_prefix(50, 7));  // past the end
    BOOST_TEST(p.last_index() == 49u);
    BOOST_TEST(!p.append(make_entries(50, 51, 8)));
    const auto st = loaded(p);
    BOOST_TEST(st.log_start == 50u);
    BOOST_TEST(st.prefix_term == 7u);
    BOOST_TEST(log_diff(st.entries, make_entries(50, 51, 8)) == "");
}

BOOST_AUTO_TEST_CASE(injected_fault_latches_failed_state) {
    memory_persister p;
    BOOST_TEST(!p.append(make_entries(1, 2, 1)));
    const auto enospc = boost::system::errc::make_error_code(boost::system::errc::no_space_on_device);
    p.fail_after(2, enospc);
    BOOST_TEST(!p.save_hard_state({1, 1}));   // 1
    BOOST_TEST(!p.append(make_entries(3, 3, 1)));   // 2
    BOOST_TEST((p.sync() == enospc));         // the third fails, with the injected error
    BOOST_TEST(p.failed());
    // Never pretend: everything afterwards fails, sync included.
    BOOST_TEST((p.sync() == errc::storage_failed));
    BOOST_TEST((p.append(make_entries(4, 4, 1)) == errc::storage_failed));
    BOOST_TEST((p.save_hard_state({2, 2}) == errc::storage_failed));
    BOOST_TEST((p.truncate_suffix(1) == errc::storage_failed));
    BOOST_TEST((p.remove_prefix(2, 1) == errc::storage_failed));
    BOOST_TEST(p.last_index() == 3u);   // the refused writes did not take effect
    // The failed sync made nothing durable; a restart loses the unsynced writes.
    p.crash();
    BOOST_TEST(!p.failed());
    BOOST_TEST(loaded(p).last_index() == 0u);
    BOOST_TEST(!p.append(make_entries(1, 1, 1)));
    BOOST_TEST(!p.sync());
}

BOOST_AUTO_TEST_CASE(eio_on_the_first_write) {
    memory_persister p;
    const auto eio = boost::system::errc::make_error_code(boost::system::errc::io_error);
    p.fail_after(0, eio);
    BOOST_TEST((p.append(make_entries(1, 1, 1)) == eio));
    BOOST_TEST(p.last_index() == 0u);
    BOOST_TEST((p.sync() == errc::storage_failed));
}

BOOST_AUTO_TEST_CASE(cheap_for_a_simulator) {
    // Five nodes, thousands of entries, a sync after every few appends and a
    // crash now and then: sync() costs the pending writes, not the log size
    // (this would take minutes if each sync copied the log).
    std::vector<memory_persister> nodes(5);
    std::uint64_t x = 11;
    for (index_t i = 1; i <= 20000; ++i) {
        for (auto& n : nodes) {
            BOOST_TEST_REQUIRE(!n.append({make_entry(n.last_index() + 1, 1)}));
            if (splitmix64(x) % 4 == 0) BOOST_TEST_REQUIRE(!n.sync());
        }
        if (i % 5000 == 0) {
            auto& n = nodes[i / 5000 % 5];
            const index_t durable = n.durable_last_index();
            n.crash();
            BOOST_TEST(n.last_index() == durable);
        }
    }
    memory_persister copy = nodes[0];
    BOOST_TEST(copy.last_index() == nodes[0].last_index());
}

BOOST_AUTO_TEST_SUITE_END()
