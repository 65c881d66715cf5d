// The rules for logging repeated connection failures (connect_failure_log):
// given the times and errors of attempts, which lines come out. Times are
// made up; nothing waits.
#include <boost/test/unit_test.hpp>

#include <raftlite/detail/connect_failure_log.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using raftlite::detail::connect_failure_log;
using kind = connect_failure_log::kind;

namespace {

const connect_failure_log::clock::time_point t0{};
const std::string refused = "cannot connect: Connection refused";
const std::string timed_out = "no connection within handshake_timeout: Connection timed out";

// Feeds one failure every `step` from `from` for `count` attempts; returns
// the reports that came out.
std::vector<connect_failure_log::report> fail_every(connect_failure_log& log, std::chrono::milliseconds from,
                                                    std::chrono::milliseconds step, int count,
                                                    const std::string& error) {
    std::vector<connect_failure_log::report> out;
    for (int i = 0; i < count; ++i)
        if (auto r = log.failed(t0 + from + i * step, error))
            out.push_back(*r);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(connect_failure_logging)

BOOST_AUTO_TEST_CASE(first_failure_is_reported_and_repeats_are_summarised) {
    connect_failure_log log(10s, 60s);
    // One attempt every 500 ms for 100 s: 200 failures with the same error.
    auto out = fail_every(log, 0ms, 500ms, 200, refused);
    // The first at once, then summaries 10 s, 20 s, 40 s after the previous
    // one (at 10, 30, 70 s), the next would be at 70 + 60 = 130 s.
    BOOST_REQUIRE_EQUAL(out.size(), 4u);
    BOOST_TEST((out[0].what == kind::first_failure));
    BOOST_TEST(out[0].attempts == 1u);
    BOOST_TEST((out[1].what == kind::still_failing));
    BOOST_TEST(out[1].attempts == 21u);   // the attempt at 10 s is the 21st
    BOOST_TEST((out[1].failing_for == 10s));
    BOOST_TEST((out[2].failing_for == 30s));
    BOOST_TEST(out[2].attempts == 61u);
    BOOST_TEST((out[3].failing_for == 70s));
    BOOST_TEST(out[3].attempts == 141u);
    for (const auto& r : out) BOOST_TEST(r.error == refused);

    BOOST_TEST(connect_failure_log::describe(out[0], "n2 at 127.0.0.1:7002") ==
               "n2 at 127.0.0.1:7002: cannot connect: Connection refused; retrying with backoff");
    BOOST_TEST(connect_failure_log::describe(out[1], "n2 at 127.0.0.1:7002") ==
               "n2 at 127.0.0.1:7002: still failing: cannot connect: Connection refused; "
               "21 failed attempts in 10 s");
}

BOOST_AUTO_TEST_CASE(summaries_are_at_most_max_summary_apart) {
    connect_failure_log log(10s, 30s);
    auto out = fail_every(log, 0ms, 1s, 200, refused);   // 0 .. 199 s
    // first at 0, summaries at 10, 30 (interval 20), 60 (30, the cap), 90, 120, 150, 180
    std::vector<std::chrono::seconds> at;
    for (const auto& r : out) at.push_back(std::chrono::duration_cast<std::chrono::seconds>(r.failing_for));
    const std::vector<std::chrono::seconds> expected{0s, 10s, 30s, 60s, 90s, 120s, 150s, 180s};
    BOOST_TEST(at == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_different_error_is_reported_at_once) {
    connect_failure_log log(10s, 60s);
    fail_every(log, 0ms, 500ms, 4, refused);                  // 0 .. 1.5 s: one report
    auto r = log.failed(t0 + 2s, timed_out);
    BOOST_REQUIRE(r);
    BOOST_TEST((r->what == kind::first_failure));
    BOOST_TEST(r->error == timed_out);
    BOOST_TEST(r->attempts == 5u);
    // The same new error again soon after: quiet; the summary clock started over at 2 s.
    BOOST_TEST(!log.failed(t0 + 11s, timed_out));
    auto s = log.failed(t0 + 12s, timed_out);
    BOOST_REQUIRE(s);
    BOOST_TEST((s->what == kind::still_failing));
    BOOST_TEST(s->attempts == 7u);
}

BOOST_AUTO_TEST_CASE(success_after_failures_is_reported_once) {
    connect_failure_log log(10s, 60s);
    BOOST_TEST(!log.connected(t0));   // no failures: nothing to say here
    fail_every(log, 0ms, 500ms, 37, refused);   // last one at 18 s
    BOOST_TEST(log.failing());
    auto r = log.connected(t0 + 18500ms);
    BOOST_REQUIRE(r);
    BOOST_TEST((r->what == kind::recovered));
    BOOST_TEST(r->attempts == 37u);
    BOOST_TEST(connect_failure_log::describe(*r, "n2 at 127.0.0.1:7002") ==
               "connected to n2 at 127.0.0.1:7002 after 37 failed attempts in 18 s "
               "(last: cannot connect: Connection refused)");
    BOOST_TEST(!log.failing());
    BOOST_TEST(!log.connected(t0 + 19s));   // once

    // The next failure is news again, reported at once.
    auto again = log.failed(t0 + 30s, refused);
    BOOST_REQUIRE(again);
    BOOST_TEST((again->what == kind::first_failure));
    BOOST_TEST(again->attempts == 1u);
}

BOOST_AUTO_TEST_CASE(reset_forgets_without_reporting) {
    connect_failure_log log(10s, 60s);
    fail_every(log, 0ms, 500ms, 5, refused);
    log.reset();
    BOOST_TEST(!log.failing());
    BOOST_TEST(!log.connected(t0 + 3s));
    auto r = log.failed(t0 + 4s, refused);
    BOOST_REQUIRE(r);
    BOOST_TEST((r->what == kind::first_failure));
}

BOOST_AUTO_TEST_CASE(short_spans_are_in_milliseconds) {
    connect_failure_log log(100ms, 1s);
    fail_every(log, 0ms, 50ms, 3, refused);   // 0, 50, 100 ms: the third is a summary
    auto r = log.connected(t0 + 250ms);
    BOOST_REQUIRE(r);
    BOOST_TEST(connect_failure_log::describe(*r, "n3 at h:1") ==
               "connected to n3 at h:1 after 3 failed attempts in 250 ms (last: " + refused + ")");
}

BOOST_AUTO_TEST_SUITE_END()
