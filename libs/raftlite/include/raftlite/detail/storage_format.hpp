// raftlite — the byte layout of file_persister's files (docs/storage-format.md).
//
// Kept apart from file_persister so that tests and tools can build or inspect
// files byte by byte. All integers are little-endian on disk, whatever the host.
#ifndef RAFTLITE_DETAIL_STORAGE_FORMAT_HPP
#define RAFTLITE_DETAIL_STORAGE_FORMAT_HPP

#include <raftlite/detail/byte_order.hpp>
#include <raftlite/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raftlite::detail {

/// Bumped on any incompatible change; readers refuse versions they do not know.
inline constexpr std::uint32_t storage_format_version = 1;

// ---- integers: little-endian on disk (byte_order.hpp) -------------------------
// The storage format's names for its integer encoding, for tests and tools
// that build or inspect files byte by byte.
inline void put_u32(unsigned char* p, std::uint32_t v) noexcept { put_u32_le(p, v); }
inline void put_u64(unsigned char* p, std::uint64_t v) noexcept { put_u64_le(p, v); }
inline std::uint32_t get_u32(const unsigned char* p) noexcept { return get_u32_le(p); }
inline std::uint64_t get_u64(const unsigned char* p) noexcept { return get_u64_le(p); }

// ---- small state files (hard_state, log_meta) -------------------------------
// 40 bytes: magic[8] version:u32 zero:u32 a:u64 b:u64 zero:u32 crc32c(bytes 0..35):u32
inline constexpr std::size_t small_file_size = 40;
inline constexpr std::string_view hard_state_magic = "RLHARDST";
inline constexpr std::string_view log_meta_magic = "RLLOGMET";
inline constexpr const char* hard_state_file = "hard_state";
inline constexpr const char* log_meta_file = "log_meta";
inline constexpr const char* lock_file = "LOCK";

std::string encode_small_file(std::string_view magic, std::uint64_t a, std::uint64_t b);
/// Decodes a small file; on failure returns false and says why in `why`.
bool decode_small_file(std::string_view bytes, std::string_view magic,
                       std::uint64_t& a, std::uint64_t& b, std::string& why);

// ---- hard_state, second form (term, vote and commit) ---------------------------
// 48 bytes: magic[8] "RLHARDS2" version:u32 zero:u32 term:u64 vote:u64 commit:u64
//           zero:u32 crc32c(bytes 0..43):u32
// The first form (40 bytes, magic "RLHARDST", term and vote) is still read,
// as commit 0: a commit index of 0 is always a safe lower bound. The magic and
// the length both tell the forms apart, so neither can be misread as the other.
inline constexpr std::size_t hard_state_file_size = 48;
inline constexpr std::string_view hard_state2_magic = "RLHARDS2";

std::string encode_hard_state(const hard_state& hs);
/// Decodes either form of the hard_state file; on failure false and why.
bool decode_hard_state(std::string_view bytes, hard_state& hs, std::string& why);

// ---- snapshot files ----------------------------------------------------------------
// "snapshot-<index, 20 digits>-<term, 20 digits>.snap": the application's data
// from offset 0 (so a read at data offset k is a read at file offset k), then
// the configuration, then a fixed 48-byte footer:
//   0 magic[8] "RLSNAPSH"   8 version:u32   12 members_field:u32
//  16 index:u64   24 term:u64   32 data_size:u64   40 data_crc:u32 (crc32c of the data)
//  44 meta_crc:u32 (crc32c of the configuration and footer bytes 0..43)
// Version 2 (written now): the configuration is encode_membership's bytes
// and members_field their length. Version 1 (still read): the voters as
// members_field u64s, no learners and no addresses.
// A file's size must be exactly data_size + the configuration's bytes + 48.
inline constexpr std::size_t snapshot_footer_size = 48;
inline constexpr std::string_view snapshot_magic = "RLSNAPSH";
inline constexpr std::uint32_t snapshot_format_version = 2;
/// More voters than this in a version 1 footer is damage, never an allocation.
inline constexpr std::uint32_t snapshot_max_members = 4096;
/// A version 2 configuration longer than this is damage.
inline constexpr std::uint32_t snapshot_max_configuration_bytes = 1u << 24;

/// The configuration and footer that end a snapshot file of `meta`.
std::string encode_snapshot_trailer(const snapshot_meta& meta);
/// Reads the footer at the end of a file of `file_size` bytes (`footer` is its
/// last 48 bytes): the size of the configuration, hence where it starts.
/// False (and why) when the footer cannot be believed enough to find it.
bool decode_snapshot_footer(const unsigned char* footer, std::uint64_t file_size,
                            std::uint32_t& configuration_bytes, std::string& why);
/// Checks and decodes the whole trailer (`trailer` is the last
/// configuration_bytes + 48 bytes of a file of `file_size` bytes) into `meta`.
bool decode_snapshot_trailer(std::string_view trailer, std::uint64_t file_size, snapshot_meta& meta,
                             std::string& why);

std::string snapshot_file_name(index_t index, term_t term);
/// Index and term of a snapshot file name, or nothing for other names.
std::optional<std::pair<index_t, term_t>> parse_snapshot_file_name(std::string_view name) noexcept;
/// True for "snapshot-...snap.tmp": a snapshot being written, or left by a crash.
bool is_snapshot_temp_name(std::string_view name) noexcept;

// ---- segment files -------------------------------------------------------------
// Header, 32 bytes: magic[8] version:u32 zero:u32 first_index:u64 zero:u32 crc32c(bytes 0..27):u32
inline constexpr std::size_t segment_header_size = 32;
inline constexpr std::string_view segment_magic = "RLLOGSEG";

void encode_segment_header(unsigned char* out, index_t first_index) noexcept;
/// Checks a segment header; on failure returns false and says why.
bool decode_segment_header(const unsigned char* in, index_t& first_index, std::string& why);

/// "log-00000000000000000042.seg": 20 digits so that names sort like indexes.
std::string segment_file_name(index_t first_index);
/// The first index a segment file name encodes, or nothing for other names.
std::optional<index_t> parse_segment_file_name(std::string_view name) noexcept;

// ---- records ---------------------------------------------------------------------
// Header, 48 bytes, then the payload:
//   0 payload_size:u32   4 kind:u8   5 zero[3]   8 term:u64   16 index:u64
//  24 origin.node:u64   32 origin.request:u64   40 payload_crc:u32 (crc32c of the payload)
//  44 header_crc:u32 (crc32c of bytes 0..43)
// The header has its own checksum so that a damaged length is never trusted:
// without it, a flipped length bit in the middle of the log could make a
// record look like a torn tail and silently cut valid records after it.
inline constexpr std::size_t record_header_size = 48;

struct record_header {
    std::uint32_t payload_size = 0;
    entry_kind kind = entry_kind::application;
    term_t term = 0;
    index_t index = 0;
    entry_origin origin;
    std::uint32_t payload_crc = 0;
};

/// Encodes `h` (computing the header checksum) into out[0..48).
void encode_record_header(unsigned char* out, const record_header& h) noexcept;

enum class header_check { ok, bad_checksum, bad_field };
/// Decodes a record header; bad_field means the checksum matched but a field
/// holds a value this version does not know (`why` names it).
header_check decode_record_header(const unsigned char* in, record_header& h, std::string& why);

} // namespace raftlite::detail

#endif
