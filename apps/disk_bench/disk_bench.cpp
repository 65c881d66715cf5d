// raftlite-disk-bench — what file_persister costs on this disk.
//
// For 256-byte entries it measures, in one run and on one directory:
//   - the disk's raw rate of "write 256 bytes + fdatasync" (the ceiling for
//     anything that syncs per entry);
//   - appends/s with a sync after every entry, after every 64 entries (group
//     commit: 64 append calls, one sync), and with no sync at all;
//   - the cost of one append with 1k entries in the log and with 1M entries
//     in the log: the log is never rewritten, so the two must be the same.
//
//   raftlite-disk-bench [--dir D] [--json] [--seconds S] [--big N] [--keep]
//
// --dir D: where to create the scratch directory (default: $TMPDIR or /tmp);
// it is removed at the end unless --keep. --seconds: duration of each timed
// phase (default 2). --big: the large log size (default 1000000).
#include <raftlite/file_persister.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;
using raftlite::index_t;

constexpr std::size_t entry_bytes = 256;

struct options {
    std::string dir;
    bool json = false;
    bool keep = false;
    double seconds = 2.0;
    index_t big = 1000000;
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: raftlite-disk-bench [--dir D] [--json] [--seconds S] [--big N] [--keep]\n"
                 "  --dir D       parent of the scratch directory (default: the temp directory)\n"
                 "  --json        print one JSON object instead of a table\n"
                 "  --seconds S   duration of each timed phase (default 2)\n"
                 "  --big N       entries in the log for the large-log append cost (default 1000000)\n"
                 "  --keep        keep the scratch directory\n");
    std::exit(code);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(2);
            return argv[++i];
        };
        if (a == "--dir") o.dir = value();
        else if (a == "--json") o.json = true;
        else if (a == "--keep") o.keep = true;
        else if (a == "--seconds") o.seconds = std::atof(value().c_str());
        else if (a == "--big") o.big = std::strtoull(value().c_str(), nullptr, 10);
        else if (a == "-h" || a == "--help") usage(0);
        else usage(2);
    }
    if (o.seconds <= 0 || o.big < 2000) usage(2);
    if (o.dir.empty()) o.dir = std::filesystem::temp_directory_path().string();
    return o;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "raftlite-disk-bench: %s\n", what.c_str());
    std::exit(1);
}

std::string json_escape(const std::string& s) {
    std::string r;
    for (char c : s) {
        if (c == '"' || c == '\\') r.push_back('\\');
        if (static_cast<unsigned char>(c) >= 0x20) r.push_back(c);
    }
    return r;
}

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// Builds entries index..index+n-1 sharing one payload (the persister copies
// nothing, so sharing does not flatter it).
std::vector<raftlite::log_entry> entries(index_t index, std::size_t n, const raftlite::shared_bytes& payload) {
    std::vector<raftlite::log_entry> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i].index = index + i;
        v[i].term = 1;
        v[i].origin = {1, index + i};
        v[i].payload = payload;
    }
    return v;
}

// A fresh persister in a fresh subdirectory of the scratch directory.
struct bench_log {
    std::unique_ptr<raftlite::file_persister> p;
    index_t next = 1;

    explicit bench_log(const std::string& dir) {
        p = std::make_unique<raftlite::file_persister>(dir);
        raftlite::persistent_state st;
        check(p->load(st), "load");
    }
    void check(boost::system::error_code ec, const char* what) const {
        if (ec) die(std::string(what) + ": " + ec.message() + " — " + p->last_error_message());
    }
    void append(const std::vector<raftlite::log_entry>& e) {
        check(p->append(e), "append");
        next += e.size();
    }
    void sync() { check(p->sync(), "sync"); }
};

// Operations done and seconds spent, summed over slices.
struct tally {
    std::uint64_t ops = 0;
    double seconds = 0;
    double rate() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// The reference: "write 256 B + fdatasync" on a plain file in the same directory.
struct raw_file {
    std::string path;
    int fd = -1;
    explicit raw_file(const std::string& dir) : path(dir + "/raw-fdatasync.dat") {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) die("cannot create " + path + ": " + std::strerror(errno));
    }
    ~raw_file() {
        ::close(fd);
        ::unlink(path.c_str());
    }
    void run(double seconds, tally& t) {
        char buf[entry_bytes];
        std::memset(buf, 'r', sizeof buf);
        const auto t0 = clock_type::now();
        double elapsed = 0;
        do {
            if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) die("write failed");
            if (::fdatasync(fd) != 0) die(std::string("fdatasync: ") + std::strerror(errno));
            ++t.ops;
        } while ((elapsed = seconds_since(t0)) < seconds);
        t.seconds += elapsed;
    }
};

// Appends `batch` single-entry appends and then one sync, repeatedly, for
// `seconds` (batch 0: no sync inside the timed loop); counts entries.
void append_run(bench_log& log, const raftlite::shared_bytes& payload, std::size_t batch, double seconds,
                tally& t) {
    const auto t0 = clock_type::now();
    double elapsed = 0;
    do {
        const std::size_t k = batch ? batch : 256;
        for (std::size_t i = 0; i < k; ++i) log.append(entries(log.next, 1, payload));
        if (batch) log.sync();
        t.ops += k;
    } while ((elapsed = seconds_since(t0)) < seconds);
    t.seconds += elapsed;
}

// Median cost in microseconds of one single-entry append (no sync), over 41
// windows of 1000 appends, once the log holds `size` entries. The median
// keeps other processes' bursts on a shared machine out of the figure.
double append_cost_at(bench_log& log, index_t size, const raftlite::shared_bytes& payload) {
    while (log.next <= size) {
        const std::size_t n = static_cast<std::size_t>(std::min<index_t>(4096, size - log.next + 1));
        log.append(entries(log.next, n, payload));
    }
    log.sync();   // start the window with no dirty backlog of our own
    std::vector<double> windows;
    for (int w = 0; w < 41; ++w) {
        auto batch = entries(log.next, 1000, payload);
        std::vector<raftlite::log_entry> one(1);
        const auto t0 = clock_type::now();
        for (auto& e : batch) {
            one[0] = std::move(e);
            log.append(one);
        }
        windows.push_back(seconds_since(t0) * 1e6 / 1000);
    }
    std::sort(windows.begin(), windows.end());
    return windows[windows.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    std::string tmpl = o.dir + "/raftlite-disk-bench-XXXXXX";
    if (!::mkdtemp(tmpl.data())) die("cannot create a directory in " + o.dir + ": " + std::strerror(errno));
    const std::string dir = tmpl;

    std::mt19937_64 rng(42);
    std::string bytes(entry_bytes, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    const auto payload = raftlite::make_bytes(bytes);

    if (!o.json) std::printf("raftlite-disk-bench: %zu-byte entries in %s, %.1f s a phase\n", entry_bytes, dir.c_str(), o.seconds);
    auto progress = [&](const char* what) {
        if (!o.json) {
            std::printf("  measuring %s...\n", what);
            std::fflush(stdout);
        }
    };

    // The syncing phases take turns in short slices, so that a burst of
    // other I/O on a shared disk hits all of them alike rather than one.
    progress("raw fdatasync, sync per entry, sync per batch of 64 (interleaved)");
    tally raw, per_entry, batch64, none;
    {
        raw_file rawf(dir);
        bench_log log1(dir + "/per-entry"), log64(dir + "/batch64");
        const int slices = 4;
        for (int i = 0; i < slices; ++i) {
            rawf.run(o.seconds / slices, raw);
            append_run(log1, payload, 1, o.seconds / slices, per_entry);
            append_run(log64, payload, 64, o.seconds / slices, batch64);
        }
    }
    progress("no sync");
    {
        bench_log log(dir + "/nosync");
        append_run(log, payload, 0, o.seconds, none);
        log.sync();
    }
    const double fdatasync_per_s = raw.rate(), sync_per_entry = per_entry.rate(),
                 sync_per_batch64 = batch64.rate(), nosync = none.rate();
    std::filesystem::remove_all(dir + "/per-entry");
    std::filesystem::remove_all(dir + "/batch64");
    std::filesystem::remove_all(dir + "/nosync");

    progress("append cost at 1k and at the large log size");
    double at_1k = 0, at_big = 0;
    {
        bench_log log(dir + "/growing");
        at_1k = append_cost_at(log, 1000, payload);
        at_big = append_cost_at(log, o.big, payload);
    }
    std::filesystem::remove_all(dir + "/growing");
    if (!o.keep) std::filesystem::remove_all(dir);

    if (o.json) {
        std::printf("{\"entry_bytes\": %zu, \"dir\": \"%s\", \"fdatasync_per_s\": %.1f, "
                    "\"sync_per_entry_ops\": %.1f, \"sync_per_batch64_ops\": %.1f, \"nosync_ops\": %.1f, "
                    "\"append_us_at_1k\": %.3f, \"append_us_at_1m\": %.3f, \"big_log_entries\": %llu, "
                    "\"batch64_vs_sync_per_entry\": %.2f, \"append_1m_vs_1k\": %.3f}\n",
                    entry_bytes, json_escape(dir).c_str(), fdatasync_per_s, sync_per_entry, sync_per_batch64, nosync,
                    at_1k, at_big, static_cast<unsigned long long>(o.big),
                    sync_per_batch64 / sync_per_entry, at_big / at_1k);
    } else {
        const std::string big_label = "append cost, " + std::to_string(o.big) + " entries in log";
        std::printf("\n");
        std::printf("  %-36s %12.0f /s\n", "raw write 256 B + fdatasync", fdatasync_per_s);
        std::printf("  %-36s %12.0f entries/s  (%.2fx raw fdatasync)\n", "append, sync per entry",
                    sync_per_entry, sync_per_entry / fdatasync_per_s);
        std::printf("  %-36s %12.0f entries/s  (%.1fx sync per entry)\n", "append, sync per batch of 64",
                    sync_per_batch64, sync_per_batch64 / sync_per_entry);
        std::printf("  %-36s %12.0f entries/s\n", "append, no sync", nosync);
        std::printf("  %-36s %12.3f us\n", "append cost, 1000 entries in log", at_1k);
        std::printf("  %-36s %12.3f us  (%.2fx the 1k cost)\n", big_label.c_str(), at_big, at_big / at_1k);
    }
    return 0;
}
