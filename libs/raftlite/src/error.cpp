// raftlite — the error category.
#include <raftlite/error.hpp>

#include <string>

namespace raftlite {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "raftlite"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::success: return "success";
        case errc::not_leader: return "no leader known or reachable";
        case errc::superseded: return "entry was overwritten by another leader";
        case errc::busy: return "too many requests pending; retry later";
        case errc::timed_out: return "no outcome within the deadline (the entry may still commit)";
        case errc::stopped: return "node stopped";
        case errc::storage_failed: return "storage failed; the node takes no more writes";
        case errc::corrupt_data: return "stored data is corrupt";
        case errc::bad_message: return "malformed message";
        case errc::bad_config: return "invalid configuration";
        case errc::already_locked: return "data directory is locked by another process";
        }
        return "unknown raftlite error";
    }
};

} // namespace

const boost::system::error_category& raftlite_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace raftlite
