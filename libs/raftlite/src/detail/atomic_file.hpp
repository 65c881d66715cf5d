// raftlite — small files replaced atomically (hard_state, log_meta).
//
// A replacement writes `<name>.tmp`, fsyncs it, renames it over `<name>` and
// fsyncs the directory: a crash at any point leaves the old or the new
// contents, never a mix, and the new contents are durable once it returns.
#ifndef RAFTLITE_SRC_DETAIL_ATOMIC_FILE_HPP
#define RAFTLITE_SRC_DETAIL_ATOMIC_FILE_HPP

#include "data_directory.hpp"

#include <raftlite/types.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace raftlite::detail {

/// Replaces `name` in `dir` by `bytes`, durably (see above).
error_code replace_file(data_directory& dir, const std::string& name, const std::string& bytes,
                        std::string& msg);

/// Reads and decodes the small file `name` (storage_format.hpp's layout);
/// `exists` is false, and no error, when there is none. A damaged file is
/// errc::corrupt_data with `msg` naming it.
error_code read_small_file(const data_directory& dir, const std::string& name, std::string_view magic,
                           std::uint64_t& a, std::uint64_t& b, bool& exists, std::string& msg);

/// Reads the hard_state file, either form (storage_format.hpp); absent:
/// `exists` false and no error. Damage is errc::corrupt_data naming it.
error_code read_hard_state(const data_directory& dir, hard_state& hs, bool& exists, std::string& msg);

/// Removes a leftover `<name>.tmp` of an interrupted replacement; true if there was one.
bool remove_leftover_temp(data_directory& dir, const std::string& name);

} // namespace raftlite::detail

#endif
