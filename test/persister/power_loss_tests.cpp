// raftlite — file_persister against a model of power loss (power_loss_io).
//
// A process crash is modelled by dropping the persister without a sync: the
// real files (the page cache) keep every write. A power loss rewrites the
// files to what the model says the disk holds: what was synced, plus any
// unsynced writes a test chooses to let through. The first tests show that
// the model does lose what was not synced, so that the others can fail.
#include "persister/helpers.hpp"
#include "persister/power_loss_io.hpp"

#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <fcntl.h>

using namespace persister_test;
namespace fmt = raftlite::detail;

namespace {

file_persister_options with_io(std::shared_ptr<power_loss_io> io, std::uint64_t segment_size = 1 << 20) {
    file_persister_options o;
    o.segment_size = segment_size;
    o.on_warning = [](const std::string&) {};
    o.io = std::move(io);
    return o;
}

std::unique_ptr<file_persister> open_loaded(const std::string& dir, persistent_state& st,
                                            file_persister_options o) {
    auto p = std::make_unique<file_persister>(dir, std::move(o));
    const auto ec = p->load(st);
    BOOST_TEST_REQUIRE(!ec, "load " << dir << ": " << ec.message() << " — " << p->last_error_message());
    return p;
}

// What the directory holds after the power is back (read with the real OS calls).
persistent_state reload(const std::string& dir) {
    persistent_state st;
    file_persister_options o;
    o.on_warning = [](const std::string&) {};
    open_loaded(dir, st, o);
    return st;
}

std::string lines(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) s += l + "; ";
    return s;
}

std::vector<log_entry> concat(std::vector<log_entry> a, const std::vector<log_entry>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace

BOOST_AUTO_TEST_SUITE(power_loss)

// ---- the model itself ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(model_loses_unsynced_appends) {
    temp_dir tmp;
    auto io = std::make_shared<power_loss_io>(tmp.path());
    const std::string dir = tmp / "data";
    {
        persistent_state st;
        auto p = open_loaded(dir, st, with_io(io));
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 5, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
        BOOST_TEST(io->unsynced().empty(), lines(io->unsynced()));
        BOOST_TEST_REQUIRE(!p->save_hard_state({2, 1}));   // durable on return
        BOOST_TEST_REQUIRE(!p->append(make_entries(6, 9, 1)));   // never synced
        BOOST_TEST(io->unsynced_writes(dir + "/" + fmt::segment_file_name(1)) == 1u);
    }
    // The process is gone; the page cache still has everything.
    BOOST_TEST(!io->unsynced().empty());
    BOOST_TEST(reload(dir).last_index() == 9u);
    io->power_loss();
    const auto st = reload(dir);
    BOOST_TEST(log_diff(st.entries, make_entries(1, 5, 1)) == "");
    BOOST_TEST((st.hard == hard_state{2, 1}));
}

BOOST_AUTO_TEST_CASE(model_loses_files_whose_directory_entry_was_not_synced) {
    temp_dir tmp;
    auto io = std::make_shared<power_loss_io>(tmp.path());
    const int dfd = io->open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY, 0);
    BOOST_TEST_REQUIRE(dfd >= 0);
    const int fd = io->openat(dfd, "f", O_WRONLY | O_CREAT, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    const char bytes[] = "synced, but its name was not";
    iovec v{const_cast<char*>(bytes), sizeof bytes};
    BOOST_TEST_REQUIRE(io->pwritev(fd, &v, 1, 0) == static_cast<ssize_t>(sizeof bytes));
    BOOST_TEST_REQUIRE(io->fdatasync(fd) == 0);
    io->close(fd);
    BOOST_TEST(io->unsynced().size() == 1u, lines(io->unsynced()));
    io->close(dfd);
    io->power_loss();
    BOOST_TEST(!std::filesystem::exists(tmp / "f"));

    // The same with the directory synced: the file survives, and a rename
    // not followed by a directory fsync is undone.
    const int dfd2 = io->open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY, 0);
    const int fd2 = io->openat(dfd2, "f", O_WRONLY | O_CREAT, 0644);
    BOOST_TEST_REQUIRE(io->pwritev(fd2, &v, 1, 0) == static_cast<ssize_t>(sizeof bytes));
    BOOST_TEST_REQUIRE(io->fdatasync(fd2) == 0);
    BOOST_TEST_REQUIRE(io->fsync(dfd2) == 0);
    BOOST_TEST_REQUIRE(io->renameat(dfd2, "f", dfd2, "g") == 0);   // not synced
    io->close(fd2);
    io->close(dfd2);
    io->power_loss();
    BOOST_TEST(read_file(tmp / "f") == std::string(bytes, sizeof bytes));
    BOOST_TEST(!std::filesystem::exists(tmp / "g"));
}

// ---- load() makes what it returns durable -------------------------------------

// A process dies with appends never synced and with a hard state renamed into
// place but its directory never synced. The restarted node reads both back
// and acts on them (repeats the vote, acknowledges the entries), so a power
// loss after the restart must keep all of it.
BOOST_AUTO_TEST_CASE(load_after_a_process_crash_makes_everything_it_returns_durable) {
    temp_dir tmp;
    auto io = std::make_shared<power_loss_io>(tmp.path());
    const std::string dir = tmp / "data";
    const std::uint64_t segment_size = 700;   // a few records a segment: new segments unsynced
    {
        persistent_state st;
        auto p = open_loaded(dir, st, with_io(io, segment_size));
        BOOST_TEST_REQUIRE(!p->save_hard_state({1, 1}));
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 5, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
        BOOST_TEST_REQUIRE(!p->append(make_entries(6, 30, 1)));
        // The process dies between the rename of hard_state and the
        // directory fsync: the new vote is in the page cache only.
        io->fail_next_directory_fsync();
        BOOST_TEST_REQUIRE(p->save_hard_state({2, 3}).value() == EIO);
    }
    // Something would be lost by a power loss now (else this test proves nothing).
    const auto before = io->unsynced();
    BOOST_TEST_REQUIRE(before.size() >= 3u, lines(before));

    persistent_state restarted;
    {
        auto p = open_loaded(dir, restarted, with_io(io, segment_size));
        BOOST_TEST((restarted.hard == hard_state{2, 3}));
        BOOST_TEST(log_diff(restarted.entries, make_entries(1, 30, 1)) == "");
        // Everything load() returned is on the disk: a power loss now changes nothing.
        BOOST_TEST(io->unsynced().empty(), lines(io->unsynced()));
        // The restarted node acknowledges more entries, then more that it never syncs.
        BOOST_TEST_REQUIRE(!p->append(make_entries(31, 32, 2)));
        BOOST_TEST_REQUIRE(!p->sync());
        BOOST_TEST_REQUIRE(!p->append(make_entries(33, 33, 2)));
    }
    io->power_loss();
    const auto st = reload(dir);
    BOOST_TEST((st.hard == hard_state{2, 3}));
    BOOST_TEST_REQUIRE(st.last_index() >= 32u);
    BOOST_TEST(log_diff(std::vector<log_entry>(st.entries.begin(), st.entries.begin() + 32),
                        concat(make_entries(1, 30, 1), make_entries(31, 32, 2))) == "");
}

// A torn tail cut by load() is cut on the disk too: a power loss after the
// restart must not bring the torn record back in front of new appends.
BOOST_AUTO_TEST_CASE(torn_tail_cut_by_load_stays_cut_after_a_power_loss) {
    temp_dir tmp;
    auto io = std::make_shared<power_loss_io>(tmp.path());
    const std::string dir = tmp / "data";
    {
        persistent_state st;
        auto p = open_loaded(dir, st, with_io(io));
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 4, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
    }
    // A process died in the middle of writing record 5: the first 30 bytes of
    // its header are in the page cache.
    const std::string seg = dir + "/" + fmt::segment_file_name(1);
    const std::string good = read_file(seg);
    {
        const int dfd = io->open(dir.c_str(), O_RDONLY | O_DIRECTORY, 0);
        const int fd = io->openat(dfd, fmt::segment_file_name(1).c_str(), O_WRONLY, 0);
        std::string junk(30, '\x5A');
        iovec v{junk.data(), junk.size()};
        BOOST_TEST_REQUIRE(io->pwritev(fd, &v, 1, static_cast<off_t>(good.size())) == 30);
        io->close(fd);
        io->close(dfd);
    }
    {
        persistent_state st;
        auto p = open_loaded(dir, st, with_io(io));
        BOOST_TEST(st.last_index() == 4u);
        BOOST_TEST(io->unsynced().empty(), lines(io->unsynced()));
        BOOST_TEST_REQUIRE(!p->append(make_entries(5, 5, 2)));
        BOOST_TEST_REQUIRE(!p->sync());
    }
    io->power_loss();
    BOOST_TEST(log_diff(reload(dir).entries, concat(make_entries(1, 4, 1), make_entries(5, 5, 2))) == "");
}

// A data directory created by load() survives a power loss with its
// parents: each directory's entry is synced in its parent.
BOOST_AUTO_TEST_CASE(new_data_directory_and_its_parents_survive_a_power_loss) {
    temp_dir tmp;
    auto io = std::make_shared<power_loss_io>(tmp.path());
    const std::string dir = tmp / "a/b/data";
    {
        persistent_state st;
        auto p = open_loaded(dir, st, with_io(io));
        BOOST_TEST(io->unsynced().empty(), lines(io->unsynced()));
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 3, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
    }
    io->power_loss();
    BOOST_TEST_REQUIRE(std::filesystem::is_directory(dir));
    BOOST_TEST(log_diff(reload(dir).entries, make_entries(1, 3, 1)) == "");
}

// ---- truncation ----------------------------------------------------------------

// A follower truncates a synced log and appends new entries over the cut,
// then the power goes before it syncs. The disk may keep any of the unsynced
// writes, whole or torn, in any order: had the cut not been durable before
// the append, the disk could hold the new records followed by the stale
// bytes of the old ones (the cut lost, the overwrite kept), which recovery
// must refuse as damage. Every outcome must load, with every synced entry
// before the cut intact, none of the cut-off ones (truncate_suffix is
// durable when it returns), and a prefix of the new ones.
BOOST_AUTO_TEST_CASE(power_loss_after_truncate_and_append_keeps_the_synced_log) {
    struct scenario {
        temp_dir tmp;
        std::shared_ptr<power_loss_io> io = std::make_shared<power_loss_io>(tmp.path());
        std::string dir = tmp / "data";
        std::string seg = dir + "/" + fmt::segment_file_name(1);
        scenario() {
            persistent_state st;
            auto p = open_loaded(dir, st, with_io(io));
            BOOST_TEST_REQUIRE(!p->append(make_entries(1, 10, 1)));
            BOOST_TEST_REQUIRE(!p->sync());
            BOOST_TEST_REQUIRE(!p->truncate_suffix(6));
            BOOST_TEST_REQUIRE(!p->append(make_entries(6, 7, 2)));
            // The process goes with the append unsynced.
        }
    };
    // The unsynced writes to the segment and, for each, the choices of how
    // much of it a power loss keeps.
    std::vector<std::vector<std::size_t>> choices;
    {
        scenario s;
        BOOST_TEST_REQUIRE(s.io->unsynced_writes(s.seg) >= 1u);
        std::size_t i = 0;
        s.io->power_loss([&](const std::string& path, std::size_t, std::size_t size) -> std::size_t {
            if (path != s.seg) return 0;
            std::vector<std::size_t> c{0, size};
            for (std::size_t t = 1; t < size; t += 23) c.push_back(t);
            choices.push_back(c);
            ++i;
            return 0;
        });
    }
    std::size_t outcomes = 0, with_new = 0;
    std::vector<std::size_t> pick(choices.size(), 0);
    for (;;) {
        BOOST_TEST_CONTEXT("kept bytes of each unsynced write: " << [&] {
            std::string d;
            for (std::size_t i = 0; i < pick.size(); ++i) d += std::to_string(choices[i][pick[i]]) + " ";
            return d;
        }()) {
            scenario s;
            s.io->power_loss([&](const std::string& path, std::size_t i, std::size_t) -> std::size_t {
                return path == s.seg && i < pick.size() ? choices[i][pick[i]] : 0;
            });
            persistent_state st;
            file_persister p(s.dir, with_io(nullptr));
            const auto ec = p.load(st);
            BOOST_TEST_REQUIRE(!ec, "load: " << p.last_error_message());
            BOOST_TEST_REQUIRE(st.last_index() >= 5u);
            BOOST_TEST_REQUIRE(st.last_index() <= 7u);
            const auto want = concat(make_entries(1, 5, 1), make_entries(6, st.last_index(), 2));
            BOOST_TEST(log_diff(st.entries, want) == "");
            if (st.last_index() > 5) ++with_new;
            ++outcomes;
        }
        std::size_t k = 0;
        while (k < pick.size() && ++pick[k] == choices[k].size()) pick[k++] = 0;
        if (k == pick.size()) break;
    }
    BOOST_TEST_MESSAGE(outcomes << " power-loss outcomes after truncate + append, " << with_new
                                << " with new entries");
    BOOST_TEST(with_new > 0u);
}

// A truncation is durable when it returns, even with no sync() after it.
BOOST_AUTO_TEST_CASE(truncate_suffix_is_durable_on_return) {
    temp_dir tmp;
    auto io = std::make_shared<power_loss_io>(tmp.path());
    const std::string dir = tmp / "data";
    {
        persistent_state st;
        auto p = open_loaded(dir, st, with_io(io, 600));   // several segments
        BOOST_TEST_REQUIRE(!p->append(make_entries(1, 20, 1)));
        BOOST_TEST_REQUIRE(!p->sync());
        BOOST_TEST_REQUIRE(!p->truncate_suffix(8));
        BOOST_TEST(io->unsynced().empty(), lines(io->unsynced()));
    }
    io->power_loss();
    BOOST_TEST(log_diff(reload(dir).entries, make_entries(1, 7, 1)) == "");
}

BOOST_AUTO_TEST_SUITE_END()
