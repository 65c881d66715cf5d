// raftlite — the wire codec (see codec.hpp for the frame layout).
//
// This is the only translation unit that includes Boost.Serialization. The
// serialize() functions below never use Boost's own std::string / std::vector
// / bool loaders: those trust the stream (a forged length becomes a huge
// allocation, a forged bool trips an assert). Counts and lengths are read as
// plain integers and checked against the bytes left in the frame and the
// configured decode_limits before anything is allocated.
#include <raftlite/codec.hpp>
#include <raftlite/detail/byte_order.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/tracking.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <streambuf>
#include <type_traits>

namespace raftlite {
namespace {

// No archive header (the frame header carries our own version) and no locale
// facets (binary archives do not need them; imbuing costs time per archive).
constexpr unsigned archive_flags = boost::archive::no_header | boost::archive::no_codecvt;

/// A decoding failure with a static, human-readable reason for the logs.
struct wire_error : std::exception {
    explicit wire_error(const char* why) noexcept : why_(why) {}
    const char* what() const noexcept override { return why_; }
    const char* why_;
};

/// Appends everything written to it to a std::vector<char>: lets the archive
/// write straight into the caller's reusable frame buffer.
class vector_sink final : public std::streambuf {
public:
    void target(std::vector<char>* out) noexcept { out_ = out; }

protected:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof()))
            out_->push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        out_->insert(out_->end(), s, s + n);
        return n;
    }

private:
    std::vector<char>* out_ = nullptr;
};

/// Reads from a fixed memory range; knows how many bytes are left, which is
/// what every length check compares against.
class memory_source final : public std::streambuf {
public:
    void reset(const char* data, std::size_t n) noexcept {
        char* p = const_cast<char*>(data); // the get area is only ever read
        setg(p, p, p + n);
    }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(egptr() - gptr()); }

protected:
    std::streamsize showmanyc() override { return static_cast<std::streamsize>(remaining()); }
    std::streamsize xsgetn(char* s, std::streamsize n) override {
        const auto k = std::min<std::streamsize>(n, static_cast<std::streamsize>(remaining()));
        if (k > 0) {
            std::memcpy(s, gptr(), static_cast<std::size_t>(k));
            // gbump takes an int; a (misconfigured) frame may exceed 2 GiB.
            for (auto left = k; left > 0;) {
                const int step = static_cast<int>(std::min<std::streamsize>(left, 1 << 30));
                gbump(step);
                left -= step;
            }
        }
        return k;
    }
};

/// What the loaders need besides the archive: limits and the bytes left.
/// Attached to the archive as a Boost.Serialization helper.
struct decode_context {
    const decode_limits* limits = nullptr;
    const memory_source* source = nullptr;
};
char decode_context_key; // address used as the helper's id

template <class Archive>
const decode_context& context(Archive& ar) {
    return ar.template get_helper<decode_context>(&decode_context_key);
}

/// Throws unless `count` items of at least `min_item_bytes` each can still be
/// in the frame and `count` is within `limit`. Called before allocating.
template <class Archive>
void check_count(Archive& ar, std::uint64_t count, std::uint64_t min_item_bytes,
                 std::uint64_t limit, const char* over_limit) {
    if (count > limit)
        throw wire_error(over_limit);
    const std::uint64_t left = context(ar).source->remaining();
    if (min_item_bytes != 0 && count > left / min_item_bytes)
        throw wire_error("length exceeds the bytes left in the frame");
}

// ---- field helpers: one wire representation per C++ type ------------------

template <class Archive, class Enum>
void wire_enum(Archive& ar, Enum& e, Enum max_value) {
    static_assert(sizeof(std::underlying_type_t<Enum>) == 1);
    std::uint8_t v = static_cast<std::uint8_t>(e);
    ar & v;
    if constexpr (Archive::is_loading::value) {
        if (v > static_cast<std::uint8_t>(max_value))
            throw wire_error("enumeration value out of range");
        e = static_cast<Enum>(v);
    }
}

template <class Archive>
void wire_bool(Archive& ar, bool& b) {
    std::uint8_t v = b ? 1 : 0;
    ar & v;
    if constexpr (Archive::is_loading::value) {
        if (v > 1)
            throw wire_error("boolean value out of range");
        b = v == 1;
    }
}

template <class Archive>
void wire_string(Archive& ar, std::string& s, std::size_t limit, const char* over_limit) {
    std::uint64_t n = s.size();
    ar & n;
    if constexpr (Archive::is_loading::value) {
        check_count(ar, n, 1, limit, over_limit);
        s.assign(static_cast<std::size_t>(n), '\0');
        if (n != 0)
            ar.load_binary(s.data(), static_cast<std::size_t>(n));
    } else {
        if (n != 0)
            ar.save_binary(s.data(), s.size());
    }
}

/// A payload: length + bytes. A null payload is sent as empty; decoding always
/// yields a non-null shared_bytes.
template <class Archive>
void wire_bytes(Archive& ar, shared_bytes& p) {
    if constexpr (Archive::is_loading::value) {
        std::string s;
        wire_string(ar, s, context(ar).limits->max_payload_bytes, "payload over max_payload_bytes");
        p = make_bytes(std::move(s));
    } else {
        std::uint64_t n = p ? p->size() : 0;
        ar & n;
        if (n != 0)
            ar.save_binary(p->data(), p->size());
    }
}

// Wire size of a log_entry with an empty payload: term, index, kind, origin
// (node, request), payload length. Bounds how many entries a frame can hold.
constexpr std::uint64_t min_entry_bytes = 8 + 8 + 1 + 8 + 8 + 8;

} // namespace

// ---- serialize(): one per wire type (found by argument-dependent lookup) ----

// An entry is its fields, then its payload (wire_bytes); encode_entries
// writes the fields alone and may reference the payload instead of copying it.
template <class Archive>
void serialize_entry_fields(Archive& ar, log_entry& e) {
    ar & e.term & e.index;
    wire_enum(ar, e.kind, entry_kind::configuration);
    ar & e.origin.node & e.origin.request;
}

template <class Archive>
void serialize(Archive& ar, log_entry& e, const unsigned int) {
    serialize_entry_fields(ar, e);
    wire_bytes(ar, e.payload);
}

// A log_request is its fields and entry count (what differs per follower),
// then its entries: encode_log_request_head writes the first part alone.
template <class Archive>
void serialize_log_request_head(Archive& ar, log_request& m, std::uint64_t& entries) {
    ar & m.term & m.prefix_len & m.prefix_term & m.leader_commit & m.read_round;
    ar & entries;
}

template <class Archive>
void serialize(Archive& ar, vote_request& m, const unsigned int) {
    ar & m.term & m.last_log_length & m.last_log_term;
    wire_bool(ar, m.pre_vote);
    wire_bool(ar, m.leadership_transfer);
}

template <class Archive>
void serialize(Archive& ar, vote_response& m, const unsigned int) {
    ar & m.term;
    wire_bool(ar, m.granted);
    wire_bool(ar, m.pre_vote);
}

template <class Archive>
void serialize(Archive& ar, log_request& m, const unsigned int) {
    std::uint64_t n = m.suffix.size();
    serialize_log_request_head(ar, m, n);
    if constexpr (Archive::is_loading::value) {
        check_count(ar, n, min_entry_bytes, context(ar).limits->max_entries,
                    "log_request has more entries than max_entries");
        m.suffix.clear();
        m.suffix.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i)
            ar & m.suffix.emplace_back();
    } else {
        for (auto& e : m.suffix)
            ar & e;
    }
}

template <class Archive>
void serialize(Archive& ar, log_response& m, const unsigned int) {
    ar & m.term & m.ack;
    wire_bool(ar, m.success);
    ar & m.prefix_len & m.read_round;
}

template <class Archive>
void serialize(Archive& ar, forward_request& m, const unsigned int) {
    ar & m.request & m.search_from;
    wire_bytes(ar, m.payload);
}

template <class Archive>
void serialize(Archive& ar, forward_response& m, const unsigned int) {
    ar & m.request;
    wire_enum(ar, m.result, forward_response::status::unknown);
    ar & m.term & m.index;
}

constexpr std::size_t max_member_string = 4096;

template <class Archive>
void serialize(Archive& ar, snapshot_meta& m, const unsigned int) {
    ar & m.index & m.term;
    // The configuration as of the snapshot (thesis §5.1): each server's id,
    // voter flag, address and application info.
    std::vector<member> members = m.members.members();
    std::uint64_t n = members.size();
    ar & n;
    if constexpr (Archive::is_loading::value) {
        check_count(ar, n, 8 + 1 + 8 + 8, context(ar).limits->max_members, "snapshot has more members than max_members");
        members.assign(static_cast<std::size_t>(n), member{});
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
        member& x = members[i];
        ar & x.id;
        if constexpr (Archive::is_loading::value) {
            // By ascending id, each once, as membership keeps them: any other
            // order would decode to a configuration that encodes differently.
            if (x.id == no_node)
                throw wire_error("snapshot members: member id 0");
            if (i > 0 && x.id <= members[i - 1].id)
                throw wire_error("snapshot members: ids not ascending (or a duplicate id)");
        }
        wire_bool(ar, x.voter);
        wire_string(ar, x.address, max_member_string, "member address over 4096 bytes");
        wire_string(ar, x.info, max_member_string, "member info over 4096 bytes");
    }
    if constexpr (Archive::is_loading::value) {
        try {
            m.members = membership(std::move(members));
        } catch (const std::invalid_argument&) {
            throw wire_error("snapshot members: a zero or duplicate id");
        }
    }
    ar & m.size & m.crc;
}

template <class Archive>
void serialize(Archive& ar, install_snapshot& m, const unsigned int) {
    ar & m.term & m.meta & m.offset;
    if constexpr (Archive::is_loading::value) {
        std::string s;
        wire_string(ar, s, context(ar).limits->max_snapshot_chunk_bytes, "chunk over max_snapshot_chunk_bytes");
        m.data = make_bytes(std::move(s));
    } else {
        wire_bytes(ar, m.data);
    }
    wire_bool(ar, m.done);
    if constexpr (Archive::is_loading::value) {
        // The chunk must lie inside the snapshot it claims to be part of,
        // and the last one must end it.
        const std::uint64_t size = m.data->size();
        if (m.offset > m.meta.size || size > m.meta.size - m.offset)
            throw wire_error("install_snapshot chunk beyond the snapshot's size");
        if (m.done != (m.offset + size == m.meta.size))
            throw wire_error("install_snapshot done flag does not match the chunk's end");
    }
}

template <class Archive>
void serialize(Archive& ar, install_snapshot_response& m, const unsigned int) {
    ar & m.term & m.index & m.next_offset;
    wire_bool(ar, m.installed);
}

template <class Archive>
void serialize(Archive& ar, read_index_request& m, const unsigned int) {
    ar & m.request;
}

template <class Archive>
void serialize(Archive& ar, read_index_response& m, const unsigned int) {
    ar & m.request;
    wire_enum(ar, m.result, read_index_response::status::busy);
    ar & m.index;
}

template <class Archive>
void serialize(Archive& ar, timeout_now& m, const unsigned int) {
    ar & m.term;
}

template <class Archive>
void serialize(Archive& ar, handshake& h, const unsigned int) {
    if constexpr (Archive::is_loading::value)
        wire_string(ar, h.cluster_id, context(ar).limits->max_cluster_id_bytes,
                    "cluster id over max_cluster_id_bytes");
    else
        wire_string(ar, h.cluster_id, 0, nullptr);
    ar & h.sender & h.protocol_version;
}

} // namespace raftlite

// No class information, versions or object tracking on the wire: the frame's
// format version covers all of it, and nothing is shared by pointer.
#define RAFTLITE_WIRE_TYPE(T)                                                        \
    BOOST_CLASS_IMPLEMENTATION(T, boost::serialization::object_serializable)         \
    BOOST_CLASS_TRACKING(T, boost::serialization::track_never)

RAFTLITE_WIRE_TYPE(raftlite::log_entry)
RAFTLITE_WIRE_TYPE(raftlite::vote_request)
RAFTLITE_WIRE_TYPE(raftlite::vote_response)
RAFTLITE_WIRE_TYPE(raftlite::log_request)
RAFTLITE_WIRE_TYPE(raftlite::log_response)
RAFTLITE_WIRE_TYPE(raftlite::forward_request)
RAFTLITE_WIRE_TYPE(raftlite::forward_response)
RAFTLITE_WIRE_TYPE(raftlite::snapshot_meta)
RAFTLITE_WIRE_TYPE(raftlite::install_snapshot)
RAFTLITE_WIRE_TYPE(raftlite::install_snapshot_response)
RAFTLITE_WIRE_TYPE(raftlite::read_index_request)
RAFTLITE_WIRE_TYPE(raftlite::read_index_response)
RAFTLITE_WIRE_TYPE(raftlite::timeout_now)
RAFTLITE_WIRE_TYPE(raftlite::handshake)

namespace raftlite {
namespace {

// message = variant: a one-byte alternative index, then the alternative.
template <std::size_t I = 0>
void load_alternative(boost::archive::binary_iarchive& ar, std::size_t index, message& m) {
    if constexpr (I < std::variant_size_v<message>) {
        if (index == I)
            ar & m.emplace<I>();
        else
            load_alternative<I + 1>(ar, index, m);
    }
}

void save_message(boost::archive::binary_oarchive& ar, const message& m) {
    std::uint8_t index = static_cast<std::uint8_t>(m.index());
    ar & index;
    // The archive's interface takes non-const references; saving does not
    // modify the object.
    std::visit([&](const auto& alt) { ar & const_cast<std::decay_t<decltype(alt)>&>(alt); }, m);
}

void load_message(boost::archive::binary_iarchive& ar, message& m) {
    std::uint8_t index = 0;
    ar & index;
    if (index >= std::variant_size_v<message>)
        throw wire_error("unknown message type");
    load_alternative(ar, index, m);
}

// The frame header's integers are big-endian (codec.hpp).
using detail::get_u16_be;
using detail::get_u32_be;
using detail::put_u16_be;
using detail::put_u32_be;

// Constructing a Boost archive costs far more than writing a small message
// (about 0.5 us against a few ns: helper and tracking tables are allocated).
// Each thread therefore keeps one archive per direction over a stream whose
// target is switched per call. Our types have neither class information nor
// tracking, so an archive carries no state from one message to the next; after
// any failure the archive is discarded anyway and the next call makes a new one.
struct encoder {
    vector_sink sink;
    boost::archive::binary_oarchive ar{sink, archive_flags};
};

struct decoder {
    memory_source source;
    boost::archive::binary_iarchive ar{source, archive_flags};
    decode_context& ctx = ar.get_helper<decode_context>(&decode_context_key);
};

thread_local std::unique_ptr<encoder> cached_encoder;
thread_local std::unique_ptr<decoder> cached_decoder;

/// Appends what `write(archive)` writes to `out`; on failure `out` is left
/// as it was.
template <class Write>
void encode_into(std::vector<char>& out, Write&& write) {
    const std::size_t start = out.size();
    try {
        if (!cached_encoder)
            cached_encoder = std::make_unique<encoder>();
        encoder& e = *cached_encoder;
        e.sink.target(&out);
        write(e.ar);
        e.sink.target(nullptr);
    } catch (...) {
        cached_encoder.reset();
        out.resize(start);
        throw;
    }
}

/// Appends header + payload written by `write(archive)`, the payload followed
/// on the wire by `more` bytes the caller sends after it; on failure `out` is
/// left as it was.
template <class Write>
void encode_frame(frame_kind kind, std::vector<char>& out, Write&& write, std::size_t more = 0) {
    const std::size_t start = out.size();
    try {
        out.resize(start + frame_header_size);
        encode_into(out, write);
        const std::size_t payload = out.size() - start - frame_header_size + more;
        if (payload > std::numeric_limits<std::uint32_t>::max())
            throw std::length_error("raftlite: message too large for one frame (over 4 GiB)");
        char* h = out.data() + start;
        std::memcpy(h, frame_magic, sizeof frame_magic);
        put_u16_be(h + 4, wire_format_version);
        put_u16_be(h + 6, static_cast<std::uint16_t>(kind));
        put_u32_be(h + 8, static_cast<std::uint32_t>(payload));
    } catch (...) {
        out.resize(start);
        throw;
    }
}

/// Runs `read(archive)` over the payload; every failure is bad_message.
template <class Read>
boost::system::error_code decode_payload(const char* data, std::size_t n,
                                         const decode_limits& limits, const char** reason,
                                         Read&& read) {
    const char* why = nullptr;
    try {
        if (!cached_decoder)
            cached_decoder = std::make_unique<decoder>();
        decoder& d = *cached_decoder;
        d.source.reset(data, n);
        d.ctx.limits = &limits;
        d.ctx.source = &d.source;
        read(d.ar);
        const bool trailing = d.source.remaining() != 0;
        d.source.reset(nullptr, 0);
        d.ctx.limits = nullptr;
        if (trailing)
            throw wire_error("trailing bytes after the message");
        return {};
    } catch (const wire_error& e) {
        why = e.what();
    } catch (const boost::archive::archive_exception&) {
        why = "truncated or malformed payload";
    } catch (const std::bad_alloc&) {
        why = "out of memory while decoding";
    } catch (const std::exception&) {
        why = "malformed payload";
    }
    cached_decoder.reset();
    if (reason)
        *reason = why;
    return make_error_code(errc::bad_message);
}

} // namespace

void encode_message(const message& m, std::vector<char>& out) {
    encode_frame(frame_kind::message, out, [&](auto& ar) { save_message(ar, m); });
}

void encode_handshake(const handshake& h, std::vector<char>& out) {
    encode_frame(frame_kind::handshake, out, [&](auto& ar) { ar & const_cast<handshake&>(h); });
}

void encode_handshake_ack(const handshake& h, std::vector<char>& out) {
    encode_frame(frame_kind::handshake_ack, out, [&](auto& ar) { ar & const_cast<handshake&>(h); });
}

std::size_t encoded_entries::wire_size() const noexcept {
    std::size_t n = bytes.size();
    for (const auto& [at, p] : payloads)
        n += p->size();
    return n;
}

void encode_entries(const std::vector<log_entry>& entries, std::size_t reference_from, encoded_entries& out) {
    out.bytes.clear();
    out.payloads.clear();
    encode_into(out.bytes, [&](auto& ar) {
        for (const log_entry& e : entries) {
            if (!e.payload || e.payload->size() < reference_from) {
                ar & const_cast<log_entry&>(e);
                continue;
            }
            serialize_entry_fields(ar, const_cast<log_entry&>(e));
            std::uint64_t n = e.payload->size();
            ar & n;
            out.payloads.emplace_back(out.bytes.size(), e.payload);
        }
    });
}

void encode_log_request_head(const log_request& m, std::size_t entries_wire_size, std::vector<char>& out) {
    encode_frame(
        frame_kind::message, out,
        [&](auto& ar) {
            // The variant index save_message writes first.
            static const auto index =
                static_cast<std::uint8_t>(message(std::in_place_type<log_request>).index());
            ar & index;
            std::uint64_t n = m.suffix.size();
            serialize_log_request_head(ar, const_cast<log_request&>(m), n);
        },
        entries_wire_size);
}

boost::system::error_code parse_frame_header(const char* data, frame_header& out,
                                             std::size_t max_frame_bytes, const char** reason) {
    const char* why = nullptr;
    if (std::memcmp(data, frame_magic, sizeof frame_magic) != 0) {
        why = "bad magic (not a raftlite peer?)";
    } else if ((out.version = get_u16_be(data + 4)) != wire_format_version) {
        why = "unsupported wire format version";
    } else {
        const std::uint16_t kind = get_u16_be(data + 6);
        if (kind != static_cast<std::uint16_t>(frame_kind::handshake) &&
            kind != static_cast<std::uint16_t>(frame_kind::message) &&
            kind != static_cast<std::uint16_t>(frame_kind::handshake_ack)) {
            why = "unknown frame kind";
        } else {
            out.kind = static_cast<frame_kind>(kind);
            out.payload_size = get_u32_be(data + 8);
            if (max_frame_bytes < frame_header_size ||
                out.payload_size > max_frame_bytes - frame_header_size)
                why = "frame larger than max_frame_bytes";
        }
    }
    if (!why)
        return {};
    if (reason)
        *reason = why;
    return make_error_code(errc::bad_message);
}

boost::system::error_code decode_message(const char* payload, std::size_t n, message& out,
                                         const decode_limits& limits, const char** reason) {
    return decode_payload(payload, n, limits, reason, [&](auto& ar) { load_message(ar, out); });
}

boost::system::error_code decode_handshake(const char* payload, std::size_t n, handshake& out,
                                           const decode_limits& limits, const char** reason) {
    return decode_payload(payload, n, limits, reason, [&](auto& ar) { ar & out; });
}

boost::system::error_code decode_handshake_frame(const char* data, std::size_t n, frame_kind kind,
                                                 handshake& out, const decode_limits& limits,
                                                 const char** reason) {
    const char* why = nullptr;
    frame_header h;
    if (n < frame_header_size)
        why = "truncated frame header";
    else if (parse_frame_header(data, h, max_handshake_frame_bytes(limits), &why))
        ; // why says it
    else if (h.kind != kind)
        why = kind == frame_kind::handshake_ack ? "not a handshake acknowledgement" : "not a handshake";
    else if (h.payload_size != n - frame_header_size)
        why = "frame length does not match its header";
    else
        return decode_handshake(data + frame_header_size, h.payload_size, out, limits, reason);
    if (reason)
        *reason = why;
    return make_error_code(errc::bad_message);
}

} // namespace raftlite
