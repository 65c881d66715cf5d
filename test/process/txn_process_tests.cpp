// raftlite-kv processes: transactions (POST /txn) that move money between
// accounts, each in a client session, while peers are killed with SIGKILL
// and restarted. Every transfer reads two balances and a counter, then
// commits only if all three are unchanged; a retry after an unknown outcome
// repeats the same (client id, seq). At the end the balances still add up,
// and the counter equals the transfers acknowledged: none lost, none
// applied twice (Raft thesis §6.3), none interleaved with another.
#include <boost/test/unit_test.hpp>

#include "kv_process_cluster.hpp"

#include <boost/json.hpp>

#include <random>
#include <thread>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

constexpr int accounts = 5;
constexpr int opening_balance = 100;

std::string account(int i) { return "acct/" + std::to_string(i); }

// A transfer of `amount` between two accounts read at `a` and `b`, with the
// counter read at `count`: all three must be unchanged for it to apply.
std::string transfer(int from, int to, int a, int b, int count, int amount) {
    using boost::json::array;
    using boost::json::object;
    auto equals = [](const std::string& key, int v) { return object{{"key", key}, {"value", std::to_string(v)}}; };
    auto put = [](const std::string& key, int v) {
        return object{{"op", "put"}, {"key", key}, {"value", std::to_string(v)}};
    };
    return boost::json::serialize(object{
        {"compare", array{equals(account(from), a), equals(account(to), b), equals("transfers", count)}},
        {"success", array{put(account(from), a - amount), put(account(to), b + amount), put("transfers", count + 1)}}});
}

// A client of the cluster: asks the running peers in turn until one answers
// with something other than an unknown outcome or "no leader".
class bank_client {
public:
    bank_client(kv_process_cluster& c, std::mt19937& rng) : c_(c), rng_(rng) {}

    std::optional<http_reply> call(const std::string& method, const std::string& target, const std::string& body,
                                   const http_headers& headers = {}) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            const node_id id = 1 + rng_() % c_.size();
            if (!c_.running(id)) continue;
            auto r = http_call(c_.kv_port(id), method, target, body, 5s, headers);
            if (r && r->status != 503 && r->status != 504) return r;
            std::this_thread::sleep_for(20ms);   // back off before the next peer
        }
        return std::nullopt;
    }

    int balance(const std::string& key) {
        auto r = call("GET", "/kv/" + key, {});
        BOOST_REQUIRE(r);
        BOOST_REQUIRE_MESSAGE(r->status == 200, key << ": " << r->status << " " << r->body);
        return std::stoi(r->body);
    }

private:
    kv_process_cluster& c_;
    std::mt19937& rng_;
};

} // namespace

BOOST_AUTO_TEST_CASE(transfers_in_transactions_survive_kills_exactly_once, *boost::unit_test::timeout(300)) {
    const unsigned seed = test_seed();
    std::mt19937 rng(seed);
    kv_process_cluster c(3);
    BOOST_REQUIRE(c.start_all());
    for (int i = 0; i < accounts; ++i) BOOST_REQUIRE(c.put(account(i), std::to_string(opening_balance), 20s));
    BOOST_REQUIRE(c.put("transfers", "0", 20s));
    BOOST_REQUIRE(c.wait_converged());   // the feature level is 2: transactions are served

    bank_client bank(c, rng);
    auto opened = bank.call("POST", "/session", {});
    BOOST_REQUIRE(opened && opened->status == 200);
    const auto session = boost::json::parse(opened->body).as_object().at("client_id").to_number<std::uint64_t>();
    std::uint64_t seq = 0;
    int acknowledged = 0, conflicts = 0;
    for (int n = 0; n < 120; ++n) {
        if (n % 30 == 29) {
            // A peer dies mid-run and comes back (any peer, the leader too).
            const node_id victim = 1 + rng() % c.size();
            c.kill(victim);
            c.start(victim);
        }
        const int from = rng() % accounts, to = (from + 1 + rng() % (accounts - 1)) % accounts;
        const int a = bank.balance(account(from)), b = bank.balance(account(to)), count = bank.balance("transfers");
        const int amount = a == 0 ? 0 : 1 + static_cast<int>(rng() % a);
        const std::string t = transfer(from, to, a, b, count, amount);
        // One seq per transfer: every retry of it (an unknown outcome, a
        // peer gone) sends the same one, so it applies at most once.
        ++seq;
        const http_headers in_session{{"X-Client-Id", std::to_string(session)}, {"X-Client-Seq", std::to_string(seq)}};
        // Now and then a first attempt whose answer is never read (a client
        // that timed out): its retry must not move the money twice. (A peer
        // just restarted may not take it: then the retry is the only try.)
        if (n % 4 == 1) (void)http_send_and_hang_up(c.kv_port(1 + rng() % c.size()), "POST", "/txn", t, in_session);
        auto r = bank.call("POST", "/txn", t, in_session);
        BOOST_REQUIRE_MESSAGE(r, "transfer " << n << ": no answer within the deadline\n" << c.describe());
        BOOST_REQUIRE_MESSAGE(r->status == 200, "transfer " << n << ": " << r->status << " " << r->body);
        if (boost::json::parse(r->body).as_object().at("succeeded").as_bool())
            ++acknowledged;
        else
            ++conflicts;   // only a retry's own earlier attempt could have moved them: must not happen alone
    }
    BOOST_TEST_MESSAGE(acknowledged << " transfers acknowledged, " << conflicts << " compares failed");
    // One client, reading before each transfer: every compare holds.
    BOOST_TEST(conflicts == 0);
    BOOST_REQUIRE(c.wait_converged());
    int total = 0;
    for (int i = 0; i < accounts; ++i) total += bank.balance(account(i));
    BOOST_TEST(total == accounts * opening_balance);
    BOOST_TEST(bank.balance("transfers") == acknowledged);
    // Every peer holds the same state.
    const auto digest = c.status(1)->digest;
    for (node_id id = 2; id <= 3; ++id) BOOST_TEST(c.status(id)->digest == digest);

    // The check is real: the same abandoned attempt and retry without a
    // session applies the first, and the retry finds the money moved.
    const int a = bank.balance(account(0)), b = bank.balance(account(1)), count = bank.balance("transfers");
    const std::string t = transfer(0, 1, a, b, count, a > 0 ? 1 : 0);
    BOOST_REQUIRE(http_send_and_hang_up(c.kv_port(1), "POST", "/txn", t, {}));
    BOOST_REQUIRE(c.wait_converged());
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (bank.balance("transfers") == count && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);   // the poll interval, not a synchronization
    BOOST_REQUIRE(bank.balance("transfers") == count + 1);
    auto retry = bank.call("POST", "/txn", t);
    BOOST_REQUIRE(retry && retry->status == 200);
    BOOST_TEST(!boost::json::parse(retry->body).as_object().at("succeeded").as_bool());
}
