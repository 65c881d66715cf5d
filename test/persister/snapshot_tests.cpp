// raftlite — snapshots in file_persister and memory_persister (Raft §7;
// thesis §5): round trips, crashes at every step, damaged snapshot files,
// the log reconciled with the snapshot at load, hard_state's commit index.
#include "persister/helpers.hpp"
#include "persister/power_loss_io.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>
#include <raftlite/memory_persister.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <thread>

using namespace persister_test;
namespace fmt = raftlite::detail;

namespace {

// Deterministic application data of `size` bytes, different for each seed.
std::string app_data(std::size_t size, std::uint64_t seed) {
    std::string s;
    s.reserve(size);
    std::uint64_t x = seed;
    while (s.size() < size) {
        const std::uint64_t r = splitmix64(x);
        for (int k = 0; k < 8 && s.size() < size; ++k) s.push_back(static_cast<char>(r >> (8 * k)));
    }
    return s;
}

// Writes `data` into a new snapshot in pieces of varied sizes and finishes it.
snapshot_meta write_snapshot(persister& p, index_t index, term_t term, const std::string& data,
                             membership members = {1, 2, 3}) {
    std::unique_ptr<snapshot_writer> w;
    const auto ec = p.begin_snapshot(index, term, members, w);
    BOOST_TEST_REQUIRE(!ec, "begin_snapshot: " << ec.message());
    std::size_t pos = 0, piece = 1;
    while (pos < data.size()) {
        const std::size_t n = std::min(piece, data.size() - pos);
        BOOST_TEST_REQUIRE(!w->write(std::string_view(data).substr(pos, n)));
        pos += n;
        piece = piece * 7 + 3;   // 1, 10, 73, ... up past the writer's buffer
    }
    snapshot_meta meta;
    BOOST_TEST_REQUIRE(!w->finish(meta));
    BOOST_TEST(meta.index == index);
    BOOST_TEST(meta.term == term);
    BOOST_TEST((meta.members == members));
    BOOST_TEST(meta.size == data.size());
    BOOST_TEST(meta.crc == fmt::crc32c(data.data(), data.size()));
    return meta;
}

// All of a snapshot's data, read back in chunks of `chunk` bytes.
std::string read_all(const persister& p, const snapshot_meta& meta, std::size_t chunk = 100000) {
    std::string all, part;
    for (std::uint64_t off = 0; off < meta.size; off += part.size()) {
        const auto ec = p.read_snapshot(meta, off, chunk, part);
        BOOST_TEST_REQUIRE(!ec, "read_snapshot: " << ec.message());
        BOOST_TEST_REQUIRE(!part.empty());
        all += part;
    }
    BOOST_TEST_REQUIRE(!p.read_snapshot(meta, meta.size, chunk, part));
    BOOST_TEST(part.empty());
    return all;
}

struct load_result {
    boost::system::error_code ec;
    persistent_state st;
    std::string message;
    std::vector<std::string> warnings;
};

load_result try_load(const std::string& dir) {
    counting_options co;
    file_persister p(dir, co.make());
    load_result r;
    r.ec = p.load(r.st);
    r.message = p.last_error_message();
    r.warnings = *co.warnings;
    return r;
}

std::unique_ptr<file_persister> open_loaded(const std::string& dir, persistent_state& st,
                                            file_persister_options o = counting_options{}.make()) {
    auto p = std::make_unique<file_persister>(dir, std::move(o));
    const auto ec = p->load(st);
    BOOST_TEST_REQUIRE(!ec, "load " << dir << ": " << ec.message() << " — " << p->last_error_message());
    return p;
}

std::vector<std::string> files_ending(const std::string& dir, const std::string& suffix) {
    std::vector<std::string> v;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
            v.push_back(n);
    }
    std::sort(v.begin(), v.end());
    return v;
}

// A directory with entries 1..20 (term 2) and snapshot 10 in use, its
// prefix 1..5 removed; returns snapshot 10's meta.
snapshot_meta make_snapshotted_dir(const std::string& dir, const std::string& data) {
    persistent_state st;
    auto p = open_loaded(dir, st);
    BOOST_TEST_REQUIRE(!p->save_hard_state({2, 1, 12}));
    BOOST_TEST_REQUIRE(!p->append(make_entries(1, 20, 2)));
    BOOST_TEST_REQUIRE(!p->sync());
    const auto meta = write_snapshot(*p, 10, 2, data);
    BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
    BOOST_TEST_REQUIRE(!p->remove_prefix(6, 2));
    BOOST_TEST_REQUIRE(!p->sync());
    return meta;
}

// A snapshot trailer as version 1 wrote it (commit 0c7e762's
// encode_snapshot_trailer): the voters as u64s, then the footer with version
// 1 and the voter count, its checksum over the voters and footer bytes 0..43.
std::string v1_trailer(const snapshot_meta& meta, const std::vector<node_id>& voters) {
    const std::size_t n = voters.size();
    std::string out(8 * n + fmt::snapshot_footer_size, '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    for (std::size_t i = 0; i < n; ++i) fmt::put_u64(p + 8 * i, voters[i]);
    unsigned char* f = p + 8 * n;
    std::memcpy(f, fmt::snapshot_magic.data(), 8);
    fmt::put_u32(f + 8, 1);
    fmt::put_u32(f + 12, static_cast<std::uint32_t>(n));
    fmt::put_u64(f + 16, meta.index);
    fmt::put_u64(f + 24, meta.term);
    fmt::put_u64(f + 32, meta.size);
    fmt::put_u32(f + 40, meta.crc);
    fmt::put_u32(f + 44, fmt::crc32c(p, 8 * n + 44));
    return out;
}

// A version 2 trailer around arbitrary configuration bytes, with a correct
// checksum: what a writer with a bug (or a forger) could leave, which only
// the configuration's own decoding can refuse.
std::string v2_trailer(const snapshot_meta& meta, const std::string& config, std::uint32_t version = 2) {
    const std::size_t n = config.size();
    std::string out = config + std::string(fmt::snapshot_footer_size, '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    unsigned char* f = p + n;
    std::memcpy(f, fmt::snapshot_magic.data(), 8);
    fmt::put_u32(f + 8, version);
    fmt::put_u32(f + 12, static_cast<std::uint32_t>(n));
    fmt::put_u64(f + 16, meta.index);
    fmt::put_u64(f + 24, meta.term);
    fmt::put_u64(f + 32, meta.size);
    fmt::put_u32(f + 40, meta.crc);
    fmt::put_u32(f + 44, fmt::crc32c(p, n + 44));
    return out;
}

// Recomputes the footer checksum of a whole snapshot file whose
// configuration is `config_bytes` long.
void reseal(std::string& file, std::size_t data_size, std::size_t config_bytes) {
    auto* p = reinterpret_cast<unsigned char*>(file.data()) + data_size;
    fmt::put_u32(p + config_bytes + 44, fmt::crc32c(p, config_bytes + 44));
}

} // namespace

BOOST_AUTO_TEST_SUITE(snapshots)

BOOST_AUTO_TEST_CASE(round_trip) {
    temp_dir tmp;
    const std::string data = app_data(3u << 20, 7);   // several times the writer's 1 MiB buffer
    snapshot_meta meta;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST(!st.snapshot);
        BOOST_TEST(!p->current_snapshot());
        BOOST_TEST_REQUIRE(!p->save_hard_state({2, 1, 15}));
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 20, 2)));
        BOOST_TEST_REQUIRE(!p->sync());
        meta = write_snapshot(*p, 15, 2, data, {1, 2, 5});
        BOOST_TEST(files_ending(tmp.path(), ".tmp").empty());
        BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
        BOOST_TEST((p->current_snapshot() == meta));
        // Keep a tail before the snapshot (entries 11..15) for slow followers.
        BOOST_TEST_REQUIRE(!p->remove_prefix(11, 2));
        BOOST_TEST_REQUIRE(!p->sync());
        BOOST_TEST(read_all(*p, meta) == data);
    }
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    BOOST_TEST_REQUIRE(st.snapshot.has_value());
    BOOST_TEST((*st.snapshot == meta));
    BOOST_TEST((p->current_snapshot() == meta));
    BOOST_TEST((st.hard == hard_state{2, 1, 15}));
    BOOST_TEST(st.log_start == 11u);
    BOOST_TEST(st.prefix_term == 2u);
    BOOST_TEST(log_diff(st.entries, make_entries(11, 20, 2)) == "");
    BOOST_TEST(read_all(*p, meta, 4096) == data);
    std::string part;
    BOOST_TEST_REQUIRE(!p->read_snapshot(meta, 1000, 10, part));
    BOOST_TEST(part == data.substr(1000, 10));
    // The next snapshot replaces it; the log goes on.
    BOOST_TEST_REQUIRE(!p->append(make_entries(21, 30, 3)));
    const std::string data2 = app_data(1000, 8);
    const auto meta2 = write_snapshot(*p, 25, 3, data2);
    BOOST_TEST_REQUIRE(!p->use_snapshot(meta2));
    BOOST_TEST_REQUIRE(!p->remove_prefix(26, 3));
    BOOST_TEST_REQUIRE(!p->sync());
    BOOST_TEST((files_ending(tmp.path(), ".snap") == std::vector<std::string>{fmt::snapshot_file_name(25, 3)}));
    p.reset();
    const auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST((*r.st.snapshot == meta2));
    BOOST_TEST(log_diff(r.st.entries, make_entries(26, 30, 3)) == "");
}

BOOST_AUTO_TEST_CASE(empty_snapshot_and_no_members) {
    temp_dir tmp;
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    BOOST_TEST_REQUIRE(!p->append(make_entries(1, 3, 1)));
    const auto meta = write_snapshot(*p, 3, 1, "", {});
    BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
    BOOST_TEST_REQUIRE(!p->sync());
    p.reset();
    const auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST((*r.st.snapshot == meta));
    BOOST_TEST(r.st.entries.size() == 3u);
}

BOOST_AUTO_TEST_CASE(snapshot_index_zero_is_refused) {
    temp_dir tmp;
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    std::unique_ptr<snapshot_writer> w;
    BOOST_TEST(p->begin_snapshot(0, 0, {1}, w));
    BOOST_TEST(!w);
}

// A crash (process, then power) at each step of taking snapshot 15 over a
// directory with snapshot 10 and entries 6..20: the restart has the old
// snapshot and the longer log or the new one and the shorter log, and in
// either case every entry 1..20 is in the snapshot or in the log.
BOOST_AUTO_TEST_CASE(crash_at_each_step) {
    const std::string old_data = app_data(5000, 1), new_data = app_data(70000, 2);
    for (int step = 0; step < 5; ++step) {
        for (bool power : {false, true}) {
            BOOST_TEST_CONTEXT("step " << step << (power ? ", power loss" : ", process crash")) {
                temp_dir tmp;
                const std::string dir = tmp / "data";
                const auto old_meta = make_snapshotted_dir(dir, old_data);
                auto io = std::make_shared<power_loss_io>(tmp.path());
                snapshot_meta new_meta;
                {
                    file_persister_options o = counting_options{}.make();
                    o.io = io;
                    persistent_state st;
                    auto p = open_loaded(dir, st, o);
                    std::unique_ptr<snapshot_writer> w;
                    BOOST_TEST_REQUIRE(!p->begin_snapshot(15, 2, {1, 2, 3}, w));
                    BOOST_TEST_REQUIRE(!w->write(new_data));
                    if (step >= 1) BOOST_TEST_REQUIRE(!w->finish(new_meta));
                    if (step >= 2) BOOST_TEST_REQUIRE(!p->use_snapshot(new_meta));
                    if (step >= 3) BOOST_TEST_REQUIRE(!p->remove_prefix(16, 2));
                    if (step >= 4) BOOST_TEST_REQUIRE(!p->sync());
                    if (step == 0) {
                        // The process dies with the writer unfinished. Its
                        // destructor removes the .tmp, a crash would not:
                        // put back what the page cache would still hold
                        // (a power loss takes it anyway: never synced).
                        const auto temps = files_ending(dir, ".tmp");
                        BOOST_TEST_REQUIRE(temps.size() == 1u);
                        const std::string left = read_file(dir + "/" + temps[0]);
                        w.reset();
                        p.reset();
                        if (!power) write_file(dir + "/" + temps[0], left);
                    }
                }
                if (power) io->power_loss();
                const auto r = try_load(dir);
                BOOST_TEST_REQUIRE(!r.ec, r.message);
                BOOST_TEST_REQUIRE(r.st.snapshot.has_value());
                const bool is_new = r.st.snapshot->index == 15;
                if (is_new) {
                    BOOST_TEST((*r.st.snapshot == new_meta));
                    BOOST_TEST(step >= 1);
                } else {
                    BOOST_TEST((*r.st.snapshot == old_meta));
                    BOOST_TEST(step < 1);   // a finished snapshot is durable
                }
                // No mix that loses entries: the log continues the snapshot
                // and reaches 20.
                BOOST_TEST(r.st.log_start <= r.st.snapshot->index + 1);
                BOOST_TEST(r.st.last_index() == 20u);
                for (const auto& e : r.st.entries) BOOST_TEST(self_check(e) == "");
                BOOST_TEST(r.st.log_start == (step >= 3 ? 16u : 6u));
                // Only the snapshot loaded is left, and no temporary file.
                BOOST_TEST((files_ending(dir, ".snap") ==
                            std::vector<std::string>{fmt::snapshot_file_name(r.st.snapshot->index, 2)}));
                BOOST_TEST(files_ending(dir, ".tmp").empty());
                persistent_state st;
                auto p = open_loaded(dir, st);
                BOOST_TEST(read_all(*p, *st.snapshot) == (is_new ? new_data : old_data));
            }
        }
    }
}

// Power loss right after load() returned: whatever it returned survives
// (load syncs the snapshot and the reconciled log).
BOOST_AUTO_TEST_CASE(load_makes_the_snapshot_and_reconciled_log_durable) {
    temp_dir tmp;
    const std::string dir = tmp / "data";
    auto io = std::make_shared<power_loss_io>(tmp.path());
    {
        file_persister_options o = counting_options{}.make();
        o.io = io;
        persistent_state st;
        auto p = open_loaded(dir, st, o);
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 8, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
        // A snapshot from a leader of term 3 that the log disagrees with.
        write_snapshot(*p, 6, 3, app_data(300, 3));
    }
    persistent_state first;
    {
        file_persister_options o = counting_options{}.make();
        o.io = io;
        open_loaded(dir, first, o);
    }
    BOOST_TEST(io->unsynced().empty());
    io->power_loss();
    const auto r = try_load(dir);
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST(state_diff(r.st, first) == "");
    BOOST_TEST((r.st.snapshot == first.snapshot));
    BOOST_TEST(r.st.log_start == 7u);
    BOOST_TEST(r.st.entries.empty());
}

BOOST_AUTO_TEST_CASE(damaged_snapshot_files_are_refused) {
    const std::string data = app_data(2000, 4);
    const std::size_t config = encode_membership(membership{1, 2, 3}).size();   // 1 + 8 + 3 * 25
    BOOST_TEST_REQUIRE(config == 84u);
    for (int damage = 0; damage < 10; ++damage) {
        BOOST_TEST_CONTEXT("damage " << damage) {
            temp_dir tmp;
            make_snapshotted_dir(tmp.path(), data);
            const std::string name = fmt::snapshot_file_name(10, 2);
            const std::string good = read_file(tmp / name);
            BOOST_TEST_REQUIRE(good.size() == data.size() + config + fmt::snapshot_footer_size);
            std::string bad = good;
            const std::size_t footer = data.size() + config;
            switch (damage) {
            case 0: bad[5] ^= 0x10; break;                          // data
            case 1: bad[data.size() - 1] ^= 0x01; break;            // last data byte
            case 2: bad[data.size() + 3] ^= 0x04; break;            // the member count
            case 3: bad[bad.size() - 30] ^= 0x80; break;            // footer (index)
            case 4: bad.pop_back(); break;                          // truncated by a byte
            case 5: bad.resize(20); break;                          // shorter than a footer
            case 6: bad[data.size() + 9 + 25 + 8] ^= 0x01; break;   // the second member's voter flag
            case 7: bad[footer - 1] ^= 0x20; break;                 // last configuration byte
            case 8: bad[footer + 12] ^= 0x01; break;                // configuration length field
            case 9: bad[footer + 8] ^= 0x01; break;                 // version field (2 to 3: unknown)
            }
            write_file(tmp / name, bad);
            const auto before = snapshot_dir(tmp.path());
            const auto r = try_load(tmp.path());
            BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
            BOOST_TEST(r.message.find(name) != std::string::npos, r.message);
            BOOST_TEST((snapshot_dir(tmp.path()) == before));   // nothing touched
        }
    }
}

BOOST_AUTO_TEST_CASE(snapshot_file_layout_is_format_2) {
    // data, encode_membership's bytes, the 48-byte footer: version 2, the
    // configuration's length in the members field, the checksum over the
    // configuration and footer bytes 0..43. Learners, addresses and info
    // survive a restart.
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
    const membership members(std::vector<member>{
        {7, true, "node-7.example:9000", "kv=http://node-7:8080"}, {2, false, "", every_byte}, {3, true, every_byte, ""}});
    const std::string data = app_data(777, 11);
    temp_dir tmp;
    snapshot_meta meta;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 4, 1)));
        meta = write_snapshot(*p, 4, 1, data, members);
        BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
        BOOST_TEST_REQUIRE(!p->sync());
    }
    const std::string file = read_file(tmp / fmt::snapshot_file_name(4, 1));
    const std::string config = encode_membership(members);
    BOOST_TEST_REQUIRE(file.size() == data.size() + config.size() + fmt::snapshot_footer_size);
    BOOST_TEST(file.substr(0, data.size()) == data);
    BOOST_TEST(file.substr(data.size(), config.size()) == config);
    BOOST_TEST(file.substr(data.size() + config.size()) == fmt::encode_snapshot_trailer(meta).substr(config.size()));
    BOOST_TEST((file.substr(data.size()) == v2_trailer(meta, config)));
    const auto* f = reinterpret_cast<const unsigned char*>(file.data()) + data.size() + config.size();
    BOOST_TEST(fmt::get_u32(f + 8) == 2u);
    BOOST_TEST(fmt::get_u32(f + 12) == config.size());
    const auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST_REQUIRE(r.st.snapshot.has_value());
    BOOST_TEST((r.st.snapshot->members == members));
    BOOST_TEST(!r.st.snapshot->members.is_voter(2));
    BOOST_TEST(r.st.snapshot->members.find(7)->info == "kv=http://node-7:8080");
}

BOOST_AUTO_TEST_CASE(version_1_snapshot_files_still_load) {
    // A file as version 1 wrote it (the voters as u64s, in the order the
    // writer had them) loads with those voters, all voters, no addresses.
    const std::string data = app_data(3000, 12);
    struct v1_case {
        const char* what;
        std::vector<node_id> voters;
        membership want;
    };
    const v1_case cases[] = {
        {"three voters", {1, 2, 3}, membership{1, 2, 3}},
        {"unordered", {9, 4, 6, 1}, membership{1, 4, 6, 9}},
        {"one voter at the top id", {std::numeric_limits<node_id>::max()}, membership{std::numeric_limits<node_id>::max()}},
        {"no voters", {}, membership{}},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            temp_dir tmp;
            const auto meta = make_snapshotted_dir(tmp.path(), data);
            const std::string name = fmt::snapshot_file_name(10, 2);
            write_file(tmp / name, data + v1_trailer(meta, c.voters));
            const auto r = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r.ec, r.message);
            BOOST_TEST_REQUIRE(r.st.snapshot.has_value());
            BOOST_TEST(r.st.snapshot->index == 10u);
            BOOST_TEST(r.st.snapshot->term == 2u);
            BOOST_TEST(r.st.snapshot->size == data.size());
            BOOST_TEST(r.st.snapshot->crc == fmt::crc32c(data.data(), data.size()));
            BOOST_TEST((r.st.snapshot->members == c.want));
            BOOST_TEST(r.st.snapshot->members.voter_count() == c.want.size());
            for (const member& m : r.st.snapshot->members.members()) {
                BOOST_TEST(m.address.empty());
                BOOST_TEST(m.info.empty());
            }
            BOOST_TEST(log_diff(r.st.entries, make_entries(6, 20, 2)) == "");
            persistent_state st;
            auto p = open_loaded(tmp.path(), st);
            BOOST_TEST(read_all(*p, *st.snapshot, 1000) == data);
            // The next snapshot is written in format 2 beside it.
            BOOST_TEST_REQUIRE(!p->append(make_entries(21, 22, 3)));
            const auto meta2 = write_snapshot(*p, 22, 3, "next", c.want);
            BOOST_TEST_REQUIRE(!p->use_snapshot(meta2));
            BOOST_TEST_REQUIRE(!p->sync());
            p.reset();
            const std::string file2 = read_file(tmp / fmt::snapshot_file_name(22, 3));
            BOOST_TEST(fmt::get_u32(reinterpret_cast<const unsigned char*>(file2.data()) + file2.size() - 40) == 2u);
            const auto r2 = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r2.ec, r2.message);
            BOOST_TEST((r2.st.snapshot->members == c.want));
        }
    }
}

BOOST_AUTO_TEST_CASE(damaged_version_1_snapshot_files_are_refused) {
    const std::string data = app_data(500, 13);
    struct bad_case {
        const char* what;
        std::function<std::string(const snapshot_meta&)> file;
        const char* why;
    };
    const bad_case cases[] = {
        {"a flipped voter byte",
         [&](const snapshot_meta& m) { auto f = data + v1_trailer(m, {1, 2, 3}); f[data.size() + 9] ^= 1; return f; },
         "checksum mismatch"},
        {"a duplicate voter", [&](const snapshot_meta& m) { return data + v1_trailer(m, {1, 2, 2}); },
         "snapshot voters"},
        {"voter id 0", [&](const snapshot_meta& m) { return data + v1_trailer(m, {0, 2}); }, "snapshot voters"},
        {"more voters than fit the file",
         [&](const snapshot_meta& m) {
             auto f = data + v1_trailer(m, {1, 2});
             fmt::put_u32(reinterpret_cast<unsigned char*>(f.data()) + f.size() - 36, 100);
             return f;
         },
         "footer is damaged"},
        {"more voters than a version 1 file may hold",
         [&](const snapshot_meta& m) {
             auto f = data + v1_trailer(m, {1, 2});
             fmt::put_u32(reinterpret_cast<unsigned char*>(f.data()) + f.size() - 36, fmt::snapshot_max_members + 1);
             return f;
         },
         "footer is damaged"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            temp_dir tmp;
            const auto meta = make_snapshotted_dir(tmp.path(), data);
            const std::string name = fmt::snapshot_file_name(10, 2);
            write_file(tmp / name, c.file(meta));
            const auto before = snapshot_dir(tmp.path());
            const auto r = try_load(tmp.path());
            BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
            BOOST_TEST(r.message.find(name) != std::string::npos, r.message);
            BOOST_TEST(r.message.find(c.why) != std::string::npos, r.message);
            BOOST_TEST((snapshot_dir(tmp.path()) == before));
        }
    }
}

BOOST_AUTO_TEST_CASE(damaged_configuration_with_a_valid_checksum_is_refused) {
    // The checksum matches, but the configuration bytes are not
    // encode_membership's: each is refused by name, never loaded.
    const std::string data = app_data(600, 14);
    const std::string good = encode_membership(membership(std::vector<member>{{1, true, "a", "b"}, {2, false, "c", ""}}));
    // Offsets in `good`: version 0, count 1, member 1 at 9 (id, voter 17,
    // address length 18, "a" 26, info length 27, "b" 35), member 2 at 36 (id, voter 44).
    BOOST_TEST_REQUIRE(good.size() == 1 + 8 + (8 + 1 + 8 + 1 + 8 + 1) + (8 + 1 + 8 + 1 + 8));
    auto with = [&](std::size_t at, char v) { std::string s = good; s[at] = v; return s; };
    struct bad_case {
        const char* what;
        std::string config;
    };
    const bad_case cases[] = {
        {"voter flag 2", with(17, 2)},
        {"voter flag 0xff", with(44, char(0xff))},
        {"unknown encoding version", with(0, 2)},
        {"member count one too many", with(1, 3)},
        {"member count one too few", with(1, 1)},
        {"duplicate ids", with(36, 1)},
        {"ids out of order", with(9, 3)},
        {"id 0", with(9, 0)},
        {"address length past the end", with(18, 100)},
        {"a trailing byte", good + '\0'},
        {"cut by a byte", good.substr(0, good.size() - 1)},
        {"empty", ""},
        {"address over 4096 bytes",
         encode_membership(membership(std::vector<member>{{1, true, std::string(4097, 'a'), ""}}))},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.what) {
            BOOST_TEST_REQUIRE(!decode_membership(c.config));
            temp_dir tmp;
            const auto meta = make_snapshotted_dir(tmp.path(), data);
            const std::string name = fmt::snapshot_file_name(10, 2);
            write_file(tmp / name, data + v2_trailer(meta, c.config));
            const auto before = snapshot_dir(tmp.path());
            const auto r = try_load(tmp.path());
            BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
            BOOST_TEST(r.message.find(name) != std::string::npos, r.message);
            BOOST_TEST(r.message.find("snapshot configuration does not decode") != std::string::npos, r.message);
            BOOST_TEST((snapshot_dir(tmp.path()) == before));
        }
    }
    // The same bytes, untouched, load.
    temp_dir tmp;
    const auto meta = make_snapshotted_dir(tmp.path(), data);
    write_file(tmp / fmt::snapshot_file_name(10, 2), data + v2_trailer(meta, good));
    const auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST((r.st.snapshot->members == *decode_membership(good)));
}

BOOST_AUTO_TEST_CASE(unknown_snapshot_versions_are_refused) {
    // With a valid checksum: refused by its version, not as damage.
    const std::string data = app_data(300, 15);
    const std::string config = encode_membership(membership{1, 2, 3});
    for (std::uint32_t version : {0u, 3u, 0xffffffffu}) {
        BOOST_TEST_CONTEXT("version " << version) {
            temp_dir tmp;
            const auto meta = make_snapshotted_dir(tmp.path(), data);
            const std::string name = fmt::snapshot_file_name(10, 2);
            write_file(tmp / name, data + v2_trailer(meta, config, version));
            const auto before = snapshot_dir(tmp.path());
            const auto r = try_load(tmp.path());
            BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
            BOOST_TEST(r.message.find(name) != std::string::npos, r.message);
            BOOST_TEST(r.message.find("unsupported snapshot format version " + std::to_string(version)) !=
                           std::string::npos,
                       r.message);
            BOOST_TEST((snapshot_dir(tmp.path()) == before));
        }
    }
    // A version 1 footer around version 2 configuration bytes (and the
    // reverse) is refused too: the lengths do not add up, or the bytes do not decode.
    temp_dir tmp;
    const auto meta = make_snapshotted_dir(tmp.path(), data);
    const std::string name = fmt::snapshot_file_name(10, 2);
    std::string file = data + v2_trailer(meta, config);
    fmt::put_u32(reinterpret_cast<unsigned char*>(file.data()) + file.size() - 40, 1);
    reseal(file, data.size(), config.size());
    write_file(tmp / name, file);
    auto r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
    BOOST_TEST(r.message.find(name) != std::string::npos, r.message);
    file = data + v1_trailer(meta, {1, 2, 3});
    fmt::put_u32(reinterpret_cast<unsigned char*>(file.data()) + file.size() - 40, 2);
    fmt::put_u32(reinterpret_cast<unsigned char*>(file.data()) + file.size() - 36, 24);
    reseal(file, data.size(), 24);
    write_file(tmp / name, file);
    r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
    BOOST_TEST(r.message.find("snapshot configuration does not decode") != std::string::npos, r.message);
}

// A damaged newest snapshot is refused even when an older valid one is
// still there: falling back would silently use older state than was promised.
BOOST_AUTO_TEST_CASE(damaged_newest_snapshot_does_not_fall_back) {
    temp_dir tmp;
    make_snapshotted_dir(tmp.path(), app_data(100, 5));
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        write_snapshot(*p, 15, 2, app_data(100, 6));   // finished, not used: both files stay
    }
    BOOST_TEST(files_ending(tmp.path(), ".snap").size() == 2u);
    const std::string name = fmt::snapshot_file_name(15, 2);
    std::string bad = read_file(tmp / name);
    bad[0] ^= 1;
    write_file(tmp / name, bad);
    const auto r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find(name) != std::string::npos, r.message);
}

BOOST_AUTO_TEST_CASE(expected_mismatch_at_finish_installs_nothing) {
    temp_dir tmp;
    const std::string data = app_data(5000, 9);
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    BOOST_TEST_REQUIRE(!p->append(make_entries(1, 5, 1)));
    snapshot_meta announced;
    announced.index = 12;
    announced.term = 3;
    announced.members = {1, 2, 3};
    announced.size = data.size();
    announced.crc = fmt::crc32c(data.data(), data.size()) ^ 1;
    for (int variant = 0; variant < 2; ++variant) {
        std::unique_ptr<snapshot_writer> w;
        BOOST_TEST_REQUIRE(!p->begin_snapshot(12, 3, {1, 2, 3}, w));
        BOOST_TEST_REQUIRE(!w->write(variant == 0 ? std::string_view(data) : std::string_view(data).substr(1)));
        snapshot_meta out;
        BOOST_TEST((w->finish(out, &announced) == errc::corrupt_data));
        BOOST_TEST(p->snapshot_error_message().find(fmt::snapshot_file_name(12, 3)) != std::string::npos,
                   p->snapshot_error_message());
        BOOST_TEST(files_ending(tmp.path(), ".snap").empty());
        BOOST_TEST(files_ending(tmp.path(), ".tmp").empty());
        BOOST_TEST(!p->current_snapshot());
        BOOST_TEST(p->use_snapshot(announced));
    }
    // The right data is accepted.
    announced.crc ^= 1;
    std::unique_ptr<snapshot_writer> w;
    BOOST_TEST_REQUIRE(!p->begin_snapshot(12, 3, {1, 2, 3}, w));
    BOOST_TEST_REQUIRE(!w->write(data));
    snapshot_meta out;
    BOOST_TEST_REQUIRE(!w->finish(out, &announced));
    BOOST_TEST((out == announced));
}

BOOST_AUTO_TEST_CASE(abandoned_writer_leaves_nothing) {
    temp_dir tmp;
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    {
        std::unique_ptr<snapshot_writer> w;
        BOOST_TEST_REQUIRE(!p->begin_snapshot(3, 1, {1}, w));
        BOOST_TEST_REQUIRE(!w->write(app_data(3u << 20, 1)));
        BOOST_TEST(files_ending(tmp.path(), ".tmp").size() == 1u);
        w->abandon();
        BOOST_TEST(files_ending(tmp.path(), ".tmp").empty());
        BOOST_TEST(w->write("x"));
    }
    {
        std::unique_ptr<snapshot_writer> w;
        BOOST_TEST_REQUIRE(!p->begin_snapshot(3, 1, {1}, w));
        BOOST_TEST_REQUIRE(!w->write("abc"));
    }   // destroyed unfinished
    BOOST_TEST(files_ending(tmp.path(), ".tmp").empty());
    BOOST_TEST(files_ending(tmp.path(), ".snap").empty());
}

// Raft §7: a log that does not hold the snapshot's last entry, or holds
// another one there, is discarded at load.
BOOST_AUTO_TEST_CASE(log_not_matching_the_snapshot_is_discarded) {
    struct variant {
        index_t log_last;
        index_t snap_index;
        term_t snap_term;
    };
    for (const variant v : {variant{20, 15, 3},    // entry 15 has term 1, not 3
                            variant{5, 10, 1},     // the log ends before the snapshot
                            variant{20, 15, 1}}) { // matches: kept
        BOOST_TEST_CONTEXT("log 1.." << v.log_last << ", snapshot " << v.snap_index << "/" << v.snap_term) {
            temp_dir tmp;
            snapshot_meta meta;
            {
                persistent_state st;
                auto p = open_loaded(tmp.path(), st, counting_options{}.make(600));   // several segments
                BOOST_TEST_REQUIRE(!p->append(make_entries(1, v.log_last, 1)));
                BOOST_TEST_REQUIRE(!p->sync());
                meta = write_snapshot(*p, v.snap_index, v.snap_term, app_data(100, v.snap_index));
                BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
                BOOST_TEST_REQUIRE(!p->sync());
            }
            const bool matches = v.snap_term == 1 && v.log_last >= v.snap_index;
            const auto r = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r.ec, r.message);
            BOOST_TEST((*r.st.snapshot == meta));
            if (matches) {
                BOOST_TEST(r.st.log_start == 1u);
                BOOST_TEST(r.st.last_index() == v.log_last);
                BOOST_TEST(r.warnings.empty());
            } else {
                BOOST_TEST(r.st.log_start == v.snap_index + 1);
                BOOST_TEST(r.st.prefix_term == v.snap_term);
                BOOST_TEST(r.st.entries.empty());
                BOOST_TEST(r.warnings.size() == 1u);
                BOOST_TEST(segment_files(tmp.path()).empty());
            }
            // Durable and stable: a second load agrees, warns no more, and
            // the log takes the next entry.
            persistent_state st;
            auto p = open_loaded(tmp.path(), st);
            BOOST_TEST(state_diff(st, r.st) == "");
            BOOST_TEST_REQUIRE(!p->append(make_entries(st.last_index() + 1, st.last_index() + 2, 4)));
            BOOST_TEST_REQUIRE(!p->sync());
            p.reset();
            const auto r2 = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r2.ec, r2.message);
            BOOST_TEST(r2.warnings.empty());
            BOOST_TEST(r2.st.last_index() == st.last_index() + 2);
        }
    }
}

BOOST_AUTO_TEST_CASE(gap_between_snapshot_and_log_is_refused) {
    temp_dir tmp;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 40, 1)));
        const auto meta = write_snapshot(*p, 10, 1, "x");
        BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
        BOOST_TEST_REQUIRE(!p->remove_prefix(30, 1));   // beyond what the snapshot covers
        BOOST_TEST_REQUIRE(!p->sync());
    }
    const auto before = snapshot_dir(tmp.path());
    const auto r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find(fmt::snapshot_file_name(10, 1)) != std::string::npos, r.message);
    BOOST_TEST((snapshot_dir(tmp.path()) == before));
}

// A follower installs a snapshot ahead of its log.
BOOST_AUTO_TEST_CASE(remove_prefix_beyond_the_end_then_append) {
    for (bool crash_before_sync : {false, true}) {
        BOOST_TEST_CONTEXT("crash before sync " << crash_before_sync) {
            temp_dir tmp;
            snapshot_meta meta;
            {
                persistent_state st;
                auto p = open_loaded(tmp.path(), st, counting_options{}.make(600));
                BOOST_TEST_REQUIRE(!p->append(make_entries(1, 10, 1)));
                BOOST_TEST_REQUIRE(!p->sync());
                meta = write_snapshot(*p, 50, 3, app_data(1000, 50));
                BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
                BOOST_TEST_REQUIRE(!p->remove_prefix(51, 3));
                BOOST_TEST(p->last_index() == 50u);
                BOOST_TEST(segment_files(tmp.path()).empty());
                if (!crash_before_sync) {
                    BOOST_TEST_REQUIRE(!p->append(make_entries(51, 55, 3)));
                    BOOST_TEST_REQUIRE(!p->sync());
                }
            }
            const auto r = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r.ec, r.message);
            BOOST_TEST((*r.st.snapshot == meta));
            BOOST_TEST(r.st.log_start == 51u);
            BOOST_TEST(r.st.prefix_term == 3u);
            BOOST_TEST(log_diff(r.st.entries, crash_before_sync ? std::vector<log_entry>{} : make_entries(51, 55, 3)) ==
                       "");
            BOOST_TEST(r.warnings.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(read_of_a_replaced_snapshot_is_gone) {
    temp_dir tmp;
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    BOOST_TEST_REQUIRE(!p->append(make_entries(1, 20, 1)));
    const auto a = write_snapshot(*p, 5, 1, app_data(100, 5));
    BOOST_TEST_REQUIRE(!p->use_snapshot(a));
    const auto b = write_snapshot(*p, 15, 1, app_data(100, 15));
    std::string out;
    BOOST_TEST_REQUIRE(!p->read_snapshot(a, 0, 10, out));   // finished is not used yet
    BOOST_TEST_REQUIRE(!p->use_snapshot(b));
    BOOST_TEST((p->read_snapshot(a, 0, 10, out) == errc::snapshot_gone));
    BOOST_TEST(p->snapshot_error_message().find(fmt::snapshot_file_name(5, 1)) != std::string::npos);
    BOOST_TEST(read_all(*p, b) == app_data(100, 15));
    // An older snapshot cannot be made current again.
    BOOST_TEST(p->use_snapshot(a));
    // Nor one that was never finished.
    snapshot_meta never = b;
    never.index = 18;
    BOOST_TEST((p->use_snapshot(never) == errc::snapshot_gone));
    BOOST_TEST(!p->failed());
}

// The writer and read_snapshot run on other threads than the log's.
BOOST_AUTO_TEST_CASE(snapshot_beside_log_writes_on_other_threads) {
    temp_dir tmp;
    persistent_state st;
    auto p = open_loaded(tmp.path(), st);
    BOOST_TEST_REQUIRE(!p->append(make_entries(1, 10, 1)));
    BOOST_TEST_REQUIRE(!p->sync());
    const std::string data = app_data(3u << 20, 11);
    std::unique_ptr<snapshot_writer> w;
    BOOST_TEST_REQUIRE(!p->begin_snapshot(10, 1, {1, 2, 3}, w));
    snapshot_meta meta;
    boost::system::error_code wec;
    std::thread t([&] {
        for (std::size_t off = 0; off < data.size() && !wec; off += 4096)
            wec = w->write(std::string_view(data).substr(off, 4096));
        if (!wec) wec = w->finish(meta);
    });
    for (index_t i = 11; i <= 200; i += 10) {
        BOOST_TEST_REQUIRE(!p->append(make_entries(i, i + 9, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
    }
    t.join();
    BOOST_TEST_REQUIRE(!wec, wec.message());
    BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
    std::string r1, r2;
    std::thread reader([&] { r1 = read_all(*p, meta, 65536); });
    r2 = read_all(*p, meta, 10000);
    reader.join();
    BOOST_TEST((r1 == data));
    BOOST_TEST((r2 == data));
}

BOOST_AUTO_TEST_CASE(hard_state_commit_round_trips) {
    temp_dir tmp;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST_REQUIRE(!p->save_hard_state({3, 2, 17}));
    }
    BOOST_TEST(read_file(tmp / "hard_state").size() == fmt::hard_state_file_size);
    auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST((r.st.hard == hard_state{3, 2, 17}));
}

BOOST_AUTO_TEST_CASE(old_hard_state_reads_as_commit_zero) {
    temp_dir tmp;
    write_file(tmp / "hard_state", fmt::encode_small_file(fmt::hard_state_magic, 4, 2));
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST((st.hard == hard_state{4, 2, 0}));
        BOOST_TEST_REQUIRE(!p->save_hard_state({5, 0, 3}));   // written in the new form
    }
    auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST((r.st.hard == hard_state{5, 0, 3}));
    // The forms cannot be mistaken for each other.
    std::string wrong = fmt::encode_hard_state({1, 1, 1});
    wrong.resize(fmt::small_file_size);
    write_file(tmp / "hard_state", wrong);
    BOOST_TEST((try_load(tmp.path()).ec == errc::corrupt_data));
}

// The price of checking a snapshot in full at load. Not a check (no timing
// thresholds): run it by name to measure,
//   persister_tests --run_test=snapshots/load_time_of_a_100mb_snapshot
BOOST_AUTO_TEST_CASE(load_time_of_a_100mb_snapshot, *boost::unit_test::disabled()) {
    temp_dir tmp;
    const std::string data = app_data(100u << 20, 100);
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 10, 1)));
        const auto t0 = std::chrono::steady_clock::now();
        const auto meta = write_snapshot(*p, 10, 1, data);
        const auto t1 = std::chrono::steady_clock::now();
        BOOST_TEST_REQUIRE(!p->use_snapshot(meta));
        BOOST_TEST_REQUIRE(!p->sync());
        const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        BOOST_TEST_MESSAGE("write + finish of 100 MiB: " << ms << " ms");
    }
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = try_load(tmp.path());
        const auto t1 = std::chrono::steady_clock::now();
        BOOST_TEST_REQUIRE(!r.ec, r.message);
        const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        BOOST_TEST_MESSAGE("load with a 100 MiB snapshot: " << ms << " ms");
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- memory_persister ------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(memory_snapshots)

namespace {

// Entries 1..20 (term 2) synced, snapshot 10 current and synced with the prefix 1..5 removed.
snapshot_meta prepare(memory_persister& m, const std::string& data) {
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST_REQUIRE(!m.save_hard_state({2, 1, 12}));
    BOOST_TEST_REQUIRE(!m.append(make_entries(1, 20, 2)));
    const auto meta = write_snapshot(m, 10, 2, data);
    BOOST_TEST_REQUIRE(!m.use_snapshot(meta));
    BOOST_TEST_REQUIRE(!m.remove_prefix(6, 2));
    BOOST_TEST_REQUIRE(!m.sync());
    return meta;
}

} // namespace

BOOST_AUTO_TEST_CASE(round_trip) {
    memory_persister m;
    const std::string data = app_data(10000, 1);
    const auto meta = prepare(m, data);
    BOOST_TEST((m.current_snapshot() == meta));
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST((*st.snapshot == meta));
    BOOST_TEST((st.hard == hard_state{2, 1, 12}));
    BOOST_TEST(st.log_start == 6u);
    BOOST_TEST(log_diff(st.entries, make_entries(6, 20, 2)) == "");
    BOOST_TEST(read_all(m, meta, 333) == data);
    BOOST_TEST((m.durable_state().snapshot == meta));
}

// Crash at each step of replacing snapshot 10 by snapshot 15.
BOOST_AUTO_TEST_CASE(crash_at_each_step) {
    const std::string old_data = app_data(1000, 1), new_data = app_data(2000, 2);
    for (int step = 0; step < 5; ++step) {
        for (int keep = 0; keep < 3; ++keep) {
            BOOST_TEST_CONTEXT("step " << step << ", keeping " << keep) {
                memory_persister m;
                const auto old_meta = prepare(m, old_data);
                std::unique_ptr<snapshot_writer> w;
                BOOST_TEST_REQUIRE(!m.begin_snapshot(15, 2, {1, 2, 3}, w));
                BOOST_TEST_REQUIRE(!w->write(new_data));
                snapshot_meta new_meta;
                if (step >= 1) BOOST_TEST_REQUIRE(!w->finish(new_meta));
                if (step >= 2) BOOST_TEST_REQUIRE(!m.use_snapshot(new_meta));
                if (step >= 3) BOOST_TEST_REQUIRE(!m.remove_prefix(16, 2));
                if (step >= 4) BOOST_TEST_REQUIRE(!m.sync());
                m.crash_keeping(static_cast<std::size_t>(keep));
                persistent_state st;
                BOOST_TEST_REQUIRE(!m.load(st));
                BOOST_TEST_REQUIRE(st.snapshot.has_value());
                const bool used = step >= 4 || (step >= 2 && keep >= 1);
                const bool trimmed = step >= 4 || (step >= 3 && keep >= 2);
                BOOST_TEST((*st.snapshot == (used ? new_meta : old_meta)));
                BOOST_TEST(st.log_start == (trimmed ? 16u : 6u));
                BOOST_TEST(st.last_index() == 20u);
                BOOST_TEST(st.log_start <= st.snapshot->index + 1);
                BOOST_TEST(read_all(m, *st.snapshot) == (used ? new_data : old_data));
                // A finished snapshot's data survives any crash.
                if (step >= 1) BOOST_TEST(read_all(m, new_meta) == new_data);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(process_crash_keeps_the_unsynced_use_snapshot) {
    memory_persister m;
    prepare(m, "old");
    BOOST_TEST_REQUIRE(!m.append(make_entries(21, 22, 2)));
    const auto meta = write_snapshot(m, 15, 2, "new");
    BOOST_TEST_REQUIRE(!m.use_snapshot(meta));
    BOOST_TEST_REQUIRE(!m.remove_prefix(16, 2));
    m.process_crash();
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST((*st.snapshot == meta));
    BOOST_TEST(st.log_start == 16u);
    // load() made it durable: a power loss now keeps it.
    m.crash();
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST((*st.snapshot == meta));
    BOOST_TEST(st.last_index() == 22u);
}

BOOST_AUTO_TEST_CASE(replaced_snapshot_is_gone_once_the_new_one_is_durable) {
    memory_persister m;
    const auto a = prepare(m, "aaaa");
    const auto b = write_snapshot(m, 15, 2, "bbbb");
    BOOST_TEST_REQUIRE(!m.use_snapshot(b));
    std::string out;
    // Not yet: a power loss now would restart from `a`.
    BOOST_TEST_REQUIRE(!m.read_snapshot(a, 0, 10, out));
    BOOST_TEST(out == "aaaa");
    BOOST_TEST_REQUIRE(!m.sync());
    BOOST_TEST((m.read_snapshot(a, 0, 10, out) == errc::snapshot_gone));
    BOOST_TEST_REQUIRE(!m.read_snapshot(b, 1, 2, out));
    BOOST_TEST(out == "bb");
    BOOST_TEST(m.stored_snapshots() == 1u);
}

BOOST_AUTO_TEST_CASE(expected_mismatch_installs_nothing) {
    memory_persister m;
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    snapshot_meta announced{7, 2, {1}, 3, fmt::crc32c("abd", 3)};
    std::unique_ptr<snapshot_writer> w;
    BOOST_TEST_REQUIRE(!m.begin_snapshot(7, 2, {1}, w));
    BOOST_TEST_REQUIRE(!w->write("abc"));
    snapshot_meta out;
    BOOST_TEST((w->finish(out, &announced) == errc::corrupt_data));
    BOOST_TEST(m.stored_snapshots() == 0u);
    BOOST_TEST((m.use_snapshot(announced) == errc::snapshot_gone));
}

BOOST_AUTO_TEST_CASE(log_not_matching_the_snapshot_is_discarded) {
    memory_persister m;
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST_REQUIRE(!m.append(make_entries(1, 20, 1)));
    const auto meta = write_snapshot(m, 15, 3, "s");
    BOOST_TEST_REQUIRE(!m.use_snapshot(meta));
    BOOST_TEST_REQUIRE(!m.sync());
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST(st.log_start == 16u);
    BOOST_TEST(st.prefix_term == 3u);
    BOOST_TEST(st.entries.empty());
    BOOST_TEST(m.durable_state().log_start == 16u);
    BOOST_TEST_REQUIRE(!m.append(make_entries(16, 17, 3)));
}

BOOST_AUTO_TEST_CASE(remove_prefix_beyond_the_end_then_append) {
    memory_persister m;
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST_REQUIRE(!m.append(make_entries(1, 5, 1)));
    const auto meta = write_snapshot(m, 50, 3, "s");
    BOOST_TEST_REQUIRE(!m.use_snapshot(meta));
    BOOST_TEST_REQUIRE(!m.remove_prefix(51, 3));
    BOOST_TEST(m.last_index() == 50u);
    BOOST_TEST_REQUIRE(!m.append(make_entries(51, 52, 3)));
    BOOST_TEST_REQUIRE(!m.sync());
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST(log_diff(st.entries, make_entries(51, 52, 3)) == "");
}

BOOST_AUTO_TEST_CASE(copies_keep_their_own_snapshots) {
    memory_persister m;
    const auto a = prepare(m, "aaaa");
    memory_persister copy = m;
    const auto b = write_snapshot(m, 15, 2, "bbbb");
    BOOST_TEST_REQUIRE(!m.use_snapshot(b));
    BOOST_TEST_REQUIRE(!m.sync());
    std::string out;
    BOOST_TEST_REQUIRE(!copy.read_snapshot(a, 0, 10, out));
    BOOST_TEST(out == "aaaa");
    BOOST_TEST((copy.read_snapshot(b, 0, 10, out) == errc::snapshot_gone));
    BOOST_TEST((copy.current_snapshot() == a));
}

BOOST_AUTO_TEST_CASE(use_snapshot_is_a_write_for_faults) {
    memory_persister m;
    prepare(m, "a");
    const auto b = write_snapshot(m, 15, 2, "b");
    m.fail_after(0, boost::system::errc::make_error_code(boost::system::errc::io_error));
    BOOST_TEST(m.use_snapshot(b));
    BOOST_TEST(m.failed());
    BOOST_TEST(m.current_snapshot()->index == 10u);
}

BOOST_AUTO_TEST_CASE(hard_state_commit_round_trips) {
    memory_persister m;
    persistent_state st;
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST_REQUIRE(!m.save_hard_state({3, 2, 9}));
    BOOST_TEST_REQUIRE(!m.sync());
    m.crash();
    BOOST_TEST_REQUIRE(!m.load(st));
    BOOST_TEST((st.hard == hard_state{3, 2, 9}));
}

BOOST_AUTO_TEST_SUITE_END()
