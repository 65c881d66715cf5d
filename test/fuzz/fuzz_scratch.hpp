// raftlite fuzz targets — a scratch directory for targets that read files.
//
// One directory per process, on tmpfs when there is one (fsync is free
// there), removed when the process exits: libFuzzer ends a timed run with
// exit(), so an atexit handler is the place to clean up.
#ifndef RAFTLITE_FUZZ_SCRATCH_HPP
#define RAFTLITE_FUZZ_SCRATCH_HPP

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

namespace raftlite::fuzz {

/// The process's scratch directory, named "<prefix>-XXXXXX". The path is
/// held by a pointer never destroyed, because the atexit handler that removes
/// the directory may run after static destructors.
inline const std::filesystem::path& scratch_base(const char* prefix) {
    static const std::filesystem::path* scratch = nullptr;
    if (!scratch) {
        namespace fs = std::filesystem;
        std::string parent = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : fs::temp_directory_path().string();
        std::string tmpl = parent + "/" + prefix + "-XXXXXX";
        if (!::mkdtemp(tmpl.data())) std::abort();
        scratch = new fs::path(tmpl);
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(*scratch, ec);
        });
    }
    return *scratch;
}

/// Writes `bytes` as the whole file `p`; a failure aborts (a fuzz target has
/// no one to report it to, and a silent short file would test the wrong input).
inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) std::abort();
}

} // namespace raftlite::fuzz

#endif
