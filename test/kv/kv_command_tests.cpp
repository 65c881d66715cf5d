// Tests of the kv app's command encoding: round trips and strict decoding.
#define BOOST_TEST_MODULE kv_tests
#include <boost/test/unit_test.hpp>

#include "kv_command.hpp"

#include <string>
#include <vector>

using namespace raftlite::kv;

namespace {

std::vector<kv_command> samples() {
    std::vector<kv_command> v;
    v.push_back({kv_op::put, "k", "v", std::nullopt, 1});
    v.push_back({kv_op::put, "key", "", std::nullopt, 0});
    v.push_back({kv_op::get, "a/b c", "", std::nullopt, 42});
    v.push_back({kv_op::del, "x", "", std::nullopt, ~0ull});
    v.push_back({kv_op::cas, "c", "new", std::string("old"), 7});
    v.push_back({kv_op::cas, "c", "new", std::string(), 8});     // expected: empty value
    v.push_back({kv_op::cas, "c", "new", std::nullopt, 9});      // expected: absent
    v.push_back({kv_op::put, std::string("\0\xff", 2), std::string("\0\x01\x80", 3), std::nullopt,
                 3});
    v.push_back({kv_op::put, std::string(max_key_bytes, 'k'), std::string(100000, 'v'),
                 std::nullopt, 5});
    return v;
}

bool decode_fails(const std::string& bytes, const std::string& why) {
    std::string error;
    auto c = try_decode(bytes, error);
    BOOST_TEST_MESSAGE("error: " << error);
    bool ok = !c && error.find(why) != std::string::npos;
    if (!ok)
        BOOST_TEST_MESSAGE("expected an error containing '" << why << "', got '" << error << "'");
    return ok;
}

void set_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

} // namespace

BOOST_AUTO_TEST_SUITE(command_encoding)

BOOST_AUTO_TEST_CASE(round_trips) {
    for (auto& c : samples()) {
        auto bytes = encode(c);
        BOOST_TEST((decode(bytes) == c));
        std::string error;
        auto d = try_decode(bytes, error);
        BOOST_REQUIRE(d.has_value());
        BOOST_TEST((*d == c));
        BOOST_TEST(error.empty());
    }
}

// The delivery path decodes in place (try_decode_view): the same fields as
// try_decode, the strings pointing into the encoded bytes, not copied.
BOOST_AUTO_TEST_CASE(views_decode_in_place) {
    for (auto& c : samples()) {
        const auto bytes = encode(c);
        std::string error;
        auto v = try_decode_view(bytes, error);
        BOOST_REQUIRE(v.has_value());
        BOOST_TEST(error.empty());
        BOOST_TEST((v->op == c.op));
        BOOST_TEST(v->key == c.key);
        BOOST_TEST(v->value == c.value);
        BOOST_TEST(v->has_expected == c.expected.has_value());
        BOOST_TEST(v->expected == c.expected.value_or(std::string()));
        BOOST_TEST(v->origin_node == c.origin_node);
        BOOST_TEST(v->origin_request == c.origin_request);
        const char* begin = bytes.data();
        const char* end = bytes.data() + bytes.size();
        BOOST_TEST((v->key.data() >= begin && v->key.data() + v->key.size() <= end));
        BOOST_TEST((v->value.data() >= begin && v->value.data() + v->value.size() <= end));
        BOOST_TEST(validate(*v) == validate(c));
    }
    // The same verdicts as try_decode on bad bytes.
    auto good = encode({kv_op::put, "k", "v", std::nullopt, 1});
    for (const std::string& bad : {std::string(), good + "x", good.substr(0, good.size() - 1)}) {
        std::string e1, e2;
        BOOST_TEST(!try_decode(bad, e1).has_value());
        BOOST_TEST(!try_decode_view(bad, e2).has_value());
        BOOST_TEST(e1 == e2);
        BOOST_TEST(!e2.empty());
    }
}

BOOST_AUTO_TEST_CASE(empty_expected_differs_from_absent) {
    kv_command a{kv_op::cas, "k", "v", std::string(), 1};
    kv_command b{kv_op::cas, "k", "v", std::nullopt, 1};
    BOOST_TEST(encode(a) != encode(b));
    BOOST_TEST(decode(encode(a)).expected.has_value());
    BOOST_TEST(!decode(encode(b)).expected.has_value());
}

BOOST_AUTO_TEST_CASE(layout_is_stable) {
    // The format is replicated and stored: pin it down byte for byte.
    kv_command c{kv_op::cas, "k", "v", std::string("o"), 0x0102, 0x03, 0x04, 0x05};
    std::string expected("\x02\x03\x01"
                         "\x02\x01\x00\x00\x00\x00\x00\x00"
                         "\x03\x00\x00\x00\x00\x00\x00\x00"
                         "\x04\x00\x00\x00\x00\x00\x00\x00"
                         "\x05\x00\x00\x00\x00\x00\x00\x00"
                         "\x00\x00\x00\x00\x00\x00\x00\x00"
                         "\x01\x00\x00\x00k"
                         "\x01\x00\x00\x00v"
                         "\x01\x00\x00\x00o",
                         3 + 5 * 8 + 5 + 5 + 5);
    BOOST_TEST(encode(c) == expected);
}

// Logs and snapshots of an older raftlite-kv hold version 1 commands: they
// decode as commands without a session whose origin is no peer.
BOOST_AUTO_TEST_CASE(version_1_still_decodes) {
    const std::string v1("\x01\x03\x01"
                         "\x02\x01\x00\x00\x00\x00\x00\x00"
                         "\x01\x00\x00\x00k"
                         "\x01\x00\x00\x00v"
                         "\x01\x00\x00\x00o",
                         3 + 8 + 5 + 5 + 5);
    const kv_command c = decode(v1);
    BOOST_TEST((c.op == kv_op::cas));
    BOOST_TEST(c.key == "k");
    BOOST_TEST(c.value == "v");
    BOOST_TEST((c.expected == std::optional<std::string>("o")));
    BOOST_TEST(c.origin_node == 0u);
    BOOST_TEST(c.origin_request == 0x0102u);
    BOOST_TEST(c.client_id == 0u);
    std::string v1_session_op = v1;
    v1_session_op[1] = 4;   // open_session did not exist in version 1
    BOOST_TEST(decode_fails(v1_session_op, "unknown op 4"));
}

BOOST_AUTO_TEST_CASE(session_ops_and_clock) {
    kv_command open{kv_op::open_session};
    open.origin_node = 2;
    open.origin_request = 9;
    open.clock_ms = 1700000000000;
    kv_command close{kv_op::close_session};
    close.client_id = 17;
    kv_command clock{kv_op::clock};
    clock.clock_ms = 1700000001000;
    kv_command in_session{kv_op::del, "k"};
    in_session.client_id = 17;
    in_session.client_seq = 3;
    for (const auto& c : {open, close, clock, in_session}) {
        BOOST_TEST(validate(c).empty(), op_name(c.op) << ": " << validate(c));
        BOOST_TEST((decode(encode(c)) == c));
    }
    auto invalid = [](kv_command c, const std::string& why) {
        BOOST_TEST(validate(c).find(why) != std::string::npos, op_name(c.op) << ": '" << validate(c) << "'");
        BOOST_CHECK_THROW(encode(c), bad_command);
    };
    kv_command c = open;
    c.key = "k";
    invalid(c, "open_session takes no key");
    c = close;
    c.client_id = 0;
    invalid(c, "close_session needs the client id");
    c = clock;
    c.client_id = 1;
    invalid(c, "clock takes no client id");
    c = in_session;
    c.client_seq = 0;
    invalid(c, "a client id and a client seq go together");
    c = in_session;
    c.client_id = 0;
    invalid(c, "a client id and a client seq go together");
    c = in_session;
    c.clock_ms = 1;
    invalid(c, "delete takes no clock");
    // Decoding refuses what encoding refuses: a session op with a key.
    std::string bytes = encode(open);
    bytes[3 + 5 * 8] = 1;
    bytes.insert(3 + 5 * 8 + 4, "k");
    BOOST_TEST(decode_fails(bytes, "open_session takes no key"));
}

BOOST_AUTO_TEST_CASE(every_truncation_fails) {
    for (auto& c : samples()) {
        auto bytes = encode(c);
        if (bytes.size() > 2000)
            continue;
        for (std::size_t n = 0; n < bytes.size(); ++n)
            BOOST_TEST(decode_fails(bytes.substr(0, n), "truncated"), "prefix of " << n);
    }
}

BOOST_AUTO_TEST_CASE(bad_encodings) {
    auto good = encode({kv_op::put, "k", "v", std::nullopt, 1});
    BOOST_TEST(decode_fails("", "truncated command: version"));
    BOOST_TEST(decode_fails(good + "x", "1 unexpected bytes after the command"));

    auto b = good;
    b[0] = 3;
    BOOST_TEST(decode_fails(b, "unsupported command format version 3"));
    b = good;
    b[1] = 10;
    BOOST_TEST(decode_fails(b, "unknown op 10"));
    b = good;
    b[2] = 2;
    BOOST_TEST(decode_fails(b, "unknown flag bits 2"));
    b = good;
    b[2] = 1;   // put with an expected value
    BOOST_TEST(decode_fails(b, "put cannot carry an expected value"));

    // key length 0, and beyond the limit (no allocation of the claimed size)
    b = good;
    set_u32(b, 43, 0);
    BOOST_TEST(decode_fails(b, "empty key"));
    b = good;
    set_u32(b, 43, 0xffffffffu);
    BOOST_TEST(decode_fails(b, "key length 4294967295 exceeds the limit of 1024 bytes"));
    // value length beyond the bytes present
    b = good;
    set_u32(b, 48, 1000);
    BOOST_TEST(decode_fails(b, "truncated command: value needs 1000 bytes, 1 left"));
    b = good;
    set_u32(b, 48, 0x7fffffffu);
    BOOST_TEST(decode_fails(b, "value length 2147483647 exceeds the limit"));

    // get and delete carry no value
    auto get = encode({kv_op::get, "k", "", std::nullopt, 1});
    get[get.size() - 4] = 1;
    get += "v";
    BOOST_TEST(decode_fails(get, "get cannot carry a value"));

    BOOST_CHECK_THROW(decode("\x01"), bad_command);
}

BOOST_AUTO_TEST_CASE(invalid_commands_are_not_encoded) {
    BOOST_CHECK_THROW(encode({kv_op::put, "", "v", std::nullopt, 1}), bad_command);
    BOOST_CHECK_THROW(encode({kv_op::put, std::string(max_key_bytes + 1, 'k'), "", std::nullopt, 1}),
                      bad_command);
    BOOST_CHECK_THROW(encode({kv_op::get, "k", "v", std::nullopt, 1}), bad_command);
    BOOST_CHECK_THROW(encode({kv_op::del, "k", "", std::string("x"), 1}), bad_command);
    BOOST_CHECK_THROW(encode({kv_op::put, "k", "v", std::string("x"), 1}), bad_command);
    BOOST_TEST(validate({kv_op::put, "", "v", std::nullopt, 1}) == "empty key");
    BOOST_TEST(validate({kv_op::cas, "k", "v", std::nullopt, 1}).empty());
}

BOOST_AUTO_TEST_CASE(op_names) {
    BOOST_TEST(op_name(kv_op::put) == std::string("put"));
    BOOST_TEST(op_name(kv_op::get) == std::string("get"));
    BOOST_TEST(op_name(kv_op::del) == std::string("delete"));
    BOOST_TEST(op_name(kv_op::cas) == std::string("cas"));
    BOOST_TEST(op_name(kv_op::open_session) == std::string("open_session"));
    BOOST_TEST(op_name(kv_op::close_session) == std::string("close_session"));
    BOOST_TEST(op_name(kv_op::clock) == std::string("clock"));
}

BOOST_AUTO_TEST_SUITE_END()
