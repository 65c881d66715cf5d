// raftlite — recovery: what file_persister::load() does with a data directory.
#ifndef RAFTLITE_SRC_DETAIL_RECOVERY_HPP
#define RAFTLITE_SRC_DETAIL_RECOVERY_HPP

#include "data_directory.hpp"

#include <raftlite/persister.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace raftlite::detail {

struct recovered_log {
    persistent_state state;
    std::vector<index_t> segments;       ///< first index of each segment kept, ascending
    index_t last = 0;                    ///< last index held; log_start - 1 when empty
    std::uint64_t tail_end = 0;          ///< where the next record goes in segments.back()
    std::vector<std::uint64_t> tail_offsets;   ///< offset of each record in segments.back()
};

/// Reads the hard state and the log of an open, locked data directory,
/// checks everything before changing anything (damage other than a torn
/// tail is errc::corrupt_data with `msg` naming file and offset), finishes
/// what a crash interrupted (cuts a torn tail, removes compacted leftovers
/// and temporary files), and makes everything it returns durable.
error_code recover(data_directory& dir, std::uint32_t max_payload,
                   const std::function<void(const std::string&)>& warn, recovered_log& out,
                   std::string& msg);

} // namespace raftlite::detail

#endif
