// Fuzz target: recovery of a data directory whose log segments hold hostile
// bytes (file_persister::load, docs/storage-format.md).
//
// The first input byte chooses a variant:
//   even: "raw"    — the rest is the log: split before every segment magic
//                    "RLLOGSEG", each piece is a segment file named after the
//                    first index in its header (index 1 when it has none).
//   odd:  "append" — a valid segment of 1..8 entries (application, noop and
//                    configuration ones), with the rest of the input
//                    appended to it (a torn or damaged tail).
// load() must then fail with corrupt_data, or return a log whose indexes are
// contiguous and whose every entry is a record, with valid checksums, that
// is in the input. A second load of the (possibly repaired) directory must
// return the same log, and the log must take a new entry afterwards. In the
// "append" variant the valid entries must all come back.
//
// max_len: 8192 (several segments; ./run fuzz reads this line)
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
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

using namespace raftlite;
namespace fmt = raftlite::detail;
namespace fs = std::filesystem;

namespace {

std::string encode_record(const log_entry& e) {
    fmt::record_header h;
    h.payload_size = static_cast<std::uint32_t>(e.size());
    h.kind = e.kind;
    h.term = e.term;
    h.index = e.index;
    h.origin = e.origin;
    h.payload_crc = fmt::crc32c(e.data().data(), e.size());
    std::string out(fmt::record_header_size, '\0');
    fmt::encode_record_header(reinterpret_cast<unsigned char*>(out.data()), h);
    out.append(e.data());
    return out;
}

log_entry valid_entry(index_t index) {
    log_entry e;
    e.term = 1 + index / 3;
    e.index = index;
    e.origin = {2, index};
    if (index % 3 == 2) {
        // A configuration entry: encode_membership's bytes, with a learner
        // and addresses (entry_kind::configuration, kind 2 on disk).
        e.kind = entry_kind::configuration;
        e.payload = make_bytes(encode_membership(membership(std::vector<member>{
            {1, true, "10.0.0.1:7000", ""}, {index, false, std::string(index % 9, 'h'), "info"}})));
        return e;
    }
    e.kind = index % 5 == 0 ? entry_kind::noop : entry_kind::application;
    e.payload = make_bytes(std::string(index * 7 % 23, static_cast<char>('a' + index)));
    return e;
}

std::string segment_header(index_t first) {
    std::string h(fmt::segment_header_size, '\0');
    fmt::encode_segment_header(reinterpret_cast<unsigned char*>(h.data()), first);
    return h;
}

bool same_entry(const log_entry& a, const log_entry& b) {
    return a.term == b.term && a.index == b.index && a.kind == b.kind && a.origin == b.origin &&
           a.data() == b.data();
}

void check_log(const persistent_state& st, std::string_view input) {
    RAFTLITE_FUZZ_CHECK(st.log_start == 1, "log start moved without a log_meta file");
    for (std::size_t i = 0; i < st.entries.size(); ++i) {
        const auto& e = st.entries[i];
        RAFTLITE_FUZZ_CHECK(e.index == st.log_start + i, "indexes are not contiguous");
        RAFTLITE_FUZZ_CHECK(e.payload != nullptr, "entry without payload");
        RAFTLITE_FUZZ_CHECK(static_cast<unsigned>(e.kind) <= static_cast<unsigned>(entry_kind::configuration),
                            "an entry of an unknown kind loaded");
        // The entry's record, checksums included, must be in what was written.
        const std::string rec = encode_record(e);
        RAFTLITE_FUZZ_CHECK(std::search(input.begin(), input.end(), rec.begin(), rec.end()) !=
                                input.end(),
                            "load returned an entry that is not a valid record of the input");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bool append_variant = (data[0] & 1) != 0;

    static unsigned long run = 0;
    const fs::path dir = raftlite::fuzz::scratch_base("raftlite-fuzz-seg") / std::to_string(run++);
    fs::create_directories(dir);

    std::string written;   // every byte put in a segment file
    std::vector<log_entry> valid;
    if (append_variant) {
        const std::size_t n = 1 + (data[0] >> 1) % 8;
        std::string seg = segment_header(1);
        for (std::size_t i = 1; i <= n; ++i) {
            valid.push_back(valid_entry(i));
            seg += encode_record(valid.back());
        }
        seg.append(in);
        raftlite::fuzz::write_file(dir / fmt::segment_file_name(1), seg);
        written = seg;
    } else {
        std::map<index_t, std::string> files;
        std::size_t pos = 0;
        while (pos < in.size()) {
            std::size_t next = in.find(fmt::segment_magic, pos + 1);
            if (next == std::string_view::npos)
                next = in.size();
            std::string_view piece = in.substr(pos, next - pos);
            index_t first = 1;
            if (piece.size() >= 24)
                first = fmt::get_u64(reinterpret_cast<const unsigned char*>(piece.data()) + 16);
            files.emplace(first, std::string(piece));   // a repeated name keeps the first piece
            pos = next;
        }
        for (auto& [first, bytes] : files)
            raftlite::fuzz::write_file(dir / fmt::segment_file_name(first), bytes);
        written = std::string(in);
    }

    file_persister_options opts;
    opts.on_warning = [](const std::string&) {};
    persistent_state st;
    bool loaded = false;
    {
        file_persister p(dir.string(), opts);
        auto ec = p.load(st);
        if (ec) {
            RAFTLITE_FUZZ_CHECK(ec == errc::corrupt_data, "load failed with another error");
            RAFTLITE_FUZZ_CHECK(!p.last_error_message().empty(), "failure without a message");
            RAFTLITE_FUZZ_CHECK(!append_variant || !in.empty(), "a valid log did not load");
        } else {
            loaded = true;
            check_log(st, written);
        }
    }
    if (loaded) {
        if (append_variant) {
            RAFTLITE_FUZZ_CHECK(st.entries.size() >= valid.size(), "valid entries were lost");
            for (std::size_t i = 0; i < valid.size(); ++i)
                RAFTLITE_FUZZ_CHECK(same_entry(st.entries[i], valid[i]), "a valid entry changed");
        }
        // Recovery is idempotent, and the repaired log takes new entries.
        persistent_state again;
        file_persister p(dir.string(), opts);
        RAFTLITE_FUZZ_CHECK(!p.load(again), "a recovered directory does not load again");
        RAFTLITE_FUZZ_CHECK(again.entries.size() == st.entries.size(), "second load differs");
        for (std::size_t i = 0; i < st.entries.size(); ++i)
            RAFTLITE_FUZZ_CHECK(same_entry(again.entries[i], st.entries[i]), "second load differs");
        log_entry next = valid_entry(again.last_index() + 1);
        RAFTLITE_FUZZ_CHECK(!p.append({next}) && !p.sync(), "the recovered log takes no entry");
    }
    if (loaded) {
        persistent_state third;
        file_persister p(dir.string(), opts);
        RAFTLITE_FUZZ_CHECK(!p.load(third), "the log does not load after an append");
        RAFTLITE_FUZZ_CHECK(third.entries.size() == st.entries.size() + 1, "the append was lost");
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 0;
}
