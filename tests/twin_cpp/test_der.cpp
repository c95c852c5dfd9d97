// der.h: the bounds-checked DER reader every certificate parser of the twin uses.
#include "check.h"
#include "der.h"
#include "fuzz.h"

TEST(der_short_and_long_lengths) {
    const uint8_t short_form[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    der::Reader r(short_form, sizeof short_form);
    der::Tlv t;
    CHECK(r.next(&t, der::SEQUENCE));
    CHECK(t.len == 3 && t.total() == 5 && r.done());
    der::Reader inner(t);
    der::Tlv i;
    CHECK(inner.next(&i, der::INTEGER) && i.len == 1 && i.data[0] == 5);

    std::vector<uint8_t> long_form = {0x04, 0x82, 0x01, 0x00};
    long_form.resize(4 + 256, 0xab);
    der::Reader r2(long_form.data(), long_form.size());
    CHECK(r2.next(&t, der::OCTET_STRING) && t.len == 256 && t.data == long_form.data() + 4);
}

TEST(der_refuses_what_does_not_fit) {
    der::Tlv t;
    const uint8_t truncated[] = {0x30, 0x05, 0x02, 0x01};
    CHECK(!der::Reader(truncated, sizeof truncated).next(&t));
    const uint8_t huge[] = {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00};
    CHECK(!der::Reader(huge, sizeof huge).next(&t));
    const uint8_t too_many_length_bytes[] = {0x30, 0x85, 0, 0, 0, 0, 1, 0};
    CHECK(!der::Reader(too_many_length_bytes, sizeof too_many_length_bytes).next(&t));
    const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
    CHECK(!der::Reader(indefinite, sizeof indefinite).next(&t));
    const uint8_t tag_only[] = {0x30};
    CHECK(!der::Reader(tag_only, sizeof tag_only).next(&t));
    const uint8_t wrong_tag[] = {0x31, 0x00};
    der::Reader r(wrong_tag, sizeof wrong_tag);
    CHECK(!r.next(&t, der::SEQUENCE));
    CHECK(r.next(&t, der::SET));  // a refused `want` consumes nothing
    CHECK(!der::Reader(nullptr, 0).next(&t));
}

TEST(der_random_input_stays_in_bounds) {
    Lcg rng(1);
    for (int round = 0; round < 20000; ++round) {
        auto buf = rng.bytes(1 + rng.byte() % 40);
        der::Reader r(buf.data(), buf.size());
        der::Tlv t;
        int steps = 0;
        while (r.next(&t) && steps++ < 64) {
            CHECK(t.end() <= buf.data() + buf.size());
            der::Reader in(t);
            der::Tlv u;
            while (in.next(&u)) CHECK(u.end() <= t.end());
        }
    }
}
