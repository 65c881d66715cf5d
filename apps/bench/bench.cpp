// raftlite-bench — throughput and latency of a real cluster of processes.
//
// The parent process starts N peer processes (this same program with
// --peer) on 127.0.0.1 with free ports and a temporary data directory, waits
// until one of them leads, tells that leader to drive a closed-loop load of C
// concurrent broadcasts of P-byte payloads through the library API for D
// seconds (after a warm-up), collects its figures, stops every process it
// started (also on Ctrl-C), and prints one table (or --json).
//
// With --snapshot-entries N (or --app-state) every peer applies the entries
// to a real application state of bounded size (--state-slots K slots, each
// write replacing slot hash(payload) % K) and, with N > 0, snapshots it every
// N entries; the leader then reports its snapshots and resident set size.
// --restart-entries N starts no cluster: it builds a data directory holding a
// snapshot of N entries and a log tail, and times a node's restart from it.
//
// Wide area (--rtt-ms R, --jitter-ms J, --loss P, --lossy-follower P): each
// peer runs in a network namespace of its own (netns.hpp) and every
// peer-to-peer connection passes through the relay (test/relay), which this
// process runs on a thread, with R/2 of delay each way. --lossy-follower
// measures three times in one run: clean links, the last peer's links cutting
// a fraction P of chunks, clean again; then it checks that every peer
// delivered the same sequence. --csv prints one header line and a line per measurement.
#include <raftlite/file_persister.hpp>
#include <raftlite/memory_persister.hpp>
#include <raftlite/node.hpp>
#include <raftlite/logging.hpp>
#include <raftlite/detail/crc32c.hpp>

#include "../command_line.hpp"
#include "latency_histogram.hpp"
#include "netns.hpp"
#include "ports/loopback_ports.hpp"
#include "reference_figures.hpp"
#include "relay/relay.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <malloc.h>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace po = boost::program_options;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

using raftlite::bench::latency_histogram;
using raftlite::bench::measure_fdatasync_per_s;
using raftlite::bench::measure_loopback_rtt_us;

namespace {

struct settings {
    int clients = 1;
    std::size_t payload = 256;
    double seconds = 5;
    double warmup = 1;
    std::string durability = "fsync";
    int nodes = 3;
    bool json = false;
    std::string dir;
    bool restart_child = false;
    raftlite::index_t snapshot_entries = 0;   // 0: no snapshots (the figures stay comparable with earlier runs)
    std::size_t state_slots = 100000;
    bool app_state = false;                   // apply entries to the slot table without snapshotting it
    std::size_t mmap_threshold = 1 << 20;     // with an application state: glibc's M_MMAP_THRESHOLD (0: glibc's adaptive default)
    raftlite::index_t restart_entries = 0;    // > 0: the restart benchmark instead of a cluster
    std::size_t restart_tail = 1000;
    int restart_runs = 3;
    std::string workload = "write";           // write | read | mixed
    double read_ratio = 0.5;                  // mixed: the probability that an operation is a read
    bool lease = false;                       // node_options::lease_reads
    std::string read_from = "leader";         // leader | any: which peers the clients use
    // Wide area: links through the relay.
    double rtt_ms = -1;                       // < 0: no relay, the peers connect to each other on loopback
    double jitter_ms = 0;                     // up to this much more per round trip (half each way)
    double loss = 0;                          // every link: the probability that a chunk cuts its connection
    double lossy_follower = 0;                // > 0: a second measurement with the last peer's links this lossy
    double bandwidth_mbit = 0;                // per link direction; 0: unlimited
    bool no_netns = false;                    // the relay between processes on loopback instead of namespaces
    bool relay_realtime = false;              // the relay's thread real-time (make_thread_realtime)
    std::uint64_t relay_seed = 0;
    bool csv = false;
    bool check_sequence = false;              // every peer keeps a digest of what it delivered, compared at the end
    std::size_t max_inflight = 0;             // core_config::max_inflight (0: the library's default)
    std::size_t max_batch_entries = 0;        // core_config::max_batch_entries (0: the library's default)
    std::size_t completions_per_drain = 0;    // node_options::completions_per_drain
    int heartbeat_ms = 30;

    bool with_state() const { return app_state || snapshot_entries > 0; }
    bool via_relay() const { return rtt_ms >= 0 || loss > 0 || lossy_follower > 0; }
};

// ---------------------------------------------------------------------------
// Figures that must not grow with the run's length.

// Resident set size of this process in KiB (VmRSS), or VmHWM for the peak.
// Bytes malloc has handed out and not had back, in KiB: against VmRSS it
// tells live data from memory the allocator keeps after frees.
long heap_in_use_kb() { return static_cast<long>(::mallinfo2().uordblks / 1024); }

long read_status_kb(const char* field) {
    std::ifstream f("/proc/self/status");
    const std::string key = std::string(field) + ":";
    for (std::string line; std::getline(f, line);)
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
    return 0;
}

// ---------------------------------------------------------------------------
// The peers' application state: K slots, each entry replaces the value of
// slot hash(payload) % K. Its size is bounded by K whatever the number of
// entries, so with snapshots on a peer's memory must stop growing; the values
// are the payloads themselves (shared with the log, not copied).

class slot_table {
public:
    explicit slot_table(std::size_t k) : slots_(std::max<std::size_t>(k, 1)) {}

    void apply(const raftlite::shared_bytes& payload) {
        auto& slot = slots_[std::hash<std::string_view>{}(*payload) % slots_.size()];
        if (!slot) filled_.fetch_add(1, std::memory_order_relaxed);
        slot = payload;
    }
    /// A frozen copy to serialize on another thread while deliveries go on:
    /// K reference-count increments, no payload is copied.
    std::vector<raftlite::shared_bytes> capture() const { return slots_; }

    /// Format: the slot count (u64), then per slot its length (u32) and bytes.
    static boost::system::error_code serialize(const std::vector<raftlite::shared_bytes>& slots,
                                               const std::function<boost::system::error_code(std::string_view)>& write) {
        std::string buf;
        buf.reserve(1 << 20);
        auto put = [&](const void* p, std::size_t n) { buf.append(static_cast<const char*>(p), n); };
        const std::uint64_t k = slots.size();
        put(&k, sizeof k);
        for (const auto& v : slots) {
            const std::uint32_t len = v ? static_cast<std::uint32_t>(v->size()) : 0;
            put(&len, sizeof len);
            if (len) put(v->data(), len);
            if (buf.size() >= (1u << 20)) {
                if (auto ec = write(buf)) return ec;
                buf.clear();
            }
        }
        return buf.empty() ? boost::system::error_code{} : write(buf);
    }

    /// Replaces the state by a serialized one, read in chunks: a whole copy
    /// of the snapshot in memory first cost a restart as much time again in
    /// page faults and copying. Throws on malformed data (the node then
    /// stops, as for a failed delivery).
    void restore(raftlite::snapshot_source& source) {
        std::string buf, chunk;
        std::size_t pos = 0;   // buf[pos..] is not parsed yet
        auto take = [&](void* p, std::size_t n) {
            while (buf.size() - pos < n) {
                if (auto ec = source.read(chunk)) throw std::runtime_error("cannot read snapshot: " + ec.message());
                if (chunk.empty()) throw std::runtime_error("truncated slot table snapshot");
                buf.erase(0, pos);
                pos = 0;
                buf += chunk;
            }
            if (p) std::memcpy(p, buf.data() + pos, n);
            pos += n;
            return std::string_view(buf).substr(pos - n, n);
        };
        std::uint64_t k = 0;
        take(&k, sizeof k);
        if (k == 0 || k > (std::uint64_t(1) << 32)) throw std::runtime_error("bad slot count in snapshot");
        std::vector<raftlite::shared_bytes> slots(k);
        for (auto& v : slots) {
            std::uint32_t len = 0;
            take(&len, sizeof len);
            if (len != 0) v = raftlite::make_bytes(std::string(take(nullptr, len)));
        }
        slots_ = std::move(slots);
        filled_ = static_cast<std::size_t>(
            std::count_if(slots_.begin(), slots_.end(), [](const auto& v) { return bool(v); }));
    }

    /// The value of slot i % K (a read of the state; on the delivery thread).
    const raftlite::shared_bytes& get(std::uint64_t i) const { return slots_[i % slots_.size()]; }

    /// Slots holding a value; readable from any thread (the status loop).
    std::size_t filled() const { return filled_.load(std::memory_order_relaxed); }

private:
    std::vector<raftlite::shared_bytes> slots_;
    std::atomic<std::size_t> filled_{0};
};

// A payload of `size` bytes that differs per sequence number (it starts with
// the number in hex), so that entries spread over the slots.
std::string make_payload(std::uint64_t seq, std::size_t size) {
    std::string p(std::max<std::size_t>(size, 16), 'p');
    char hex[16];
    auto r = std::to_chars(hex, hex + sizeof hex, seq, 16);
    std::memcpy(p.data(), hex, static_cast<std::size_t>(r.ptr - hex));
    p.resize(size);
    return p;
}

// Takes and restores snapshots of a slot_table for a node: the take handler
// captures the table where deliveries run and serializes it on a thread of
// its own, so the node never waits for the write and fsync.
struct snapshotting_state {
    slot_table table;
    asio::thread_pool writer{1};
    std::atomic<std::uint64_t> last_snapshot_bytes{0};
    std::atomic<std::uint64_t> restores{0};
    std::atomic<clock_type::time_point> restored_at{};

    explicit snapshotting_state(std::size_t k) : table(k) {}
    ~snapshotting_state() { writer.join(); }

    /// `applied`, if set, runs after each delivered entry is applied, and
    /// after a restore with the snapshot's last entry.
    void attach(raftlite::node& n, std::function<void(raftlite::index_t)> applied = {}) {
        n.on_deliver([this, applied](raftlite::index_t i, const raftlite::shared_bytes& p) {
            table.apply(p);
            if (applied) applied(i);
        });
        n.on_snapshot(
            [this](raftlite::snapshot_sink sink) {
                asio::post(writer, [this, frozen = table.capture(), sink = std::make_shared<raftlite::snapshot_sink>(
                                                                        std::move(sink))]() mutable {
                    std::uint64_t bytes = 0;
                    auto ec = slot_table::serialize(frozen, [&](std::string_view d) {
                        bytes += d.size();
                        return sink->write(d);
                    });
                    frozen.clear();   // the payloads it held may go before the fsync
                    if (!sink->finish(ec)) last_snapshot_bytes = bytes;
                });
            },
            [this, applied = std::move(applied)](raftlite::snapshot_source& source) {
                table.restore(source);
                restored_at = clock_type::now();
                ++restores;
                if (applied) applied(source.meta().index);
            });
    }
};

// ---------------------------------------------------------------------------
// Peer mode: one node; commands on stdin, reports on stdout.
//   stdout: "ready", "leader", "result <json>"
//   stdin:  "run" (drive the load, if leader), "quit"

// The peer's node options: node 1 times out first, so it usually leads.
// `addrs[i]`: where this peer reaches peer i + 1 (its own entry: where it listens).
raftlite::node_options peer_options(const settings& s, raftlite::node_id id,
                                    const std::vector<raftlite::endpoint_address>& addrs) {
    raftlite::node_options o;
    o.core.self = id;
    for (std::size_t i = 0; i < addrs.size(); ++i) {
        o.core.members.put(raftlite::member{i + 1, true, {}, {}});
        o.transport.peers[i + 1] = addrs[i];
    }
    o.transport.cluster_id = "bench";
    o.transport.listen = addrs[id - 1];
    o.core.max_pending = std::max<std::size_t>(4096, s.clients * 2);
    if (s.max_inflight > 0) o.core.max_inflight = s.max_inflight;
    if (s.max_batch_entries > 0) o.core.max_batch_entries = s.max_batch_entries;
    o.completions_per_drain = s.completions_per_drain;
    // Across a slow link the election timeout must stay well above the
    // round trip (Raft §5.6: broadcastTime << electionTimeout), or the
    // leader's check-quorum and the followers' timers fire on slow answers.
    const auto slack = std::chrono::milliseconds(static_cast<long>(5 * std::max(s.rtt_ms + s.jitter_ms, 0.0)));
    o.election_timeout_min = (id == 1 ? 100ms : 400ms) + slack;
    o.election_timeout_max = (id == 1 ? 150ms : 800ms) + slack;
    o.heartbeat_interval = std::chrono::milliseconds(s.heartbeat_ms);
    o.seed = id;
    o.snapshot_entries = s.snapshot_entries;
    // Reads under the leader's lease need check_quorum and leader_stickiness,
    // which the core has on by default.
    o.lease_reads = s.lease;
    return o;
}

// What the leader's memory did over the run (sampled by the peer's status loop).
struct memory_watch {
    std::mutex m;
    long rss_kb_first_snapshot = 0;
    long heap_kb_first_snapshot = 0;
    raftlite::index_t commit_at_first_snapshot = 0;
    std::size_t filled_at_first_snapshot = 0;
    std::uint64_t bytes_of_first_snapshot = 0;
    std::string series;   // "[seconds,rss_kb,heap_kb,commit,log_entries,filled_slots],..." every 5 s
};

// What a peer delivered, as a running digest per index, so that peers can be
// compared at any index they all reached (--lossy-follower, --check-sequence).
class delivered_sequence {
public:
    void add(raftlite::index_t i, std::string_view payload) {
        std::lock_guard<std::mutex> lock(m_);
        // The on-disk records' checksum, chained over index and payload.
        std::uint32_t h = digests_.empty() ? 0 : digests_.back().second;
        h = raftlite::detail::crc32c_extend(h, &i, sizeof i);
        h = raftlite::detail::crc32c_extend(h, payload.data(), payload.size());
        digests_.emplace_back(i, h);
    }
    /// The digest of everything delivered up to index `upto`.
    std::uint32_t digest(raftlite::index_t upto) const {
        std::lock_guard<std::mutex> lock(m_);
        auto it = std::upper_bound(digests_.begin(), digests_.end(), upto,
                                   [](raftlite::index_t v, const auto& e) { return v < e.first; });
        return it == digests_.begin() ? 0 : std::prev(it)->second;
    }

private:
    mutable std::mutex m_;
    std::vector<std::pair<raftlite::index_t, std::uint32_t>> digests_;
};

int run_peer(const settings& s, raftlite::node_id id, const std::vector<raftlite::endpoint_address>& addrs) {
    raftlite::log_settings ls;
    ls.level = raftlite::severity::warning;
    ls.node = id;
    raftlite::init_logging(ls);

    std::unique_ptr<raftlite::persister> storage;
    if (s.durability == "none")
        storage = std::make_unique<raftlite::memory_persister>();
    else
        storage = std::make_unique<raftlite::file_persister>((std::filesystem::path(s.dir) / std::to_string(id)).string());

    // Snapshot-sized buffers (the serialized state, the memory persister's
    // copy of it) are allocated and freed at every snapshot. glibc raises its
    // mmap threshold to the largest mmapped block freed (up to 32 MiB), after
    // which those buffers come from the heap and the pages they leave stay
    // resident: measured, that alone made the leader's RSS 20 MiB larger at
    // the end of a 60-second run than with the threshold fixed. A fixed
    // threshold keeps them mmapped, so RSS shows what the process holds.
    if (s.with_state() && s.mmap_threshold > 0) ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(s.mmap_threshold));

    asio::io_context ioc(1);
    raftlite::node n(ioc, peer_options(s, id, addrs), std::move(storage));
    std::optional<snapshotting_state> app;
    // The last entry this peer's state holds: a read checks that it covers
    // the read index it was given.
    std::atomic<raftlite::index_t> applied{0};
    auto note_applied = [&applied](raftlite::index_t i) { applied.store(i, std::memory_order_relaxed); };
    delivered_sequence sequence;
    if (s.with_state()) {
        app.emplace(s.state_slots);
        app->attach(n, note_applied);
    } else {
        // The benchmark measures commits, not an application: deliveries are
        // only counted (without a handler they would wait for async_receive).
        n.on_deliver([note_applied, &sequence, check = s.check_sequence](raftlite::index_t i, const raftlite::shared_bytes& p) {
            if (check) sequence.add(i, *p);
            note_applied(i);
        });
    }
    if (auto ec = n.start()) {
        std::cerr << "peer " << id << ": cannot start: " << ec.message() << "\n";
        return 1;
    }
    std::thread io([&] { ioc.run(); });

    std::cout << "ready" << std::endl;
    bool told_leader = false;
    std::atomic<bool> quit{false};
    memory_watch mem;
    std::thread input([&] {
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line == "quit") break;
            if (line == "applied") std::cout << "applied " << applied.load() << std::endl;
            if (line.rfind("digest ", 0) == 0) {
                const auto upto = std::stoull(line.substr(7));
                std::cout << "digest " << upto << " " << sequence.digest(upto) << std::endl;
            }
            if (line == "run" || line.rfind("run ", 0) == 0) {
                // "run N": N clients on this peer (--read-from any spreads them); "run": --clients.
                const int clients = line.size() > 4 ? std::stoi(line.substr(4)) : s.clients;
                std::mutex m;
                latency_histogram read_hist, write_hist;
                std::uint64_t read_errors = 0, write_errors = 0, stale_reads = 0;
                double elapsed_s = 0;
                const std::string fixed_payload(s.payload, 'p');
                const auto data = raftlite::make_bytes(fixed_payload);
                std::atomic<bool> measuring{false}, stopping{false};
                std::atomic<int> outstanding{0};
                // Used on the io thread only (issue() and the completions run there).
                std::uint64_t seq = 0;
                std::uint64_t read_sink = 0;
                raftlite::index_t last_write = 0;   // the highest index of a write completed here
                std::mt19937_64 rng(id);
                const double p_read = s.workload == "read" ? 1.0 : s.workload == "mixed" ? s.read_ratio : 0.0;
                std::bernoulli_distribution is_read(p_read);
                auto record = [&](bool read, boost::system::error_code ec, clock_type::time_point t0) {
                    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0).count();
                    std::lock_guard<std::mutex> lock(m);
                    if (!measuring) return;
                    if (ec) ++(read ? read_errors : write_errors);
                    else (read ? read_hist : write_hist).record(static_cast<std::uint64_t>(ns));
                };
                std::function<void()> issue;
                issue = [&] {
                    if (stopping) return;
                    ++outstanding;
                    const auto t0 = clock_type::now();
                    if (p_read > 0 && is_read(rng)) {
                        // A linearizable read: once the node says its state
                        // covers `index`, read that state here. The completion
                        // runs on the node's strand, where deliveries run.
                        // Linearizable: the read must see every write completed
                        // before it began, here at least this peer's own.
                        const raftlite::index_t floor = last_write;
                        n.async_read_index([&, t0, floor](boost::system::error_code ec, raftlite::index_t index) {
                            if (!ec) {
                                if (index < floor || applied.load(std::memory_order_relaxed) < floor) {
                                    ++stale_reads;
                                    ec = make_error_code(boost::system::errc::state_not_recoverable);
                                } else if (app) {
                                    const auto& v = app->table.get(++seq);
                                    read_sink += v ? v->size() : 0;
                                } else {
                                    read_sink += applied.load(std::memory_order_relaxed);
                                }
                            }
                            record(true, ec, t0);
                            --outstanding;
                            issue();
                        });
                        return;
                    }
                    // With an application state, payloads differ so that they spread over the slots.
                    auto payload = s.with_state() ? raftlite::make_bytes(make_payload(++seq, s.payload)) : data;
                    n.async_broadcast(std::move(payload), [&, t0](boost::system::error_code ec, raftlite::index_t index) {
                        if (!ec) last_write = std::max(last_write, index);
                        record(false, ec, t0);
                        --outstanding;
                        issue();
                    });
                };
                for (int c = 0; c < clients; ++c) asio::post(ioc, issue);
                std::this_thread::sleep_for(std::chrono::duration<double>(s.warmup));
                const long rss_kb_start = read_status_kb("VmRSS");
                const auto st0 = n.status();
                const auto start = clock_type::now();
                measuring = true;
                std::this_thread::sleep_for(std::chrono::duration<double>(s.seconds));
                latency_histogram rh, wh;
                std::uint64_t re = 0, we = 0, stale = 0;
                {
                    std::lock_guard<std::mutex> lock(m);
                    measuring = false;
                    elapsed_s = std::chrono::duration<double>(clock_type::now() - start).count();
                    rh = read_hist;
                    wh = write_hist;
                    re = read_errors;
                    we = write_errors;
                    stale = stale_reads;
                }
                const long rss_kb_end = read_status_kb("VmRSS");
                const long heap_kb_end = heap_in_use_kb();
                const auto st = n.status();
                stopping = true;
                while (outstanding > 0) std::this_thread::sleep_for(1ms);
                // The figures themselves are computed by the parent from the
                // histograms of every peer that ran clients; this peer's
                // memory and log figures matter when it leads.
                std::ostringstream js;
                js << std::fixed << std::setprecision(3)
                   << "{\"read_rounds\":" << st.core.read_rounds - st0.core.read_rounds
                   << ",\"lease_reads\":" << st.core.lease_reads - st0.core.lease_reads;
                {
                    std::lock_guard<std::mutex> lock(mem.m);
                    js << ",\"snapshots\":" << st.snapshots_taken
                       << ",\"rss_kb_start\":" << rss_kb_start
                       << ",\"rss_kb_first_snapshot\":" << mem.rss_kb_first_snapshot
                       << ",\"rss_kb_end\":" << rss_kb_end << ",\"rss_kb_peak\":" << read_status_kb("VmHWM")
                       << ",\"heap_kb_first_snapshot\":" << mem.heap_kb_first_snapshot
                       << ",\"heap_kb_end\":" << heap_kb_end
                       << ",\"commit_at_first_snapshot\":" << mem.commit_at_first_snapshot
                       << ",\"filled_at_first_snapshot\":" << mem.filled_at_first_snapshot
                       << ",\"bytes_of_first_snapshot\":" << mem.bytes_of_first_snapshot
                       << ",\"commit_index\":" << st.commit_index << ",\"snapshot_index\":" << st.snapshot_index
                       << ",\"log_entries\":" << st.last_log_index + 1 - st.log_start
                       << ",\"snapshot_bytes\":" << (app ? app->last_snapshot_bytes.load() : 0)
                       << ",\"filled_slots\":" << (app ? app->table.filled() : 0)
                       << ",\"rss_series\":[" << mem.series << "]";
                }
                // Last, so that the parent can cut them off what it prints.
                js << ",\"elapsed_s\":" << elapsed_s << ",\"is_leader\":" << (st.role == raftlite::role::leader ? 1 : 0)
                   << ",\"peer_read_errors\":" << re << ",\"peer_write_errors\":" << we
                   << ",\"peer_stale_reads\":" << stale << ",\"read_hist\":\"" << rh.encode() << "\",\"write_hist\":\"" << wh.encode() << "\"}";
                std::cout << "result " << js.str() << std::endl;
            }
        }
        quit = true;
    });
    const auto began = clock_type::now();
    auto next_sample = began;
    while (!quit) {
        const auto st = n.status();
        if (!told_leader && st.role == raftlite::role::leader) {
            told_leader = true;
            std::cout << "leader" << std::endl;
        }
        {
            std::lock_guard<std::mutex> lock(mem.m);
            if (mem.rss_kb_first_snapshot == 0 && st.snapshots_taken > 0) {
                // The first snapshot is durable and the log prefix it covers is gone.
                mem.rss_kb_first_snapshot = read_status_kb("VmRSS");
                mem.heap_kb_first_snapshot = heap_in_use_kb();
                mem.commit_at_first_snapshot = st.commit_index;
                mem.filled_at_first_snapshot = app ? app->table.filled() : 0;
                mem.bytes_of_first_snapshot = app ? app->last_snapshot_bytes.load() : 0;
            }
            if (told_leader && clock_type::now() >= next_sample) {
                next_sample += 5s;
                mem.series += (mem.series.empty() ? "[" : ",[") +
                              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - began).count()) +
                              "," + std::to_string(read_status_kb("VmRSS")) + "," + std::to_string(heap_in_use_kb()) +
                              "," + std::to_string(st.commit_index) + "," +
                              std::to_string(st.last_log_index + 1 - st.log_start) + "," +
                              std::to_string(app ? app->table.filled() : 0) + "]";
            }
        }
        std::this_thread::sleep_for(10ms);
    }
    input.join();
    n.stop();
    ioc.stop();
    io.join();
    return 0;
}

// ---------------------------------------------------------------------------
// Parent mode.

struct child {
    pid_t pid = -1;
    FILE* to = nullptr;     // its stdin
    FILE* from = nullptr;   // its stdout
};

std::vector<child> children;

void kill_children() {
    for (auto& c : children)
        if (c.pid > 0) ::kill(c.pid, SIGKILL);
}

// What removes the network namespaces (netns_cluster::cleanup_command), for
// the signal handler: fork and exec are all it may do.
const char* cleanup_command = nullptr;

void on_signal(int) {
    kill_children();
    if (cleanup_command) {
        if (pid_t pid = ::fork(); pid == 0) {
            ::execl("/bin/sh", "sh", "-c", cleanup_command, static_cast<char*>(nullptr));
            std::_Exit(127);
        } else if (pid > 0) {
            int st;
            ::waitpid(pid, &st, 0);
        }
    }
    std::_Exit(130);
}

// netns_fd >= 0: the child runs in that network namespace.
child spawn(const char* self, const std::vector<std::string>& args, int netns_fd = -1) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (netns_fd >= 0 && !raftlite::bench::enter_netns(netns_fd)) std::_Exit(126);
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::close(in[0]); ::close(in[1]); ::close(out[0]); ::close(out[1]);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(self));
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        std::_Exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    child c;
    c.pid = pid;
    c.to = ::fdopen(in[1], "w");
    c.from = ::fdopen(out[0], "r");
    return c;
}

std::optional<std::string> read_line(FILE* f, int timeout_ms) {
    // poll-free: the children always answer; a timeout only guards against a crash
    (void)timeout_ms;
    // A result line carries latency histograms and can be long: read it whole.
    std::string s;
    char buf[16384];
    while (std::fgets(buf, sizeof buf, f)) {
        s += buf;
        if (!s.empty() && s.back() == '\n') break;
    }
    if (s.empty()) return std::nullopt;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

double json_number(const std::string& js, const std::string& key) {
    auto p = js.find("\"" + key + "\":");
    if (p == std::string::npos) return 0;
    return std::stod(js.substr(p + key.size() + 3));
}

// A string value without escapes (the peers write only such).
std::string json_string(const std::string& js, const std::string& key) {
    auto p = js.find("\"" + key + "\":\"");
    if (p == std::string::npos) return {};
    p += key.size() + 4;
    return js.substr(p, js.find('"', p) - p);
}

// The links between the peers in wide-area mode: the relay, on a thread of
// this process, with a route for every ordered pair of peers (j reaches i
// through route j→i), and the namespaces the peers run in.
class wide_area {
public:
    explicit wide_area(const settings& s) : s_(s), relay_(ioc_, s.relay_seed) {}
    ~wide_area() {
        relay_.stop();
        if (thread_.joinable()) thread_.join();
        cleanup_command = nullptr;
    }

    /// Namespaces (unless --no-netns), routes, the relay's thread, and the
    /// round trip through the relay. Empty, or what failed.
    std::string start() {
        const int n = s_.nodes;
        std::vector<raftlite::endpoint_address> listen(n + 1);
        if (!s_.no_netns) {
            netns_.emplace(n);
            if (auto error = netns_->create(); !error.empty()) return error;
            cleanup_command = netns_->cleanup_command().c_str();
            // Each peer has a stack of its own: the same port everywhere.
            for (int i = 1; i <= n; ++i) listen[i] = {raftlite::bench::netns_cluster::peer_address(i), 7100};
        } else {
            for (int i = 1; i <= n; ++i) listen[i] = {"127.0.0.1", raftlite::test_support::free_loopback_port()};
        }
        raftlite::relay::link_options link;
        link.delay = std::chrono::microseconds(static_cast<long long>(std::max(s_.rtt_ms, 0.0) * 500));
        link.jitter = std::chrono::microseconds(static_cast<long long>(s_.jitter_ms * 500));
        link.bandwidth_mbit = s_.bandwidth_mbit;
        addrs_.assign(n + 1, std::vector<raftlite::endpoint_address>(n));
        try {
            for (int j = 1; j <= n; ++j) {
                for (int i = 1; i <= n; ++i) {
                    if (i == j) {
                        addrs_[j][i - 1] = listen[i];
                        continue;
                    }
                    raftlite::relay::route_spec r{host_of(j), 0, listen[i].host, listen[i].port, link};
                    r.link.drop_rate = s_.loss;
                    addrs_[j][i - 1] = {r.listen_host, relay_.add(r)};
                    routes_.emplace_back(j, i);
                }
            }
            // The reference round trip: from peer 1's place to an echo at peer 2's, through a route like theirs.
            std::optional<raftlite::bench::echo_server> echo;
            const std::string echo_host = netns_ ? raftlite::bench::netns_cluster::peer_address(2) : host_of(2);
            in_netns(2, [&] { echo.emplace(echo_host, netns_ ? 7199 : 0); });
            raftlite::relay::route_spec r{host_of(1), 0, echo_host, echo->port(), link};
            const auto port = relay_.add(r);
            thread_ = std::thread([this] {
                realtime_ = s_.relay_realtime && raftlite::relay::make_thread_realtime();
                ioc_.run();
            });
            const int rounds = s_.rtt_ms > 0 ? std::clamp(static_cast<int>(1000 / s_.rtt_ms), 20, 2000) : 2000;
            in_netns(1, [&] { relay_rtt_us_ = raftlite::bench::measure_rtt_us(host_of(1), port, rounds); });
            if (relay_rtt_us_ <= 0) return "no round trip through the relay";
        } catch (const std::exception& e) {
            return e.what();
        }
        return {};
    }

    /// Peer i's command-line arguments for its addresses, and its namespace.
    std::vector<std::string> peer_args(int i) const {
        std::string list;
        for (const auto& a : addrs_[i]) list += (list.empty() ? "" : ",") + a.to_string();
        return {"--addrs", list};
    }
    int netns_fd(int i) const { return netns_ ? netns_->fd(i) : -1; }

    /// Every link of peer i, both ways, cuts a fraction p of chunks from now on.
    void set_peer_loss(int i, double p) {
        for (std::size_t r = 0; r < routes_.size(); ++r)
            if (routes_[r].first == i || routes_[r].second == i) relay_.set_drop_rate(r, p);
    }

    double relay_rtt_us() const { return relay_rtt_us_; }
    /// Whether the relay's thread runs as a real-time one (make_thread_realtime).
    bool relay_realtime() const { return realtime_; }
    raftlite::relay::relay_stats stats() const { return relay_.stats(); }
    const char* network() const { return netns_ ? "netns" : "loopback"; }

private:
    // Where the relay listens for peer j's connections: on peer j's veth
    // pair; without namespaces on 127.0.0.2, so that the ports the relay
    // binds can never be those free_loopback_port() chose for the peers on 127.0.0.1.
    std::string host_of(int j) const { return netns_ ? raftlite::bench::netns_cluster::host_address(j) : "127.0.0.2"; }

    // Runs f on a thread inside peer i's namespace (sockets made there stay there).
    void in_netns(int i, const std::function<void()>& f) {
        if (!netns_) return f();
        std::exception_ptr error;
        std::thread t([&] {
            try {
                if (!raftlite::bench::enter_netns(netns_->fd(i))) throw std::runtime_error("setns failed");
                f();
            } catch (...) {
                error = std::current_exception();
            }
        });
        t.join();
        if (error) std::rethrow_exception(error);
    }

    const settings& s_;
    asio::io_context ioc_{1};
    raftlite::relay::relay relay_;
    std::optional<raftlite::bench::netns_cluster> netns_;
    std::vector<std::pair<int, int>> routes_;                       // (from, to) per route, in the order added
    std::vector<std::vector<raftlite::endpoint_address>> addrs_;    // [j][i - 1]: where peer j reaches peer i
    double relay_rtt_us_ = 0;
    std::atomic<bool> realtime_{false};
    std::thread thread_;
};

// One measurement's figures, over every peer that ran clients.
struct figures {
    latency_histogram h;
    double ops = 0;
    std::uint64_t errors = 0;
};
struct summary {
    figures reads, writes, all;
    std::uint64_t stale_reads = 0;
    std::string leader_result;   // memory and log figures: the leader's (node 1, normally), without braces
};

// Reads, writes and both: ops/s summed (each over its own measured time),
// latencies from the merged histograms.
summary summarize(const std::vector<std::string>& results) {
    summary out;
    for (const std::string& r : results) {
        if (r.empty()) continue;
        const double elapsed = std::max(json_number(r, "elapsed_s"), 1e-9);
        auto add = [&](figures& f, const char* hist, const char* errors) {
            latency_histogram h;
            if (!h.decode(json_string(r, hist))) throw std::runtime_error(std::string("bad histogram ") + hist);
            f.ops += h.count() / elapsed;
            f.errors += static_cast<std::uint64_t>(json_number(r, errors));
            f.h.merge(h);
            out.all.ops += h.count() / elapsed;
            out.all.errors += static_cast<std::uint64_t>(json_number(r, errors));
            out.all.h.merge(h);
        };
        add(out.reads, "read_hist", "peer_read_errors");
        add(out.writes, "write_hist", "peer_write_errors");
        out.stale_reads += static_cast<std::uint64_t>(json_number(r, "peer_stale_reads"));
        if (out.leader_result.empty() || json_number(r, "is_leader") != 0) out.leader_result = r;
    }
    // The leader's figures without its own operation counts and histograms (they come last).
    out.leader_result.erase(out.leader_result.find(",\"elapsed_s\":"));
    out.leader_result.erase(0, 1);   // the opening brace
    return out;
}

// The next line of a child's output that starts with `prefix`, without it.
std::optional<std::string> await_line(child& c, const std::string& prefix) {
    while (auto line = read_line(c.from, 0))
        if (line->rfind(prefix, 0) == 0) return line->substr(prefix.size());
    return std::nullopt;
}

std::optional<std::string> ask(child& c, const std::string& command, const std::string& answer_prefix) {
    std::fputs((command + "\n").c_str(), c.to);
    std::fflush(c.to);
    return await_line(c, answer_prefix);
}

// Whether every peer delivered the same sequence: once the slowest has
// caught up with the most advanced (or after `patience`), the digests of
// every peer up to the index all reached are compared.
struct sequence_check {
    bool agrees = false;
    raftlite::index_t entries = 0;      // the index compared at
    raftlite::index_t most = 0;         // the most advanced peer's applied index
    double catch_up_s = 0;              // until the slowest reached `most` (or gave up)
};

sequence_check check_sequences(std::vector<child>& peers, std::chrono::seconds patience) {
    sequence_check c;
    const auto t0 = clock_type::now();
    std::vector<raftlite::index_t> applied(peers.size());
    auto poll = [&] {
        for (std::size_t i = 0; i < peers.size(); ++i) {
            auto a = ask(peers[i], "applied", "applied ");
            applied[i] = a ? std::stoull(*a) : 0;
        }
    };
    poll();
    c.most = *std::max_element(applied.begin(), applied.end());
    while (*std::min_element(applied.begin(), applied.end()) < c.most && clock_type::now() - t0 < patience) {
        std::this_thread::sleep_for(100ms);
        poll();
    }
    c.catch_up_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    c.entries = *std::min_element(applied.begin(), applied.end());
    std::optional<std::string> first;
    c.agrees = true;
    for (auto& p : peers) {
        auto d = ask(p, "digest " + std::to_string(c.entries), "digest ");
        if (!d) return c.agrees = false, c;
        if (!first) first = d;
        c.agrees = c.agrees && *d == *first;
    }
    return c;
}

void csv_header() {
    std::cout << "nodes,rtt_ms,jitter_ms,loss,lossy_follower,clients,payload,durability,workload,ops_per_s,p50_us,p90_us,"
                 "p99_us,p999_us,errors,fdatasync_per_s,loopback_rtt_us,relay_rtt_us,network,completions_per_drain\n";
}

void csv_line(const settings& s, double lossy, const figures& f, double fsyncs, double rtt, double relay_rtt,
              const char* network) {
    std::cout << std::fixed << std::setprecision(1) << s.nodes << "," << std::max(s.rtt_ms, 0.0) << "," << s.jitter_ms
              << "," << std::setprecision(3) << s.loss << "," << lossy << "," << s.clients << "," << s.payload << ","
              << s.durability << "," << s.workload << "," << std::setprecision(1) << f.ops << ","
              << f.h.percentile_us(0.5) << "," << f.h.percentile_us(0.9) << "," << f.h.percentile_us(0.99) << ","
              << f.h.percentile_us(0.999) << "," << f.errors << "," << fsyncs << "," << rtt << "," << relay_rtt << ","
              << network << "," << s.completions_per_drain << "\n";
}

int run_parent(const char* self, settings s) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    const bool own_dir = s.dir.empty();
    if (own_dir)
        s.dir = (std::filesystem::temp_directory_path() / ("raftlite-bench-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(s.dir);

    const double fsyncs = measure_fdatasync_per_s(s.dir);
    const double rtt = measure_loopback_rtt_us();

    std::optional<wide_area> wan;
    if (s.via_relay()) {
        wan.emplace(s);
        if (auto error = wan->start(); !error.empty()) {
            wan.reset();
            if (own_dir) std::filesystem::remove_all(s.dir);
            std::cerr << "raftlite-bench: cannot set up the wide-area links: " << error << "\n"
                      << (s.no_netns ? "" : "(network namespaces need root and iproute2; --no-netns runs the relay "
                                            "between processes on loopback instead)\n");
            return 2;
        }
    }

    std::vector<std::uint16_t> ports;
    if (!wan)
        for (int i = 0; i < s.nodes; ++i) ports.push_back(raftlite::test_support::free_loopback_port());
    for (int i = 1; i <= s.nodes; ++i) {
        std::vector<std::string> args{"--peer", std::to_string(i), "--nodes", std::to_string(s.nodes), "--clients",
                                      std::to_string(s.clients), "--payload", std::to_string(s.payload),
                                      "--seconds", std::to_string(s.seconds), "--warmup", std::to_string(s.warmup),
                                      "--durability", s.durability, "--dir", s.dir,
                                      "--snapshot-entries", std::to_string(s.snapshot_entries),
                                      "--state-slots", std::to_string(s.state_slots),
                                      "--mmap-threshold", std::to_string(s.mmap_threshold),
                                      "--max-inflight", std::to_string(s.max_inflight),
                                      "--max-batch-entries", std::to_string(s.max_batch_entries),
                                      "--completions-per-drain", std::to_string(s.completions_per_drain),
                                      "--heartbeat-ms", std::to_string(s.heartbeat_ms)};
        if (wan) {
            auto a = wan->peer_args(i);
            args.insert(args.end(), a.begin(), a.end());
            args.insert(args.end(), {"--rtt-ms", std::to_string(std::max(s.rtt_ms, 0.0)), "--jitter-ms",
                                     std::to_string(s.jitter_ms)});
        } else {
            std::string list;
            for (auto p : ports) list += (list.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p);
            args.insert(args.end(), {"--addrs", list});
        }
        if (s.app_state) args.push_back("--app-state");
        if (s.lease) args.push_back("--lease");
        if (s.check_sequence) args.push_back("--check-sequence");
        args.insert(args.end(), {"--workload", s.workload, "--read-ratio", std::to_string(s.read_ratio)});
        children.push_back(spawn(self, args, wan ? wan->netns_fd(i) : -1));
    }
    // Each child prints "ready", then "leader" if it becomes leader. Node 1 is
    // configured to time out first; we read its lines until it leads, then
    // start the clients: all on it (--read-from leader), or client i on peer
    // i mod N (--read-from any).
    std::vector<int> share(children.size(), 0);
    for (int c = 0; c < s.clients; ++c) ++share[s.read_from == "any" ? c % children.size() : 0];
    // One measurement: every peer with clients runs them and answers with its result.
    auto measure = [&]() -> std::optional<std::vector<std::string>> {
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (share[i] == 0) continue;
            std::fprintf(children[i].to, "run %d\n", share[i]);
            std::fflush(children[i].to);
        }
        std::vector<std::string> results(children.size());
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (share[i] == 0) continue;
            auto r = await_line(children[i], "result ");
            if (!r) return std::nullopt;
            results[i] = *r;
        }
        return results;
    };
    std::optional<std::vector<std::string>> clean, lossy, clean_after;
    std::optional<sequence_check> sequence;
    if (await_line(children.front(), "leader")) {
        clean = measure();
        if (clean && s.lossy_follower > 0) {
            // The last peer is a follower (node 1 leads): its links lose
            // chunks, then heal; clean links again after, so that a drift
            // of the machine over the run does not pass for the loss's effect.
            wan->set_peer_loss(s.nodes, s.lossy_follower);
            lossy = measure();
            wan->set_peer_loss(s.nodes, s.loss);
            if (lossy) clean_after = measure();
        }
        if (clean && s.check_sequence) sequence = check_sequences(children, 20s);
    }
    const int status = clean && (s.lossy_follower == 0 || clean_after) ? 0 : 1;
    for (auto& c : children) {
        std::fputs("quit\n", c.to);
        std::fflush(c.to);
    }
    for (auto& c : children) {
        int st = 0;
        ::waitpid(c.pid, &st, 0);
        c.pid = -1;
    }
    children.clear();
    const double relay_rtt = wan ? wan->relay_rtt_us() : 0;
    const auto relay_stats = wan ? wan->stats() : raftlite::relay::relay_stats{};
    const bool relay_realtime = wan && wan->relay_realtime();
    const char* network = wan ? wan->network() : "loopback-direct";
    wan.reset();
    if (own_dir) std::filesystem::remove_all(s.dir);
    if (status != 0) {
        std::cerr << "raftlite-bench: a peer running clients produced no result\n";
        return 1;
    }
    const int exit_status = sequence && !sequence->agrees ? 1 : 0;
    const summary sum = summarize(*clean);
    const auto& [reads, writes, all, stale_reads, leader_result] = sum;
    std::optional<summary> lossy_sum, clean_after_sum;
    if (lossy) {
        lossy_sum = summarize(*lossy);
        clean_after_sum = summarize(*clean_after);
    }
    // The lossy measurement against the mean of the clean ones around it.
    const double clean_mean_ops = lossy ? (all.ops + clean_after_sum->all.ops) / 2 : all.ops;

    if (s.csv) {
        csv_header();
        csv_line(s, 0, all, fsyncs, rtt, relay_rtt, network);
        if (lossy_sum) {
            csv_line(s, s.lossy_follower, lossy_sum->all, fsyncs, rtt, relay_rtt, network);
            csv_line(s, 0, clean_after_sum->all, fsyncs, rtt, relay_rtt, network);
        }
        return exit_status;
    }

    auto op_json = [](std::ostream& o, const std::string& prefix, const figures& f) {
        o << ",\"" << prefix << "ops_per_s\":" << f.ops << ",\"" << prefix << "p50_us\":" << f.h.percentile_us(0.5)
          << ",\"" << prefix << "p90_us\":" << f.h.percentile_us(0.9) << ",\"" << prefix
          << "p99_us\":" << f.h.percentile_us(0.99) << ",\"" << prefix << "p999_us\":" << f.h.percentile_us(0.999)
          << ",\"" << prefix << "max_us\":" << f.h.max() / 1000.0 << ",\"" << prefix
          << "operations\":" << f.h.count() << ",\"" << prefix << "errors\":" << f.errors;
    };
    if (s.json) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(1) << "{\"workload\":\"" << s.workload << "\"";
        op_json(o, "", all);
        o << ",\"mb_per_s\":" << std::setprecision(3) << writes.ops * s.payload / 1e6 << std::setprecision(1);
        op_json(o, "read_", reads);
        op_json(o, "write_", writes);
        o << ",\"stale_reads\":" << stale_reads << "," << leader_result << ",\"fdatasync_per_s\":" << fsyncs
          << ",\"rtt_us\":" << rtt << ",\"clients\":" << s.clients << ",\"payload\":" << s.payload
          << ",\"nodes\":" << s.nodes << ",\"durability\":\"" << s.durability
          << "\",\"read_ratio\":" << std::setprecision(3)
          << (s.workload == "read" ? 1.0 : s.workload == "mixed" ? s.read_ratio : 0.0) << std::setprecision(1)
          << ",\"lease\":" << (s.lease ? "true" : "false") << ",\"read_from\":\"" << s.read_from
          << "\",\"snapshot_entries\":" << s.snapshot_entries << ",\"state_slots\":"
          << (s.with_state() ? s.state_slots : 0) << ",\"mmap_threshold\":"
          << (s.with_state() ? s.mmap_threshold : 0) << ",\"network\":\"" << network << "\"";
        if (s.via_relay())
            o << ",\"rtt_ms\":" << std::max(s.rtt_ms, 0.0) << ",\"jitter_ms\":" << s.jitter_ms << ",\"loss\":"
              << std::setprecision(3) << s.loss << std::setprecision(1) << ",\"relay_rtt_us\":" << relay_rtt
              << ",\"relay_connections\":" << relay_stats.connections << ",\"relay_cuts\":" << relay_stats.cuts
              << ",\"relay_seed\":" << s.relay_seed << ",\"relay_late_p50_us\":" << relay_stats.late_percentile_us(0.5)
              << ",\"relay_late_p99_us\":" << relay_stats.late_percentile_us(0.99)
              << ",\"relay_realtime\":" << (relay_realtime ? "true" : "false");
        if (lossy_sum) {
            o << ",\"lossy_follower\":" << std::setprecision(3) << s.lossy_follower << std::setprecision(1);
            op_json(o, "lossy_", lossy_sum->all);
            op_json(o, "clean_after_", clean_after_sum->all);
            o << ",\"lossy_ratio\":" << std::setprecision(3) << lossy_sum->all.ops / std::max(clean_mean_ops, 1e-9)
              << std::setprecision(1);
        }
        if (sequence)
            o << ",\"sequence_agrees\":" << (sequence->agrees ? "true" : "false") << ",\"sequence_entries\":"
              << sequence->entries << ",\"sequence_most\":" << sequence->most << ",\"catch_up_s\":" << sequence->catch_up_s;
        o << "}\n";
        std::cout << o.str();
        return exit_status;
    }
    const std::string& result = leader_result;
    std::cout << std::fixed << std::setprecision(1);
    std::cout << "raftlite-bench: " << s.nodes << " processes "
              << (!s.via_relay()         ? "on 127.0.0.1"
                  : s.no_netns           ? "on 127.0.0.1, links through the relay"
                                         : "in network namespaces, links through the relay")
              << ", " << s.clients << " clients ("
              << (s.read_from == "any" ? "spread over every peer" : "on the leader") << "), workload "
              << s.workload;
    if (s.workload == "mixed") std::cout << " (read ratio " << s.read_ratio << ")";
    if (s.workload != "write") std::cout << (s.lease ? ", lease reads" : ", reads by a heartbeat round");
    std::cout << ", " << s.payload << "-byte payloads, durability " << s.durability << ", " << s.seconds << " s\n";
    auto op_line = [](const char* what, const figures& f) {
        std::cout << what << "ops/s " << f.ops << "  latency us  p50 " << f.h.percentile_us(0.5) << "  p90 "
                  << f.h.percentile_us(0.9) << "  p99 " << f.h.percentile_us(0.99) << "  p99.9 "
                  << f.h.percentile_us(0.999) << "  max " << f.h.max() / 1000.0 << "  errors " << f.errors << "\n";
    };
    if (s.workload == "write") {
        std::cout << "  ops/s " << all.ops << "   MB/s " << writes.ops * s.payload / 1e6 << "\n  latency us  p50 "
                  << all.h.percentile_us(0.5) << "  p90 " << all.h.percentile_us(0.9) << "  p99 "
                  << all.h.percentile_us(0.99) << "  p99.9 " << all.h.percentile_us(0.999) << "  max "
                  << all.h.max() / 1000.0 << "\n  errors " << all.errors;
    } else {
        op_line("  all     ", all);
        op_line("  reads   ", reads);
        op_line("  writes  ", writes);
        std::cout << "  stale reads " << stale_reads << ", leader's read rounds "
                  << static_cast<long long>(json_number(result, "read_rounds")) << ", lease reads "
                  << static_cast<long long>(json_number(result, "lease_reads"));
    }
    auto integer = [&](const char* key) { return static_cast<long long>(json_number(result, key)); };
    if (s.with_state())
        std::cout << "\n  state " << s.state_slots << " slots (" << integer("filled_slots")
                  << " filled), snapshots every " << s.snapshot_entries << " entries: "
                  << integer("snapshots") << " taken, last " << integer("snapshot_bytes")
                  << " bytes";
    std::cout << "\n  leader log " << integer("log_entries") << " entries at commit " << integer("commit_index");
    std::cout << "\n  leader rss KiB  start " << integer("rss_kb_start");
    if (integer("snapshots") > 0)
        std::cout << "  first snapshot " << integer("rss_kb_first_snapshot") << " (commit "
                  << integer("commit_at_first_snapshot") << ")";
    std::cout << "  end " << integer("rss_kb_end") << "  peak " << integer("rss_kb_peak")
              << "\n  leader heap in use KiB";
    if (integer("snapshots") > 0)
        std::cout << "  first snapshot " << integer("heap_kb_first_snapshot") << " ("
                  << integer("filled_at_first_snapshot") << " slots filled, snapshot "
                  << integer("bytes_of_first_snapshot") << " bytes)";
    std::cout << "  end " << integer("heap_kb_end")
              << "\n  reference: fdatasync/s " << fsyncs << " (" << 1e6 / std::max(fsyncs, 1.0)
              << " us each), loopback rtt " << rtt << " us";
    if (s.via_relay())
        std::cout << ", rtt through the relay " << relay_rtt << " us (asked for " << std::max(s.rtt_ms, 0.0) * 1000
                  << " us, jitter up to " << s.jitter_ms * 1000 << " us; loss " << s.loss << " per chunk, seed "
                  << s.relay_seed << "; " << relay_stats.connections << " connections, " << relay_stats.cuts
                  << " cut; chunks late p50 < " << relay_stats.late_percentile_us(0.5) << " us, p99 < "
                  << relay_stats.late_percentile_us(0.99) << " us; relay thread "
                  << (relay_realtime ? "real-time" : "at normal priority") << ")";
    std::cout << "\n";
    if (lossy_sum) {
        const auto& l = lossy_sum->all;
        const auto& c = clean_after_sum->all;
        std::cout << "  lossy follower: peer " << s.nodes << "'s links cut a connection at " << s.lossy_follower
                  << " of chunks: ops/s " << l.ops << ", " << std::setprecision(3) << l.ops / std::max(clean_mean_ops, 1e-9)
                  << std::setprecision(1) << " x the clean links' mean (" << all.ops << " before, " << c.ops
                  << " after)\n    latency us  p50 " << l.h.percentile_us(0.5) << "  p99 " << l.h.percentile_us(0.99)
                  << " (clean after: p50 " << c.h.percentile_us(0.5) << "  p99 " << c.h.percentile_us(0.99)
                  << ")  errors " << l.errors << "\n";
    }
    if (sequence)
        std::cout << "  sequence: " << (sequence->agrees ? "every peer delivered the same " : "PEERS DIFFER within the first ")
                  << sequence->entries << " entries (the most advanced had " << sequence->most << "; waited "
                  << sequence->catch_up_s << " s for the slowest)\n";
    return exit_status;
}

// ---------------------------------------------------------------------------
// Restart mode: how long a node takes to come back from a large snapshot.

// Evicts a directory's files from the page cache (they are synced, so their
// pages are clean and the kernel drops them without privileges): the next
// restart reads from the disk, as after a reboot.
void evict_from_page_cache(const std::filesystem::path& dir) {
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        if (!f.is_regular_file()) continue;
        int fd = ::open(f.path().c_str(), O_RDONLY);
        if (fd < 0) continue;
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

// What the peers' data directory looks like after N entries with snapshots:
// a snapshot of the slot table as of entry N, the log_keep_entries entries
// below it that compaction keeps, and `tail` committed entries after it.
// Written with the persister API (what the node drives), not by replaying N
// entries through a cluster.
boost::system::error_code build_restart_dir(const settings& s, const std::string& dir, raftlite::snapshot_meta& meta,
                                            std::size_t& log_entries) {
    using namespace raftlite;
    file_persister p(dir);
    persistent_state loaded;
    if (auto ec = p.load(loaded)) return ec;
    const term_t term = 1;
    const index_t n = s.restart_entries;
    slot_table table(s.state_slots);
    for (index_t i = 1; i <= n; ++i) table.apply(make_bytes(make_payload(i, s.payload)));
    std::unique_ptr<snapshot_writer> w;
    if (auto ec = p.begin_snapshot(n, term, {1, 2, 3}, w)) return ec;
    if (auto ec = slot_table::serialize(table.capture(), [&](std::string_view d) { return w->write(d); })) return ec;
    if (auto ec = w->finish(meta)) return ec;
    if (auto ec = p.use_snapshot(meta)) return ec;
    const index_t keep = core_config{}.log_keep_entries;
    const index_t first = n >= keep ? n - keep + 1 : 1;
    if (first > 1)
        if (auto ec = p.remove_prefix(first, term)) return ec;
    std::vector<log_entry> batch;
    for (index_t i = first; i <= n + s.restart_tail; ++i) {
        batch.push_back(log_entry{term, i, entry_kind::application, entry_origin{1, i}, make_bytes(make_payload(i, s.payload))});
        if (batch.size() == 1000 || i == n + s.restart_tail) {
            if (auto ec = p.append(batch)) return ec;
            batch.clear();
        }
    }
    log_entries = static_cast<std::size_t>(n + s.restart_tail - first + 1);
    if (auto ec = p.save_hard_state(hard_state{term, 1, n + s.restart_tail})) return ec;
    return p.sync();
}

struct restart_times {
    double start_ms = 0;     // node constructed and start() returned (the persister's load)
    double restored_ms = 0;  // ... and the restore handler has run
    double ready_ms = 0;     // ... and the log tail is delivered
    std::size_t log_entries = 0;
    bool ok = false;
};

restart_times time_restart(const settings& s, const std::string& dir) {
    using namespace raftlite;
    restart_times r;
    const index_t target = s.restart_entries + s.restart_tail;
    std::promise<void> ready;
    auto ready_future = ready.get_future();
    // Peers that never answer: the node stays a follower or candidate, so the
    // directory is the same at every run.
    node_options o;
    o.core.self = 1;
    o.core.members = {1, 2, 3};
    o.transport.cluster_id = "bench";
    o.transport.listen = {"127.0.0.1", 0};
    o.transport.peers[2] = {"127.0.0.1", raftlite::test_support::free_loopback_port()};
    o.transport.peers[3] = {"127.0.0.1", raftlite::test_support::free_loopback_port()};
    o.seed = 1;

    const auto t0 = clock_type::now();
    asio::io_context ioc(1);
    std::optional<snapshotting_state> app;
    app.emplace(s.state_slots);
    node n(ioc, o, std::make_unique<file_persister>(dir));
    app->attach(n, [&, done = false](index_t i) mutable {
        if (!done && i >= target) {
            done = true;
            ready.set_value();
        }
    });
    if (auto ec = n.start()) {
        std::cerr << "raftlite-bench: restart: cannot start: " << ec.message() << "\n";
        return r;
    }
    const auto started = clock_type::now();
    std::thread io([&] { ioc.run(); });
    r.ok = ready_future.wait_for(120s) == std::future_status::ready;
    const auto t_ready = clock_type::now();
    auto ms = [&](clock_type::time_point t) { return std::chrono::duration<double, std::milli>(t - t0).count(); };
    r.start_ms = ms(started);
    r.restored_ms = app->restores > 0 ? ms(app->restored_at.load()) : 0;
    r.ready_ms = ms(t_ready);
    // The status is published after the strand's turn: wait for the one that saw the tail.
    auto st = n.status();
    for (int i = 0; i < 100 && st.applied_index < target; ++i) {
        std::this_thread::sleep_for(10ms);
        st = n.status();
    }
    r.log_entries = static_cast<std::size_t>(st.last_log_index + 1 - st.log_start);
    if (!r.ok || app->restores == 0) {
        std::cerr << "raftlite-bench: restart: not ready (applied " << st.applied_index << ", restores "
                  << app->restores << ")\n";
        r.ok = false;
    }
    n.stop();
    ioc.stop();
    io.join();
    return r;
}

// Child side: one timed restart, its figures on stdout.
int run_restart_child(const settings& s) {
    raftlite::log_settings ls;
    ls.level = raftlite::severity::error;   // the peers it names never answer
    raftlite::init_logging(ls);
    const restart_times r = time_restart(s, s.dir);
    std::cout << std::fixed << std::setprecision(3) << "result {\"ok\":" << r.ok << ",\"start_ms\":" << r.start_ms
              << ",\"restored_ms\":" << r.restored_ms << ",\"ready_ms\":" << r.ready_ms
              << ",\"log_entries\":" << r.log_entries << "}" << std::endl;
    return r.ok ? 0 : 1;
}

restart_times restart_in_child(const char* self, const settings& s, const std::string& dir) {
    child c = spawn(self, {"--restart-child", "--dir", dir, "--restart-entries", std::to_string(s.restart_entries),
                           "--restart-tail", std::to_string(s.restart_tail), "--state-slots",
                           std::to_string(s.state_slots), "--payload", std::to_string(s.payload)});
    children.push_back(c);
    restart_times r;
    while (auto line = read_line(c.from, 0)) {
        if (line->rfind("result ", 0) != 0) continue;
        r.ok = json_number(*line, "ok") != 0;
        r.start_ms = json_number(*line, "start_ms");
        r.restored_ms = json_number(*line, "restored_ms");
        r.ready_ms = json_number(*line, "ready_ms");
        r.log_entries = static_cast<std::size_t>(json_number(*line, "log_entries"));
        break;
    }
    std::fclose(c.to);
    std::fclose(c.from);
    int st = 0;
    ::waitpid(c.pid, &st, 0);
    children.pop_back();
    return r;
}

int run_restart(const char* self, settings s) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const bool own_dir = s.dir.empty();
    if (own_dir)
        s.dir = (std::filesystem::temp_directory_path() / ("raftlite-bench-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(s.dir);
    const double fsyncs = measure_fdatasync_per_s(s.dir);
    const std::string dir = (std::filesystem::path(s.dir) / "restart").string();
    std::filesystem::remove_all(dir);

    raftlite::snapshot_meta meta;
    std::size_t built_entries = 0;
    const auto b0 = clock_type::now();
    if (auto ec = build_restart_dir(s, dir, meta, built_entries)) {
        std::cerr << "raftlite-bench: cannot build the restart directory: " << ec.message() << "\n";
        if (own_dir) std::filesystem::remove_all(s.dir);
        return 1;
    }
    const double build_s = std::chrono::duration<double>(clock_type::now() - b0).count();

    // Each restart in a process of its own, as a real one is (a second node
    // in the same process reuses the heap the first one grew: several times
    // faster, and not what a restarted peer sees). Alternately from a cold
    // page cache (as after a reboot) and a warm one (a process restart).
    std::vector<restart_times> cold, warm;
    bool ok = true;
    for (int i = 0; i < s.restart_runs && ok; ++i) {
        evict_from_page_cache(dir);
        cold.push_back(restart_in_child(self, s, dir));
        warm.push_back(restart_in_child(self, s, dir));
        ok = cold.back().ok && warm.back().ok;
    }
    if (own_dir) std::filesystem::remove_all(s.dir);
    if (!ok) return 1;
    auto median = [](std::vector<restart_times> v, double restart_times::*f) {
        std::sort(v.begin(), v.end(), [f](const auto& a, const auto& b) { return a.*f < b.*f; });
        return v[v.size() / 2].*f;
    };
    auto list = [](const std::vector<restart_times>& v) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(1);
        for (std::size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i].ready_ms;
        return o.str();
    };
    auto detail = [](const std::vector<restart_times>& v) {
        std::ostringstream o;
        o << std::fixed << std::setprecision(1);
        for (std::size_t i = 0; i < v.size(); ++i)
            o << (i ? ", " : "") << v[i].start_ms << "/" << v[i].restored_ms << "/" << v[i].ready_ms;
        return o.str();
    };
    const auto& c = cold;
    std::cout << std::fixed << std::setprecision(1);
    if (s.json) {
        std::cout << "{\"restart_ms\":" << median(c, &restart_times::ready_ms)
                  << ",\"restart_ms_warm\":" << median(warm, &restart_times::ready_ms)
                  << ",\"start_ms\":" << median(c, &restart_times::start_ms)
                  << ",\"restored_ms\":" << median(c, &restart_times::restored_ms)
                  << ",\"restart_ms_runs\":[" << list(cold) << "],\"restart_ms_warm_runs\":[" << list(warm) << "]"
                  << ",\"snapshot_entries\":" << s.restart_entries << ",\"snapshot_bytes\":" << meta.size
                  << ",\"log_entries\":" << c.front().log_entries << ",\"tail_entries\":" << s.restart_tail
                  << ",\"state_slots\":" << s.state_slots << ",\"payload\":" << s.payload
                  << ",\"build_s\":" << build_s << ",\"fdatasync_per_s\":" << fsyncs << "}\n";
        return 0;
    }
    std::cout << "raftlite-bench restart: snapshot of " << s.restart_entries << " entries (" << s.state_slots
              << " slots, " << meta.size << " bytes) + log of " << c.front().log_entries << " entries ("
              << s.restart_tail << " after the snapshot), built in " << build_s << " s\n"
              << "  restart ms (median of " << c.size() << ", cold page cache)  ready "
              << median(c, &restart_times::ready_ms) << "  [start() returned " << median(c, &restart_times::start_ms)
              << ", restored " << median(c, &restart_times::restored_ms) << "]\n    runs (started/restored/ready) "
              << detail(cold) << "\n  restart ms (warm page cache)  ready " << median(warm, &restart_times::ready_ms)
              << "\n    runs (started/restored/ready) " << detail(warm) << "\n  reference: fdatasync/s " << fsyncs << " (" << 1e6 / std::max(fsyncs, 1.0)
              << " us each)\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    int peer = 0;
    std::string addrs;
    po::options_description desc("raftlite-bench options");
    raftlite::apps::add_standard_options(desc);
    desc.add_options()
        ("clients", po::value(&s.clients)->default_value(1), "concurrent broadcasts (closed loop)")
        ("payload", po::value(&s.payload)->default_value(256), "payload bytes")
        ("seconds", po::value(&s.seconds)->default_value(5), "measured seconds (after the warm-up)")
        ("warmup", po::value(&s.warmup)->default_value(1), "warm-up seconds")
        ("durability", po::value(&s.durability)->default_value("fsync"), "fsync (file persister) | none (memory persister)")
        ("nodes", po::value(&s.nodes)->default_value(3), "3 or 5 processes")
        ("json", po::bool_switch(&s.json), "print one JSON object")
        ("dir", po::value(&s.dir), "data directory (default: a temporary one)")
        ("snapshot-entries", po::value(&s.snapshot_entries)->default_value(0),
         "every peer keeps an application state (--state-slots) and snapshots it every N entries (0: off)")
        ("state-slots", po::value(&s.state_slots)->default_value(100000),
         "slots of the application state (each entry replaces slot hash(payload) % K)")
        ("app-state", po::bool_switch(&s.app_state), "keep the application state without snapshots (for comparison)")
        ("mmap-threshold", po::value(&s.mmap_threshold)->default_value(1 << 20),
         "with an application state, the peers' malloc mmap threshold in bytes (0: glibc's adaptive one)")
        ("restart-entries", po::value(&s.restart_entries)->default_value(0),
         "no cluster: time a node's restart from a snapshot of N entries plus a log tail")
        ("restart-tail", po::value(&s.restart_tail)->default_value(1000), "entries after the snapshot (restart mode)")
        ("restart-runs", po::value(&s.restart_runs)->default_value(3), "restarts timed, cold and warm (restart mode)")
        ("workload", po::value(&s.workload)->default_value("write"),
         "write (async_broadcast) | read (async_read_index, then a read of the applied state) | mixed")
        ("read-ratio", po::value(&s.read_ratio)->default_value(0.5), "mixed: the probability that an operation is a read")
        ("lease", po::bool_switch(&s.lease), "reads under the leader's lease (node_options::lease_reads)")
        ("read-from", po::value(&s.read_from)->default_value("leader"),
         "leader: every client on the leader | any: client i on peer i mod N (followers ask the leader)")
        ("rtt-ms", po::value(&s.rtt_ms),
         "wide area: every peer in a network namespace of its own, links through a relay adding R/2 ms each way")
        ("jitter-ms", po::value(&s.jitter_ms)->default_value(0), "wide area: up to J ms more per round trip (uniform, order kept)")
        ("loss", po::value(&s.loss)->default_value(0), "wide area: every link cuts its connection at this fraction of chunks")
        ("lossy-follower", po::value(&s.lossy_follower)->default_value(0),
         "wide area: measure again with the last peer's links cutting this fraction of chunks, then check every "
         "peer delivered the same sequence")
        ("bandwidth-mbit", po::value(&s.bandwidth_mbit)->default_value(0), "wide area: per link direction (0: unlimited)")
        ("relay-realtime", po::bool_switch(&s.relay_realtime),
         "run the relay's thread as a real-time one (SCHED_FIFO, needs root), so that it does not wait for cores the peers hold")
        ("no-netns", po::bool_switch(&s.no_netns), "wide area without namespaces (no root needed): the relay between processes on 127.0.0.1")
        ("relay-seed", po::value(&s.relay_seed), "seed of the relay's jitter and loss (default: random, printed)")
        ("check-sequence", po::bool_switch(&s.check_sequence), "check at the end that every peer delivered the same sequence")
        ("csv", po::bool_switch(&s.csv), "print a CSV header and one line per measurement")
        ("max-inflight", po::value(&s.max_inflight)->default_value(0), "pipelined log requests per follower (0: the library's default)")
        ("max-batch-entries", po::value(&s.max_batch_entries)->default_value(0), "entries per log request (0: the library's default)")
        ("completions-per-drain", po::value(&s.completions_per_drain)->default_value(0),
         "replicate what completion handlers broadcast after every N completions (0: once per strand turn)")
        ("heartbeat-ms", po::value(&s.heartbeat_ms)->default_value(30), "the peers' heartbeat interval")
        ("addrs", po::value(&addrs), "internal: where this peer reaches each peer")
        ("peer", po::value(&peer), "internal: run as peer N")
        ("restart-child", po::bool_switch(&s.restart_child), "internal: time one restart from --dir")
        ;
    po::variables_map vm;
    if (auto status = raftlite::apps::parse_command_line("raftlite-bench", argc, argv, desc, vm)) return *status;
    if ((s.durability != "fsync" && s.durability != "none") || (s.nodes != 3 && s.nodes != 5) || s.clients < 1 ||
        s.seconds <= 0) {
        std::cerr << "raftlite-bench: --durability fsync|none, --nodes 3|5, --clients >= 1, --seconds > 0\n";
        return 2;
    }
    if ((s.workload != "write" && s.workload != "read" && s.workload != "mixed") || !(s.read_ratio >= 0 && s.read_ratio <= 1) ||
        (s.read_from != "leader" && s.read_from != "any")) {
        std::cerr << "raftlite-bench: --workload write|read|mixed, --read-ratio in [0, 1], --read-from leader|any\n";
        return 2;
    }
    if (s.heartbeat_ms < 1 || s.heartbeat_ms > 10000) {
        std::cerr << "raftlite-bench: --heartbeat-ms in 1..10000\n";
        return 2;
    }
    if (!(s.jitter_ms >= 0) || !(s.loss >= 0 && s.loss < 1) || !(s.lossy_follower >= 0 && s.lossy_follower < 1) ||
        !(s.bandwidth_mbit >= 0) || (vm.count("rtt-ms") && !(s.rtt_ms >= 0 && s.rtt_ms <= 10000))) {
        std::cerr << "raftlite-bench: --rtt-ms in 0..10000, --jitter-ms >= 0, --loss and --lossy-follower in [0, 1), "
                     "--bandwidth-mbit >= 0\n";
        return 2;
    }
    if (peer == 0 && !s.via_relay() && (s.jitter_ms > 0 || s.bandwidth_mbit > 0 || s.no_netns)) {
        std::cerr << "raftlite-bench: --jitter-ms, --bandwidth-mbit and --no-netns go with --rtt-ms\n";
        return 2;
    }
    if (s.lossy_follower > 0) {
        if (s.nodes != 5) {
            std::cerr << "raftlite-bench: --lossy-follower needs --nodes 5 (a majority without the lossy follower)\n";
            return 2;
        }
        s.check_sequence = true;
    }
    if (s.check_sequence && s.with_state()) {
        std::cerr << "raftlite-bench: --check-sequence (and --lossy-follower) go without an application state\n";
        return 2;
    }
    if (!vm.count("relay-seed")) s.relay_seed = std::random_device{}();
    if (peer > 0) {
        std::vector<raftlite::endpoint_address> p;
        std::stringstream ss(addrs);
        for (std::string x; std::getline(ss, x, ',');) {
            auto a = raftlite::endpoint_address::parse(x);
            if (!a) {
                std::cerr << "raftlite-bench: peer " << peer << ": bad address " << x << "\n";
                return 2;
            }
            p.push_back(*a);
        }
        if (p.size() != static_cast<std::size_t>(s.nodes) || peer > s.nodes) {
            std::cerr << "raftlite-bench: peer " << peer << ": --addrs needs one address per peer\n";
            return 2;
        }
        return run_peer(s, peer, p);
    }
    if (s.restart_child) return run_restart_child(s);
    if (s.restart_entries > 0) {
        if (s.restart_runs < 1 || s.state_slots < 1) {
            std::cerr << "raftlite-bench: --restart-runs >= 1, --state-slots >= 1\n";
            return 2;
        }
        return run_restart(argv[0], s);
    }
    return run_parent(argv[0], s);
}
