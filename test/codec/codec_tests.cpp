// Tests of the wire codec: round trips, and decoding of hostile input.
#define BOOST_TEST_MODULE codec_tests
#include <boost/test/unit_test.hpp>

#include <raftlite/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

using namespace raftlite;

// The decoder must size every allocation by the bytes actually in the frame,
// never by a length field it has not checked yet. Leak checkers and the
// sanitizers do not see an allocation that succeeds and is freed, so this
// program counts them itself: while a probe is armed, the largest single
// request made on this thread is recorded.
namespace {
thread_local bool alloc_probe_armed = false;
thread_local std::size_t alloc_probe_largest = 0;
} // namespace

void* operator new(std::size_t n) {
    if (alloc_probe_armed && n > alloc_probe_largest)
        alloc_probe_largest = n;
    if (void* p = std::malloc(n != 0 ? n : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

/// Decodes with the allocation probe armed; returns the largest single
/// allocation the decode made.
std::size_t largest_allocation_decoding(const char* payload, std::size_t n, message& out,
                                        const decode_limits& limits, boost::system::error_code& ec) {
    alloc_probe_largest = 0;
    alloc_probe_armed = true;
    ec = decode_message(payload, n, out, limits);
    alloc_probe_armed = false;
    return alloc_probe_largest;
}

log_entry entry(term_t t, index_t i, std::string payload,
                entry_kind k = entry_kind::application, entry_origin o = {}) {
    log_entry e;
    e.term = t;
    e.index = i;
    e.kind = k;
    e.origin = o;
    e.payload = make_bytes(std::move(payload));
    return e;
}

void check_equal(const log_entry& a, const log_entry& b) {
    BOOST_TEST(a.term == b.term);
    BOOST_TEST(a.index == b.index);
    BOOST_TEST((a.kind == b.kind));
    BOOST_TEST((a.origin == b.origin));
    BOOST_REQUIRE(b.payload); // decoding always yields a payload
    BOOST_TEST(a.data() == b.data());
}

void check_equal(const message& a, const message& b) {
    BOOST_REQUIRE_EQUAL(a.index(), b.index());
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            const T& y = std::get<T>(b);
            if constexpr (std::is_same_v<T, vote_request>) {
                BOOST_TEST(x.term == y.term);
                BOOST_TEST(x.last_log_length == y.last_log_length);
                BOOST_TEST(x.last_log_term == y.last_log_term);
                BOOST_TEST(x.pre_vote == y.pre_vote);
                BOOST_TEST(x.leadership_transfer == y.leadership_transfer);
            } else if constexpr (std::is_same_v<T, vote_response>) {
                BOOST_TEST(x.term == y.term);
                BOOST_TEST(x.granted == y.granted);
                BOOST_TEST(x.pre_vote == y.pre_vote);
            } else if constexpr (std::is_same_v<T, log_request>) {
                BOOST_TEST(x.term == y.term);
                BOOST_TEST(x.prefix_len == y.prefix_len);
                BOOST_TEST(x.prefix_term == y.prefix_term);
                BOOST_TEST(x.leader_commit == y.leader_commit);
                BOOST_TEST(x.read_round == y.read_round);
                BOOST_REQUIRE_EQUAL(x.suffix.size(), y.suffix.size());
                for (std::size_t i = 0; i < x.suffix.size(); ++i)
                    check_equal(x.suffix[i], y.suffix[i]);
            } else if constexpr (std::is_same_v<T, log_response>) {
                BOOST_TEST(x.term == y.term);
                BOOST_TEST(x.ack == y.ack);
                BOOST_TEST(x.success == y.success);
                BOOST_TEST(x.prefix_len == y.prefix_len);
                BOOST_TEST(x.read_round == y.read_round);
            } else if constexpr (std::is_same_v<T, forward_request>) {
                BOOST_TEST(x.request == y.request);
                BOOST_TEST(x.search_from == y.search_from);
                BOOST_REQUIRE(y.payload);
                BOOST_TEST((x.payload ? *x.payload : std::string()) == *y.payload);
            } else if constexpr (std::is_same_v<T, forward_response>) {
                BOOST_TEST(x.request == y.request);
                BOOST_TEST((x.result == y.result));
                BOOST_TEST(x.term == y.term);
                BOOST_TEST(x.index == y.index);
            } else if constexpr (std::is_same_v<T, install_snapshot>) {
                BOOST_TEST(x.term == y.term);
                BOOST_TEST((x.meta == y.meta));
                BOOST_TEST(x.offset == y.offset);
                BOOST_REQUIRE(y.data); // decoding always yields a chunk, if empty
                BOOST_TEST((x.data ? *x.data : std::string()) == *y.data);
                BOOST_TEST(x.done == y.done);
            } else if constexpr (std::is_same_v<T, install_snapshot_response>) {
                BOOST_TEST(x.term == y.term);
                BOOST_TEST(x.index == y.index);
                BOOST_TEST(x.next_offset == y.next_offset);
                BOOST_TEST(x.installed == y.installed);
            } else if constexpr (std::is_same_v<T, read_index_request>) {
                BOOST_TEST(x.request == y.request);
            } else if constexpr (std::is_same_v<T, read_index_response>) {
                BOOST_TEST(x.request == y.request);
                BOOST_TEST((x.result == y.result));
                BOOST_TEST(x.index == y.index);
            } else if constexpr (std::is_same_v<T, timeout_now>) {
                BOOST_TEST(x.term == y.term);
            } else {
                static_assert(sizeof(T) == 0, "check_equal does not know this message");
            }
        },
        a);
}

snapshot_meta snapshot(index_t index, term_t term, std::vector<node_id> members, std::uint64_t size,
                       std::uint32_t crc = 0) {
    return snapshot_meta{index, term, std::move(members), size, crc};
}

/// A chunk of `meta`'s data at `offset`; `done` as a correct sender sets it.
install_snapshot chunk(term_t term, const snapshot_meta& meta, std::uint64_t offset, std::string data) {
    const bool done = offset + data.size() == meta.size;
    return install_snapshot{term, meta, offset, make_bytes(std::move(data)), done};
}

// Bytes before the members of an encoded install_snapshot payload: message
// type, term, meta.index, meta.term, member count.
constexpr std::size_t members_at = 1 + 8 + 8 + 8 + 8;
// A member record: id, voter flag, address length and bytes, info length and
// bytes. Without address and info, 25 bytes.
constexpr std::size_t member_record_bytes(std::size_t address = 0, std::size_t info = 0) {
    return 8 + 1 + 8 + address + 8 + info;
}
// After the members: meta.size, meta.crc, offset, then the chunk's length.
constexpr std::size_t after_members = 8 + 4 + 8;

/// Encodes, parses the header, decodes; checks the frame is self-consistent.
message round_trip(const message& m, const decode_limits& limits = {}) {
    std::vector<char> buf;
    encode_message(m, buf);
    BOOST_REQUIRE_GE(buf.size(), frame_header_size);
    frame_header h;
    BOOST_REQUIRE(!parse_frame_header(buf.data(), h, default_max_frame_bytes));
    BOOST_TEST((h.kind == frame_kind::message));
    BOOST_REQUIRE_EQUAL(h.payload_size, buf.size() - frame_header_size);
    message out;
    const char* why = nullptr;
    auto ec = decode_message(buf.data() + frame_header_size, h.payload_size, out, limits, &why);
    BOOST_REQUIRE_MESSAGE(!ec, (why ? why : "?"));
    check_equal(m, out);
    return out;
}

std::vector<message> sample_messages() {
    std::vector<message> v;
    v.push_back(vote_request{7, 42, 6});
    v.push_back(vote_request{});
    v.push_back(vote_response{7, true});
    v.push_back(vote_response{8, false});
    v.push_back(log_request{3, 10, 2, 9, {}}); // heartbeat: empty suffix
    log_request lr{5, 0, 0, 0, {}};
    lr.suffix.push_back(entry(5, 1, "hello", entry_kind::application, {3, 77}));
    lr.suffix.push_back(entry(5, 2, "", entry_kind::noop));
    lr.suffix.push_back(entry(5, 3, std::string("\0\1\2\xff", 4)));
    lr.suffix.push_back(entry(5, 4, encode_membership(membership(std::vector<member>{{1, true, "h1:1", ""},
                                                                                      {4, false, "", "i"}})),
                              entry_kind::configuration, {1, 9}));
    v.push_back(lr);
    log_request big{9, 100, 8, 99, {}};
    for (index_t i = 0; i < 1000; ++i)
        big.suffix.push_back(entry(9, 101 + i, std::string(i % 17, char('a' + i % 26)),
                                   entry_kind::application, {i, i * 3}));
    big.suffix.push_back(entry(9, 1101, std::string(1 << 20, 'z'))); // a large payload
    v.push_back(big);
    v.push_back(log_response{4, 12, true, 11});
    v.push_back(log_response{4, 3, false, 11, 77});
    log_request round{3, 10, 2, 9, {}};
    round.read_round = 1234567;
    v.push_back(round);
    v.push_back(forward_request{12, 5, make_bytes("forwarded")});
    v.push_back(forward_request{13, 0, make_bytes("")});
    v.push_back(forward_request{14, 0, nullptr}); // null is sent as empty
    v.push_back(forward_response{12, forward_response::status::accepted, 4, 20});
    v.push_back(forward_response{13, forward_response::status::not_leader, 0, 0});
    v.push_back(forward_response{14, forward_response::status::busy, 0, 0});
    // An empty snapshot travels as one empty chunk that ends it.
    v.push_back(chunk(2, snapshot(0, 0, {1}, 0), 0, ""));
    v.push_back(install_snapshot{2, snapshot(7, 1, {}, 0), 0, nullptr, true}); // null is sent as empty
    const auto meta = snapshot(120, 2, {1, 2, 3}, 9000, 0xdeadbeef);
    v.push_back(chunk(3, meta, 0, std::string(4096, 'a')));                // the first
    v.push_back(chunk(3, meta, 4096, std::string(4096, '\0')));            // one in the middle
    v.push_back(chunk(3, meta, 8192, std::string(808, '\xff')));           // the last
    v.push_back(chunk(3, meta, 9000, ""));                                 // an empty one at the end
    // Learners, addresses and info in the members.
    const auto mixed = snapshot_meta{130, 4, membership(std::vector<member>{{1, true, "10.0.0.1:7000", "kv"},
                                                                           {5, false, "", std::string("\0\xff", 2)},
                                                                           {7, false, "h7:7", ""}}),
                                     300, 77};
    v.push_back(chunk(4, mixed, 100, std::string(200, 'k')));
    v.push_back(install_snapshot_response{3, 120, 4096, false});
    v.push_back(install_snapshot_response{3, 120, 9000, true});
    v.push_back(install_snapshot_response{});
    v.push_back(read_index_request{42});
    v.push_back(read_index_response{42, read_index_response::status::ready, 900});
    v.push_back(read_index_response{43, read_index_response::status::not_leader, 0});
    v.push_back(read_index_response{44, read_index_response::status::busy, 0});
    v.push_back(vote_request{8, 30, 7, true, false});    // a pre-vote (thesis §9.6)
    v.push_back(vote_request{9, 30, 7, false, true});    // a transfer's election (thesis §3.10)
    v.push_back(vote_response{8, true, true});
    v.push_back(vote_response{7, false, true});
    v.push_back(timeout_now{6});
    v.push_back(timeout_now{});
    return v;
}

std::vector<char> encoded(const message& m) {
    std::vector<char> buf;
    encode_message(m, buf);
    return buf;
}

boost::system::error_code decode_frame(const std::vector<char>& buf, const decode_limits& limits = {}) {
    message out;
    return decode_message(buf.data() + frame_header_size, buf.size() - frame_header_size, out, limits);
}

void put_u64(std::vector<char>& v, std::uint64_t x) {
    const char* p = reinterpret_cast<const char*>(&x); // the archive's (host) byte order
    v.insert(v.end(), p, p + sizeof x);
}

} // namespace

BOOST_AUTO_TEST_CASE(header_size_is_fixed) {
    std::vector<char> buf;
    encode_message(vote_request{1, 2, 3}, buf);
    BOOST_TEST(std::memcmp(buf.data(), "RFTL", 4) == 0);
    BOOST_TEST(frame_header_size == 12u);
    // kind byte 1 + three u64 + two bool bytes (pre_vote, leadership_transfer)
    BOOST_TEST(buf.size() == frame_header_size + 1 + 24 + 2);
}

BOOST_AUTO_TEST_CASE(round_trip_every_message_kind) {
    std::size_t kinds_seen = 0;
    std::vector<bool> seen(std::variant_size_v<message>);
    for (const auto& m : sample_messages()) {
        BOOST_TEST_CONTEXT("message " << message_name(m)) { round_trip(m); }
        if (!seen[m.index()]) {
            seen[m.index()] = true;
            ++kinds_seen;
        }
    }
    BOOST_TEST(kinds_seen == std::variant_size_v<message>);
}

BOOST_AUTO_TEST_CASE(encode_appends_to_a_reused_buffer) {
    std::vector<char> buf;
    const auto msgs = sample_messages();
    for (const auto& m : msgs)
        encode_message(m, buf);
    // Walk the concatenated frames back.
    std::size_t pos = 0, count = 0;
    while (pos < buf.size()) {
        frame_header h;
        BOOST_REQUIRE(!parse_frame_header(buf.data() + pos, h, default_max_frame_bytes));
        message out;
        BOOST_REQUIRE(!decode_message(buf.data() + pos + frame_header_size, h.payload_size, out, {}));
        check_equal(msgs[count], out);
        pos += frame_header_size + h.payload_size;
        ++count;
    }
    BOOST_TEST(pos == buf.size());
    BOOST_TEST(count == msgs.size());
}

// A log_request's frame sent as a head and entries encoded once for every
// follower (encode_log_request_head + encode_entries, spliced by the
// transport's gather write) must be the bytes encode_message writes: the
// wire does not change. Every reference threshold: nothing referenced,
// some payloads, every non-empty one.
BOOST_AUTO_TEST_CASE(log_request_head_and_shared_entries_make_the_same_frame) {
    for (const message& m : sample_messages()) {
        const auto* r = std::get_if<log_request>(&m);
        if (!r || r->suffix.empty()) continue;
        std::vector<char> whole;
        encode_message(m, whole);
        for (std::size_t from : {std::size_t(0), std::size_t(1), std::size_t(10), std::size_t(1) << 30}) {
            encoded_entries e;
            encode_entries(r->suffix, from, e);
            std::vector<char> spliced;
            encode_log_request_head(*r, e.wire_size(), spliced);
            std::size_t at = 0;
            for (const auto& [offset, payload] : e.payloads) {
                BOOST_TEST(payload->size() >= from);
                spliced.insert(spliced.end(), e.bytes.begin() + at, e.bytes.begin() + offset);
                spliced.insert(spliced.end(), payload->begin(), payload->end());
                at = offset;
            }
            spliced.insert(spliced.end(), e.bytes.begin() + at, e.bytes.end());
            BOOST_TEST_INFO("reference_from " << from << ", " << r->suffix.size() << " entries");
            BOOST_TEST(spliced == whole);
        }
    }
}

BOOST_AUTO_TEST_CASE(handshake_round_trip) {
    handshake h{"cluster-α", 3, protocol_version};
    std::vector<char> buf;
    encode_handshake(h, buf);
    frame_header fh;
    BOOST_REQUIRE(!parse_frame_header(buf.data(), fh, default_max_frame_bytes));
    BOOST_TEST((fh.kind == frame_kind::handshake));
    handshake out;
    BOOST_REQUIRE(!decode_handshake(buf.data() + frame_header_size, fh.payload_size, out, {}));
    BOOST_TEST((out == h));

    handshake empty{"", 1, 99};
    buf.clear();
    encode_handshake(empty, buf);
    BOOST_REQUIRE(!decode_handshake(buf.data() + frame_header_size, buf.size() - frame_header_size, out, {}));
    BOOST_TEST((out == empty));
}

BOOST_AUTO_TEST_CASE(handshake_ack_round_trip_and_refusals) {
    const handshake h{"cluster-α", 4, protocol_version};
    std::vector<char> ack, hs;
    encode_handshake_ack(h, ack);
    encode_handshake(h, hs);
    frame_header fh;
    BOOST_REQUIRE(!parse_frame_header(ack.data(), fh, default_max_frame_bytes));
    BOOST_TEST((fh.kind == frame_kind::handshake_ack));
    // The same payload as the handshake; only the kind differs.
    BOOST_TEST(std::equal(ack.begin() + frame_header_size, ack.end(), hs.begin() + frame_header_size, hs.end()));
    handshake out;
    BOOST_REQUIRE(!decode_handshake_frame(ack.data(), ack.size(), frame_kind::handshake_ack, out, {}));
    BOOST_TEST((out == h));
    BOOST_REQUIRE(!decode_handshake_frame(hs.data(), hs.size(), frame_kind::handshake, out, {}));
    BOOST_TEST((out == h));

    const char* why = nullptr;
    // Each kind only as itself.
    BOOST_TEST((decode_handshake_frame(hs.data(), hs.size(), frame_kind::handshake_ack, out, {}, &why) ==
                errc::bad_message));
    BOOST_TEST(std::string(why) == "not a handshake acknowledgement");
    BOOST_TEST((decode_handshake_frame(ack.data(), ack.size(), frame_kind::handshake, out, {}, &why) ==
                errc::bad_message));
    // Every truncation, and a trailing byte: the header's length must be the frame's.
    for (std::size_t cut = 0; cut < ack.size(); ++cut) {
        std::vector<char> part(ack.begin(), ack.begin() + cut);
        why = nullptr;
        BOOST_TEST_CONTEXT("cut at " << cut) {
            BOOST_TEST((decode_handshake_frame(part.data(), part.size(), frame_kind::handshake_ack, out, {}, &why) ==
                        errc::bad_message));
            BOOST_TEST(why != nullptr);
        }
    }
    auto longer = ack;
    longer.push_back(0);
    BOOST_TEST((decode_handshake_frame(longer.data(), longer.size(), frame_kind::handshake_ack, out, {}, &why) ==
                errc::bad_message));
    BOOST_TEST(std::string(why) == "frame length does not match its header");
    // A cluster id over max_cluster_id_bytes.
    decode_limits limits;
    limits.max_cluster_id_bytes = 8;
    BOOST_TEST((decode_handshake_frame(ack.data(), ack.size(), frame_kind::handshake_ack, out, limits, &why) ==
                errc::bad_message));
    ack[frame_header_size] = char(0x7f); // a cluster id length past the frame's end
    BOOST_TEST((decode_handshake_frame(ack.data(), ack.size(), frame_kind::handshake_ack, out, {}, &why) ==
                errc::bad_message));
}

BOOST_AUTO_TEST_CASE(handshake_cluster_id_over_limit) {
    std::vector<char> buf;
    encode_handshake(handshake{std::string(300, 'c'), 1, protocol_version}, buf);
    handshake out;
    decode_limits limits;
    limits.max_cluster_id_bytes = 256;
    const char* why = nullptr;
    auto ec = decode_handshake(buf.data() + frame_header_size, buf.size() - frame_header_size, out, limits, &why);
    BOOST_TEST((ec == errc::bad_message));
    BOOST_TEST(why != nullptr);
}

BOOST_AUTO_TEST_CASE(bad_magic) {
    auto buf = encoded(vote_request{1, 2, 3});
    buf[0] = 'X';
    frame_header h;
    const char* why = nullptr;
    BOOST_TEST((parse_frame_header(buf.data(), h, default_max_frame_bytes, &why) == errc::bad_message));
    BOOST_TEST(why != nullptr);
}

BOOST_AUTO_TEST_CASE(bad_version) {
    auto buf = encoded(vote_request{1, 2, 3});
    buf[5] = char(wire_format_version + 1);
    frame_header h;
    BOOST_TEST((parse_frame_header(buf.data(), h, default_max_frame_bytes) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(bad_kind) {
    auto buf = encoded(vote_request{1, 2, 3});
    buf[7] = 9;
    frame_header h;
    BOOST_TEST((parse_frame_header(buf.data(), h, default_max_frame_bytes) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(oversize_length) {
    auto buf = encoded(vote_request{1, 2, 3});
    frame_header h;
    // exactly at the bound is fine, one byte over is not
    BOOST_TEST(!parse_frame_header(buf.data(), h, buf.size()));
    BOOST_TEST((parse_frame_header(buf.data(), h, buf.size() - 1) == errc::bad_message));
    // a length field of 4 GiB - 1
    buf[8] = buf[9] = buf[10] = buf[11] = char(0xff);
    BOOST_TEST((parse_frame_header(buf.data(), h, default_max_frame_bytes) == errc::bad_message));
    // degenerate bound
    BOOST_TEST((parse_frame_header(buf.data(), h, 3) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(truncated_payload_at_every_offset) {
    for (const auto& m : sample_messages()) {
        if (std::holds_alternative<log_request>(m) && std::get<log_request>(m).suffix.size() > 100)
            continue; // the large one is covered by the sampled test below
        const auto buf = encoded(m);
        const std::size_t n = buf.size() - frame_header_size;
        for (std::size_t cut = 0; cut < n; ++cut) {
            // a private copy of exactly `cut` bytes, so that reading past it is caught by ASan
            std::vector<char> part(buf.begin() + frame_header_size, buf.begin() + frame_header_size + cut);
            message out;
            auto ec = decode_message(part.data(), part.size(), out, {});
            BOOST_TEST_CONTEXT(message_name(m) << " cut at " << cut) {
                BOOST_TEST((ec == errc::bad_message));
            }
        }
    }
    handshake h{"c", 2, protocol_version};
    std::vector<char> buf;
    encode_handshake(h, buf);
    for (std::size_t cut = 0; cut < buf.size() - frame_header_size; ++cut) {
        std::vector<char> part(buf.begin() + frame_header_size, buf.begin() + frame_header_size + cut);
        handshake out;
        BOOST_TEST((decode_handshake(part.data(), part.size(), out, {}) == errc::bad_message));
    }
}

BOOST_AUTO_TEST_CASE(truncated_large_frame_sampled) {
    const auto msgs = sample_messages();
    const auto buf = encoded(msgs[6]); // the 1001-entry log_request
    const std::size_t n = buf.size() - frame_header_size;
    for (std::size_t cut = 0; cut < n; cut += (cut < 4096 ? 1 : 4093)) {
        message out;
        BOOST_TEST((decode_message(buf.data() + frame_header_size, cut, out, {}) == errc::bad_message));
    }
}

BOOST_AUTO_TEST_CASE(trailing_garbage) {
    auto buf = encoded(log_response{1, 2, true, 3});
    buf.push_back('x');
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(frame_claiming_2_pow_60_entries) {
    // A log_request header with a suffix count of 2^60 and a few bytes after.
    std::vector<char> payload;
    payload.push_back(2); // log_request
    put_u64(payload, 1);  // term
    put_u64(payload, 0);  // prefix_len
    put_u64(payload, 0);  // prefix_term
    put_u64(payload, 0);  // leader_commit
    put_u64(payload, std::uint64_t(1) << 60);
    payload.insert(payload.end(), 64, '\0');
    message out;
    const char* why = nullptr;
    decode_limits unlimited;
    unlimited.max_entries = std::numeric_limits<std::size_t>::max();
    BOOST_TEST((decode_message(payload.data(), payload.size(), out, unlimited, &why) == errc::bad_message));
    BOOST_TEST_MESSAGE("2^60 entries rejected: " << (why ? why : "?"));
    BOOST_TEST((decode_message(payload.data(), payload.size(), out, {}) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(huge_payload_length) {
    std::vector<char> payload;
    payload.push_back(4); // forward_request
    put_u64(payload, 1);
    put_u64(payload, 0);
    put_u64(payload, std::uint64_t(1) << 62); // payload length
    payload.insert(payload.end(), 16, 'p');
    message out;
    decode_limits unlimited;
    unlimited.max_payload_bytes = std::numeric_limits<std::size_t>::max();
    BOOST_TEST((decode_message(payload.data(), payload.size(), out, unlimited) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(limits_are_enforced) {
    log_request lr{1, 0, 0, 0, {}};
    for (index_t i = 1; i <= 10; ++i)
        lr.suffix.push_back(entry(1, i, "0123456789"));
    const auto buf = encoded(lr);
    decode_limits l;
    l.max_entries = 10;
    BOOST_TEST(!decode_frame(buf, l));
    l.max_entries = 9;
    BOOST_TEST((decode_frame(buf, l) == errc::bad_message));
    l = {};
    l.max_payload_bytes = 10;
    BOOST_TEST(!decode_frame(buf, l));
    l.max_payload_bytes = 9;
    BOOST_TEST((decode_frame(buf, l) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(out_of_range_enums_and_bools) {
    auto buf = encoded(vote_response{1, true});
    buf[frame_header_size + 1 + 8] = 2; // granted
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
    buf = encoded(vote_response{1, true});
    buf.back() = 2; // pre_vote
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
    buf = encoded(vote_request{1, 2, 3, false, false});
    buf[frame_header_size + 1 + 3 * 8] = 2; // pre_vote
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
    buf = encoded(vote_request{1, 2, 3, false, false});
    buf.back() = 3; // leadership_transfer
    BOOST_TEST((decode_frame(buf) == errc::bad_message));

    buf = encoded(forward_response{1, forward_response::status::busy, 0, 0});
    buf[frame_header_size + 1 + 8] = 7; // status
    BOOST_TEST((decode_frame(buf) == errc::bad_message));

    buf = encoded(vote_request{});
    buf[frame_header_size] = char(std::variant_size_v<message>); // message type
    BOOST_TEST((decode_frame(buf) == errc::bad_message));

    log_request lr{1, 0, 0, 0, {entry(1, 1, "")}};
    buf = encoded(lr);
    const std::size_t kind_at = frame_header_size + 1 + 5 * 8 + 8 + 16; // after term, prefix, commit, read round, count
    BOOST_TEST_REQUIRE(buf[kind_at] == 0); // application
    buf[kind_at] = 2;                      // configuration: the largest kind
    BOOST_TEST(!decode_frame(buf));
    buf[kind_at] = 3;
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
    buf[kind_at] = char(0xff);
    BOOST_TEST((decode_frame(buf) == errc::bad_message));

    buf = encoded(read_index_response{1, read_index_response::status::ready, 5});
    buf[frame_header_size + 1 + 8] = 3; // status
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(random_bytes) {
    // RAFTLITE_TEST_SEED=<n> replays a run.
    const char* fixed = std::getenv("RAFTLITE_TEST_SEED");
    const std::uint64_t seed = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
    std::cout << "codec_tests/random_bytes seed " << seed << " (replay with RAFTLITE_TEST_SEED=" << seed << ")"
              << std::endl;
    BOOST_TEST_MESSAGE("random_bytes seed " << seed);
    std::mt19937_64 rng(seed);
    const auto samples = sample_messages();
    std::size_t accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<char> data;
        if (round % 2 == 0) {
            // pure noise
            data.resize(rng() % 200);
            for (auto& c : data)
                c = static_cast<char>(rng());
        } else {
            // a valid payload with a few bytes flipped: reaches deeper into the decoder
            const auto& m = samples[rng() % samples.size()];
            if (std::holds_alternative<log_request>(m) && std::get<log_request>(m).suffix.size() > 100)
                continue;
            auto buf = encoded(m);
            data.assign(buf.begin() + frame_header_size, buf.end());
            for (int flips = 1 + int(rng() % 4); flips > 0 && !data.empty(); --flips)
                data[rng() % data.size()] = static_cast<char>(rng());
        }
        message out;
        BOOST_TEST_CONTEXT("seed " << seed << " round " << round) {
            auto ec = decode_message(data.data(), data.size(), out, {});
            BOOST_TEST((!ec || ec == errc::bad_message));
            if (!ec)
                ++accepted;
            frame_header h;
            if (data.size() >= frame_header_size) {
                ec = parse_frame_header(data.data(), h, default_max_frame_bytes);
                BOOST_TEST((!ec || ec == errc::bad_message));
            }
            handshake hs;
            ec = decode_handshake(data.data(), data.size(), hs, {});
            BOOST_TEST((!ec || ec == errc::bad_message));
        }
    }
    BOOST_TEST_MESSAGE("random payloads that happened to decode: " << accepted);
}

BOOST_AUTO_TEST_CASE(decoding_works_after_failures) {
    // The codec reuses its archives between calls: a failure in the middle of
    // a message must not leak state into the next decode.
    const auto samples = sample_messages();
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto& m = samples[i];
        auto buf = encoded(m);
        if (buf.size() > frame_header_size + 1) {
            message junk;
            // cut in the middle, then a valid decode of another message
            BOOST_TEST((decode_message(buf.data() + frame_header_size, (buf.size() - frame_header_size) / 2,
                                       junk, {}) == errc::bad_message));
        }
        round_trip(samples[(i + 1) % samples.size()]);
        round_trip(m);
    }
}

// ---- install_snapshot and install_snapshot_response ---------------------------

BOOST_AUTO_TEST_CASE(install_snapshot_round_trips) {
    // The members list, each field at its extremes, and a chunk of every byte value.
    std::string every_byte;
    for (int c = 0; c < 256; ++c)
        every_byte.push_back(char(c));
    const auto meta = snapshot(std::numeric_limits<index_t>::max(), std::numeric_limits<term_t>::max(),
                               {1, 2, 3, 4, 5, std::numeric_limits<node_id>::max()}, 1000,
                               std::numeric_limits<std::uint32_t>::max());
    const auto out = round_trip(chunk(9, meta, 744, every_byte));
    const auto& got = std::get<install_snapshot>(out);
    BOOST_TEST(got.done);
    BOOST_TEST((got.meta.members == meta.members));

    // Only the snapshot's own bounds limit an offset: the last byte of the
    // largest snapshot the wire can describe.
    const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
    round_trip(chunk(1, snapshot(5, 1, {1}, top), top - 1, "z"));
    round_trip(chunk(1, snapshot(5, 1, {1}, top), 0, "z"));

    // A chunk has its own bound, not the one of entry payloads.
    decode_limits l;
    l.max_payload_bytes = 10;
    round_trip(chunk(1, snapshot(5, 1, {1}, 4096), 0, std::string(4096, 'c')), l);

    round_trip(install_snapshot_response{std::numeric_limits<term_t>::max(),
                                         std::numeric_limits<index_t>::max(),
                                         std::numeric_limits<std::uint64_t>::max(), true});
}

BOOST_AUTO_TEST_CASE(install_snapshot_members_over_max_members) {
    const auto buf = encoded(chunk(1, snapshot(10, 1, {1, 2, 3, 4, 5}, 3), 0, "abc"));
    decode_limits l;
    l.max_members = 5;
    BOOST_TEST(!decode_frame(buf, l));
    l.max_members = 4;
    BOOST_TEST((decode_frame(buf, l) == errc::bad_message));
    l.max_members = 0;
    BOOST_TEST((decode_frame(buf, l) == errc::bad_message));

    // The default bound.
    std::vector<node_id> many(decode_limits{}.max_members);
    for (std::size_t i = 0; i < many.size(); ++i)
        many[i] = i + 1;
    BOOST_TEST(!decode_frame(encoded(chunk(1, snapshot(10, 1, many, 0), 0, ""))));
    many.push_back(many.size() + 1);
    BOOST_TEST((decode_frame(encoded(chunk(1, snapshot(10, 1, many, 0), 0, ""))) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(install_snapshot_member_count_beyond_the_frame) {
    // A member count of 2^61 with no limit configured: refused because the
    // frame cannot hold that many, before anything is allocated.
    auto buf = encoded(chunk(1, snapshot(10, 1, {1, 2}, 0), 0, ""));
    std::vector<char> payload(buf.begin() + frame_header_size, buf.end());
    const std::uint64_t forged = std::uint64_t(1) << 61;
    std::memcpy(payload.data() + members_at - 8, &forged, sizeof forged);
    decode_limits unlimited;
    unlimited.max_members = std::numeric_limits<std::size_t>::max();
    message out;
    boost::system::error_code ec;
    const std::size_t largest = largest_allocation_decoding(payload.data(), payload.size(), out, unlimited, ec);
    BOOST_TEST((ec == errc::bad_message));
    BOOST_TEST(largest < std::size_t(1) << 20);
}

BOOST_AUTO_TEST_CASE(install_snapshot_chunk_over_max_snapshot_chunk_bytes) {
    const auto buf = encoded(chunk(1, snapshot(10, 1, {1}, 100000), 1000, std::string(5000, 'x')));
    decode_limits l;
    l.max_snapshot_chunk_bytes = 5000;
    BOOST_TEST(!decode_frame(buf, l));
    l.max_snapshot_chunk_bytes = 4999;
    BOOST_TEST((decode_frame(buf, l) == errc::bad_message));

    // The default bound.
    const std::size_t max = decode_limits{}.max_snapshot_chunk_bytes;
    const auto meta = snapshot(10, 1, {1}, std::uint64_t(max) * 4);
    BOOST_TEST(!decode_frame(encoded(chunk(1, meta, 0, std::string(max, 'y')))));
    BOOST_TEST((decode_frame(encoded(chunk(1, meta, 0, std::string(max + 1, 'y')))) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(install_snapshot_chunk_length_beyond_the_frame) {
    // A chunk length of 2^62 with no limit configured and 16 bytes after it.
    const auto meta = snapshot(10, 1, {1}, std::numeric_limits<std::uint64_t>::max());
    auto buf = encoded(chunk(1, meta, 0, std::string(16, 'q')));
    std::vector<char> payload(buf.begin() + frame_header_size, buf.end());
    const std::size_t length_at = members_at + member_record_bytes() + after_members; // one member, size, crc, offset
    std::uint64_t original = 0;
    std::memcpy(&original, payload.data() + length_at, sizeof original);
    BOOST_TEST_REQUIRE(original == 16u); // the offset is right
    const std::uint64_t forged = std::uint64_t(1) << 62;
    std::memcpy(payload.data() + length_at, &forged, sizeof forged);
    decode_limits unlimited;
    unlimited.max_snapshot_chunk_bytes = std::numeric_limits<std::size_t>::max();
    message out;
    boost::system::error_code ec;
    const std::size_t largest = largest_allocation_decoding(payload.data(), payload.size(), out, unlimited, ec);
    BOOST_TEST((ec == errc::bad_message));
    BOOST_TEST(largest < std::size_t(1) << 20);
}

BOOST_AUTO_TEST_CASE(install_snapshot_chunk_beyond_the_snapshot) {
    // The encoder sends what it is given: a buggy or hostile leader can
    // produce these, and the receiver must refuse them.
    const auto meta = snapshot(120, 2, {1, 2, 3}, 9000);
    const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
    struct bad_case {
        const char* what;
        install_snapshot m;
    };
    const bad_case cases[] = {
        {"one byte past the end", install_snapshot{3, meta, 8192, make_bytes(std::string(809, 'x')), true}},
        {"starts past the end", install_snapshot{3, meta, 9001, make_bytes(""), false}},
        {"empty, past the end", install_snapshot{3, meta, 9001, make_bytes(""), true}},
        {"larger than the snapshot", install_snapshot{3, meta, 0, make_bytes(std::string(9001, 'x')), true}},
        {"data in an empty snapshot", install_snapshot{3, snapshot(1, 1, {1}, 0), 0, make_bytes("x"), true}},
        // offset + size wraps around to exactly meta.size
        {"offset + size overflows",
         install_snapshot{3, snapshot(1, 1, {1}, 4), top - 1, make_bytes(std::string(6, 'x')), true}},
        {"offset at 2^64 - 1", install_snapshot{3, snapshot(1, 1, {1}, top), top, make_bytes("x"), true}},
    };
    for (const auto& c : cases) {
        message out;
        const char* why = nullptr;
        const auto buf = encoded(c.m);
        BOOST_TEST_CONTEXT(c.what) {
            BOOST_TEST((decode_message(buf.data() + frame_header_size, buf.size() - frame_header_size, out, {},
                                       &why) == errc::bad_message));
            BOOST_TEST(why != nullptr);
        }
    }
}

BOOST_AUTO_TEST_CASE(install_snapshot_done_must_match_the_end) {
    const auto meta = snapshot(120, 2, {1, 2, 3}, 9000);
    struct done_case {
        const char* what;
        std::uint64_t offset;
        std::size_t size;
    };
    const done_case cases[] = {
        {"first chunk", 0, 4096},
        {"middle chunk", 4096, 4096},
        {"empty chunk in the middle", 4096, 0},
        {"last chunk", 8192, 808},
        {"empty chunk at the end", 9000, 0},
        {"whole snapshot in one chunk", 0, 9000},
    };
    for (const auto& c : cases) {
        const bool ends = c.offset + c.size == meta.size;
        BOOST_TEST_CONTEXT(c.what) {
            auto right = install_snapshot{3, meta, c.offset, make_bytes(std::string(c.size, 'd')), ends};
            BOOST_TEST(!decode_frame(encoded(right)));
            auto wrong = right;
            wrong.done = !ends;
            BOOST_TEST((decode_frame(encoded(wrong)) == errc::bad_message));
        }
    }
    // An empty snapshot is done with its first (empty) chunk.
    BOOST_TEST((decode_frame(encoded(install_snapshot{1, snapshot(0, 0, {}, 0), 0, make_bytes(""), false})) ==
                errc::bad_message));
}

BOOST_AUTO_TEST_CASE(install_snapshot_out_of_range_bools) {
    auto buf = encoded(chunk(1, snapshot(5, 1, {1}, 3), 0, "abc"));
    BOOST_TEST(!decode_frame(buf));
    buf.back() = 2; // done
    BOOST_TEST((decode_frame(buf) == errc::bad_message));

    buf = encoded(install_snapshot_response{1, 5, 3, true});
    BOOST_TEST(!decode_frame(buf));
    buf.back() = char(0x81); // installed
    BOOST_TEST((decode_frame(buf) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(install_snapshot_trailing_bytes) {
    for (const message& m : {message(chunk(1, snapshot(5, 1, {1, 2}, 3), 0, "abc")),
                             message(install_snapshot_response{1, 5, 3, true})}) {
        auto buf = encoded(m);
        buf.push_back('\0');
        BOOST_TEST_CONTEXT(message_name(m)) { BOOST_TEST((decode_frame(buf) == errc::bad_message)); }
    }
}

BOOST_AUTO_TEST_CASE(install_snapshot_truncated_at_every_offset) {
    // Frames with every part: members (voters only; learners with addresses
    // and info), a chunk in the middle of its snapshot.
    const snapshot_meta metas[] = {
        snapshot(120, 2, {1, 2, 3, 4, 5}, 9000, 0x12345678),
        snapshot_meta{120, 2,
                      membership(std::vector<member>{{1, true, "10.0.0.1:7000", "kv-1"},
                                                     {2, false, "", std::string(300, '\xee')},
                                                     {6, false, "h6:7000", ""}}),
                      9000, 0x12345678},
    };
    for (const auto& meta : metas) {
        const auto buf = encoded(chunk(3, meta, 4096, std::string(2000, 'm')));
        const std::size_t n = buf.size() - frame_header_size;

        // What any decode allocates whatever its input (the archive the codec
        // makes again after a failure), measured right after a failure.
        message out;
        boost::system::error_code ec;
        largest_allocation_decoding(buf.data() + frame_header_size, 1, out, {}, ec);
        BOOST_REQUIRE((ec == errc::bad_message));
        const std::size_t baseline = largest_allocation_decoding(nullptr, 0, out, {}, ec);
        BOOST_REQUIRE((ec == errc::bad_message));

        for (std::size_t cut = 0; cut < n; ++cut) {
            // a private copy of exactly `cut` bytes, so that reading past it is caught by ASan
            std::vector<char> part(buf.begin() + frame_header_size, buf.begin() + frame_header_size + cut);
            const std::size_t largest = largest_allocation_decoding(part.data(), part.size(), out, {}, ec);
            // The member records are allocated only for as many as the bytes
            // left after the count could hold (25 bytes each at least).
            const std::size_t left = cut > members_at ? cut - members_at : 0;
            const std::size_t records =
                sizeof(member) * std::min<std::size_t>(meta.members.size(), left / member_record_bytes());
            BOOST_TEST_CONTEXT(meta.members.size() << " members, cut at " << cut) {
                BOOST_TEST((ec == errc::bad_message));
                // The chunk's string, and each address and info, holds at most
                // the bytes left, and its terminator.
                BOOST_TEST(largest <= std::max({baseline, cut + 1, records}));
            }
        }
        // The whole frame still decodes after all those failures, and the probe
        // does see the chunk being allocated.
        BOOST_TEST(largest_allocation_decoding(buf.data() + frame_header_size, n, out, {}, ec) >= 2000u);
        BOOST_TEST(!ec);
        BOOST_TEST((std::get<install_snapshot>(out).meta == meta));
        BOOST_TEST_MESSAGE("largest allocation: " << baseline << " bytes for any decode");
    }

    message out;
    const auto resp = encoded(install_snapshot_response{3, 120, 4396, false});
    for (std::size_t cut = 0; cut < resp.size() - frame_header_size; ++cut) {
        std::vector<char> part(resp.begin() + frame_header_size, resp.begin() + frame_header_size + cut);
        BOOST_TEST_CONTEXT("response cut at " << cut) {
            BOOST_TEST((decode_message(part.data(), part.size(), out, {}) == errc::bad_message));
        }
    }
}

// ---- member records in install_snapshot ---------------------------------------

namespace {

std::string every_byte_value() {
    std::string s;
    for (int c = 0; c < 256; ++c)
        s.push_back(char(c));
    return s;
}

/// The payload (after the frame header) of an install_snapshot of `members`.
std::vector<char> snapshot_payload(const membership& members) {
    const auto buf = encoded(chunk(2, snapshot_meta{40, 3, members, 10, 5}, 0, "0123456789"));
    return std::vector<char>(buf.begin() + frame_header_size, buf.end());
}

boost::system::error_code decode_payload(const std::vector<char>& payload, const char** why = nullptr,
                                         const decode_limits& limits = {}) {
    message out;
    return decode_message(payload.data(), payload.size(), out, limits, why);
}

std::uint64_t get_u64_at(const std::vector<char>& v, std::size_t at) {
    std::uint64_t x = 0;
    std::memcpy(&x, v.data() + at, sizeof x); // the archive's (host) byte order
    return x;
}

void set_u64_at(std::vector<char>& v, std::size_t at, std::uint64_t x) {
    std::memcpy(v.data() + at, &x, sizeof x);
}

} // namespace

BOOST_AUTO_TEST_CASE(member_records_round_trip) {
    const std::string all = every_byte_value();
    const membership members(std::vector<member>{
        {1, true, "", ""},                                          // an empty address and info
        {2, false, "learner.example:7000", "learner info"},         // a learner
        {3, true, all, all},                                        // every byte value in both
        {9, false, std::string(4096, '\xff'), std::string(4096, '\0')}, // both at the 4096-byte limit
        {std::numeric_limits<node_id>::max(), true, "top", ""},
    });
    const auto meta = snapshot_meta{40, 3, members, 10, 5};
    const auto out = round_trip(chunk(2, meta, 0, "0123456789"));
    const auto& got = std::get<install_snapshot>(out).meta.members;
    BOOST_TEST((got == members));
    BOOST_REQUIRE_EQUAL(got.size(), 5u);
    BOOST_TEST(got.members()[0].address.empty());
    BOOST_TEST(got.members()[0].voter);
    BOOST_TEST(!got.members()[1].voter);
    BOOST_TEST(!got.is_voter(2));
    BOOST_TEST(got.members()[2].address == all);
    BOOST_TEST(got.members()[2].info == all);
    BOOST_TEST(got.voter_count() == 3u);

    // The records' layout: count, then id, voter byte, address and info as
    // length + bytes, by ascending id.
    const auto payload = snapshot_payload(members);
    BOOST_TEST(get_u64_at(payload, members_at - 8) == 5u);
    std::size_t at = members_at;
    for (const member& m : members.members()) {
        BOOST_TEST_CONTEXT("member " << m.id) {
            BOOST_REQUIRE_LE(at + member_record_bytes(m.address.size(), m.info.size()), payload.size());
            BOOST_TEST(get_u64_at(payload, at) == m.id);
            BOOST_TEST(int(payload[at + 8]) == (m.voter ? 1 : 0));
            BOOST_TEST(get_u64_at(payload, at + 9) == m.address.size());
            BOOST_TEST(std::string(payload.data() + at + 17, m.address.size()) == m.address);
            const std::size_t info_at = at + 17 + m.address.size();
            BOOST_TEST(get_u64_at(payload, info_at) == m.info.size());
            BOOST_TEST(std::string(payload.data() + info_at + 8, m.info.size()) == m.info);
            at += member_record_bytes(m.address.size(), m.info.size());
        }
    }
    BOOST_TEST(get_u64_at(payload, at) == 10u); // meta.size right after the last record
    BOOST_TEST(payload.size() == at + after_members + 8 + 10 + 1); // chunk length, chunk, done

    // Learners only, and no members at all.
    round_trip(chunk(2, snapshot_meta{40, 3, membership(std::vector<member>{{4, false, "a", "b"}}), 1, 0}, 0, "x"));
    round_trip(chunk(2, snapshot_meta{40, 3, membership{}, 1, 0}, 0, "x"));
}

BOOST_AUTO_TEST_CASE(member_voter_flag_out_of_range) {
    const auto members = membership(std::vector<member>{{1, true, "a", ""}, {2, false, "", "i"}});
    const auto good = snapshot_payload(members);
    BOOST_TEST_REQUIRE(!decode_payload(good));
    const std::size_t flags[] = {members_at + 8, members_at + member_record_bytes(1, 0) + 8};
    BOOST_TEST_REQUIRE(int(good[flags[0]]) == 1);
    BOOST_TEST_REQUIRE(int(good[flags[1]]) == 0);
    for (std::size_t at : flags) {
        for (int v : {0, 1, 2, 0x80, 0xff}) {
            auto bad = good;
            bad[at] = char(v);
            const char* why = nullptr;
            BOOST_TEST_CONTEXT("flag at " << at << " = " << v) {
                if (v <= 1) {
                    BOOST_TEST(!decode_payload(bad));
                } else {
                    BOOST_TEST((decode_payload(bad, &why) == errc::bad_message));
                    BOOST_TEST(why != nullptr);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(member_address_and_info_over_4096_bytes) {
    const std::string limit(4096, 'a'), over(4097, 'a');
    BOOST_TEST(!decode_payload(snapshot_payload(membership(std::vector<member>{{1, true, limit, limit}}))));
    const membership cases[] = {
        membership(std::vector<member>{{1, true, over, ""}}),
        membership(std::vector<member>{{1, true, "", over}}),
        membership(std::vector<member>{{1, true, "", ""}, {2, false, limit, over}}),
    };
    for (const auto& m : cases) {
        const char* why = nullptr;
        BOOST_TEST((decode_payload(snapshot_payload(m), &why) == errc::bad_message));
        BOOST_TEST((why && std::string(why).find("over 4096 bytes") != std::string::npos), (why ? why : "?"));
    }
    // A forged address length of 2^62, before anything is allocated for it.
    auto payload = snapshot_payload(membership(std::vector<member>{{1, true, "abc", ""}}));
    BOOST_TEST_REQUIRE(get_u64_at(payload, members_at + 9) == 3u);
    for (std::uint64_t len : {std::uint64_t(4097), std::uint64_t(1) << 62, ~std::uint64_t(0)}) {
        set_u64_at(payload, members_at + 9, len);
        message out;
        boost::system::error_code ec;
        const std::size_t largest = largest_allocation_decoding(payload.data(), payload.size(), out, {}, ec);
        BOOST_TEST_CONTEXT("address length " << len) {
            BOOST_TEST((ec == errc::bad_message));
            BOOST_TEST(largest < std::size_t(1) << 20);
        }
    }
}

BOOST_AUTO_TEST_CASE(member_ids_zero_duplicate_or_out_of_order) {
    const auto good = snapshot_payload(membership{3, 5, 8});
    BOOST_TEST_REQUIRE(!decode_payload(good));
    const std::size_t id_at[] = {members_at, members_at + member_record_bytes(), members_at + 2 * member_record_bytes()};
    BOOST_TEST_REQUIRE(get_u64_at(good, id_at[0]) == 3u);
    BOOST_TEST_REQUIRE(get_u64_at(good, id_at[1]) == 5u);
    BOOST_TEST_REQUIRE(get_u64_at(good, id_at[2]) == 8u);
    struct bad_case {
        const char* what;
        std::size_t member;
        std::uint64_t id;
    };
    const bad_case cases[] = {
        {"zero first", 0, 0},
        {"zero in the middle", 1, 0},
        {"zero last", 2, 0},
        {"duplicate of the previous", 1, 3},
        {"duplicate of the last", 2, 5},
        {"descending", 1, 2},
        {"below the first", 2, 1},
    };
    for (const auto& c : cases) {
        auto bad = good;
        set_u64_at(bad, id_at[c.member], c.id);
        const char* why = nullptr;
        BOOST_TEST_CONTEXT(c.what) {
            BOOST_TEST((decode_payload(bad, &why) == errc::bad_message));
            BOOST_TEST(why != nullptr);
        }
    }
    // Strictly ascending ids with gaps are fine.
    auto ok = good;
    set_u64_at(ok, id_at[1], 4);
    set_u64_at(ok, id_at[2], std::numeric_limits<std::uint64_t>::max());
    BOOST_TEST(!decode_payload(ok));
}

BOOST_AUTO_TEST_CASE(member_count_and_records_disagree) {
    const auto good = snapshot_payload(membership{1, 2});
    // One member more than the records: the rest of the frame is misread
    // and runs out; one fewer: trailing bytes.
    for (std::uint64_t count : {0u, 1u, 3u, 4u}) {
        auto bad = good;
        set_u64_at(bad, members_at - 8, count);
        BOOST_TEST_CONTEXT("count " << count) { BOOST_TEST((decode_payload(bad) == errc::bad_message)); }
    }
    // Learners count toward max_members as voters do.
    const auto learners = snapshot_payload(membership(std::vector<member>{{1, false, "", ""}, {2, false, "", ""}}));
    decode_limits l;
    l.max_members = 2;
    BOOST_TEST(!decode_payload(learners, nullptr, l));
    l.max_members = 1;
    BOOST_TEST((decode_payload(learners, nullptr, l) == errc::bad_message));
}

BOOST_AUTO_TEST_CASE(log_request_with_a_configuration_entry) {
    const auto config = membership(std::vector<member>{{1, true, "10.0.0.1:7000", "kv-1"},
                                                       {2, true, "10.0.0.2:7000", ""},
                                                       {3, false, "", every_byte_value()}});
    log_request lr{7, 10, 6, 9, {}};
    lr.suffix.push_back(entry(7, 11, "app"));
    lr.suffix.push_back(entry(7, 12, encode_membership(config), entry_kind::configuration, {2, 5}));
    lr.suffix.push_back(entry(7, 13, "", entry_kind::noop));
    const auto out = round_trip(lr);
    const auto& got = std::get<log_request>(out).suffix;
    BOOST_REQUIRE_EQUAL(got.size(), 3u);
    BOOST_TEST((got[1].kind == entry_kind::configuration));
    const auto decoded = decode_membership(got[1].data());
    BOOST_REQUIRE(decoded.has_value());
    BOOST_TEST((*decoded == config));
    // Truncated anywhere, refused.
    const auto buf = encoded(lr);
    for (std::size_t cut = 0; cut < buf.size() - frame_header_size; ++cut) {
        std::vector<char> part(buf.begin() + frame_header_size, buf.begin() + frame_header_size + cut);
        message m;
        BOOST_TEST_CONTEXT("cut at " << cut) {
            BOOST_TEST((decode_message(part.data(), part.size(), m, {}) == errc::bad_message));
        }
    }
}
