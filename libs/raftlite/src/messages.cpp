// raftlite — message helpers.
#include <raftlite/messages.hpp>

namespace raftlite {

const char* message_name(const message& m) noexcept {
    switch (m.index()) {
    case 0: return "vote_request";
    case 1: return "vote_response";
    case 2: return "log_request";
    case 3: return "log_response";
    case 4: return "forward_request";
    case 5: return "forward_response";
    case 6: return "install_snapshot";
    case 7: return "install_snapshot_response";
    case 8: return "read_index_request";
    case 9: return "read_index_response";
    case 10: return "timeout_now";
    }
    return "unknown";
}

} // namespace raftlite
