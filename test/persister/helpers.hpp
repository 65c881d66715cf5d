// raftlite — shared helpers of persister_tests.
#ifndef RAFTLITE_TEST_PERSISTER_HELPERS_HPP
#define RAFTLITE_TEST_PERSISTER_HELPERS_HPP

#include <raftlite/file_persister.hpp>
#include <raftlite/persister.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace persister_test {

using namespace raftlite;

/// Where test directories go: $PERSISTER_TEST_DIR if set, else /dev/shm
/// (tmpfs: fsync is free, so the suite's time does not depend on the disk;
/// a SIGKILL leaves tmpfs and a disk file system in the same state, since
/// both keep what was written to the page cache), else the temp directory.
inline std::filesystem::path test_base_dir() {
    if (const char* d = std::getenv("PERSISTER_TEST_DIR")) return d;
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
    return std::filesystem::temp_directory_path();
}

/// A fresh directory, removed with everything in it at the end.
class temp_dir {
public:
    temp_dir() {
        std::string tmpl = (test_base_dir() / "raftlite-persist-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const noexcept { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// The payload entry (index, term) carries in these tests: a pure function
/// of both, 0..120 bytes, so that any entry read back can be checked alone.
inline std::string payload_for(index_t index, term_t term) {
    std::uint64_t x = index * 1000003u + term;
    const std::size_t len = splitmix64(x) % 121;
    std::string s;
    s.reserve(len);
    while (s.size() < len) {
        const std::uint64_t r = splitmix64(x);
        for (int k = 0; k < 8 && s.size() < len; ++k) s.push_back(static_cast<char>(r >> (8 * k)));
    }
    return s;
}

inline log_entry make_entry(index_t index, term_t term) {
    log_entry e;
    e.index = index;
    e.term = term;
    e.kind = index % 7 == 0 ? entry_kind::noop : entry_kind::application;
    e.origin = {term % 5 + 1, index * 3};
    e.payload = make_bytes(payload_for(index, term));
    return e;
}

inline std::vector<log_entry> make_entries(index_t from, index_t to, term_t term) {
    std::vector<log_entry> v;
    for (index_t i = from; i <= to; ++i) v.push_back(make_entry(i, term));
    return v;
}

/// Empty when equal; otherwise what differs first.
inline std::string entry_diff(const log_entry& a, const log_entry& b) {
    std::ostringstream os;
    if (a.index != b.index) os << "index " << a.index << " vs " << b.index;
    else if (a.term != b.term) os << "entry " << a.index << ": term " << a.term << " vs " << b.term;
    else if (a.kind != b.kind) os << "entry " << a.index << ": kind differs";
    else if (!(a.origin == b.origin)) os << "entry " << a.index << ": origin differs";
    else if (a.data() != b.data()) os << "entry " << a.index << ": payload differs";
    return os.str();
}

/// Empty when the entry is exactly what make_entry(index, term) builds.
inline std::string self_check(const log_entry& e) {
    return entry_diff(e, make_entry(e.index, e.term));
}

inline std::string log_diff(const std::vector<log_entry>& got, const std::vector<log_entry>& want) {
    if (got.size() != want.size()) {
        std::ostringstream os;
        os << got.size() << " entries, expected " << want.size();
        if (!got.empty()) os << " (got " << got.front().index << ".." << got.back().index << ")";
        return os.str();
    }
    for (std::size_t i = 0; i < got.size(); ++i)
        if (auto d = entry_diff(got[i], want[i]); !d.empty()) return d;
    return {};
}

inline std::string state_diff(const persistent_state& got, const persistent_state& want) {
    std::ostringstream os;
    if (!(got.hard == want.hard))
        os << "hard state (" << got.hard.current_term << "," << got.hard.voted_for << ") vs ("
           << want.hard.current_term << "," << want.hard.voted_for << ")";
    else if (got.log_start != want.log_start)
        os << "log_start " << got.log_start << " vs " << want.log_start;
    else if (got.prefix_term != want.prefix_term)
        os << "prefix_term " << got.prefix_term << " vs " << want.prefix_term;
    else
        return log_diff(got.entries, want.entries);
    return os.str();
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Segment file names in the directory, in index order.
inline std::vector<std::string> segment_files(const std::string& dir) {
    std::vector<std::string> v;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("log-", 0) == 0 && n.size() > 4 && n.substr(n.size() - 4) == ".seg") v.push_back(n);
    }
    std::sort(v.begin(), v.end());
    return v;
}

/// Every file in the directory with its bytes (to prove a load changed nothing).
inline std::vector<std::pair<std::string, std::string>> snapshot_dir(const std::string& dir) {
    std::vector<std::pair<std::string, std::string>> v;
    for (auto& e : std::filesystem::directory_iterator(dir))
        v.emplace_back(e.path().filename().string(), read_file(e.path().string()));
    std::sort(v.begin(), v.end());
    return v;
}

/// Options that count warnings instead of logging them.
struct counting_options {
    std::shared_ptr<std::vector<std::string>> warnings = std::make_shared<std::vector<std::string>>();
    file_persister_options make(std::uint64_t segment_size = 64ull << 20) const {
        file_persister_options o;
        o.segment_size = segment_size;
        o.on_warning = [w = warnings](const std::string& m) { w->push_back(m); };
        return o;
    }
};

} // namespace persister_test

#endif
