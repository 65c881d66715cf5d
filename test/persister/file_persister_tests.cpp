// raftlite — file_persister: round trips, segments, truncation, compaction, the lock.
#include "persister/helpers.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <boost/test/unit_test.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

using namespace persister_test;
namespace fmt = raftlite::detail;

namespace {

// Opens `dir`, loads it and checks that the load succeeded.
std::unique_ptr<file_persister> open_loaded(const std::string& dir, persistent_state& st,
                                            file_persister_options o = {}) {
    auto p = std::make_unique<file_persister>(dir, std::move(o));
    const auto ec = p->load(st);
    BOOST_TEST_REQUIRE(!ec, "load " << dir << ": " << ec.message() << " — " << p->last_error_message());
    return p;
}

persistent_state reload(const std::string& dir, file_persister_options o = {}) {
    persistent_state st;
    open_loaded(dir, st, std::move(o));
    return st;
}

// The state a log of entries `from..to` of the given terms should load as.
persistent_state expected(hard_state hs, index_t start, term_t pterm, std::vector<log_entry> e) {
    persistent_state st;
    st.hard = hs;
    st.log_start = start;
    st.prefix_term = pterm;
    st.entries = std::move(e);
    return st;
}

std::vector<log_entry> concat(std::vector<log_entry> a, const std::vector<log_entry>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace

BOOST_AUTO_TEST_SUITE(crc_and_format)

BOOST_AUTO_TEST_CASE(crc32c_known_values) {
    // Check values from RFC 3720 (iSCSI), appendix B.4.
    BOOST_TEST(fmt::crc32c("123456789", 9) == 0xE3069283u);
    const std::string zeros(32, '\0'), ones(32, '\xFF');
    BOOST_TEST(fmt::crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
    BOOST_TEST(fmt::crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
    std::string inc;
    for (int i = 0; i < 32; ++i) inc.push_back(static_cast<char>(i));
    BOOST_TEST(fmt::crc32c(inc.data(), inc.size()) == 0x46DD794Eu);
    // Extending in pieces equals one pass, whatever the split (the 8-byte loop and the tail).
    const std::string s = payload_for(5, 9) + payload_for(6, 9);
    for (std::size_t cut = 0; cut <= s.size(); ++cut)
        BOOST_TEST(fmt::crc32c_extend(fmt::crc32c(s.data(), cut), s.data() + cut, s.size() - cut) ==
                   fmt::crc32c(s.data(), s.size()));
}

BOOST_AUTO_TEST_CASE(segment_names_sort_like_indexes) {
    BOOST_TEST(fmt::segment_file_name(42) == "log-00000000000000000042.seg");
    BOOST_TEST(*fmt::parse_segment_file_name(fmt::segment_file_name(18446744073709551615ull)) ==
               18446744073709551615ull);
    BOOST_TEST(!fmt::parse_segment_file_name("log-99999999999999999999.seg"));   // overflow
    BOOST_TEST(!fmt::parse_segment_file_name("log-0000000000000000004x.seg"));
    BOOST_TEST(!fmt::parse_segment_file_name("log-42.seg"));
    BOOST_TEST(!fmt::parse_segment_file_name("hard_state"));
}

BOOST_AUTO_TEST_CASE(record_header_round_trip) {
    fmt::record_header h;
    h.payload_size = 77;
    h.kind = entry_kind::noop;
    h.term = 0x0102030405060708ull;
    h.index = 99;
    h.origin = {3, 1234567};
    h.payload_crc = 0xDEADBEEF;
    unsigned char buf[fmt::record_header_size];
    fmt::encode_record_header(buf, h);
    BOOST_TEST(buf[8] == 0x08);   // little-endian on disk whatever the host
    fmt::record_header d;
    std::string why;
    BOOST_TEST_REQUIRE((fmt::decode_record_header(buf, d, why) == fmt::header_check::ok));
    BOOST_TEST(d.payload_size == 77u);
    BOOST_TEST((d.kind == entry_kind::noop));
    BOOST_TEST(d.term == h.term);
    BOOST_TEST(d.index == 99u);
    BOOST_TEST((d.origin == h.origin));
    BOOST_TEST(d.payload_crc == 0xDEADBEEFu);
    buf[20] ^= 1;
    BOOST_TEST((fmt::decode_record_header(buf, d, why) == fmt::header_check::bad_checksum));
}

BOOST_AUTO_TEST_CASE(record_header_entry_kinds) {
    // Every kind this version knows decodes; the next ones, with a valid
    // checksum, are a field this version does not know.
    for (entry_kind k : {entry_kind::application, entry_kind::noop, entry_kind::configuration}) {
        fmt::record_header h;
        h.kind = k;
        h.index = 4;
        unsigned char buf[fmt::record_header_size];
        fmt::encode_record_header(buf, h);
        fmt::record_header d;
        std::string why;
        BOOST_TEST_REQUIRE((fmt::decode_record_header(buf, d, why) == fmt::header_check::ok), why);
        BOOST_TEST((d.kind == k));
    }
    for (unsigned kind : {3u, 4u, 255u}) {
        fmt::record_header h;
        h.kind = static_cast<entry_kind>(kind);
        unsigned char buf[fmt::record_header_size];
        fmt::encode_record_header(buf, h);
        fmt::record_header d;
        std::string why;
        BOOST_TEST_CONTEXT("kind " << kind) {
            BOOST_TEST((fmt::decode_record_header(buf, d, why) == fmt::header_check::bad_field));
            BOOST_TEST(why == "unknown entry kind " + std::to_string(kind));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_persister_round_trips)

BOOST_AUTO_TEST_CASE(empty_directory_loads_empty_and_is_created) {
    temp_dir tmp;
    const std::string dir = tmp / "a/b/data";
    const auto st = reload(dir);
    BOOST_TEST(st.hard.current_term == 0u);
    BOOST_TEST(st.hard.voted_for == no_node);
    BOOST_TEST(st.log_start == 1u);
    BOOST_TEST(st.entries.empty());
    BOOST_TEST(st.last_index() == 0u);
    BOOST_TEST(std::filesystem::exists(dir + "/LOCK"));
}

BOOST_AUTO_TEST_CASE(hard_state_round_trip) {
    temp_dir tmp;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST(!p->save_hard_state({5, 2}));
        BOOST_TEST(!p->save_hard_state({7, 3}));
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST((reload(tmp.path()).hard == hard_state{7, 3}));
    BOOST_TEST(!std::filesystem::exists(tmp / "hard_state.tmp"));
    // A crash between writing the temp file and the rename leaves the old state.
    write_file(tmp / "hard_state.tmp", "garbage from an interrupted save");
    BOOST_TEST((reload(tmp.path()).hard == hard_state{7, 3}));
    BOOST_TEST(!std::filesystem::exists(tmp / "hard_state.tmp"));
}

BOOST_AUTO_TEST_CASE(append_round_trip_in_one_segment) {
    temp_dir tmp;
    std::vector<log_entry> all;
    for (int round = 0; round < 3; ++round) {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST(log_diff(st.entries, all) == "");
        const index_t from = all.size() + 1;
        auto more = make_entries(from, from + 9, round + 1);
        // one entry, then a batch: both paths
        BOOST_TEST(!p->append({more[0]}));
        BOOST_TEST(!p->append(std::vector<log_entry>(more.begin() + 1, more.end())));
        BOOST_TEST(!p->sync());
        BOOST_TEST(p->last_index() == from + 9);
        all = concat(all, more);
    }
    BOOST_TEST(log_diff(reload(tmp.path()).entries, all) == "");
    BOOST_TEST(segment_files(tmp.path()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(one_append_call_with_thousands_of_entries) {
    // More iovecs than one pwritev takes (IOV_MAX), across segment boundaries.
    temp_dir tmp;
    const auto v = make_entries(1, 5000, 3);
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, counting_options().make(100000));
        BOOST_TEST(!p->append(v));
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST(segment_files(tmp.path()).size() > 2u);
    BOOST_TEST(log_diff(reload(tmp.path(), counting_options().make(100000)).entries, v) == "");
}

BOOST_AUTO_TEST_CASE(data_directory_that_is_a_file_is_an_error) {
    temp_dir tmp;
    write_file(tmp / "plain", "not a directory");
    file_persister p(tmp / "plain");
    persistent_state st;
    BOOST_TEST(p.load(st));
    BOOST_TEST(p.last_error_message().find(tmp / "plain") != std::string::npos, p.last_error_message());
}

BOOST_AUTO_TEST_CASE(empty_and_large_payloads) {
    temp_dir tmp;
    std::vector<log_entry> v;
    log_entry e = make_entry(1, 1);
    e.payload = make_bytes("");
    v.push_back(e);
    e = make_entry(2, 1);
    e.payload = nullptr;   // no payload at all is stored as empty
    v.push_back(e);
    e = make_entry(3, 1);
    e.payload = make_bytes(std::string(3 << 20, 'x'));
    v.push_back(e);
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST(!p->append(v));
        BOOST_TEST(!p->sync());
    }
    const auto st = reload(tmp.path());
    BOOST_TEST_REQUIRE(st.entries.size() == 3u);
    BOOST_TEST(st.entries[0].size() == 0u);
    BOOST_TEST(st.entries[1].size() == 0u);
    BOOST_TEST(st.entries[2].data() == v[2].data());
}

BOOST_AUTO_TEST_CASE(records_larger_than_a_segment_get_a_segment_each) {
    temp_dir tmp;
    std::vector<log_entry> v;
    for (index_t i = 1; i <= 5; ++i) {
        log_entry e = make_entry(i, 1);
        e.payload = make_bytes(std::string(1000 + i, static_cast<char>('a' + i)));
        v.push_back(e);
    }
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, counting_options().make(256));
        BOOST_TEST(!p->append({v[0]}));
        BOOST_TEST(!p->append({v[1], v[2], v[3], v[4]}));
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST(segment_files(tmp.path()).size() == 5u);
    BOOST_TEST(log_diff(reload(tmp.path(), counting_options().make(256)).entries, v) == "");
}

BOOST_AUTO_TEST_CASE(segments_roll_over_and_are_named_by_first_index) {
    temp_dir tmp;
    std::vector<log_entry> all;
    counting_options co;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, co.make(512));
        std::uint64_t x = 7;
        index_t next = 1;
        while (next <= 300) {
            const index_t n = 1 + splitmix64(x) % 12;
            auto more = make_entries(next, next + n - 1, 1 + next / 50);
            BOOST_TEST_REQUIRE(!p->append(more));
            if (splitmix64(x) % 3 == 0) BOOST_TEST_REQUIRE(!p->sync());
            all = concat(all, more);
            next += n;
        }
        BOOST_TEST(!p->sync());
    }
    const auto files = segment_files(tmp.path());
    BOOST_TEST(files.size() > 20u);
    // Each file starts with a header naming its first index, and that index
    // is the first record's; no segment but a single-record one exceeds the size.
    index_t expect_first = 1;
    for (const auto& f : files) {
        const std::string bytes = read_file(tmp / f);
        BOOST_TEST_REQUIRE(bytes.size() >= fmt::segment_header_size + fmt::record_header_size);
        index_t first = 0;
        std::string why;
        BOOST_TEST_REQUIRE(fmt::decode_segment_header(
            reinterpret_cast<const unsigned char*>(bytes.data()), first, why));
        BOOST_TEST(first == expect_first);
        BOOST_TEST(*fmt::parse_segment_file_name(f) == first);
        std::uint64_t off = fmt::segment_header_size;
        while (off < bytes.size()) {
            fmt::record_header h;
            BOOST_TEST_REQUIRE((fmt::decode_record_header(
                reinterpret_cast<const unsigned char*>(bytes.data()) + off, h, why) == fmt::header_check::ok));
            BOOST_TEST(h.index == expect_first);
            ++expect_first;
            off += fmt::record_header_size + h.payload_size;
        }
        BOOST_TEST(off == bytes.size());
        BOOST_TEST(bytes.size() <= 512u);
    }
    BOOST_TEST(log_diff(reload(tmp.path(), co.make(512)).entries, all) == "");
    BOOST_TEST(co.warnings->empty());
}

// raft-lite's bug: offsets that ignored the file header made a truncation cut
// in the wrong place, and the log read back after a restart differed.
BOOST_AUTO_TEST_CASE(truncate_append_restart_reads_back_exactly) {
    temp_dir tmp;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st);
        BOOST_TEST(!p->append(make_entries(1, 10, 1)));
        BOOST_TEST(!p->sync());
        BOOST_TEST(!p->truncate_suffix(6));
        BOOST_TEST(p->last_index() == 5u);
        BOOST_TEST(!p->append(make_entries(6, 12, 2)));
        BOOST_TEST(!p->sync());
    }
    const auto want = concat(make_entries(1, 5, 1), make_entries(6, 12, 2));
    BOOST_TEST(log_diff(reload(tmp.path()).entries, want) == "");
    // No stray bytes: the file is exactly header + records.
    std::uint64_t size = fmt::segment_header_size;
    for (const auto& e : want) size += fmt::record_header_size + e.size();
    BOOST_TEST(std::filesystem::file_size(tmp / fmt::segment_file_name(1)) == size);
}

BOOST_AUTO_TEST_CASE(truncate_suffix_at_every_position_across_segments) {
    // Log 1..40 in 256-byte segments; truncate at each index (and beyond),
    // append a different term, restart and compare, each in a fresh directory.
    const index_t n = 40;
    for (index_t from = 1; from <= n + 2; ++from) {
        BOOST_TEST_CONTEXT("truncate_suffix(" << from << ")") {
            temp_dir tmp;
            counting_options co;
            {
                persistent_state st;
                auto p = open_loaded(tmp.path(), st, co.make(256));
                BOOST_TEST_REQUIRE(!p->append(make_entries(1, n, 1)));
                BOOST_TEST_REQUIRE(!p->sync());
            }
            persistent_state st;
            auto p = open_loaded(tmp.path(), st, co.make(256));
            BOOST_TEST_REQUIRE(!p->truncate_suffix(from));
            const index_t kept = std::min(from - 1, n);
            BOOST_TEST(p->last_index() == kept);
            BOOST_TEST_REQUIRE(!p->append(make_entries(kept + 1, kept + 5, 2)));
            BOOST_TEST_REQUIRE(!p->sync());
            p.reset();
            const auto want = concat(make_entries(1, kept, 1), make_entries(kept + 1, kept + 5, 2));
            BOOST_TEST(log_diff(reload(tmp.path(), co.make(256)).entries, want) == "");
            BOOST_TEST(co.warnings->empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(repeated_truncations_without_restart) {
    // Truncations into closed segments, then into the reopened one, then
    // everything: the live persister and a reload must agree at every step.
    temp_dir tmp;
    persistent_state st;
    auto p = open_loaded(tmp.path(), st, counting_options().make(300));
    std::vector<log_entry> model = make_entries(1, 60, 1);
    BOOST_TEST_REQUIRE(!p->append(model));
    term_t term = 1;
    for (index_t from : {55u, 31u, 30u, 12u, 13u, 1u, 1u, 4u}) {
        BOOST_TEST_REQUIRE(!p->truncate_suffix(from));
        model.resize(std::min<std::size_t>(model.size(), from - 1));
        ++term;
        auto more = make_entries(model.size() + 1, model.size() + 7, term);
        BOOST_TEST_REQUIRE(!p->append(more));
        model = concat(model, more);
        BOOST_TEST_REQUIRE(!p->sync());
        p.reset();
        BOOST_TEST(log_diff(reload(tmp.path(), counting_options().make(300)).entries, model) == "");
        p = open_loaded(tmp.path(), st, counting_options().make(300));
    }
}

BOOST_AUTO_TEST_CASE(remove_prefix_round_trips) {
    temp_dir tmp;
    const auto opts = [] { return counting_options().make(400); };
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, opts());
        BOOST_TEST(!p->append(make_entries(1, 100, 3)));
        BOOST_TEST(!p->save_hard_state({3, 1}));
        BOOST_TEST(!p->remove_prefix(37, 3));
        BOOST_TEST(!p->sync());
    }
    {
        const auto st = reload(tmp.path(), opts());
        BOOST_TEST(state_diff(st, expected({3, 1}, 37, 3, make_entries(37, 100, 3))) == "");
        // Whole segments below the start are gone; the one holding 37 stays.
        const auto files = segment_files(tmp.path());
        BOOST_TEST(*fmt::parse_segment_file_name(files.front()) <= 37u);
        BOOST_TEST(*fmt::parse_segment_file_name(files.front()) > 30u);
    }
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, opts());
        BOOST_TEST(!p->remove_prefix(20, 99));   // below the start: nothing happens
        BOOST_TEST(!p->truncate_suffix(5));      // below the start: the whole log goes
        BOOST_TEST(p->last_index() == 36u);
        BOOST_TEST(!p->append(make_entries(37, 50, 4)));
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST(state_diff(reload(tmp.path(), opts()), expected({3, 1}, 37, 3, make_entries(37, 50, 4))) == "");
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, opts());
        BOOST_TEST(!p->remove_prefix(51, 4));    // exactly everything
        BOOST_TEST(p->last_index() == 50u);
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST(state_diff(reload(tmp.path(), opts()), expected({3, 1}, 51, 4, {})) == "");
    BOOST_TEST(segment_files(tmp.path()).empty());
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, opts());
        BOOST_TEST(!p->remove_prefix(1000, 7));  // past the end (a snapshot from the leader)
        BOOST_TEST(p->last_index() == 999u);
        BOOST_TEST(p->append({make_entry(999, 7)}));    // refused: must continue at 1000
        BOOST_TEST(!p->failed());
        BOOST_TEST(!p->append(make_entries(1000, 1010, 8)));
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST(state_diff(reload(tmp.path(), opts()), expected({3, 1}, 1000, 7, make_entries(1000, 1010, 8))) == "");
}

BOOST_AUTO_TEST_CASE(interrupted_remove_prefix_leaves_leftovers_that_load_removes) {
    // remove_prefix records the new start first and unlinks afterwards: a
    // crash in between leaves segments below the start. Simulate it by
    // writing log_meta by hand.
    temp_dir tmp;
    counting_options co;
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, co.make(300));
        BOOST_TEST(!p->append(make_entries(1, 50, 2)));
        BOOST_TEST(!p->sync());
    }
    const auto before = segment_files(tmp.path());
    BOOST_TEST_REQUIRE(before.size() > 3u);
    write_file(tmp / "log_meta", fmt::encode_small_file(fmt::log_meta_magic, 30, 2));
    const auto st = reload(tmp.path(), co.make(300));
    BOOST_TEST(state_diff(st, expected({}, 30, 2, make_entries(30, 50, 2))) == "");
    BOOST_TEST(segment_files(tmp.path()).size() < before.size());
    BOOST_TEST(!co.warnings->empty());

    // Everything below the start, with the start past the end.
    write_file(tmp / "log_meta", fmt::encode_small_file(fmt::log_meta_magic, 80, 5));
    {
        persistent_state st2;
        auto p = open_loaded(tmp.path(), st2, co.make(300));
        BOOST_TEST(state_diff(st2, expected({}, 80, 5, {})) == "");
        BOOST_TEST(segment_files(tmp.path()).empty());
        BOOST_TEST(!p->append(make_entries(80, 85, 6)));
        BOOST_TEST(!p->sync());
    }
    BOOST_TEST(state_diff(reload(tmp.path(), co.make(300)), expected({}, 80, 5, make_entries(80, 85, 6))) == "");
}

BOOST_AUTO_TEST_CASE(contract_violations_are_refused_without_failing) {
    temp_dir tmp;
    file_persister p(tmp.path());
    BOOST_TEST((p.append(make_entries(1, 1, 1)) == errc::storage_failed));   // before load
    BOOST_TEST(p.last_error_message().find("load()") != std::string::npos);
    persistent_state st;
    BOOST_TEST_REQUIRE(!p.load(st));
    BOOST_TEST(p.load(st));   // twice
    BOOST_TEST((p.append(make_entries(2, 3, 1)) == boost::system::errc::invalid_argument));
    BOOST_TEST(p.last_error_message().find("expected 1") != std::string::npos);
    auto gap = make_entries(1, 3, 1);
    gap[2].index = 7;
    BOOST_TEST((p.append(gap) == boost::system::errc::invalid_argument));
    BOOST_TEST(p.last_index() == 0u);   // nothing of the refused batch was written
    BOOST_TEST(!p.failed());
    BOOST_TEST(!p.append(make_entries(1, 3, 1)));
    BOOST_TEST(!p.append({}));
    BOOST_TEST(!p.sync());
    BOOST_TEST(log_diff(st.entries, {}) == "");
}

BOOST_AUTO_TEST_CASE(configuration_entries_are_stored_and_recovered) {
    // A configuration entry (encode_membership's bytes, learners, addresses
    // and info of every byte value) between ordinary entries, across a
    // segment boundary, read back after a restart exactly as written.
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte.push_back(static_cast<char>(c));
    const membership config(std::vector<member>{{1, true, "10.0.0.1:7000", ""},
                                                {2, true, "", every_byte},
                                                {9, false, every_byte, "learner"}});
    temp_dir tmp;
    counting_options co;
    auto entries = make_entries(1, 12, 3);
    for (index_t i : {5u, 11u}) {
        entries[i - 1].kind = entry_kind::configuration;
        entries[i - 1].payload = make_bytes(encode_membership(config));
    }
    {
        persistent_state st;
        auto p = open_loaded(tmp.path(), st, co.make(1024));
        BOOST_TEST_REQUIRE(!p->append(std::vector<log_entry>(entries.begin(), entries.begin() + 6)));
        BOOST_TEST_REQUIRE(!p->append(std::vector<log_entry>(entries.begin() + 6, entries.end())));
        BOOST_TEST_REQUIRE(!p->sync());
    }
    BOOST_TEST(segment_files(tmp.path()).size() > 1u);
    const auto st = reload(tmp.path(), co.make(1024));
    BOOST_TEST(state_diff(st, expected({}, 1, 0, entries)) == "");
    for (index_t i : {5u, 11u}) {
        BOOST_TEST_CONTEXT("entry " << i) {
            BOOST_TEST((st.entries[i - 1].kind == entry_kind::configuration));
            const auto decoded = decode_membership(st.entries[i - 1].data());
            BOOST_TEST_REQUIRE(decoded.has_value());
            BOOST_TEST((*decoded == config));
        }
    }
    // And appended after the restart, then truncated back to and past it.
    {
        persistent_state st2;
        auto p = open_loaded(tmp.path(), st2, co.make(1024));
        log_entry e = make_entry(13, 4);
        e.kind = entry_kind::configuration;
        e.payload = make_bytes(encode_membership(membership{1, 2}));
        BOOST_TEST_REQUIRE(!p->append({e}));
        BOOST_TEST_REQUIRE(!p->sync());
        entries.push_back(e);
    }
    BOOST_TEST(state_diff(reload(tmp.path(), co.make(1024)), expected({}, 1, 0, entries)) == "");
    BOOST_TEST(co.warnings->empty());
}

BOOST_AUTO_TEST_CASE(unknown_entry_kinds_are_refused_on_write) {
    temp_dir tmp;
    file_persister p(tmp.path());
    persistent_state st;
    BOOST_TEST_REQUIRE(!p.load(st));
    for (unsigned kind : {3u, 255u}) {
        auto v = make_entries(1, 2, 1);
        v[1].kind = static_cast<entry_kind>(kind);
        BOOST_TEST_CONTEXT("kind " << kind) {
            BOOST_TEST((p.append(v) == boost::system::errc::invalid_argument));
            BOOST_TEST(p.last_error_message().find("unknown kind") != std::string::npos, p.last_error_message());
            BOOST_TEST(p.last_index() == 0u);   // nothing of the refused batch was written
            BOOST_TEST(!p.failed());
        }
    }
    BOOST_TEST(!p.append(make_entries(1, 2, 1)));
    BOOST_TEST(!p.sync());
}

BOOST_AUTO_TEST_CASE(payload_bound_is_enforced_on_write) {
    temp_dir tmp;
    file_persister_options o;
    o.max_payload = 100;
    file_persister p(tmp.path(), o);
    persistent_state st;
    BOOST_TEST_REQUIRE(!p.load(st));
    log_entry e = make_entry(1, 1);
    e.payload = make_bytes(std::string(101, 'z'));
    BOOST_TEST((p.append({e}) == boost::system::errc::message_size));
    e.payload = make_bytes(std::string(100, 'z'));
    BOOST_TEST(!p.append({e}));
    BOOST_TEST(!p.failed());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_persister_lock)

BOOST_AUTO_TEST_CASE(second_open_in_process_is_refused) {
    temp_dir tmp;
    persistent_state st;
    auto first = open_loaded(tmp.path(), st);
    file_persister second(tmp.path());
    const auto ec = second.load(st);
    BOOST_TEST((ec == errc::already_locked));
    BOOST_TEST(second.last_error_message().find("LOCK") != std::string::npos);
    BOOST_TEST(second.last_error_message().find(tmp.path()) != std::string::npos);
    BOOST_TEST((second.append(make_entries(1, 1, 1)) == errc::storage_failed));
    first.reset();   // closing releases it
    file_persister third(tmp.path());
    BOOST_TEST(!third.load(st));
}

BOOST_AUTO_TEST_CASE(second_process_is_refused) {
    temp_dir tmp;
    persistent_state st;
    auto first = open_loaded(tmp.path(), st);
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        persistent_state s;
        file_persister other(tmp.path());
        const auto ec = other.load(s);
        ::_exit(ec == errc::already_locked ? 0 : 1);
    }
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0, "the child process was not refused with already_locked");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_persister_failures)

// A full disk, seen through RLIMIT_FSIZE (root ignores permission bits, but
// not this): a write crosses the limit, comes back short, and the next one
// fails with EFBIG. The persister must report it and refuse everything after.
BOOST_AUTO_TEST_CASE(write_error_latches_failed_state) {
    temp_dir tmp;
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit lim{6000, 6000};
        ::setrlimit(RLIMIT_FSIZE, &lim);
        file_persister p(tmp.path());
        persistent_state st;
        int code = 10;
        if (!p.load(st)) {
            index_t durable = 0, i = 1;
            boost::system::error_code ec;
            for (; i < 1000; ++i) {
                if ((ec = p.append(make_entries(i, i, 1)))) break;
                if ((ec = p.sync())) break;
                durable = i;
            }
            code = 0;
            if (ec != boost::system::errc::file_too_large) code = 11;
            else if (!p.failed()) code = 12;
            else if (p.last_error_message().find("log-") == std::string::npos) code = 13;
            else if (p.sync() != errc::storage_failed) code = 14;   // never pretend
            else if (p.append(make_entries(durable + 1, durable + 1, 1)) != errc::storage_failed) code = 15;
            else if (p.save_hard_state({2, 2}) != errc::storage_failed) code = 16;
            else if (p.truncate_suffix(1) != errc::storage_failed) code = 17;
            else if (p.remove_prefix(2, 1) != errc::storage_failed) code = 18;
            else if (p.last_error_message().find("storage failed earlier") == std::string::npos) code = 19;
            [[maybe_unused]] auto n = ::write(fds[1], &durable, sizeof durable);
        }
        ::_exit(code);
    }
    ::close(fds[1]);
    index_t durable = 0;
    const auto got = ::read(fds[0], &durable, sizeof durable);
    ::close(fds[0]);
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    BOOST_TEST_REQUIRE(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0, "child check " << WEXITSTATUS(status) << " failed");
    BOOST_TEST_REQUIRE(got == static_cast<ssize_t>(sizeof durable));
    BOOST_TEST(durable > 10u);
    // Without the limit, the directory loads: everything synced is there and
    // the half-written record is cut off as a torn tail.
    counting_options co;
    const auto st = reload(tmp.path(), co.make());
    BOOST_TEST(st.last_index() >= durable);
    BOOST_TEST(log_diff(std::vector<log_entry>(st.entries.begin(), st.entries.begin() + durable),
                        make_entries(1, durable, 1)) == "");
    BOOST_TEST(co.warnings->size() <= 1u);
}

BOOST_AUTO_TEST_SUITE_END()
