// Tests of read_batch: reads share read-index requests, one in flight, and a
// read is never served by a request that began before it arrived (Raft
// thesis §6.4: the read index must be taken after the read began).
#include <boost/test/unit_test.hpp>

#include "read_batch.hpp"

#include <boost/system/errc.hpp>

#include <string>
#include <vector>

using namespace raftlite::kv;

namespace {

// A read-index service driven by hand: requests wait in `asked` until the
// test completes them; answers are recorded as "read:outcome".
struct fixture {
    std::vector<read_batch<std::string>::done_fn> asked;
    std::vector<std::string> answered;
    read_batch<std::string> batch{[this](read_batch<std::string>::done_fn done) { asked.push_back(std::move(done)); },
                                  [this](boost::system::error_code ec, std::vector<std::string>& reads) {
                                      for (const auto& r : reads) answered.push_back(r + (ec ? ":error" : ":ok"));
                                  }};

    // Completes the oldest request still open.
    void complete(boost::system::error_code ec = {}) {
        BOOST_REQUIRE(!asked.empty());
        auto done = std::move(asked.front());
        asked.erase(asked.begin());
        done(ec);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(read_batch_tests, fixture)

BOOST_AUTO_TEST_CASE(a_read_alone_asks_at_once_and_is_answered_by_its_request) {
    batch.add("a");
    BOOST_TEST(asked.size() == 1u);
    BOOST_TEST(answered.empty());
    complete();
    BOOST_TEST(answered == std::vector<std::string>{"a:ok"});
    BOOST_TEST(asked.empty());
    BOOST_TEST(batch.requests() == 1u);
    BOOST_TEST(batch.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(reads_arriving_during_a_request_share_the_next_one_not_that_one) {
    batch.add("a");
    batch.add("b");   // after "a"'s request began: it may not use it
    batch.add("c");
    BOOST_TEST(asked.size() == 1u);   // one request in flight at a time
    BOOST_TEST(batch.waiting() == 3u);
    complete();
    BOOST_TEST(answered == std::vector<std::string>{"a:ok"});
    // b and c's request left when a's completed: one request for both.
    BOOST_TEST(asked.size() == 1u);
    batch.add("d");
    complete();
    BOOST_TEST(answered == (std::vector<std::string>{"a:ok", "b:ok", "c:ok"}));
    BOOST_TEST(asked.size() == 1u);
    complete();
    BOOST_TEST(answered == (std::vector<std::string>{"a:ok", "b:ok", "c:ok", "d:ok"}));
    BOOST_TEST(asked.empty());
    BOOST_TEST(batch.requests() == 3u);
    BOOST_TEST(batch.reads() == 4u);
}

BOOST_AUTO_TEST_CASE(an_error_answers_its_batch_only_and_the_next_batch_asks_again) {
    batch.add("a");
    batch.add("b");
    complete(make_error_code(boost::system::errc::timed_out));
    BOOST_TEST(answered == std::vector<std::string>{"a:error"});
    complete();
    BOOST_TEST(answered == (std::vector<std::string>{"a:error", "b:ok"}));
}

BOOST_AUTO_TEST_CASE(a_request_completing_at_once_serves_its_read_and_the_next_read_asks_again) {
    read_batch<std::string> immediate{[](read_batch<std::string>::done_fn done) { done({}); },
                                      [this](boost::system::error_code ec, std::vector<std::string>& reads) {
                                          for (const auto& r : reads) answered.push_back(r + (ec ? ":error" : ":ok"));
                                      }};
    immediate.add("a");
    immediate.add("b");
    BOOST_TEST(answered == (std::vector<std::string>{"a:ok", "b:ok"}));
    BOOST_TEST(immediate.requests() == 2u);
    BOOST_TEST(immediate.waiting() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
