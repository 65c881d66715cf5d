// raftlite-kv processes: replacing a dead machine through kvctl while a
// client writes (the admin API, kv_admin.hpp). A 3-peer cluster takes writes
// from a client thread; a fourth raftlite-kv with a fresh data directory and
// ports of its own starts in join mode, is added as a learner and promoted
// with kvctl; an original follower is SIGKILLed and removed with kvctl.
// Every acknowledged write must then be readable on the new member, and
// kvctl members must show the new configuration.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

run_result kvctl(const kv_process_cluster& c, std::vector<std::string> args) {
    args.insert(args.begin(), {"--cluster", c.config_dir().string(), "--timeout", "60000"});
    auto r = run_program(staged_program("kvctl"), args);
    std::string line;
    for (const auto& a : args) line += " " + a;
    BOOST_TEST_MESSAGE("kvctl" << line << " -> exit " << r.status << "\n" << r.output);
    return r;
}

// One client writing w<i> = v<i>, i = 0, 1, ..., one at a time, to the
// given peers in turn (the next one when a peer fails or has no leader),
// until stopped. Keeps the indexes whose write was acknowledged (200).
class writer {
public:
    explicit writer(std::vector<std::uint16_t> ports) : ports_(std::move(ports)), thread_([this] { run(); }) {}
    ~writer() { stop(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::size_t acknowledged() const { return count_.load(); }
    std::vector<std::size_t> acked() {
        std::lock_guard lock(mutex_);
        return acked_;
    }

private:
    void run() {
        std::size_t next_port = 0;
        for (std::size_t i = 0; !stop_; ++i) {
            while (!stop_) {
                const auto port = ports_[next_port % ports_.size()];
                auto r = http_call(port, "PUT", "/kv/w" + std::to_string(i), "v" + std::to_string(i), 10s);
                if (r && r->status == 200) {
                    std::lock_guard lock(mutex_);
                    acked_.push_back(i);
                    ++count_;
                    break;
                }
                ++next_port;   // down, no leader, or an unknown outcome: the same write to the next peer
                std::this_thread::sleep_for(20ms);   // back off
            }
        }
    }

    std::vector<std::uint16_t> ports_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> count_{0};
    std::mutex mutex_;
    std::vector<std::size_t> acked_;
    std::thread thread_;
};

// The member lines of `kvctl members`: "nID role raft kv match" by id.
std::map<node_id, std::string> member_roles(const std::string& output) {
    std::map<node_id, std::string> roles;
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string name, role;
        fields >> name >> role;
        if (name.size() > 1 && name[0] == 'n' && std::isdigit(static_cast<unsigned char>(name[1])))
            roles[std::stoull(name.substr(1))] = role;
    }
    return roles;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_sigkilled_member_is_replaced_by_a_fresh_machine_through_kvctl,
                     *boost::unit_test::timeout(300)) {
    kv_process_cluster c(3);
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    const auto leader = c.wait_for_leader();
    BOOST_REQUIRE(leader);

    writer w({c.kv_port(1), c.kv_port(2), c.kv_port(3)});
    BOOST_REQUIRE(eventually([&] { return w.acknowledged() >= 20; }));

    // A fresh machine: new ports, a data directory never used, join mode.
    const node_id fresh = c.add_peer();
    BOOST_REQUIRE_EQUAL(fresh, 4u);
    BOOST_REQUIRE(!std::filesystem::exists(c.data_dir(fresh)));
    c.start(fresh, {"--join"});
    const std::string raft = "127.0.0.1:" + std::to_string(c.raft_port(fresh));
    const std::string kv = "127.0.0.1:" + std::to_string(c.kv_port(fresh));

    auto r = kvctl(c, {"add-learner", "4", raft, kv});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    BOOST_TEST(r.output.find("add-learner n4") != std::string::npos);
    r = kvctl(c, {"members"});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    BOOST_TEST(member_roles(r.output)[4] == "learner");

    r = kvctl(c, {"promote", "4"});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    BOOST_TEST(r.output.find("promote n4: OK") != std::string::npos);

    // SIGKILL an original follower, then take it out of the configuration.
    const auto now_leader = c.wait_for_leader();
    BOOST_REQUIRE(now_leader);
    const node_id victim = *now_leader == 1 ? 2 : 1;
    const std::size_t before_kill = w.acknowledged();
    c.kill(victim);
    r = kvctl(c, {"remove", std::to_string(victim)});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    BOOST_TEST(r.output.find("remove n" + std::to_string(victim) + ": OK") != std::string::npos);

    // The client goes on being served by the new configuration.
    const std::size_t after_remove = w.acknowledged();
    BOOST_REQUIRE(eventually([&] { return w.acknowledged() >= after_remove + 20; }));
    // The leader drops the removed server's feature-level report (a server
    // added later under its id reports afresh): no peer holds it any more.
    const std::string report = "/kv/%FFkv%2Flevel%2Fmember%2F" + std::to_string(victim);
    BOOST_TEST(eventually([&] {
        auto g = http_call(c.kv_port(fresh), "GET", report, {}, 10s);
        return g && g->status == 404;
    }));
    w.stop();
    const auto acked = w.acked();
    BOOST_TEST_MESSAGE(acked.size() << " writes acknowledged, " << before_kill << " before the SIGKILL");

    // Every acknowledged write is readable on the new member (a linearizable
    // read through its own read index).
    std::size_t missing = 0;
    for (std::size_t i : acked) {
        auto g = http_call(c.kv_port(fresh), "GET", "/kv/w" + std::to_string(i), {}, 10s);
        if (!g || g->status != 200 || g->body != "v" + std::to_string(i)) {
            if (++missing <= 10)
                BOOST_ERROR("w" << i << " on n4: " << (g ? std::to_string(g->status) + " " + g->body : "no answer"));
        }
    }
    BOOST_TEST(missing == 0u);

    // The configuration: the two surviving originals and n4, all voters.
    r = kvctl(c, {"members"});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    auto roles = member_roles(r.output);
    BOOST_TEST(roles.size() == 3u);
    BOOST_TEST(!roles.count(victim));
    for (node_id id = 1; id <= 4; ++id) {
        if (id == victim) continue;
        BOOST_TEST((roles[id] == "voter" || roles[id] == "leader"), "n" << id << ": " << roles[id]);
    }
    // kvctl learns members from the cluster, not only from its directory.
    // Given only the new member's config it finds every member. Given only
    // the leader's (a member from the config files, whose kv address the
    // configuration does not carry), it learns n4's kv address from the
    // member list and sends changes (demote n4, promote it back).
    const auto final_leader = c.wait_for_leader();
    BOOST_REQUIRE(final_leader);
    auto kvctl_in = [&](const std::string& name, node_id only, std::vector<std::string> args) {
        const auto dir = c.config_dir() / name;
        std::filesystem::create_directories(dir);
        std::filesystem::copy_file(c.config(only), dir / c.config(only).filename(),
                                   std::filesystem::copy_options::overwrite_existing);
        args.insert(args.begin(), {"--cluster", dir.string(), "--timeout", "60000"});
        auto res = run_program(staged_program("kvctl"), args);
        BOOST_TEST_MESSAGE("kvctl (only n" << only << ".ini) " << args.back() << " -> exit " << res.status << "\n"
                                           << res.output);
        return res;
    };
    r = kvctl_in("only-n4", fresh, {"members"});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    BOOST_TEST(member_roles(r.output).size() == 3u);
    r = kvctl_in("only-leader", *final_leader, {"members"});
    BOOST_REQUIRE_EQUAL(r.status, 0);
    BOOST_TEST(r.output.find(" " + kv + " ") != std::string::npos);   // n4's kv address, from its member info
    if (*final_leader != fresh) {
        r = kvctl_in("only-leader", *final_leader, {"demote", "4"});
        BOOST_REQUIRE_EQUAL(r.status, 0);
        BOOST_TEST(member_roles(kvctl_in("only-leader", *final_leader, {"members"}).output)[4] == "learner");
        r = kvctl_in("only-leader", *final_leader, {"promote", "4"});
        BOOST_REQUIRE_EQUAL(r.status, 0);
    }

    // GET /status on the new member: a voter in the configuration it knows.
    auto st = http_call(c.kv_port(fresh), "GET", "/status", {}, 10s);
    BOOST_REQUIRE(st);
    const auto status = boost::json::parse(st->body).as_object();
    bool voter = false;
    for (const auto& v : status.at("voters").as_array()) voter = voter || v.to_number<node_id>() == fresh;
    BOOST_TEST(voter);
}
