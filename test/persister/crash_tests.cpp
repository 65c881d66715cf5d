// raftlite — crash tests with real processes and SIGKILL.
//
// Each round forks a writer that opens the directory, truncates a suffix
// (as a follower does on a conflict), then appends and syncs in a loop,
// reporting on a pipe what it has made durable. The parent kills it with
// SIGKILL after a seeded number of reports (plus a seeded amount of busy
// work, so the kill lands anywhere in the next write or sync), reopens the
// directory and checks it against everything the child promised.
//
// The seed is fixed so that runs are comparable; set PERSISTER_CRASH_SEED to
// explore others. It is printed at the start and in every failure.
#include "persister/helpers.hpp"

#include <raftlite/error.hpp>

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>

using namespace persister_test;

namespace {

// What the child tells the parent. Each message is one write() of 16 bytes:
// below PIPE_BUF, so it arrives whole or not at all.
enum class note : std::uint64_t {
    truncated = 1,   ///< the round's truncation is durable
    durable = 2,     ///< entries up to `value` are durable
    compacting = 3,  ///< about to remove the prefix below `value`
    compacted = 4,   ///< the prefix below `value` is removed durably
    failed = 5,      ///< a persister call failed (the test fails)
};
struct message {
    note what;
    std::uint64_t value;
};

std::uint64_t crash_seed() {
    if (const char* s = std::getenv("PERSISTER_CRASH_SEED")) return std::strtoull(s, nullptr, 0);
    return 0x5EEDC0DE2026ull;
}

[[noreturn]] void child_main(const std::string& dir, int fd, index_t truncate_from, term_t term,
                             std::uint64_t seed, std::uint64_t segment_size) {
    auto say = [fd](note n, std::uint64_t v) {
        const message m{n, v};
        if (::write(fd, &m, sizeof m) != static_cast<ssize_t>(sizeof m)) ::_exit(3);
    };
    file_persister_options o;
    o.segment_size = segment_size;
    o.on_warning = [](const std::string&) {};   // the parent checks the outcome
    file_persister p(dir, o);
    persistent_state st;
    if (p.load(st)) {
        say(note::failed, 1);
        ::_exit(2);
    }
    if (p.truncate_suffix(truncate_from) || p.save_hard_state({term, 1}) || p.sync()) {
        say(note::failed, 2);
        ::_exit(2);
    }
    say(note::truncated, truncate_from);
    // terms[i] is the term of entry i (for i >= log start), for the prefix term.
    std::vector<term_t> terms(p.last_index() + 1);
    for (const auto& e : st.entries)
        if (e.index < terms.size()) terms[e.index] = e.term;
    std::uint64_t x = seed;
    for (;;) {
        const index_t last = p.last_index();
        const index_t n = 1 + splitmix64(x) % 8;
        // Sometimes several appends share one sync (group commit).
        for (int k = 0, calls = 1 + static_cast<int>(splitmix64(x) % 3); k < calls; ++k) {
            const index_t from = p.last_index() + 1;
            if (p.append(make_entries(from, from + n - 1, term))) {
                say(note::failed, 3);
                ::_exit(2);
            }
            terms.resize(from + n, term);
        }
        // Keep the log short so that every round's load stays fast.
        index_t upto = 0;
        if (last >= st.log_start + 400 && splitmix64(x) % 8 == 0) {
            upto = last - 200;
            say(note::compacting, upto);
            if (p.remove_prefix(upto, terms[upto - 1])) {
                say(note::failed, 4);
                ::_exit(2);
            }
            st.log_start = upto;
        }
        if (p.sync()) {
            say(note::failed, 5);
            ::_exit(2);
        }
        if (upto) say(note::compacted, upto);
        say(note::durable, p.last_index());
    }
}

// Burns a little CPU so that the kill does not always land at the same
// point after a report (no sleeping, no clocks).
void spin(std::uint64_t iterations) {
    volatile std::uint64_t sink = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) sink = sink + i;
}

} // namespace

BOOST_AUTO_TEST_SUITE(crash)

BOOST_AUTO_TEST_CASE(sigkill_during_appends_loses_nothing_durable) {
    const std::uint64_t seed = crash_seed();
    const int rounds = 240;
    BOOST_TEST_MESSAGE("crash test seed " << seed << " (PERSISTER_CRASH_SEED to change), "
                                          << rounds << " kill rounds");
    std::uint64_t x = seed;
    temp_dir tmp;
    const std::uint64_t segment_size = 1500;   // ~15 records: rollovers all the time

    // The parent's knowledge: the term of every index it has seen in the log
    // (terms[i - 1] for index i), and the log start.
    std::vector<term_t> terms;
    index_t log_start = 1;
    term_t prev_hard_term = 0;
    std::size_t torn_cuts = 0, torn_segments = 0, leftovers = 0, total_reports = 0, truncating_rounds = 0;

    for (int round = 0; round < rounds; ++round) {
        BOOST_TEST_CONTEXT("crash seed " << seed << " round " << round) {
            const term_t term = static_cast<term_t>(round) + 1;
            const index_t prev_last = terms.size();
            // A third of the rounds cut up to 40 entries off the end.
            index_t truncate_from = prev_last + 1;
            if (splitmix64(x) % 3 == 0 && prev_last >= log_start) {
                const index_t held = prev_last - log_start + 1;
                truncate_from = prev_last + 1 - std::min<index_t>(held, splitmix64(x) % 41);
                ++truncating_rounds;
            }
            const std::uint64_t reports_before_kill = splitmix64(x) % 24;
            const std::uint64_t spin_iterations = splitmix64(x) % 200000;
            const std::uint64_t child_seed = splitmix64(x);

            int fds[2];
            BOOST_TEST_REQUIRE(::pipe(fds) == 0);
            const pid_t pid = ::fork();
            BOOST_TEST_REQUIRE(pid >= 0);
            if (pid == 0) {
                ::close(fds[0]);
                child_main(tmp.path(), fds[1], truncate_from, term, child_seed, segment_size);
            }
            ::close(fds[1]);

            bool truncated = false, child_failed = false;
            index_t durable = 0;           // highest index reported durable this round
            index_t compacting_max = 0, compacted = 0;
            std::size_t reports = 0;
            while (reports < reports_before_kill) {
                message m{};
                const ssize_t n = ::read(fds[0], &m, sizeof m);
                if (n != static_cast<ssize_t>(sizeof m)) {
                    child_failed = true;
                    break;
                }
                switch (m.what) {
                case note::truncated: truncated = true; break;
                case note::durable: durable = m.value; ++reports; break;
                case note::compacting: compacting_max = std::max(compacting_max, m.value); break;
                case note::compacted: compacted = m.value; break;
                case note::failed: child_failed = true; break;
                }
                if (child_failed) break;
            }
            if (!child_failed) spin(spin_iterations);
            ::kill(pid, SIGKILL);
            int status = 0;
            ::waitpid(pid, &status, 0);
            // Messages written before the kill may still be in the pipe: they
            // are promises too.
            for (message m{}; !child_failed && ::read(fds[0], &m, sizeof m) == sizeof m;) {
                switch (m.what) {
                case note::truncated: truncated = true; break;
                case note::durable: durable = m.value; ++reports; break;
                case note::compacting: compacting_max = std::max(compacting_max, m.value); break;
                case note::compacted: compacted = m.value; break;
                case note::failed: child_failed = true; break;
                }
            }
            ::close(fds[0]);
            BOOST_TEST_REQUIRE(!child_failed, "the child's persister failed");
            total_reports += reports;

            // Reopen and check.
            counting_options co;
            persistent_state st;
            {
                file_persister p(tmp.path(), co.make(segment_size));
                const auto ec = p.load(st);
                BOOST_TEST_REQUIRE(!ec, "load after kill: " << p.last_error_message());
            }
            for (const auto& w : *co.warnings) {
                if (w.find("torn tail") != std::string::npos) ++torn_cuts;
                else if (w.find("torn segment") != std::string::npos) ++torn_segments;
                else ++leftovers;
            }
            const index_t new_last = st.last_index();

            // The hard state is the old one or this round's, and this round's
            // once the child reported the sync that followed saving it.
            BOOST_TEST_REQUIRE((st.hard.current_term == term || st.hard.current_term == prev_hard_term),
                               "term " << st.hard.current_term);
            if (truncated) BOOST_TEST_REQUIRE(st.hard.current_term == term);
            if (st.hard.current_term) BOOST_TEST_REQUIRE(st.hard.voted_for == 1u);

            // The log start only moves forward, and only to a value the child asked for.
            BOOST_TEST_REQUIRE(st.log_start >= log_start);
            if (st.log_start != log_start) BOOST_TEST_REQUIRE(st.log_start <= compacting_max);
            if (compacted) BOOST_TEST_REQUIRE(st.log_start >= compacted);
            // Every entry is exactly what make_entry(index, term) builds.
            for (const auto& e : st.entries) BOOST_TEST_REQUIRE(self_check(e) == "");
            // Entries below the truncation point are the old ones; above it,
            // either all the old ones (the truncation did not happen) or this
            // round's term from the cut on.
            bool new_suffix = false;
            for (const auto& e : st.entries) {
                if (e.index < truncate_from) {
                    BOOST_TEST_REQUIRE(e.index <= prev_last);
                    BOOST_TEST_REQUIRE(e.term == terms[e.index - 1], "entry " << e.index);
                } else if (e.term == term) {
                    new_suffix = true;
                } else {
                    BOOST_TEST_REQUIRE(!new_suffix, "old entry " << e.index << " after new ones");
                    BOOST_TEST_REQUIRE(!truncated, "entry " << e.index << " survived a durable truncation");
                    BOOST_TEST_REQUIRE(e.index <= prev_last);
                    BOOST_TEST_REQUIRE(e.term == terms[e.index - 1]);
                }
            }
            // Everything reported durable is there.
            if (durable) {
                BOOST_TEST_REQUIRE(new_last >= durable, "durable up to " << durable << " but log ends at " << new_last);
                for (const auto& e : st.entries)
                    if (e.index >= truncate_from && e.index <= durable) BOOST_TEST_REQUIRE(e.term == term);
            }
            // Nothing before the truncation point is lost, whenever the kill came.
            BOOST_TEST_REQUIRE(new_last + 1 >= truncate_from);
            // The prefix term names the entry before the start.
            if (st.log_start != log_start) {
                const index_t i = st.log_start - 1;
                const term_t want = i < truncate_from ? terms[i - 1] : term;
                BOOST_TEST_REQUIRE(st.prefix_term == want);
            }

            // What the parent knows now.
            terms.resize(std::max<std::size_t>(new_last, st.log_start - 1));
            for (const auto& e : st.entries) terms[e.index - 1] = e.term;
            // Indexes below the start may have been written this round (term
            // `term`) and compacted away before the kill.
            for (index_t i = std::max(truncate_from, index_t(1)); i < st.log_start; ++i) terms[i - 1] = term;
            log_start = st.log_start;
            prev_hard_term = st.hard.current_term;
        }
    }
    BOOST_TEST_MESSAGE("crash test: " << rounds << " rounds, " << total_reports << " durable reports, "
                                      << truncating_rounds << " truncating rounds; recovery cut " << torn_cuts
                                      << " torn tails, removed " << torn_segments << " torn new segments and "
                                      << leftovers << " compacted leftovers; final log " << log_start << ".." << terms.size());
    BOOST_TEST(total_reports > 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
