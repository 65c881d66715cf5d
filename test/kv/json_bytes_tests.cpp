// Byte strings in JSON answers (json_bytes.hpp): UTF-8 validation, base64
// (RFC 4648's test vectors), and the field-or-field_base64 convention.
#include <boost/test/unit_test.hpp>

#include "json_bytes.hpp"

#include <boost/json.hpp>

#include <string>

using namespace raftlite::kv;

BOOST_AUTO_TEST_SUITE(json_bytes)

BOOST_AUTO_TEST_CASE(utf8_is_validated_as_rfc_3629_says) {
    BOOST_TEST(is_utf8(""));
    BOOST_TEST(is_utf8("plain ascii"));
    BOOST_TEST(is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));   // é € 😀
    BOOST_TEST(is_utf8(std::string("a\0b", 3)));                          // NUL is U+0000
    BOOST_TEST(!is_utf8("\xff"));
    BOOST_TEST(!is_utf8("\x80"));                   // a continuation byte first
    BOOST_TEST(!is_utf8("\xc3"));                   // truncated
    BOOST_TEST(!is_utf8("\xc3("));                 // not a continuation byte
    BOOST_TEST(!is_utf8("\xc0\xaf"));               // overlong '/'
    BOOST_TEST(!is_utf8("\xe0\x80\xaf"));           // overlong, three bytes
    BOOST_TEST(!is_utf8("\xed\xa0\x80"));           // a surrogate, U+D800
    BOOST_TEST(!is_utf8("\xf4\x90\x80\x80"));       // U+110000
    BOOST_TEST(is_utf8("\xf4\x8f\xbf\xbf"));        // U+10FFFF
}

BOOST_AUTO_TEST_CASE(base64_matches_rfc_4648_and_decodes_back) {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        BOOST_TEST(base64_encode(plain) == encoded);
        BOOST_TEST((base64_decode(encoded) == std::optional<std::string>(plain)));
    }
    std::string every_byte;
    for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
    BOOST_TEST((base64_decode(base64_encode(every_byte)) == std::optional<std::string>(every_byte)));
    for (const char* bad : {"Zg=", "Zg", "Z===", "Zg=a", "Zm9v=g==", "Zm9v!A==", "===="})
        BOOST_TEST(!base64_decode(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(a_field_is_text_when_it_can_be_and_base64_otherwise) {
    boost::json::object o;
    put_bytes(o, "key", "k\xc3\xa9");
    put_bytes(o, "value", std::string("\x00\xff\x01", 3));
    BOOST_TEST(o.at("key").as_string() == "k\xc3\xa9");
    BOOST_TEST(!o.contains("value"));
    BOOST_TEST(o.at("value_base64").as_string() == "AP8B");
    // What a client reads back, after a round trip through the text.
    const boost::json::object parsed = boost::json::parse(boost::json::serialize(o)).as_object();
    BOOST_TEST((get_bytes(parsed, "key") == std::optional<std::string>("k\xc3\xa9")));
    BOOST_TEST((get_bytes(parsed, "value") == std::optional<std::string>(std::string("\x00\xff\x01", 3))));
    BOOST_TEST(!get_bytes(parsed, "other").has_value());
    BOOST_TEST(!get_bytes(boost::json::object{{"value_base64", "!!"}}, "value").has_value());
}

// The text written straight into answers parses back to the same bytes,
// quotes, backslashes and control characters included.
BOOST_AUTO_TEST_CASE(members_written_as_text_parse_back) {
    for (const std::string& bytes : {std::string("plain"), std::string("q\"uote \\ back\n\t\x01\x1f end"),
                                     std::string("\xc3\xa9t\xc3\xa9"), std::string("\x00\xff", 2), std::string()}) {
        std::string text = "{";
        append_bytes_member(text, "value", bytes);
        text += "}";
        boost::system::error_code ec;
        const auto v = boost::json::parse(text, ec);
        BOOST_TEST_REQUIRE(!ec, text);
        BOOST_TEST((get_bytes(v.as_object(), "value") == std::optional<std::string>(bytes)), text);
        BOOST_TEST(v.as_object().contains("value") == is_utf8(bytes));
    }
}

BOOST_AUTO_TEST_SUITE_END()
