// A node whose disk fills up must fail its writes cleanly and lose nothing it
// acknowledged. Its data directory is on a 2 MiB tmpfs. Broadcasts go until
// one fails; from then on the node takes no writes. Once the file system
// grows, a restart from the same directory has every broadcast acknowledged
// before, and commits new ones.
//
// Mounting needs root (CAP_SYS_ADMIN); without it the test is skipped by its
// precondition, which says why.
#include <boost/test/unit_test.hpp>

#include "local_cluster.hpp"

#include <raftlite/error.hpp>


#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <sys/mount.h>
#include <unistd.h>

using namespace raftlite;
using namespace raftlite::test;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

/// A tmpfs of a given size on a fresh directory, unmounted and removed on
/// destruction (also when the test fails part-way).
class tmpfs_mount {
public:
    explicit tmpfs_mount(const std::string& size) {
        std::string tmpl = (fs::temp_directory_path() / "raftlite-disk-full-XXXXXX").string();
        if (!::mkdtemp(tmpl.data()))
            throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        dir_ = tmpl;
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
            const int e = errno;
            ::rmdir(dir_.c_str());
            throw std::runtime_error("mount -t tmpfs -o size=" + size + " " + dir_.string() + ": " +
                                     std::strerror(e));
        }
    }
    ~tmpfs_mount() {
        // MNT_DETACH: should a file still be open after a failed test, the
        // mount point still goes away now (the memory once the file closes).
        ::umount2(dir_.c_str(), MNT_DETACH);
        ::rmdir(dir_.c_str());
    }
    tmpfs_mount(const tmpfs_mount&) = delete;
    tmpfs_mount& operator=(const tmpfs_mount&) = delete;

    /// mount -o remount,size=<size>: the files stay, the limit changes.
    void resize(const std::string& size) {
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) != 0)
            throw std::runtime_error("remount size=" + size + ": " + std::strerror(errno));
    }
    const fs::path& path() const noexcept { return dir_; }

private:
    fs::path dir_;
};

/// Precondition: root, and a tmpfs can actually be mounted here (a container
/// may refuse even root).
boost::test_tools::assertion_result can_mount_tmpfs(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result r(true);
    if (::geteuid() != 0) {
        r = false;
        r.message() << "skipped: mounting a tmpfs needs root";
        return r;
    }
    try {
        tmpfs_mount probe("64k");
    } catch (const std::exception& e) {
        r = false;
        r.message() << "skipped: cannot mount a tmpfs: " << e.what();
    }
    return r;
}

/// The outcome of one broadcast: its index, or the error it completed with.
struct outcome {
    boost::system::error_code error;
    index_t index = 0;
};

outcome broadcast(node& n, const std::string& payload) {
    // A callback, not use_future: failures are the point of this test, and a
    // future carries them as an exception_ptr whose reference count lives in
    // libstdc++.so, which ThreadSanitizer cannot see; it then reports the
    // exception freed on the node's thread as racing with our catch block.
    auto done = std::make_shared<std::promise<outcome>>();
    auto f = done->get_future();
    n.async_broadcast(payload, [done](boost::system::error_code ec, index_t index) {
        done->set_value({ec, ec ? 0 : index});
    });
    // A generous bound so that a hung node fails the test instead of hanging it;
    // the node's own broadcast_timeout (below) completes far sooner.
    BOOST_REQUIRE(f.wait_for(120s) == std::future_status::ready);
    return f.get();
}

std::string payload_for(std::size_t i) {
    // 16 KiB, distinct per broadcast: about 120 fill a 2 MiB file system.
    std::string s = "entry-" + std::to_string(i) + "-";
    s.resize(16 << 10, static_cast<char>('a' + i % 26));
    return s;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_full_disk_stops_writes_and_a_restart_keeps_every_acknowledged_broadcast,
                     *boost::unit_test::precondition(can_mount_tmpfs)) {
    tmpfs_mount disk("2m");   // declared first: unmounted after the cluster is gone
    local_cluster c(1, [](node_id, node_options& o) { o.broadcast_timeout = 5s; });
    c.set_data_dir(1, disk.path() / "n1");
    c.start(1);
    BOOST_REQUIRE(c.wait_for_leader() == 1);

    std::vector<std::pair<index_t, std::string>> acknowledged;
    std::optional<boost::system::error_code> failure;
    for (std::size_t i = 0; i < 1000 && !failure; ++i) {
        auto r = broadcast(c.at(1), payload_for(i));
        if (r.error)
            failure = r.error;
        else
            acknowledged.emplace_back(r.index, payload_for(i));
    }
    BOOST_REQUIRE_MESSAGE(failure, "1000 broadcasts of 16 KiB fit on a 2 MiB tmpfs");
    BOOST_TEST_MESSAGE("the disk filled after " << acknowledged.size()
                                                << " broadcasts; the next one failed with "
                                                << failure->message());
    BOOST_TEST(!acknowledged.empty());
    // Not committed: an error that says the write was refused or has no outcome.
    BOOST_TEST((*failure == errc::storage_failed || *failure == errc::timed_out ||
                *failure == errc::not_leader),
               "unexpected error: " << failure->message());

    // The node takes no more writes, even small ones that would fit.
    BOOST_TEST(c.at(1).status().storage_failed);
    auto refused = broadcast(c.at(1), "small");
    BOOST_TEST((refused.error == errc::storage_failed), "got: " << refused.error.message());

    // Space returns; a restart from the same directory recovers the log.
    c.stop(1);
    disk.resize("64m");
    c.start(1);
    BOOST_REQUIRE(c.wait_for_leader() == 1);
    auto after = broadcast(c.at(1), "after the disk grew");
    BOOST_REQUIRE_MESSAGE(!after.error, "a broadcast after the restart failed: " << after.error.message());

    BOOST_REQUIRE(c.wait_delivered(1, acknowledged.size() + 1));
    auto delivered = c.delivered(1);
    std::map<index_t, std::string> by_index(delivered.begin(), delivered.end());
    for (auto& [index, payload] : acknowledged) {
        auto it = by_index.find(index);
        BOOST_TEST_REQUIRE((it != by_index.end()), "acknowledged entry " << index << " is lost");
        BOOST_TEST((it->second == payload), "entry " << index << " holds other bytes");
    }
    BOOST_TEST(by_index.count(after.index) == 1u);
    BOOST_TEST(by_index[after.index] == "after the disk grew");
    BOOST_TEST(after.index > acknowledged.back().first);
}
