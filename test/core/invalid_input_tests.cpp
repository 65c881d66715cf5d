// Input that violates the protocol is rejected without changing state, and
// counted (stats().messages_rejected); API misuse throws.
#include "core_test_util.hpp"

#include <stdexcept>

using namespace raftlite;
using namespace raftlite::test;

namespace {

struct snapshot {
    term_t term;
    node_id vote;
    role r;
    node_id leader;
    index_t length;
    index_t commit;
    explicit snapshot(const core& c)
        : term(c.current_term()), vote(c.voted_for()), r(c.role()), leader(c.leader()),
          length(c.log().length()), commit(c.commit_length()) {}
    bool operator==(const snapshot&) const = default;
};

} // namespace

BOOST_AUTO_TEST_SUITE(invalid_input)

BOOST_AUTO_TEST_CASE(message_from_nobody_is_rejected) {
    core c(make_config(1, 3));
    const snapshot before(c);
    output o = c.step(recv(no_node, 1, log_request{5, 0, 0, 0, {}}));
    BOOST_TEST(o.empty());
    BOOST_TEST((snapshot(c) == before));
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

// Thesis §4.1: a server takes messages from servers outside its
// configuration (a leader adds a server before the server knows the
// leader), and grants votes to candidates it has not heard of yet.
BOOST_AUTO_TEST_CASE(a_server_outside_the_configuration_is_answered) {
    core c(make_config(1, 3));
    output o = c.step(recv(9, 1, vote_request{5, 10, 5}));
    BOOST_TEST(c.stats().messages_rejected == 0u);
    BOOST_TEST(c.current_term() == 5u);
    BOOST_TEST(c.voted_for() == 9u);
    BOOST_REQUIRE(o.messages_after_sync.size() == 1u);
    BOOST_TEST(std::get<vote_response>(o.messages_after_sync[0].msg).granted);
}

BOOST_AUTO_TEST_CASE(message_addressed_to_another_node_is_rejected) {
    core c(make_config(1, 3));
    const snapshot before(c);
    output o = c.step(recv(2, 3, vote_request{5, 0, 0}));
    BOOST_TEST(o.empty());
    BOOST_TEST((snapshot(c) == before));
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(message_claiming_to_come_from_self_is_rejected) {
    core c(make_config(1, 3));
    const snapshot before(c);
    output o = c.step(recv(1, 1, log_request{2, 0, 0, 0, {}}));
    BOOST_TEST(o.empty());
    BOOST_TEST((snapshot(c) == before));
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(log_response_acking_beyond_the_log_is_rejected) {
    core c(make_config(1, 3));
    win_election(c, {2});
    synced(c);
    const snapshot before(c);
    output o = c.step(recv(2, 1, log_response{1, 10, true, 0}));
    BOOST_TEST(o.empty());
    BOOST_TEST((snapshot(c) == before));
    BOOST_TEST(c.acked_length(2) == 0u);
    BOOST_TEST(c.stats().messages_rejected == 1u);
    // And a success acking less than the prefix it answers.
    o = c.step(recv(2, 1, log_response{1, 0, true, 1}));
    BOOST_TEST(o.empty());
    BOOST_TEST(c.stats().messages_rejected == 2u);
}

BOOST_AUTO_TEST_CASE(failed_log_response_for_the_empty_prefix_is_rejected) {
    core c(make_config(1, 3));
    win_election(c, {2});   // probes at prefix 0
    const index_t sent = c.sent_length(2);
    output o = c.step(recv(2, 1, log_response{1, 0, false, 0}));
    BOOST_TEST(o.empty());
    BOOST_TEST(c.sent_length(2) == sent);
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(log_request_with_non_contiguous_entries_is_rejected) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    const snapshot before(c);
    output o = c.step(recv(1, 2, log_request{1, 0, 0, 0, {make_entry(1, 1), make_entry(1, 3)}}));
    BOOST_TEST((snapshot(c) == before));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(!o.truncate_from);
    BOOST_TEST(o.messages_after_sync.empty());   // no ack for it
    BOOST_TEST(c.stats().messages_rejected == 1u);
    // Entries that do not start right after the prefix.
    o = c.step(recv(1, 2, log_request{1, 0, 0, 0, {make_entry(1, 2)}}));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(c.stats().messages_rejected == 2u);
}

BOOST_AUTO_TEST_CASE(log_request_with_impossible_terms_is_rejected) {
    core c(make_config(2, 3));
    follow(c, 1, 2);
    // An entry of a term above the leader's own.
    output o = c.step(recv(1, 2, log_request{2, 0, 0, 0, {make_entry(3, 1)}}));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(c.stats().messages_rejected == 1u);
    // Terms decreasing along the log.
    o = c.step(recv(1, 2, log_request{2, 0, 0, 0, {make_entry(2, 1), make_entry(1, 2)}}));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(c.stats().messages_rejected == 2u);
    // An entry without a payload.
    log_entry bad = make_entry(2, 1);
    bad.payload.reset();
    o = c.step(recv(1, 2, log_request{2, 0, 0, 0, {bad}}));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(c.stats().messages_rejected == 3u);
    BOOST_TEST(c.log().length() == 0u);
}

BOOST_AUTO_TEST_CASE(log_request_rewriting_a_committed_entry_is_rejected) {
    core c(make_config(2, 3));
    c.step(recv(1, 2, log_request{1, 0, 0, 2, {make_entry(1, 1), make_entry(1, 2)}}));
    BOOST_REQUIRE_EQUAL(c.commit_length(), 2u);
    // A (faulty) leader of term 2 claims entry 2 has term 2.
    output o = c.step(recv(3, 2, log_request{2, 1, 1, 2, {make_entry(2, 2)}}));
    BOOST_TEST(o.append.empty());
    BOOST_TEST(!o.truncate_from);
    BOOST_TEST(of_type<log_response>(o.messages_after_sync).empty());
    BOOST_TEST(terms_of(c.log()) == (std::vector<term_t>{1, 1}), boost::test_tools::per_element());
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(second_leader_in_the_same_term_is_rejected) {
    core c(make_config(1, 3));
    establish_leader(c);
    const snapshot before(c);
    output o = c.step(recv(2, 1, log_request{1, 0, 0, 0, {}}));
    BOOST_TEST((snapshot(c) == before));
    BOOST_TEST(o.empty());
    BOOST_TEST(c.stats().messages_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(forward_request_without_payload_is_rejected) {
    core c(make_config(1, 3));
    establish_leader(c);
    output o = c.step(recv(2, 1, forward_request{3, 0, nullptr}));
    BOOST_TEST(o.empty());
    o = c.step(recv(2, 1, forward_request{0, 0, make_bytes("x")}));
    BOOST_TEST(o.empty());
    BOOST_TEST(c.stats().messages_rejected == 2u);
    BOOST_TEST(c.log().length() == 1u);
}

BOOST_AUTO_TEST_CASE(unsolicited_forward_response_is_ignored) {
    core c(make_config(2, 3));
    follow(c, 1, 1);
    output o = c.step(recv(1, 2, forward_response{42, forward_response::status::accepted, 1, 1}));
    BOOST_TEST(o.empty());
    BOOST_TEST(c.pending_broadcasts() == 0u);
}

BOOST_AUTO_TEST_CASE(broadcast_api_misuse_throws) {
    core c(make_config(1, 1));
    BOOST_CHECK_THROW(c.step(broadcast_request{0, make_bytes("x")}), std::invalid_argument);
    BOOST_CHECK_THROW(c.step(broadcast_request{1, nullptr}), std::invalid_argument);
    c.step(broadcast_request{1, make_bytes("x")});
    BOOST_CHECK_THROW(c.step(broadcast_request{1, make_bytes("y")}), std::invalid_argument);   // id in use
    // A batch with one bad request is refused whole, before anything changes.
    const std::size_t pending = c.pending_broadcasts();
    BOOST_CHECK_THROW(c.step(broadcast_batch{{{2, make_bytes("a")}, {1, make_bytes("b")}}}), std::invalid_argument);
    BOOST_CHECK_THROW(c.step(broadcast_batch{{{2, make_bytes("a")}, {2, make_bytes("b")}}}), std::invalid_argument);
    BOOST_CHECK_THROW(c.step(broadcast_batch{{{2, make_bytes("a")}, {3, nullptr}}}), std::invalid_argument);
    BOOST_TEST(c.pending_broadcasts() == pending);
    BOOST_CHECK_NO_THROW(c.step(broadcast_batch{{{2, make_bytes("a")}, {3, make_bytes("b")}}}));
    BOOST_TEST(c.pending_broadcasts() == pending + 2);
}

BOOST_AUTO_TEST_CASE(invalid_configuration_throws) {
    core_config c;
    c.self = 0;
    c.members = {1, 2};
    BOOST_CHECK_THROW(core{c}, std::invalid_argument);
    c.self = 3;
    BOOST_CHECK_THROW(core{c}, std::invalid_argument);   // not a member
    c.self = 1;
    BOOST_CHECK_THROW((c.members = membership{1, 2, 2}), std::invalid_argument);   // duplicate
    BOOST_CHECK_THROW((c.members = membership{0, 1, 2}), std::invalid_argument);   // 0 is nobody
    c.members = membership{};
    BOOST_CHECK_NO_THROW(core{c});   // joins a running cluster
    c.members = {1, 2, 3};
    c.members.put(member{1, false, {}, {}});
    BOOST_CHECK_THROW(core{c}, std::invalid_argument);   // a bootstrap configuration makes self a voter
    c.members = {1, 2, 3};
    c.max_inflight = 0;
    BOOST_CHECK_THROW(core{c}, std::invalid_argument);
    c.max_inflight = 1;
    c.max_batch_entries = 0;
    BOOST_CHECK_THROW(core{c}, std::invalid_argument);
    c.max_batch_entries = 1;
    c.max_inflight_bytes = 0;
    BOOST_CHECK_THROW(core{c}, std::invalid_argument);
    c.max_inflight_bytes = 1;
    BOOST_CHECK_NO_THROW(core{c});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(invalid_input_check_quorum)

// A rejected message must not count as "heard from" for check-quorum: here
// follower 2 only sends acks beyond the log (rejected) and 3 is silent.
BOOST_AUTO_TEST_CASE(rejected_log_response_does_not_keep_a_leader_alive) {
    core c(make_config(1, 3));
    establish_leader(c);
    c.step(election_timeout{});   // clears "recently active"
    c.step(recv(2, 1, log_response{1, 10, true, 1}));
    BOOST_REQUIRE_EQUAL(c.stats().messages_rejected, 1u);
    c.step(election_timeout{});
    BOOST_TEST(c.role() == role::follower);
}

BOOST_AUTO_TEST_SUITE_END()
