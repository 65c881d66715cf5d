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
        case errc::outcome_unknown: return "cancelled after the entry left this node; it may still commit";
        case errc::delivery_failed: return "the application's delivery handler failed; the node stopped";
        case errc::internal_error: return "a raftlite self-check failed; the node stopped";
        case errc::snapshot_gone: return "the snapshot is no longer stored (a newer one replaced it)";
        case errc::payload_too_large: return "payload larger than the cluster's frames, decoders or storage accept";
        case errc::change_rejected: return "the membership change does not fit the configuration";
        case errc::not_caught_up: return "the learner did not catch up with the leader's log in time";
        case errc::transfer_timed_out: return "the transfer's target did not take over within an election timeout";
        case errc::transfer_rejected: return "the transfer's target is this node or not a voter";
        }
        return "unknown raftlite error";
    }

    // The portable conditions a caller may test with `ec == std::errc::...`.
    boost::system::error_condition default_error_condition(int ev) const noexcept override {
        using boost::system::errc::errc_t;
        namespace se = boost::system::errc;
        switch (static_cast<errc>(ev)) {
        case errc::success: return {};
        case errc::busy: return se::make_error_condition(se::resource_unavailable_try_again);
        case errc::timed_out: return se::make_error_condition(se::timed_out);
        case errc::stopped: return se::make_error_condition(se::operation_canceled);
        case errc::storage_failed: return se::make_error_condition(se::io_error);
        case errc::corrupt_data: return se::make_error_condition(se::illegal_byte_sequence);
        case errc::bad_message: return se::make_error_condition(se::bad_message);
        case errc::bad_config: return se::make_error_condition(se::invalid_argument);
        case errc::already_locked: return se::make_error_condition(se::device_or_resource_busy);
        case errc::snapshot_gone: return se::make_error_condition(se::no_such_file_or_directory);
        case errc::payload_too_large: return se::make_error_condition(se::message_size);
        case errc::change_rejected: return se::make_error_condition(se::invalid_argument);
        case errc::not_caught_up: return se::make_error_condition(se::timed_out);
        default: return {ev, *this};
        }
    }
};

} // namespace

const boost::system::error_category& raftlite_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace raftlite
