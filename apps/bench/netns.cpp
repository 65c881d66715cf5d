// One network namespace per peer (netns.hpp).
#include "netns.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <regex>
#include <sched.h>
#include <sstream>
#include <sys/types.h>
#include <unistd.h>

namespace raftlite::bench {

namespace {

// Names: namespace rlb<pid>n<i>, veth ends rlb<pid>h<i> (the bench's side)
// and rlb<pid>p<i> (the peer's); at most 15 characters, as links need.
const std::regex netns_name(R"(rlb(\d+)n\d+)");
const std::regex veth_name(R"(rlb(\d+)h\d+)");

// Runs a command through the shell; its exit status and what it printed.
std::pair<int, std::string> sh(const std::string& command) {
    std::string out;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return {-1, "cannot run " + command};
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return {status, out};
}

bool process_gone(const std::string& pid) {
    return ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
}

// Every name of `what` (`ip netns list`, `ip -o link show`) matching `re`,
// with the pid in it.
std::vector<std::pair<std::string, std::string>> matching(const std::string& listing, const std::regex& re) {
    std::vector<std::pair<std::string, std::string>> found;
    std::istringstream in(listing);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string word;
        while (words >> word) {
            word = word.substr(0, word.find_first_of("@:"));
            std::smatch m;
            if (std::regex_match(word, m, re)) {
                found.emplace_back(word, m[1]);
                break;
            }
        }
    }
    return found;
}

} // namespace

netns_cluster::netns_cluster(int peers) : peers_(peers), prefix_("rlb" + std::to_string(::getpid())) {}

netns_cluster::~netns_cluster() { destroy(); }

std::string netns_cluster::peer_address(int i) { return "10.213." + std::to_string(i) + ".2"; }
std::string netns_cluster::host_address(int i) { return "10.213." + std::to_string(i) + ".1"; }

void netns_cluster::remove_stale() {
    for (const auto& [name, pid] : matching(sh("ip netns list").second, netns_name))
        if (process_gone(pid)) sh("ip netns del " + name);
    for (const auto& [name, pid] : matching(sh("ip -o link show").second, veth_name))
        if (process_gone(pid)) sh("ip link del " + name);
}

std::string netns_cluster::create() {
    if (::geteuid() != 0) return "network namespaces need root (ip netns add)";
    remove_stale();
    // Two runs at once would give the same addresses to two veths.
    for (const auto& [name, pid] : matching(sh("ip netns list").second, netns_name))
        if (std::stol(pid) != ::getpid())
            return "another raftlite-bench run (pid " + pid + ") holds network namespace " + name;
    created_ = true;
    for (int i = 1; i <= peers_; ++i) {
        const std::string ns = prefix_ + "n" + std::to_string(i), host = prefix_ + "h" + std::to_string(i),
                          peer = prefix_ + "p" + std::to_string(i);
        cleanup_ += "ip netns del " + ns + " 2>/dev/null; ip link del " + host + " 2>/dev/null; ";
        const std::vector<std::string> steps{
            "ip netns add " + ns,
            "ip link add " + host + " type veth peer name " + peer,
            "ip link set " + peer + " netns " + ns,
            "ip addr add " + host_address(i) + "/30 dev " + host,
            "ip link set " + host + " up",
            "ip -n " + ns + " link set lo up",
            "ip -n " + ns + " addr add " + peer_address(i) + "/30 dev " + peer,
            "ip -n " + ns + " link set " + peer + " up",
            "ip -n " + ns + " route add default via " + host_address(i),
        };
        for (const auto& step : steps) {
            auto [status, out] = sh(step);
            if (status != 0) return "`" + step + "` failed: " + out;
        }
        const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return "cannot open /run/netns/" + ns;
        fds_.push_back(fd);
    }
    return {};
}

void netns_cluster::destroy() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    if (created_) sh(cleanup_);
    created_ = false;
}

bool enter_netns(int fd) { return ::setns(fd, CLONE_NEWNET) == 0; }

} // namespace raftlite::bench
