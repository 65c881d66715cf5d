// raftlite — file_persister against memory_persister under random operations.
//
// Both get the same seeded sequence of writes; after every sync the file
// persister is sometimes closed and reopened, and what it loads must equal
// what the memory persister holds. Tiny segments make every operation cross
// segment boundaries.
#include "persister/helpers.hpp"

#include <raftlite/memory_persister.hpp>

#include <boost/test/unit_test.hpp>

using namespace persister_test;

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(random_operations_match_the_memory_persister) {
    const std::uint64_t seed = 20261126;
    BOOST_TEST_MESSAGE("model test seed " << seed);
    std::uint64_t x = seed;
    for (int run = 0; run < 4; ++run) {
        temp_dir tmp;
        const std::uint64_t segment_size = 200 + 150 * run;
        counting_options co;
        memory_persister mem;
        auto file = std::make_unique<file_persister>(tmp.path(), co.make(segment_size));
        persistent_state st;
        BOOST_TEST_REQUIRE(!file->load(st));
        term_t term = 1;
        int reopens = 0;
        std::vector<std::string> trace;   // recent operations, shown on a failure
        for (int step = 0; step < 600; ++step) {
            BOOST_TEST_CONTEXT("seed " << seed << " run " << run << " step " << step) {
                const auto r = splitmix64(x) % 100;
                const index_t last = mem.last_index();
                if (r < 50) {
                    const index_t n = 1 + splitmix64(x) % 9;
                    const auto e = make_entries(last + 1, last + n, term);
                    trace.push_back("append " + std::to_string(last + 1) + ".." + std::to_string(last + n));
                    BOOST_TEST_REQUIRE(!file->append(e), file->last_error_message());
                    BOOST_TEST_REQUIRE(!mem.append(e));
                } else if (r < 62) {
                    const index_t span = last - mem.log_start() + 2;
                    const index_t from = mem.log_start() + splitmix64(x) % (span + 2) - 1;
                    ++term;
                    trace.push_back("truncate_suffix " + std::to_string(from));
                    BOOST_TEST_REQUIRE(!file->truncate_suffix(from), file->last_error_message());
                    BOOST_TEST_REQUIRE(!mem.truncate_suffix(from));
                } else if (r < 68) {
                    const index_t upto = mem.log_start() + splitmix64(x) % (last - mem.log_start() + 6);
                    trace.push_back("remove_prefix " + std::to_string(upto));
                    BOOST_TEST_REQUIRE(!file->remove_prefix(upto, term), file->last_error_message());
                    BOOST_TEST_REQUIRE(!mem.remove_prefix(upto, term));
                } else if (r < 75) {
                    const hard_state hs{term, splitmix64(x) % 4};
                    BOOST_TEST_REQUIRE(!file->save_hard_state(hs));
                    BOOST_TEST_REQUIRE(!mem.save_hard_state(hs));
                } else {
                    BOOST_TEST_REQUIRE(!file->sync(), file->last_error_message());
                    BOOST_TEST_REQUIRE(!mem.sync());
                    if (splitmix64(x) % 3 == 0) {
                        file.reset();
                        file = std::make_unique<file_persister>(tmp.path(), co.make(segment_size));
                        trace.push_back("reopen");
                        BOOST_TEST_REQUIRE(!file->load(st), file->last_error_message());
                        if (!co.warnings->empty()) {
                            std::string t;
                            for (std::size_t i = trace.size() > 30 ? trace.size() - 30 : 0; i < trace.size(); ++i)
                                t += trace[i] + "; ";
                            BOOST_TEST_REQUIRE(co.warnings->empty(), co.warnings->front() << " after: " << t);
                        }
                        persistent_state want;
                        BOOST_TEST_REQUIRE(!mem.load(want));
                        BOOST_TEST_REQUIRE(state_diff(st, want) == "");
                        ++reopens;
                    }
                }
                BOOST_TEST_REQUIRE(file->last_index() == mem.last_index());
            }
        }
        BOOST_TEST(reopens > 20);
        BOOST_TEST(co.warnings->empty());
        for (const auto& w : *co.warnings) BOOST_TEST_MESSAGE("warning: " << w);
    }
}

BOOST_AUTO_TEST_SUITE_END()
