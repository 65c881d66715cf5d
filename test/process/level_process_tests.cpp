// raftlite-kv processes: feature levels (kv_levels.hpp) across a rolling
// upgrade. A peer that reports level 1 ([kv] max_level = 1, as a peer of
// the previous version would hold it) keeps the commands of level 2 off the
// whole cluster; once it runs with level 2 the leader raises the cluster's
// level, and delete-prefix and cas-delete work from every peer.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

run_result kvctl(const kv_process_cluster& c, std::vector<std::string> args) {
    args.insert(args.begin(), {"--cluster", c.config_dir().string()});
    auto r = run_program(staged_program("kvctl"), args);
    BOOST_TEST_MESSAGE("kvctl " << args.back() << " -> exit " << r.status << "\n" << r.output);
    return r;
}

// Every running peer's cluster level, once they agree and none has a level
// write to make.
unsigned settled_level(kv_process_cluster& c) {
    BOOST_REQUIRE(c.wait_converged());
    const unsigned level = c.status(1)->cluster_level;
    for (node_id id = 2; id <= c.size(); ++id) BOOST_TEST(c.status(id)->cluster_level == level);
    return level;
}

std::string body_of(const kv_process_cluster& c, node_id id, const std::string& method, const std::string& target,
                    unsigned status, const std::string& body = {}) {
    auto r = http_call(c.kv_port(id), method, target, body, 10s);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == status, method << " " << target << ": " << r->status << " " << r->body);
    return r->body;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_rolling_upgrade_raises_the_level_once_every_peer_reports, *boost::unit_test::timeout(240)) {
    kv_process_cluster c(3);
    // n3 reports level 1, as the previous raftlite-kv would behave.
    std::ofstream(c.config(3), std::ios::app) << "max_level = 1\n";
    for (node_id id = 1; id <= 3; ++id) c.start(id);
    BOOST_REQUIRE(c.wait_for_leader());
    for (const char* k : {"u/1", "u/2", "v", "lock"}) BOOST_REQUIRE(c.put(k, "me", 20s));

    BOOST_TEST(settled_level(c) == 1u);
    BOOST_TEST(c.status(3)->max_level == 1u);
    BOOST_TEST(c.status(1)->max_level == 2u);
    const run_result refused = kvctl(c, {"delete-prefix", "u/"});
    BOOST_TEST(refused.status == 1);
    BOOST_TEST(refused.output.find("level_too_low") != std::string::npos, refused.output);
    // Refused before the log: nothing is written, nothing changes (kvctl's
    // session, opened and closed above, is in the log).
    BOOST_REQUIRE(c.wait_converged());
    const index_t last = c.status(1)->last_log_index;
    for (node_id id = 1; id <= 3; ++id) {
        BOOST_TEST(body_of(c, id, "DELETE", "/kv?prefix=u%2F", 409).find("level_too_low") != std::string::npos);
        body_of(c, id, "POST", "/kv/lock?cas", 409, R"({"expected":"me","value":null})");
    }
    BOOST_REQUIRE(c.wait_converged());
    BOOST_TEST(c.status(1)->last_log_index == last);
    BOOST_TEST(body_of(c, 2, "GET", "/kv/u%2F1", 200) == "me");

    // The upgrade: n3 restarts reporting all it applies.
    BOOST_REQUIRE(c.terminate(3, 20s) == std::optional<int>(0));
    {
        std::ifstream in(c.config(3));
        std::stringstream text;
        text << in.rdbuf();
        std::string cfg = text.str();
        cfg.erase(cfg.find("max_level = 1\n"));
        in.close();
        std::ofstream(c.config(3), std::ios::trunc) << cfg;
    }
    c.start(3);
    BOOST_TEST(settled_level(c) == 2u);
    BOOST_TEST(c.log_text(c.wait_for_leader().value()).find("raised the cluster's feature level from 1 to 2") !=
               std::string::npos);

    // delete-prefix from a range's index: a watch from there sees both deletes.
    const auto listed = boost::json::parse(body_of(c, 2, "GET", "/kv?prefix=u%2F", 200)).as_object();
    BOOST_TEST(listed.at("entries").as_array().size() == 2u);
    const auto since = listed.at("index").to_number<index_t>();
    const run_result counted = kvctl(c, {"count", "u/"});
    BOOST_TEST(counted.status == 0);
    BOOST_TEST(counted.output.find("2\n") != std::string::npos, counted.output);
    const run_result deleted = kvctl(c, {"delete-prefix", "u/"});
    BOOST_TEST(deleted.status == 0);
    BOOST_TEST(deleted.output.find("deleted 2") != std::string::npos, deleted.output);
    const auto events = boost::json::parse(body_of(c, 3, "GET",
                                                   "/kv?prefix=u%2F&watch=1&timeout_ms=10000&since=" +
                                                       std::to_string(since),
                                                   200))
                            .as_object()
                            .at("events")
                            .as_array();
    BOOST_TEST_REQUIRE(events.size() == 2u);
    for (const auto& e : events) BOOST_TEST(e.as_object().at("type").as_string() == "delete");
    for (node_id id = 1; id <= 3; ++id) {
        BOOST_TEST(body_of(c, id, "GET", "/kv?prefix=u%2F", 200).find(R"("entries":[])") != std::string::npos);
        BOOST_TEST(body_of(c, id, "GET", "/kv/v", 200) == "me");
    }

    // cas-delete: only the expected value goes.
    BOOST_TEST(kvctl(c, {"cas-delete", "lock", "you"}).status == 4);
    BOOST_TEST(kvctl(c, {"cas-delete", "lock", "me"}).status == 0);
    body_of(c, 1, "GET", "/kv/lock", 404);

    // A transaction: take two locks only if neither is held, from one peer;
    // the same from another peer finds them held and reads the owner.
    const std::string take = R"({"compare":[{"key":"lock/a","absent":true},{"key":"lock/b","absent":true}],)"
                             R"("success":[{"op":"put","key":"lock/a","value":"OWNER"},)"
                             R"({"op":"put","key":"lock/b","value":"OWNER"}],)"
                             R"("failure":[{"op":"get","key":"lock/a"}]})";
    auto as = [&](const std::string& owner) {
        std::string t = take;
        for (std::size_t at; (at = t.find("OWNER")) != std::string::npos;) t.replace(at, 5, owner);
        return t;
    };
    const run_result first = kvctl(c, {"txn", as("n1-client")});
    BOOST_TEST(first.status == 0, first.output);
    BOOST_TEST(first.output.find(R"("succeeded":true)") != std::string::npos, first.output);
    const auto second = boost::json::parse(body_of(c, 3, "POST", "/txn", 200, as("n3-client"))).as_object();
    BOOST_TEST(!second.at("succeeded").as_bool());
    BOOST_TEST(second.at("results").as_array().at(0).as_object().at("value").as_string() == "n1-client");
    BOOST_TEST(kvctl(c, {"txn", as("again")}).status == 4);
    BOOST_TEST(body_of(c, 2, "GET", "/kv/lock%2Fb", 200) == "n1-client");
    BOOST_TEST(kvctl(c, {"delete-prefix", "lock/"}).output.find("deleted 2") != std::string::npos);

    // Deleting everything leaves the system keys: the reports and the level.
    BOOST_TEST(kvctl(c, {"delete-range", "", "\xff\xff"}).output.find("deleted 1") != std::string::npos);
    BOOST_REQUIRE(c.wait_converged());
    BOOST_TEST(c.status(1)->keys == 0u);
    const auto system = boost::json::parse(body_of(c, 1, "GET", "/kv?start=%FF&keys_only=1", 200)).as_object();
    BOOST_TEST(system.at("entries").as_array().size() == 4u, boost::json::serialize(system));
    // Clients cannot write them.
    BOOST_TEST(body_of(c, 1, "PUT", "/kv/%FFkv%2Flevel%2Fcluster", 400, "1").find("reserved_key") !=
               std::string::npos);
    BOOST_TEST(settled_level(c) == 2u);

    // A removed server's report goes: one added later under its id reports afresh.
    BOOST_TEST(kvctl(c, {"remove", "3"}).status == 0);
    BOOST_REQUIRE(c.terminate(3, 20s));
    BOOST_REQUIRE(c.wait_converged());
    const auto left = boost::json::parse(body_of(c, 1, "GET", "/kv?start=%FF&keys_only=1", 200)).as_object();
    BOOST_TEST(left.at("entries").as_array().size() == 3u, boost::json::serialize(left));
    BOOST_TEST(c.status(1)->cluster_level == 2u);   // never down
}
