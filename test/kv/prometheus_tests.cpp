// format_prometheus: the exporter's text checked line by line against the
// exposition format (kv/prometheus_grammar.hpp), and the checker itself
// shown to catch what it is there to catch.
#include <boost/test/unit_test.hpp>

#include "kv/prometheus_grammar.hpp"
#include "prometheus.hpp"

#include <raftlite/version.hpp>

#include <string>

using namespace raftlite;
using raftlite::test::parse_prometheus;

namespace {

node_metrics leader_metrics() {
    node_metrics m;
    m.id = 1;
    m.term = 7;
    m.role = "leader";
    m.leader = 1;
    m.commit_index = 40;
    m.applied_index = 39;
    m.last_log_index = 42;
    m.running = true;
    m.elections_started = 2;
    m.terms_as_leader = 1;
    m.leader_changes = 3;
    m.broadcasts.committed = 3;
    m.broadcasts.timed_out = 1;
    m.broadcast_latency = histogram(broadcast_latency_bounds());
    for (double s : {0.0004, 0.003, 0.2, 30.0}) m.broadcast_latency.observe(s);
    m.reads.ready = 5;
    m.reads.not_leader = 2;
    m.read_latency = histogram(read_latency_bounds());
    for (double s : {0.00008, 0.0003, 0.0003, 0.004, 0.02, 1.5, 20.0}) m.read_latency.observe(s);
    m.read_rounds = 4;
    m.lease_reads = 9;
    m.disk_round_latency = histogram(disk_round_latency_bounds());
    for (double s : {0.00005, 0.0001, 0.002}) m.disk_round_latency.observe(s);
    m.disk_round_entries = histogram(disk_round_entries_bounds());
    for (double n : {0.0, 1.0, 5.0, 5000.0}) m.disk_round_entries.observe(n);
    peer_metrics p2;
    p2.id = 2;
    p2.bytes_sent = 1000;
    p2.frames_sent = 10;
    p2.bytes_received = 500;
    p2.frames_received = 9;
    p2.connected = true;
    p2.has_match = true;
    p2.match_index = 39;
    p2.match_lag = 3;
    peer_metrics p3 = p2;
    p3.id = 3;
    p3.frames_dropped = 4;
    p3.connected = false;
    p3.connects = 2;
    p3.connect_failures = 9;
    p3.handshake_ack_timeouts = 4;
    p3.match_index = 42;
    p3.match_lag = 0;
    m.peers = {p2, p3};
    m.handshakes_rejected = 6;
    m.tls_handshakes_failed = 5;
    m.bad_frames = 1;
    m.inbound_rejected = 2;
    return m;
}

std::string problems_of(const std::string& text) {
    std::string all;
    for (const auto& p : parse_prometheus(text).problems) all += p + "\n";
    return all;
}

} // namespace

BOOST_AUTO_TEST_SUITE(prometheus)

BOOST_AUTO_TEST_CASE(a_leader_s_metrics_follow_the_format) {
    const std::string text = kv::format_prometheus(leader_metrics());
    const auto parsed = parse_prometheus(text);
    BOOST_TEST(parsed.problems.empty(), "problems:\n" << problems_of(text) << "text:\n" << text);

    auto value = [&](const std::string& name, const std::string& key = {}, const std::string& v = {}) {
        const auto* s = parsed.find(name, key, v);
        BOOST_TEST_REQUIRE(s, name << " " << key << "=" << v << " missing");
        return s->value;
    };
    BOOST_TEST(value("raftlite_term") == 7);
    BOOST_TEST(value("raftlite_role", "role", "leader") == 1);
    BOOST_TEST(value("raftlite_role", "role", "follower") == 0);
    BOOST_TEST(value("raftlite_commit_index") == 40);
    BOOST_TEST(value("raftlite_applied_index") == 39);
    BOOST_TEST(value("raftlite_last_log_index") == 42);
    BOOST_TEST(value("raftlite_elections_started_total") == 2);
    BOOST_TEST(value("raftlite_leader_changes_total") == 3);
    BOOST_TEST(value("raftlite_broadcasts_total", "outcome", "committed") == 3);
    BOOST_TEST(value("raftlite_broadcasts_total", "outcome", "timed_out") == 1);
    BOOST_TEST(value("raftlite_broadcasts_total", "outcome", "storage_failed") == 0);
    BOOST_TEST(value("raftlite_broadcast_duration_seconds_count") == 4);
    BOOST_TEST(value("raftlite_broadcast_duration_seconds_bucket", "le", "0.0005") == 1);
    BOOST_TEST(value("raftlite_broadcast_duration_seconds_bucket", "le", "10") == 3);
    BOOST_TEST(value("raftlite_broadcast_duration_seconds_bucket", "le", "+Inf") == 4);
    BOOST_TEST(value("raftlite_reads_total", "outcome", "ready") == 5);
    BOOST_TEST(value("raftlite_reads_total", "outcome", "not_leader") == 2);
    BOOST_TEST(value("raftlite_reads_total", "outcome", "timed_out") == 0);
    BOOST_TEST(value("raftlite_read_duration_seconds_bucket", "le", "0.0001") == 1);
    BOOST_TEST(value("raftlite_read_duration_seconds_bucket", "le", "0.0005") == 3);
    BOOST_TEST(value("raftlite_read_duration_seconds_bucket", "le", "10") == 6);
    BOOST_TEST(value("raftlite_read_duration_seconds_count") == 7);
    BOOST_TEST(value("raftlite_read_rounds_total") == 4);
    BOOST_TEST(value("raftlite_build_info", "version", RAFTLITE_VERSION_STRING) == 1);
    BOOST_TEST(parsed.types.at("raftlite_build_info") == "gauge");
    BOOST_TEST(value("raftlite_lease_reads_total") == 9);
    BOOST_TEST(parsed.types.at("raftlite_reads_total") == "counter");
    BOOST_TEST(parsed.types.at("raftlite_read_duration_seconds") == "histogram");
    BOOST_TEST(parsed.types.at("raftlite_read_rounds_total") == "counter");
    BOOST_TEST(value("raftlite_disk_round_duration_seconds_bucket", "le", "0.0001") == 2);
    BOOST_TEST(value("raftlite_disk_round_entries_bucket", "le", "0") == 1);
    BOOST_TEST(value("raftlite_disk_round_entries_sum") == 5006);
    BOOST_TEST(value("raftlite_peer_sent_bytes_total", "peer", "2") == 1000);
    BOOST_TEST(value("raftlite_peer_dropped_frames_total", "peer", "3") == 4);
    BOOST_TEST(value("raftlite_peer_connected", "peer", "3") == 0);
    BOOST_TEST(value("raftlite_peer_connects_total", "peer", "3") == 2);
    BOOST_TEST(value("raftlite_peer_connect_failures_total", "peer", "3") == 9);
    BOOST_TEST(value("raftlite_peer_handshake_ack_timeouts_total", "peer", "3") == 4);
    BOOST_TEST(value("raftlite_peer_handshake_ack_timeouts_total", "peer", "2") == 0);
    BOOST_TEST(value("raftlite_handshakes_rejected_total") == 6);
    BOOST_TEST(value("raftlite_tls_handshakes_failed_total") == 5);
    BOOST_TEST(value("raftlite_bad_frames_total") == 1);
    BOOST_TEST(value("raftlite_inbound_connections_rejected_total") == 2);
    BOOST_TEST(parsed.types.at("raftlite_peer_connect_failures_total") == "counter");
    BOOST_TEST(value("raftlite_peer_match_lag_entries", "peer", "2") == 3);
    BOOST_TEST(value("raftlite_peer_match_lag_entries", "peer", "3") == 0);
    BOOST_TEST(parsed.types.at("raftlite_broadcast_duration_seconds") == "histogram");
    BOOST_TEST(parsed.types.at("raftlite_term") == "gauge");
    BOOST_TEST(parsed.types.at("raftlite_broadcasts_total") == "counter");
}

BOOST_AUTO_TEST_CASE(a_follower_has_no_lag_samples_and_empty_histograms_are_valid) {
    node_metrics m;   // nothing observed, no bounds even
    m.id = 2;
    m.role = "follower";
    m.peers.resize(1);
    m.peers[0].id = 1;
    const std::string text = kv::format_prometheus(m);
    const auto parsed = parse_prometheus(text);
    BOOST_TEST(parsed.problems.empty(), "problems:\n" << problems_of(text) << "text:\n" << text);
    BOOST_TEST(!parsed.find("raftlite_peer_match_lag_entries"));
    BOOST_TEST(parsed.find("raftlite_peer_sent_frames_total", "peer", "1"));
    BOOST_TEST(parsed.find("raftlite_broadcast_duration_seconds_bucket", "le", "+Inf")->value == 0);
}

BOOST_AUTO_TEST_CASE(snapshot_gauges_follow_the_format) {
    kv::snapshot_gauges g;
    g.snapshot_index = 30000;
    g.log_start = 29001;
    g.log_entries = 1500;
    g.snapshots_taken = 3;
    g.snapshots_installed = 1;
    const std::string text = kv::format_prometheus(leader_metrics(), g);
    const auto parsed = parse_prometheus(text);
    BOOST_TEST(parsed.problems.empty(), "problems:\n" << problems_of(text) << "text:\n" << text);
    BOOST_TEST(parsed.find("raftlite_snapshot_index")->value == 30000);
    BOOST_TEST(parsed.find("raftlite_log_start_index")->value == 29001);
    BOOST_TEST(parsed.find("raftlite_log_entries")->value == 1500);
    BOOST_TEST(parsed.find("raftlite_snapshots_taken_total")->value == 3);
    BOOST_TEST(parsed.find("raftlite_snapshots_installed_total")->value == 1);
    BOOST_TEST(parsed.types.at("raftlite_snapshot_index") == "gauge");
    BOOST_TEST(parsed.types.at("raftlite_snapshots_taken_total") == "counter");
    // Without them (a program that takes no snapshots) the families are absent.
    BOOST_TEST(!parse_prometheus(kv::format_prometheus(leader_metrics())).find("raftlite_snapshot_index"));
}

BOOST_AUTO_TEST_CASE(level_gauges_follow_the_format) {
    const std::string text = kv::format_prometheus(leader_metrics(), std::nullopt, std::nullopt,
                                                   kv::level_gauges{1, 2, 2});
    const auto parsed = parse_prometheus(text);
    BOOST_TEST(parsed.problems.empty(), "problems:\n" << problems_of(text) << "text:\n" << text);
    BOOST_TEST(parsed.find("raftlite_kv_cluster_level")->value == 1);
    BOOST_TEST(parsed.find("raftlite_kv_reported_level")->value == 2);
    BOOST_TEST(parsed.find("raftlite_kv_supported_level")->value == 2);
    BOOST_TEST(parsed.types.at("raftlite_kv_cluster_level") == "gauge");
    BOOST_TEST(!parse_prometheus(kv::format_prometheus(leader_metrics())).find("raftlite_kv_cluster_level"));
}

BOOST_AUTO_TEST_CASE(space_gauges_follow_the_format) {
    const kv::space_gauges g{5000, 8192, 123456789, 4096, 1};
    const std::string text = kv::format_prometheus(leader_metrics(), std::nullopt, std::nullopt, std::nullopt, g);
    const auto parsed = parse_prometheus(text);
    BOOST_TEST(parsed.problems.empty(), "problems:\n" << problems_of(text) << "text:\n" << text);
    BOOST_TEST(parsed.find("raftlite_kv_state_bytes")->value == 5000);
    BOOST_TEST(parsed.find("raftlite_kv_quota_bytes")->value == 8192);
    BOOST_TEST(parsed.find("raftlite_kv_disk_free_bytes")->value == 123456789);
    BOOST_TEST(parsed.find("raftlite_kv_disk_reserve_bytes")->value == 4096);
    BOOST_TEST(parsed.find("raftlite_kv_no_space_alarms")->value == 1);
    BOOST_TEST(parsed.types.at("raftlite_kv_state_bytes") == "gauge");
    // Free space unknown (the disk not watched): no sample rather than a 0.
    kv::space_gauges unknown = g;
    unknown.free_bytes.reset();
    BOOST_TEST(!parse_prometheus(kv::format_prometheus(leader_metrics(), std::nullopt, std::nullopt, std::nullopt, unknown))
                    .find("raftlite_kv_disk_free_bytes"));
    BOOST_TEST(!parse_prometheus(kv::format_prometheus(leader_metrics())).find("raftlite_kv_state_bytes"));
}

BOOST_AUTO_TEST_CASE(watch_gauges_follow_the_format) {
    const kv::watch_gauges g{2, 150, 20000, 4200};
    const std::string text = kv::format_prometheus(leader_metrics(), std::nullopt, g);
    const auto parsed = parse_prometheus(text);
    BOOST_TEST(parsed.problems.empty(), "problems:\n" << problems_of(text) << "text:\n" << text);
    BOOST_TEST(parsed.find("raftlite_watches")->value == 2);
    BOOST_TEST(parsed.find("raftlite_watch_history_changes")->value == 150);
    BOOST_TEST(parsed.find("raftlite_watch_history_bytes")->value == 20000);
    BOOST_TEST(parsed.find("raftlite_watch_horizon_index")->value == 4200);
    BOOST_TEST(parsed.types.at("raftlite_watches") == "gauge");
    BOOST_TEST(!parse_prometheus(kv::format_prometheus(leader_metrics())).find("raftlite_watches"));
}

// The checker finds each kind of mistake (else the tests above prove nothing).
BOOST_AUTO_TEST_CASE(the_checker_rejects_broken_text) {
    const std::string head = "# HELP raftlite_x_total x.\n# TYPE raftlite_x_total counter\n";
    BOOST_TEST(problems_of(head + "raftlite_x_total 1\n").empty());
    const char* hist_head = "# HELP raftlite_h h.\n# TYPE raftlite_h histogram\n";
    BOOST_TEST(problems_of(std::string(hist_head) +
                           "raftlite_h_bucket{le=\"1\"} 1\nraftlite_h_bucket{le=\"+Inf\"} 2\n"
                           "raftlite_h_sum 3\nraftlite_h_count 2\n")
                   .empty());

    const std::string broken[] = {
        "raftlite_x_total 1\n",                                          // no TYPE or HELP
        "raftlite_x_total 1\n" + head,                                   // TYPE after the sample
        head + "raftlite_x_total one\n",                                 // bad value
        head + "raftlite_x_total{peer=2} 1\n",                           // unquoted label value
        head + "raftlite_x_total{2peer=\"2\"} 1\n",                      // bad label name
        head + "raftlite_x_total{peer=\"2\" 1\n",                        // unclosed labels
        head + "raftlite_x_total 1\nraftlite_x_total 2\n",               // duplicate series
        head + "raftlite_x_total 1",                                     // no final newline
        "# HELP raftlite_x x.\n# TYPE raftlite_x counter\nraftlite_x 1\n",   // counter without _total
        "# HELP x_total x.\n# TYPE x_total counter\nx_total 1\n",            // no raftlite_ prefix
        "# HELP raftlite_y y.\n# TYPE raftlite_y gauge\n" + head + "raftlite_x_total 1\nraftlite_y 2\n",  // apart
        std::string(hist_head) + "raftlite_h_bucket{le=\"1\"} 2\nraftlite_h_bucket{le=\"+Inf\"} 1\n"
                                 "raftlite_h_sum 3\nraftlite_h_count 1\n",   // counts decrease
        std::string(hist_head) + "raftlite_h_bucket{le=\"2\"} 1\nraftlite_h_bucket{le=\"1\"} 1\n"
                                 "raftlite_h_bucket{le=\"+Inf\"} 1\nraftlite_h_sum 3\nraftlite_h_count 1\n",  // le order
        std::string(hist_head) + "raftlite_h_bucket{le=\"1\"} 1\nraftlite_h_bucket{le=\"+Inf\"} 2\n"
                                 "raftlite_h_sum 3\nraftlite_h_count 3\n",   // +Inf != count
        std::string(hist_head) + "raftlite_h_bucket{le=\"1\"} 1\nraftlite_h_sum 3\nraftlite_h_count 1\n",  // no +Inf
        std::string(hist_head) + "raftlite_h_bucket{le=\"1\"} 1\nraftlite_h_bucket{le=\"+Inf\"} 1\n"
                                 "raftlite_h_count 1\n",   // no _sum
    };
    for (const std::string& text : broken) BOOST_TEST(!problems_of(text).empty(), "accepted:\n" << text);
}

BOOST_AUTO_TEST_SUITE_END()
