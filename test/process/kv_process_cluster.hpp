// A raftlite-kv cluster of real processes for tests: configs generated in a
// temporary directory with free ports, peers started, killed (SIGKILL),
// paused (SIGSTOP/SIGCONT) and restarted, and a small HTTP client.
#ifndef RAFTLITE_TEST_KV_PROCESS_CLUSTER_HPP
#define RAFTLITE_TEST_KV_PROCESS_CLUSTER_HPP

#include <raftlite/types.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace raftlite::test {

/// The directory of the staged programs (stage/bin), found from this test
/// program's own location (stage/test).
std::filesystem::path staged_program(const std::string& name);

struct http_reply {
    unsigned status = 0;
    std::string body;
    std::map<std::string, std::string> headers;   ///< as the server named them
};

using http_headers = std::vector<std::pair<std::string, std::string>>;

/// One HTTP request; nullopt when the peer cannot be reached or times out.
std::optional<http_reply> http_call(std::uint16_t port, const std::string& method, const std::string& target,
                                    const std::string& body = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                    const http_headers& headers = {});

/// Sends one request and closes the connection without reading the answer,
/// as a client whose own timeout expired does. False when it could not be sent.
bool http_send_and_hang_up(std::uint16_t port, const std::string& method, const std::string& target,
                           const std::string& body, const http_headers& headers);

struct peer_status {
    std::string role;
    term_t term = 0;
    node_id leader = 0;
    index_t applied = 0;
    std::string digest;
    index_t state_index = 0;        ///< the last entry the digest reflects
    index_t last_log_index = 0;
    index_t snapshot_index = 0;
    index_t log_start = 0;
    std::uint64_t log_entries = 0;
    std::uint64_t snapshots_taken = 0;
    std::uint64_t snapshots_installed = 0;
    std::uint64_t keys = 0;
    unsigned cluster_level = 0;     ///< the cluster's feature level (0: not reported)
    unsigned max_level = 0;         ///< the level this peer reports
    bool level_pending = false;     ///< a level write is still to come from this peer
};

/// Runs a program with arguments (standard input: the file `input`, or
/// this process's); returns its exit status and what it wrote to stdout and
/// stderr.
struct run_result {
    int status = -1;
    std::string output;
};
/// RAFTLITE_FULL_CHECKS=1 (CI sets it; ./run test then installs the
/// programs some checks use: promtool, chromium, wrk): a check whose program
/// is missing fails instead of being left out.
bool full_checks();

/// Runs `program` to its end: its standard output and error in `output`
/// (standard output alone with `discard_stderr`), `input` (if given) as its
/// standard input.
run_result run_program(const std::filesystem::path& program, const std::vector<std::string>& args,
                       const std::filesystem::path& input = {}, bool discard_stderr = false);

/// Writes to one peer from `connections` keep-alive HTTP connections at
/// once: PUT key(i) = value(i) for i in [0, count), each until it is
/// acknowledged (429 and 503 are retried on the same connection; a
/// connection that fails is opened again). Returns how many were
/// acknowledged (count unless the peer stopped answering).
std::size_t bulk_put(std::uint16_t port, std::size_t count, std::size_t connections,
                     const std::function<std::string(std::size_t)>& key,
                     const std::function<std::string(std::size_t)>& value);

/// Polls `condition` until it holds or `limit` passes (a bound for a hang,
/// not a measurement); whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit = std::chrono::seconds(60));

/// A test's random seed: RAFTLITE_TEST_SEED when set (a replay), else a
/// fresh one; printed either way, so that a failure can be replayed.
unsigned test_seed();

class kv_process_cluster {
public:
    /// `raft_extra`, `kv_extra`: lines added to each peer's [raft] and [kv] sections.
    explicit kv_process_cluster(std::size_t peers, const std::string& raft_extra = {},
                                const std::string& kv_extra = {});
    ~kv_process_cluster();   ///< kills every process it started, removes its directory

    /// Starts every peer and waits for a leader they agree on.
    std::optional<node_id> start_all();
    /// Starts peer `id`; `extra_args` follow its --config (e.g. "--join").
    void start(node_id id, const std::vector<std::string>& extra_args = {});
    /// Writes the config file of one more peer, id size() + 1, with ports of
    /// its own and a data directory nobody used: a fresh machine. Its [peers]
    /// name every peer so far and itself (an address book: start it in join
    /// mode, then add it to the configuration). Returns its id.
    node_id add_peer();
    /// Where peer `id`'s Raft transport listens (its [node] listen port).
    std::uint16_t raft_port(node_id id) const { return peer_ports_.at(id - 1); }
    void kill(node_id id);        ///< SIGKILL, and reaps it
    /// SIGTERM, then waits for the process to end, at most `limit` (a bound
    /// for a hang, not a measurement: then it is SIGKILLed). Its exit code, or
    /// nullopt when it did not exit by itself (signal, or still running at
    /// the limit).
    std::optional<int> terminate(node_id id, std::chrono::seconds limit);
    void signal(node_id id, int sig);   ///< sends `sig` (SIGHUP, ...) to the running peer
    void pause(node_id id);       ///< SIGSTOP
    void resume(node_id id);      ///< SIGCONT
    bool running(node_id id) const;
    std::size_t size() const { return kv_ports_.size(); }

    std::uint16_t kv_port(node_id id) const { return kv_ports_.at(id - 1); }
    std::filesystem::path config(node_id id) const;
    /// The directory of every peer's config file (kvctl --cluster).
    std::filesystem::path config_dir() const { return dir_; }
    std::filesystem::path data_dir(node_id id) const;
    std::optional<peer_status> status(node_id id) const;
    /// What peer `id` wrote to its log file so far (every run of it).
    std::string log_text(node_id id) const;

    /// The leader that every running, unpaused peer agrees on (waits for it).
    /// When none is agreed on in time, says what each peer reports (describe()).
    std::optional<node_id> wait_for_leader();
    /// For a failure message: per peer, whether its process still runs (or
    /// exited), its role, term, leader and applied index, and its log's tail.
    std::string describe() const;
    /// Waits until every running peer applied the same index with the same
    /// digest, and none has a feature-level write still to make (so that
    /// the log stays as it is while nobody writes).
    bool wait_converged();

    /// put through any peer, retrying on other peers until `deadline`.
    /// True only when a peer answered 200: the write is acknowledged.
    bool put(const std::string& key, const std::string& value, std::chrono::milliseconds deadline);

private:
    void write_config(node_id id, std::size_t peers) const;

    std::filesystem::path dir_;
    std::string raft_extra_, kv_extra_;
    std::vector<std::uint16_t> peer_ports_, kv_ports_;
    std::map<node_id, pid_t> pids_;
    std::map<node_id, bool> paused_;
};

} // namespace raftlite::test

#endif
