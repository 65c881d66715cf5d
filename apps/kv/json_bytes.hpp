// raftlite kv — byte strings in JSON answers.
//
// Keys and values are bytes, and JSON strings carry Unicode text: a byte
// string that is not valid UTF-8 cannot be written as one (a serializer
// would emit invalid JSON, and a client's parser would reject the whole
// answer). So a field holding bytes is written as itself ("value": "text")
// when the bytes are valid UTF-8, and otherwise as "<field>_base64" with the
// bytes in standard base64 (RFC 4648 §4, padded). A client reads whichever
// of the two is present.
#ifndef RAFTLITE_KV_JSON_BYTES_HPP
#define RAFTLITE_KV_JSON_BYTES_HPP

#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace raftlite::kv {

/// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool is_utf8(std::string_view bytes) noexcept;

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// The bytes of standard, padded base64 text; nullopt when it is not that.
std::optional<std::string> base64_decode(std::string_view text);

/// Sets o[field] to `bytes` when they are UTF-8, else o[field + "_base64"].
void put_bytes(boost::json::object& o, std::string_view field, std::string_view bytes);

/// Appends the member put_bytes would set, as JSON text: "field":"..." or
/// "field_base64":"...". For answers with many entries (ranges, watches),
/// written straight into the body without building a JSON value first.
void append_bytes_member(std::string& out, std::string_view field, std::string_view bytes);

/// Appends `utf8` (valid UTF-8) as a JSON string literal: quoted, with '"',
/// '\\' and control characters escaped.
void append_json_string(std::string& out, std::string_view utf8);

/// The bytes put_bytes wrote: o[field], else o[field + "_base64"] decoded;
/// nullopt when neither is a string (or the base64 is malformed).
std::optional<std::string> get_bytes(const boost::json::object& o, std::string_view field);

} // namespace raftlite::kv

#endif
