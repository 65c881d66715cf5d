// Fuzz target: load() of a data directory whose snapshot file holds hostile
// bytes (file_persister::load, snapshot files in docs/storage-format.md).
//
// The first input byte chooses a variant:
//   even: "raw"   — the rest is the snapshot file, named after the index and
//                   term its footer claims (1 and 1 when it is too short for one).
//   odd:  "valid" — the rest is the application data of a snapshot file
//                   encoded as the writer encodes it (index 1 + byte0 / 2).
// load() must then fail with corrupt_data (and say why), or return a
// snapshot whose data, read back with read_snapshot, is meta.size bytes that
// re-checksum to meta.crc, and a log that continues it. A second load agrees.
// In the "valid" variant the snapshot must load, with the input as its data.
//
// max_len: 8192
#include "fuzz_check.hpp"

#include <raftlite/detail/crc32c.hpp>
#include <raftlite/detail/storage_format.hpp>
#include <raftlite/error.hpp>
#include <raftlite/file_persister.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

using namespace raftlite;
namespace fmt = raftlite::detail;
namespace fs = std::filesystem;

namespace {

// One scratch directory per process, on tmpfs when there is one. Held by a
// pointer never destroyed: the atexit handler may run after static destructors.
const fs::path* scratch = nullptr;

const fs::path& scratch_base() {
    if (!scratch) {
        std::string parent = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : fs::temp_directory_path().string();
        std::string tmpl = parent + "/raftlite-fuzz-snap-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            std::abort();
        scratch = new fs::path(tmpl);
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(*scratch, ec);
        });
    }
    return *scratch;
}

void write_file(const fs::path& p, std::string_view bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f)
        std::abort();
}

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
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bool valid_variant = (data[0] & 1) != 0;

    static unsigned long run = 0;
    const fs::path dir = scratch_base() / std::to_string(run++);
    fs::create_directories(dir);

    snapshot_meta valid;
    if (valid_variant) {
        valid.index = 1 + (data[0] >> 1);
        valid.term = 1;
        valid.members = {1, 2, 3};
        valid.size = in.size();
        valid.crc = fmt::crc32c(in.data(), in.size());
        std::string file(in);
        file += fmt::encode_snapshot_trailer(valid);
        write_file(dir / fmt::snapshot_file_name(valid.index, valid.term), file);
    } else {
        index_t index = 1;
        term_t term = 1;
        if (in.size() >= fmt::snapshot_footer_size) {
            const auto* f = reinterpret_cast<const unsigned char*>(in.data()) + in.size() - fmt::snapshot_footer_size;
            index = fmt::get_u64(f + 16);
            term = fmt::get_u64(f + 24);
        }
        write_file(dir / fmt::snapshot_file_name(index, term), in);
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
