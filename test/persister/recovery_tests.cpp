// raftlite — file_persister recovery: torn tails are cut, damage is refused.
#include "persister/helpers.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace persister_test;
namespace fmt = raftlite::detail;

namespace {

struct load_result {
    boost::system::error_code ec;
    std::string message;
    persistent_state st;
    std::vector<std::string> warnings;
};

load_result try_load(const std::string& dir, std::uint64_t segment_size = 64ull << 20) {
    counting_options co;
    file_persister p(dir, co.make(segment_size));
    load_result r;
    r.ec = p.load(r.st);
    r.message = p.last_error_message();
    r.warnings = *co.warnings;
    return r;
}

// Writes entries 1..n (term 1) in segments of `segment_size` bytes and closes.
void write_log(const std::string& dir, index_t n, std::uint64_t segment_size) {
    counting_options co;
    file_persister p(dir, co.make(segment_size));
    persistent_state st;
    BOOST_TEST_REQUIRE(!p.load(st));
    BOOST_TEST_REQUIRE(!p.append(make_entries(1, n, 1)));
    BOOST_TEST_REQUIRE(!p.save_hard_state({1, 2}));
    BOOST_TEST_REQUIRE(!p.sync());
}

// Record offsets in a segment's bytes (the file is known good).
std::vector<std::uint64_t> record_offsets(const std::string& bytes) {
    std::vector<std::uint64_t> v;
    std::uint64_t off = fmt::segment_header_size;
    while (off < bytes.size()) {
        v.push_back(off);
        off += fmt::record_header_size +
               fmt::get_u32(reinterpret_cast<const unsigned char*>(bytes.data()) + off);
    }
    return v;
}

std::string record_bytes(const log_entry& e) {
    fmt::record_header h;
    h.payload_size = static_cast<std::uint32_t>(e.size());
    h.kind = e.kind;
    h.term = e.term;
    h.index = e.index;
    h.origin = e.origin;
    h.payload_crc = fmt::crc32c(e.data().data(), e.size());
    unsigned char buf[fmt::record_header_size];
    fmt::encode_record_header(buf, h);
    return std::string(reinterpret_cast<const char*>(buf), sizeof buf) + std::string(e.data());
}

std::string segment_bytes(index_t first, const std::vector<log_entry>& entries) {
    unsigned char hdr[fmt::segment_header_size];
    fmt::encode_segment_header(hdr, first);
    std::string s(reinterpret_cast<const char*>(hdr), sizeof hdr);
    for (const auto& e : entries) s += record_bytes(e);
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(recovery)

BOOST_AUTO_TEST_CASE(torn_last_record_at_every_byte_offset) {
    temp_dir tmp;
    write_log(tmp.path(), 6, 1 << 20);
    const std::string seg = tmp / fmt::segment_file_name(1);
    const std::string good = read_file(seg);
    const auto offsets = record_offsets(good);
    BOOST_TEST_REQUIRE(offsets.size() == 6u);
    const std::uint64_t start = offsets.back();
    BOOST_TEST_REQUIRE(good.size() - start > fmt::record_header_size);
    for (std::uint64_t cut = start; cut < good.size(); ++cut) {
        BOOST_TEST_CONTEXT("file cut at byte " << cut << " (last record at " << start << ")") {
            write_file(seg, good.substr(0, cut));
            auto r = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r.ec, r.message);
            BOOST_TEST(log_diff(r.st.entries, make_entries(1, 5, 1)) == "");
            BOOST_TEST(r.warnings.size() == (cut > start ? 1u : 0u));
            if (!r.warnings.empty()) BOOST_TEST(r.warnings[0].find("torn tail") != std::string::npos);
            BOOST_TEST(std::filesystem::file_size(seg) == start);
            // The cut log takes new entries and reads back exactly.
            {
                counting_options co;
                file_persister p(tmp.path(), co.make());
                persistent_state st;
                BOOST_TEST_REQUIRE(!p.load(st));
                BOOST_TEST_REQUIRE(!p.append(make_entries(6, 7, 2)));
                BOOST_TEST_REQUIRE(!p.sync());
            }
            r = try_load(tmp.path());
            BOOST_TEST_REQUIRE(!r.ec, r.message);
            auto want = make_entries(1, 5, 1);
            for (auto& e : make_entries(6, 7, 2)) want.push_back(e);
            BOOST_TEST(log_diff(r.st.entries, want) == "");
            BOOST_TEST(r.warnings.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(torn_segment_header_removes_the_new_segment) {
    temp_dir tmp;
    write_log(tmp.path(), 30, 400);
    const auto files = segment_files(tmp.path());
    BOOST_TEST_REQUIRE(files.size() >= 3u);
    // A segment being created when the process died: 0..31 bytes of header,
    // or a header-sized hole of zeros (power loss after the size was logged).
    const index_t next = 31;
    const std::string name = tmp / fmt::segment_file_name(next);
    unsigned char hdr[fmt::segment_header_size];
    fmt::encode_segment_header(hdr, next);
    for (std::size_t cut = 0; cut <= fmt::segment_header_size; ++cut) {
        BOOST_TEST_CONTEXT("new segment with " << cut << " bytes") {
            write_file(name, cut == fmt::segment_header_size
                                 ? std::string(fmt::segment_header_size, '\0')
                                 : std::string(reinterpret_cast<const char*>(hdr), cut));
            const auto r = try_load(tmp.path(), 400);
            BOOST_TEST_REQUIRE(!r.ec, r.message);
            BOOST_TEST(log_diff(r.st.entries, make_entries(1, 30, 1)) == "");
            BOOST_TEST(r.warnings.size() == 1u);
            BOOST_TEST(!std::filesystem::exists(name));
        }
    }
    // A complete header with no records is a valid empty segment: appends go there.
    write_file(name, std::string(reinterpret_cast<const char*>(hdr), sizeof hdr));
    {
        counting_options co;
        file_persister p(tmp.path(), co.make(400));
        persistent_state st;
        BOOST_TEST_REQUIRE(!p.load(st));
        BOOST_TEST(co.warnings->empty());
        BOOST_TEST_REQUIRE(!p.append(make_entries(31, 31, 1)));
        BOOST_TEST_REQUIRE(!p.sync());
    }
    BOOST_TEST(std::filesystem::file_size(name) > fmt::segment_header_size);
    BOOST_TEST(try_load(tmp.path(), 400).st.last_index() == 31u);
}

// Once the torn new segment is gone, the segment before it is the tail again:
// appends must go after its last record, not over its header.
BOOST_AUTO_TEST_CASE(appends_after_a_removed_torn_segment_continue_the_log) {
    temp_dir tmp;
    write_log(tmp.path(), 30, 400);
    write_file(tmp / fmt::segment_file_name(31), std::string(10, '\0'));
    {
        counting_options co;
        file_persister p(tmp.path(), co.make(400));
        persistent_state st;
        BOOST_TEST_REQUIRE(!p.load(st), p.last_error_message());
        BOOST_TEST(co.warnings->size() == 1u);
        BOOST_TEST(st.last_index() == 30u);
        BOOST_TEST_REQUIRE(!p.append(make_entries(31, 33, 2)), p.last_error_message());
        BOOST_TEST_REQUIRE(!p.sync());
    }
    const auto r = try_load(tmp.path(), 400);
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    auto want = make_entries(1, 30, 1);
    for (auto& e : make_entries(31, 33, 2)) want.push_back(e);
    BOOST_TEST(log_diff(r.st.entries, want) == "");
    BOOST_TEST(r.warnings.empty());
}

BOOST_AUTO_TEST_CASE(zero_filled_tail_is_torn) {
    // After power loss a file's size can be durable while its last blocks are not.
    temp_dir tmp;
    write_log(tmp.path(), 5, 1 << 20);
    const std::string seg = tmp / fmt::segment_file_name(1);
    const std::string good = read_file(seg);
    write_file(seg, good + std::string(4096, '\0'));
    const auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST(r.st.last_index() == 5u);
    BOOST_TEST(r.warnings.size() == 1u);
    BOOST_TEST(read_file(seg) == good);
}

// Every single-bit flip in every segment file: the load either refuses with
// corrupt_data (and changes no file), or — only for a flip in the very last
// record — cuts that record as a torn tail. It never returns other data.
BOOST_AUTO_TEST_CASE(single_bit_flips_never_return_wrong_data) {
    temp_dir tmp;
    write_log(tmp.path(), 7, 420);   // a few records per segment, three segments or so
    const auto files = segment_files(tmp.path());
    BOOST_TEST_REQUIRE(files.size() >= 2u);
    const auto all = make_entries(1, 7, 1);
    std::size_t refused = 0, cut = 0;
    for (std::size_t f = 0; f < files.size(); ++f) {
        const std::string path = tmp / files[f];
        const std::string good = read_file(path);
        const bool last_file = f + 1 == files.size();
        const std::uint64_t last_record = record_offsets(good).back();
        for (std::size_t byte = 0; byte < good.size(); ++byte) {
            for (int bit = 0; bit < 8; ++bit) {
                BOOST_TEST_CONTEXT(files[f] << " byte " << byte << " bit " << bit) {
                    std::string bad = good;
                    bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
                    write_file(path, bad);
                    const auto before = snapshot_dir(tmp.path());
                    const auto r = try_load(tmp.path(), 420);
                    if (r.ec) {
                        ++refused;
                        BOOST_TEST((r.ec == errc::corrupt_data), r.ec.message());
                        BOOST_TEST(r.message.find(files[f]) != std::string::npos, r.message);
                        BOOST_TEST(r.message.find("offset") != std::string::npos, r.message);
                        BOOST_TEST((snapshot_dir(tmp.path()) == before), "a refused load changed files");
                    } else {
                        ++cut;
                        BOOST_TEST((last_file && byte >= last_record),
                                   "accepted a flip outside the last record");
                        BOOST_TEST(log_diff(r.st.entries, std::vector<log_entry>(all.begin(), all.end() - 1)) == "");
                        BOOST_TEST(r.warnings.size() == 1u);
                    }
                    write_file(path, good);
                }
            }
        }
    }
    BOOST_TEST_MESSAGE("bit flips: " << refused << " refused as corrupt, " << cut << " cut as torn tail");
    BOOST_TEST(refused > 0u);
    BOOST_TEST(cut > 0u);
    BOOST_TEST(try_load(tmp.path(), 420).st.last_index() == 7u);
}

BOOST_AUTO_TEST_CASE(bit_flips_in_small_files_are_refused) {
    for (const char* name : {"hard_state", "log_meta"}) {
        temp_dir tmp;
        {
            counting_options co;
            file_persister p(tmp.path(), co.make());
            persistent_state st;
            BOOST_TEST_REQUIRE(!p.load(st));
            BOOST_TEST_REQUIRE(!p.save_hard_state({3, 1}));
            BOOST_TEST_REQUIRE(!p.append(make_entries(1, 3, 1)));
            BOOST_TEST_REQUIRE(!p.remove_prefix(2, 1));
            BOOST_TEST_REQUIRE(!p.sync());
        }
        const std::string path = tmp / name;
        const std::string good = read_file(path);
        // hard_state has the second form (term, vote, commit: 48 bytes).
        BOOST_TEST_REQUIRE(good.size() == (std::string(name) == "hard_state" ? fmt::hard_state_file_size
                                                                               : fmt::small_file_size));
        for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
            std::string bad = good;
            bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
            write_file(path, bad);
            const auto r = try_load(tmp.path());
            BOOST_TEST((r.ec == errc::corrupt_data), name << " bit " << bit);
            BOOST_TEST(r.message.find(name) != std::string::npos);
        }
        write_file(path, good + "x");
        BOOST_TEST((try_load(tmp.path()).ec == errc::corrupt_data));
        write_file(path, good.substr(0, 20));
        BOOST_TEST((try_load(tmp.path()).ec == errc::corrupt_data));
        write_file(path, good);
        const auto r = try_load(tmp.path());
        BOOST_TEST_REQUIRE(!r.ec);
        BOOST_TEST((r.st.hard == hard_state{3, 1}));
        BOOST_TEST(r.st.log_start == 2u);
    }
}

BOOST_AUTO_TEST_CASE(missing_middle_segment_is_refused) {
    temp_dir tmp;
    write_log(tmp.path(), 40, 400);
    const auto files = segment_files(tmp.path());
    BOOST_TEST_REQUIRE(files.size() >= 3u);
    const std::string gone = read_file(tmp / files[1]);
    std::filesystem::remove(tmp / files[1]);
    const auto before = snapshot_dir(tmp.path());
    const auto r = try_load(tmp.path(), 400);
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find("missing") != std::string::npos, r.message);
    BOOST_TEST(r.message.find(files[2]) != std::string::npos, r.message);
    BOOST_TEST((snapshot_dir(tmp.path()) == before));
    // The first segment missing is refused as well.
    write_file(tmp / files[1], gone);
    std::filesystem::remove(tmp / files[0]);
    BOOST_TEST((try_load(tmp.path(), 400).ec == errc::corrupt_data));
}

BOOST_AUTO_TEST_CASE(torn_tail_in_a_middle_segment_is_refused) {
    temp_dir tmp;
    write_log(tmp.path(), 40, 400);
    const auto files = segment_files(tmp.path());
    BOOST_TEST_REQUIRE(files.size() >= 3u);
    const std::string middle = tmp / files[1];
    const std::string good = read_file(middle);
    write_file(middle, good.substr(0, good.size() - 3));
    const auto r = try_load(tmp.path(), 400);
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find(files[1]) != std::string::npos, r.message);
    BOOST_TEST(std::filesystem::file_size(middle) == good.size() - 3);
}

BOOST_AUTO_TEST_CASE(index_gap_with_valid_checksums_is_refused) {
    // Records that pass their checksums but skip an index: even in the last
    // record this is not a torn write.
    temp_dir tmp;
    std::vector<log_entry> v = make_entries(1, 4, 1);
    v.push_back(make_entry(6, 1));
    write_file(tmp / fmt::segment_file_name(1), segment_bytes(1, v));
    auto r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find("expected index 5, found 6") != std::string::npos, r.message);
    // A segment whose name and header disagree.
    write_file(tmp / fmt::segment_file_name(1), segment_bytes(2, make_entries(1, 3, 1)));
    r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find("file name") != std::string::npos, r.message);
}

BOOST_AUTO_TEST_CASE(lengths_are_bounded_before_allocating) {
    // A record whose header checksum is valid but whose length is absurd
    // (4 GiB - 1): refused from the header alone, last record or not.
    temp_dir tmp;
    auto v = make_entries(1, 3, 1);
    std::string s = segment_bytes(1, v);
    fmt::record_header h;
    h.payload_size = 0xFFFFFFFFu;
    h.index = 4;
    h.term = 1;
    unsigned char buf[fmt::record_header_size];
    fmt::encode_record_header(buf, h);
    s.append(reinterpret_cast<const char*>(buf), sizeof buf);
    s += "short";
    write_file(tmp / fmt::segment_file_name(1), s);
    const auto r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find("exceeds the bound") != std::string::npos, r.message);
}

BOOST_AUTO_TEST_CASE(configuration_records_load_and_unknown_kinds_are_refused) {
    // A segment written byte by byte: a configuration record (kind 2) loads.
    temp_dir tmp;
    auto v = make_entries(1, 4, 1);
    v[1].kind = entry_kind::configuration;
    v[1].payload = make_bytes(encode_membership(membership(std::vector<member>{{1, true, "a:1", "x"},
                                                                               {4, false, "b:2", ""}})));
    write_file(tmp / fmt::segment_file_name(1), segment_bytes(1, v));
    auto r = try_load(tmp.path());
    BOOST_TEST_REQUIRE(!r.ec, r.message);
    BOOST_TEST(log_diff(r.st.entries, v) == "");
    // Kind 3 with valid checksums is damage, in the middle of the log or as
    // its last record: never cut as a torn tail.
    for (std::size_t at : {1u, 3u}) {
        BOOST_TEST_CONTEXT("kind 3 at entry " << at + 1) {
            auto bad = v;
            bad[at].kind = static_cast<entry_kind>(3);
            write_file(tmp / fmt::segment_file_name(1), segment_bytes(1, bad));
            r = try_load(tmp.path());
            BOOST_TEST((r.ec == errc::corrupt_data));
            BOOST_TEST(r.message.find("unknown entry kind 3") != std::string::npos, r.message);
        }
    }
}

BOOST_AUTO_TEST_CASE(unknown_format_version_is_refused) {
    temp_dir tmp;
    std::string s = segment_bytes(1, make_entries(1, 2, 1));
    auto* p = reinterpret_cast<unsigned char*>(s.data());
    fmt::put_u32(p + 8, fmt::storage_format_version + 1);
    fmt::put_u32(p + 28, fmt::crc32c(p, 28));
    write_file(tmp / fmt::segment_file_name(1), s);
    const auto r = try_load(tmp.path());
    BOOST_TEST((r.ec == errc::corrupt_data));
    BOOST_TEST(r.message.find("unsupported") != std::string::npos, r.message);
}

BOOST_AUTO_TEST_SUITE_END()
