// Fuzz target: load() of a data directory whose snapshot file holds hostile
// bytes (file_persister::load, snapshot files in docs/storage-format.md).
//
// The first input byte chooses a variant:
//   even: "raw"   — the rest is the snapshot file, named after the index and
//                   term its footer claims (1 and 1 when it is too short for one).
//   odd:  "valid" — the rest is the application data of a snapshot file
//                   encoded as the writer encodes it (format 2, index
//                   1 + byte0 / 4), its configuration made from byte 0 and
//                   the input: up to 7 members, learners among them, with
//                   addresses and info cut from the input (any bytes). With
//                   bit 1 of byte 0 set, the file is written as format 1 wrote
//                   it instead (the voters as u64s), and loads with those voters.
// load() must then fail with corrupt_data (and say why), or return a
// snapshot whose data, read back with read_snapshot, is meta.size bytes that
// re-checksum to meta.crc, its configuration one that encode_membership
// round-trips, and a log that continues it. A second load agrees.
// In the "valid" variant the snapshot must load, with the input as its data.
//
// max_len: 8192
#include "fuzz_check.hpp"
#include "fuzz_scratch.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>
#include <raftlite/file_persister.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

using namespace raftlite;
namespace fmt = raftlite::detail;
namespace fs = std::filesystem;

namespace {

// Loads the directory and checks the property; true when it loaded.
bool load_and_check(const fs::path& dir, persistent_state& st) {
    file_persister_options opts;
    opts.on_warning = [](const std::string&) {};
    file_persister p(dir.string(), opts);
    const auto ec = p.load(st);
    if (ec) {
        RAFTLITE_FUZZ_CHECK(ec == errc::corrupt_data, "load failed with another error");
        RAFTLITE_FUZZ_CHECK(!p.last_error_message().empty(), "failure without a message");
        return false;
    }
    if (!st.snapshot)
        return true;
    const snapshot_meta& m = *st.snapshot;
    RAFTLITE_FUZZ_CHECK(p.current_snapshot() == st.snapshot, "current_snapshot differs from what load returned");
    RAFTLITE_FUZZ_CHECK(st.log_start <= m.index + 1, "the log does not continue the snapshot");
    RAFTLITE_FUZZ_CHECK(st.entries.empty(), "entries appeared from nowhere");
    std::string data, part;
    for (std::uint64_t off = 0; off < m.size; off += part.size()) {
        RAFTLITE_FUZZ_CHECK(!p.read_snapshot(m, off, 1000, part), "read_snapshot failed on a loaded snapshot");
        RAFTLITE_FUZZ_CHECK(!part.empty(), "read_snapshot made no progress");
        data += part;
    }
    RAFTLITE_FUZZ_CHECK(data.size() == m.size, "snapshot data size differs from its meta");
    RAFTLITE_FUZZ_CHECK(fmt::crc32c(data.data(), data.size()) == m.crc, "loaded snapshot data fails its checksum");
    const auto config = decode_membership(encode_membership(m.members));
    RAFTLITE_FUZZ_CHECK(config && *config == m.members, "loaded configuration does not survive encode_membership");
    for (const member& x : m.members.members())
        RAFTLITE_FUZZ_CHECK(x.id != no_node, "a member with id 0");
    return true;
}

// The configuration of the "valid" variant: byte 0's bits 2..4 the number of
// members, bits 5..7 which are learners; addresses and info are pieces of
// the input.
membership members_from(std::uint8_t b, std::string_view in) {
    const std::size_t n = (b >> 2) & 7;
    std::vector<member> ms;
    for (std::size_t i = 0; i < n; ++i) {
        member x;
        x.id = 1 + 3 * i + (in.empty() ? 0 : static_cast<unsigned char>(in[i % in.size()]) % 3);
        x.voter = i >= 3 || ((b >> (5 + i)) & 1) == 0;
        const std::size_t at = in.empty() ? 0 : (7 * i) % in.size();
        x.address = std::string(in.substr(at, i * 5));
        x.info = std::string(in.substr(in.size() - std::min(in.size(), i * 11)));
        ms.push_back(std::move(x));
    }
    return membership(std::move(ms));
}

// A trailer as format 1 wrote it: the voters as u64s, version 1.
std::string v1_trailer(const snapshot_meta& meta) {
    const auto voters = meta.members.voters();
    const std::size_t n = voters.size();
    std::string out(8 * n + fmt::snapshot_footer_size, '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    for (std::size_t i = 0; i < n; ++i)
        fmt::put_u64(p + 8 * i, voters[i]);
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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bool valid_variant = (data[0] & 1) != 0;

    static unsigned long run = 0;
    const fs::path dir = raftlite::fuzz::scratch_base("raftlite-fuzz-snap") / std::to_string(run++);
    fs::create_directories(dir);

    snapshot_meta valid;
    if (valid_variant) {
        const bool version_1 = (data[0] & 2) != 0;
        valid.index = 1 + (data[0] >> 2);
        valid.term = 1;
        valid.members = members_from(data[0], in);
        if (version_1)
            valid.members = membership(valid.members.voters());   // what format 1 can hold
        valid.size = in.size();
        valid.crc = fmt::crc32c(in.data(), in.size());
        std::string file(in);
        file += version_1 ? v1_trailer(valid) : fmt::encode_snapshot_trailer(valid);
        raftlite::fuzz::write_file(dir / fmt::snapshot_file_name(valid.index, valid.term), file);
    } else {
        index_t index = 1;
        term_t term = 1;
        if (in.size() >= fmt::snapshot_footer_size) {
            const auto* f = reinterpret_cast<const unsigned char*>(in.data()) + in.size() - fmt::snapshot_footer_size;
            index = fmt::get_u64(f + 16);
            term = fmt::get_u64(f + 24);
        }
        raftlite::fuzz::write_file(dir / fmt::snapshot_file_name(index, term), in);
    }

    persistent_state st;
    const bool loaded = load_and_check(dir, st);
    if (valid_variant) {
        RAFTLITE_FUZZ_CHECK(loaded, "a valid snapshot file did not load");
        RAFTLITE_FUZZ_CHECK(st.snapshot && *st.snapshot == valid, "a valid snapshot loaded as something else");
    }
    if (loaded) {
        persistent_state again;
        RAFTLITE_FUZZ_CHECK(load_and_check(dir, again), "a loaded directory does not load again");
        RAFTLITE_FUZZ_CHECK(again.snapshot == st.snapshot && again.log_start == st.log_start &&
                                again.prefix_term == st.prefix_term,
                            "second load differs");
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 0;
}
