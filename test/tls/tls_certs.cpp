#include "tls_certs.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace raftlite::test {

namespace fs = std::filesystem;

namespace {

// The repository: up from the working directory, or from the program (tests
// run from the repository or from its build and stage directories).
fs::path find_repo_root() {
    std::error_code ec;
    for (fs::path start : {fs::current_path(ec), fs::read_symlink("/proc/self/exe", ec).parent_path()}) {
        for (fs::path p = start; !p.empty(); p = p.parent_path()) {
            if (fs::exists(p / "conf" / "tls" / "make-certs.sh", ec))
                return p;
            if (p == p.parent_path())
                break;
        }
    }
    throw std::runtime_error("cannot find conf/tls/make-certs.sh above " + fs::current_path(ec).string());
}

} // namespace

test_certs::test_certs()
    : dir(fs::temp_directory_path() / ("raftlite-tls-test-" + std::to_string(std::random_device{}()))),
      repo_root(find_repo_root()) {
    const std::string cmd = "NODES=4 DAYS=2 bash '" + (repo_root / "conf" / "tls" / "make-certs.sh").string() +
                            "' '" + dir.string() + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("failed: " + cmd);
    // A peer that trusts both CAs: its own checks pass, so what refuses it is
    // the other side's.
    std::ofstream both(dir / "both-cas.pem");
    for (const char* ca : {"ca.pem", "rogue-ca.pem"}) {
        std::ifstream in(dir / ca);
        both << in.rdbuf();
    }
}

test_certs::~test_certs() {
    std::error_code ec;
    fs::remove_all(dir, ec);
}

const test_certs& test_certs::get() {
    try {
        static const test_certs certs;
        return certs;
    } catch (const std::exception& e) {
        BOOST_FAIL("cannot make test certificates: " << e.what());
        throw;
    }
}

} // namespace raftlite::test
