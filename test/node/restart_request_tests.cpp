// A broadcast made right after a restart completes with its own entry's index.
//
// Regression test (found by disk_full_tests): request ids restarted at 1 in
// every run, so the first broadcast after a restart carried the same origin
// (node, request 1) as the first entry of the earlier run; when that old entry
// committed again, the new broadcast completed with the old index, and its own
// payload was never confirmed.
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>

#include <boost/asio/use_future.hpp>

#include <future>
#include <map>
#include <string>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

index_t committed_index(node& n, const std::string& payload) {
    auto f = n.async_broadcast(payload, boost::asio::use_future);
    BOOST_REQUIRE(f.wait_for(60s) == std::future_status::ready);
    return f.get();   // throws system_error on failure
}

} // namespace

BOOST_AUTO_TEST_CASE(a_broadcast_after_a_restart_completes_with_its_own_index) {
    local_cluster c(1);
    c.start(1);
    BOOST_REQUIRE(c.wait_for_leader() == 1);
    for (int i = 0; i < 3; ++i)
        committed_index(c.at(1), "before-" + std::to_string(i));
    c.stop(1);

    c.start(1);
    BOOST_REQUIRE(c.wait_for_leader() == 1);
    const index_t mine = committed_index(c.at(1), "after the restart");
    BOOST_REQUIRE(c.wait_delivered(1, 4));
    auto delivered = c.delivered(1);
    std::map<index_t, std::string> by_index(delivered.begin(), delivered.end());
    BOOST_TEST_REQUIRE(by_index.count(mine) == 1u);
    BOOST_TEST(by_index[mine] == "after the restart");
}
