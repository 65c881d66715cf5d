// raftlite-kv snapshots with real processes: a follower that was down while
// the others compacted their logs catches up by InstallSnapshot and then
// serves the same state alone; a restarted peer goes on from its own
// snapshot; a damaged snapshot file keeps the peer from starting, saying
// which file.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

// Small snapshot settings, so that a few thousand entries compact the log.
const std::string small_snapshots = "snapshot_entries = 4000\nsnapshot_keep_entries = 400\n";

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto i = text.find(what); i != std::string::npos; i = text.find(what, i + what.size())) ++n;
    return n;
}

// Polls until `done(status)` holds. Gives up only when the watched peer made
// no progress (its last log index, applied index and snapshot index all
// unchanged) for `patience` polls in a row: a peer that is catching up, how
// slowly the machine lets it, keeps the wait going; one that is stuck ends it.
template <class Done>
std::optional<peer_status> wait_while_progressing(const kv_process_cluster& c, node_id id, Done done,
                                                  int patience = 400) {
    std::uint64_t last_progress = ~std::uint64_t(0);
    int stalled = 0;
    while (stalled < patience) {
        auto s = c.status(id);
        if (s && done(*s)) return s;
        const std::uint64_t progress = s ? s->last_log_index + s->applied + s->snapshot_index : 0;
        if (progress != last_progress) {
            last_progress = progress;
            stalled = 0;
        } else {
            ++stalled;
        }
        std::this_thread::sleep_for(50ms);   // the poll interval, not a synchronization
    }
    return std::nullopt;
}

std::vector<std::filesystem::path> snapshot_files(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("snapshot-", 0) == 0 && e.path().extension() == ".snap") files.push_back(e.path());
    }
    return files;
}

} // namespace

BOOST_AUTO_TEST_SUITE(snapshots)

BOOST_AUTO_TEST_CASE(a_follower_far_behind_catches_up_by_install_snapshot_and_serves_alone) {
    const unsigned seed = std::random_device{}();
    BOOST_TEST_MESSAGE("seed " << seed);
    kv_process_cluster c(3, small_snapshots);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);
    const node_id follower = *leader % 3 + 1;
    BOOST_REQUIRE(c.put("before", "the follower stopped", 20s));
    BOOST_REQUIRE(c.wait_converged());
    BOOST_REQUIRE(c.terminate(follower, 60s) == 0);

    // 40000 writes through the leader from 32 connections, ten snapshot
    // intervals: keys repeat (4000 of them), so the state is much smaller
    // than the log.
    constexpr std::size_t writes = 40000;
    constexpr std::size_t keys = 4000;
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t acked = bulk_put(
        c.kv_port(*leader), writes, 32, [](std::size_t i) { return "k" + std::to_string(i % keys); },
        [seed](std::size_t i) { return "v" + std::to_string(i) + "-" + std::to_string(seed); });
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE(acked << " writes acknowledged in " << took << " s");
    BOOST_REQUIRE(acked == writes);
    const std::string latest = "final-" + std::to_string(seed);
    BOOST_REQUIRE(c.put("latest", latest, 20s));

    // The leader took snapshots and dropped the prefix the follower needs.
    auto ls = c.status(*leader);
    BOOST_REQUIRE(ls);
    BOOST_TEST(ls->snapshots_taken >= 1u);
    BOOST_TEST(ls->snapshot_index >= 4000u);
    BOOST_TEST(ls->log_start > 2u);   // the follower's log ends around entry 2
    BOOST_TEST(ls->log_entries == ls->last_log_index - ls->log_start + 1);
    BOOST_TEST(ls->log_entries < writes);

    const std::size_t restores_before = occurrences(c.log_text(follower), "restoring the snapshot of entries 1..");
    c.start(follower);
    const auto fs = wait_while_progressing(c, follower, [&](const peer_status& s) {
        auto l = c.status(*leader);
        return l && s.snapshots_installed >= 1 && s.state_index == l->state_index && s.applied == l->applied;
    });
    BOOST_REQUIRE_MESSAGE(fs, "n" << follower << " stopped making progress before catching up");
    ls = c.status(*leader);
    BOOST_REQUIRE(ls);
    BOOST_TEST(fs->snapshots_installed >= 1u);
    BOOST_TEST(fs->state_index == ls->state_index);
    BOOST_TEST(fs->digest == ls->digest);
    BOOST_TEST(fs->keys == keys + 2);   // k0..k3999, before, latest
    const std::string log = c.log_text(follower);
    BOOST_TEST(occurrences(log, "restoring the snapshot of entries 1..") > restores_before, log.substr(0, 4000));

    // Alone: the others stopped, no leader, so reads through the log cannot
    // be answered; the stale read serves the follower's own state.
    for (node_id id = 1; id <= 3; ++id)
        if (id != follower) BOOST_REQUIRE(c.terminate(id, 60s) == 0);
    auto r = http_call(c.kv_port(follower), "GET", "/kv/latest?stale=1");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == 200u);
    BOOST_TEST(r->body == latest);
    r = http_call(c.kv_port(follower), "GET", "/kv/before?stale=1");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->body == "the follower stopped");
    const auto alone = c.status(follower);
    BOOST_REQUIRE(alone);
    BOOST_TEST(alone->digest == ls->digest);
}

BOOST_AUTO_TEST_CASE(a_restart_goes_on_from_the_peers_own_snapshot_and_a_damaged_one_stops_it) {
    kv_process_cluster c(3, "snapshot_entries = 200\nsnapshot_keep_entries = 20\n");
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);
    BOOST_REQUIRE(bulk_put(c.kv_port(*leader), 1000, 8, [](std::size_t i) { return "r" + std::to_string(i % 300); },
                           [](std::size_t i) { return std::to_string(i); }) == 1000u);
    BOOST_REQUIRE(c.wait_converged());
    const node_id victim = *leader % 3 + 1;
    // The follower took snapshots of its own (it got no snapshot from the leader).
    const auto before = wait_while_progressing(c, victim, [](const peer_status& s) { return s.snapshots_taken >= 1; });
    BOOST_REQUIRE(before);
    BOOST_TEST(before->snapshots_installed == 0u);
    BOOST_TEST(before->log_start > 1u);
    BOOST_REQUIRE(c.terminate(victim, 60s) == 0);
    BOOST_TEST(occurrences(c.log_text(victim), "restoring the snapshot of entries 1..") == 0u);

    c.start(victim);
    BOOST_REQUIRE(c.wait_converged());
    const std::string log = c.log_text(victim);
    BOOST_TEST(occurrences(log, "restoring the snapshot of entries 1..") == 1u, log);
    BOOST_TEST(occurrences(log, "keys from the snapshot of entries 1..") == 1u, log);   // kv_main's own line
    auto after = c.status(victim);
    BOOST_REQUIRE(after);
    BOOST_TEST(after->snapshots_installed == 0u);   // its own snapshot, not the leader's
    BOOST_TEST(after->keys == 300u);
    BOOST_TEST(after->digest == c.status(*leader)->digest);

    // Damage the newest snapshot file in the middle: the peer refuses to start,
    // with a non-zero status and the file's name.
    BOOST_REQUIRE(c.terminate(victim, 60s) == 0);
    auto files = snapshot_files(c.data_dir(victim));
    BOOST_REQUIRE(!files.empty());
    std::sort(files.begin(), files.end());
    const auto damaged = files.back();
    {
        std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
        const auto size = std::filesystem::file_size(damaged);
        f.seekg(static_cast<std::streamoff>(size / 2));
        char byte = 0;
        f.get(byte);
        f.seekp(static_cast<std::streamoff>(size / 2));
        f.put(static_cast<char>(byte ^ 0x5a));
    }
    const auto run = run_program(staged_program("raftlite-kv"), {"--config", c.config(victim).string()});
    BOOST_TEST(run.status != 0, run.output);
    BOOST_TEST(run.output.find(damaged.filename().string()) != std::string::npos, run.output);
    BOOST_TEST(c.log_text(victim).find(damaged.filename().string()) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
