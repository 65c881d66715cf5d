// raftlite::node clusters with TLS between the peers (test/node/local_cluster:
// real sockets on 127.0.0.1, file persisters, one io_context thread). Waits
// are on conditions with generous deadlines; nothing asserts on timing.
#include <boost/test/unit_test.hpp>

#include "node/local_cluster.hpp"
#include "tls_certs.hpp"

#include <boost/asio/use_future.hpp>

#include <future>
#include <string>
#include <vector>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

/// Every node presents node-<id>, except those in `overrides` (id -> cert name, CA file).
local_cluster::options_hook tls_hook(std::map<node_id, std::pair<std::string, std::string>> overrides = {}) {
    const auto& certs = test_certs::get();
    return [&certs, overrides](node_id id, node_options& o) {
        if (auto it = overrides.find(id); it != overrides.end())
            o.transport.tls = certs.tls(it->second.first, it->second.second);
        else
            o.transport.tls = certs.tls(tls_node_name(id));
        o.transport.cluster_id = "tls-test";
    };
}

/// Broadcasts `count` payloads through `n` and waits for their commit.
void broadcast_all(node& n, const std::string& prefix, int count) {
    std::vector<std::future<index_t>> futures;
    for (int i = 0; i < count; ++i)
        futures.push_back(n.async_broadcast(prefix + std::to_string(i), boost::asio::use_future));
    for (auto& f : futures) {
        BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
        f.get(); // throws system_error on failure
    }
}

/// A cluster that keeps committing while node 3 is an outsider: 1 and 2 are
/// a majority of 3, and node 3 must learn nothing.
void check_outsider_is_kept_out(local_cluster& c) {
    c.start_all();
    const node_id leader = c.wait_for_leader(3);
    BOOST_REQUIRE(leader == 1u || leader == 2u);
    broadcast_all(c.at(leader), "without-3-", 20);
    BOOST_REQUIRE(c.wait_delivered(1, 20));
    BOOST_REQUIRE(c.wait_delivered(2, 20));
    BOOST_TEST(c.delivered(1) == c.delivered(2));
    // Node 3 never heard from the others: no leader, nothing committed.
    const auto s3 = c.at(3).status();
    BOOST_TEST(c.delivered(3).empty());
    BOOST_TEST(s3.commit_index == 0u);
    BOOST_TEST(s3.leader == no_node);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cluster_tls)

BOOST_AUTO_TEST_CASE(three_tls_nodes_commit_broadcasts) {
    local_cluster c(3, tls_hook());
    c.start_all();
    BOOST_REQUIRE(c.wait_for_leader() != no_node);
    std::vector<std::future<index_t>> futures;
    for (int round = 0; round < 10; ++round)
        for (node_id id = 1; id <= 3; ++id)
            futures.push_back(c.at(id).async_broadcast("r" + std::to_string(round) + "-n" + std::to_string(id),
                                                       boost::asio::use_future));
    for (auto& f : futures) {
        BOOST_REQUIRE(f.wait_for(30s) == std::future_status::ready);
        f.get();
    }
    for (node_id id = 1; id <= 3; ++id)
        BOOST_REQUIRE(c.wait_delivered(id, 30));
    BOOST_TEST(c.delivered(1) == c.delivered(2));
    BOOST_TEST(c.delivered(1) == c.delivered(3));
}

BOOST_AUTO_TEST_CASE(a_node_with_a_certificate_from_another_ca_cannot_join) {
    // Node 3 trusts both CAs but holds a certificate only the rogue CA signed.
    local_cluster c(3, tls_hook({{3, {"rogue-node-3", "both-cas.pem"}}}));
    check_outsider_is_kept_out(c);
}

BOOST_AUTO_TEST_CASE(a_node_presenting_another_nodes_certificate_cannot_join) {
    // Node 3 holds node 2's genuine certificate and key.
    local_cluster c(3, tls_hook({{3, {"node-2", "ca.pem"}}}));
    check_outsider_is_kept_out(c);
}

BOOST_AUTO_TEST_CASE(a_plaintext_node_cannot_join_a_tls_cluster) {
    const auto& certs = test_certs::get();
    local_cluster c(3, [&certs](node_id id, node_options& o) {
        if (id != 3)
            o.transport.tls = certs.tls(tls_node_name(id));
        o.transport.cluster_id = "tls-test";
    });
    check_outsider_is_kept_out(c);
}

BOOST_AUTO_TEST_SUITE_END()
