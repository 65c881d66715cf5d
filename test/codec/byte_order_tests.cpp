// Tests of the explicit-endian integer helpers (detail/byte_order.hpp) that
// the wire frame header (big-endian) and the storage format (little-endian)
// are written with.
#include <boost/test/unit_test.hpp>

#include <raftlite/detail/byte_order.hpp>

#include <array>
#include <cstdint>

using namespace raftlite::detail;

BOOST_AUTO_TEST_SUITE(byte_order)

BOOST_AUTO_TEST_CASE(big_endian_puts_the_most_significant_byte_first) {
    std::array<unsigned char, 8> b{};
    put_u16_be(b.data(), 0x0102);
    BOOST_TEST((b[0] == 0x01 && b[1] == 0x02));
    put_u32_be(b.data(), 0x01020304u);
    BOOST_TEST((b == std::array<unsigned char, 8>{1, 2, 3, 4, 0, 0, 0, 0}));
    put_u64_be(b.data(), 0x0102030405060708ull);
    BOOST_TEST((b == std::array<unsigned char, 8>{1, 2, 3, 4, 5, 6, 7, 8}));
    BOOST_TEST(get_u16_be(b.data()) == 0x0102u);
    BOOST_TEST(get_u32_be(b.data()) == 0x01020304u);
    BOOST_TEST(get_u64_be(b.data()) == 0x0102030405060708ull);
}

BOOST_AUTO_TEST_CASE(little_endian_puts_the_least_significant_byte_first) {
    std::array<unsigned char, 8> b{};
    put_u16_le(b.data(), 0x0102);
    BOOST_TEST((b[0] == 0x02 && b[1] == 0x01));
    put_u32_le(b.data(), 0x01020304u);
    BOOST_TEST((b == std::array<unsigned char, 8>{4, 3, 2, 1, 0, 0, 0, 0}));
    put_u64_le(b.data(), 0x0102030405060708ull);
    BOOST_TEST((b == std::array<unsigned char, 8>{8, 7, 6, 5, 4, 3, 2, 1}));
    BOOST_TEST(get_u16_le(b.data()) == 0x0708u);
    BOOST_TEST(get_u32_le(b.data()) == 0x05060708u);
    BOOST_TEST(get_u64_le(b.data()) == 0x0102030405060708ull);
}

BOOST_AUTO_TEST_CASE(high_bytes_survive_a_signed_char_buffer) {
    char b[8];
    put_u64_le(b, 0xFFEEDDCCBBAA9988ull);
    BOOST_TEST(get_u64_le(b) == 0xFFEEDDCCBBAA9988ull);
    put_u32_be(b, 0x80FF7F01u);
    BOOST_TEST(get_u32_be(b) == 0x80FF7F01u);
}

BOOST_AUTO_TEST_CASE(reader_reads_in_order_and_fails_past_the_end) {
    const unsigned char b[] = {0x07, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0xAA};
    byte_reader r(b, sizeof b);
    BOOST_TEST(r.u8() == 7u);
    BOOST_TEST(r.u16_be() == 1u);
    BOOST_TEST(r.u32_le() == 2u);
    BOOST_TEST(r.ok());
    BOOST_TEST(r.remaining() == 1u);
    BOOST_TEST(r.u16_le() == 0u); // one byte left: the read fails, reads nothing
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.remaining() == 0u);
    BOOST_TEST(r.u8() == 0u);     // and stays failed
    BOOST_TEST(!r.ok());
}

BOOST_AUTO_TEST_CASE(reader_skip_is_bounds_checked) {
    const unsigned char b[] = {1, 2, 3, 4};
    byte_reader r(b, sizeof b);
    BOOST_TEST(r.skip(3));
    BOOST_TEST(*r.position() == 4);
    BOOST_TEST(!r.skip(2));
    BOOST_TEST(!r.ok());
    byte_reader empty(nullptr, 0);
    BOOST_TEST(empty.u64_be() == 0u);
    BOOST_TEST(!empty.ok());
}

BOOST_AUTO_TEST_SUITE_END()
