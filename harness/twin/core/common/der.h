// A bounds-checked DER reader: tag, length, contents. Nothing X.509-specific.
#pragma once

#include <cstddef>
#include <cstdint>

namespace der {

struct Tlv {
    uint8_t tag = 0;
    const uint8_t* hdr = nullptr;   // start of the tag byte
    const uint8_t* data = nullptr;  // start of the contents
    size_t len = 0;                 // contents length
    size_t total() const { return (size_t)(data - hdr) + len; }
    const uint8_t* end() const { return data + len; }
};

class Reader {
public:
    Reader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
    explicit Reader(const Tlv& t) : p_(t.data), end_(t.data + t.len) {}
    bool done() const { return p_ >= end_; }
    bool peek_tag(uint8_t* tag) const;
    // Read the next TLV; when `want` >= 0 it must have that tag.
    bool next(Tlv* out, int want = -1);
    bool skip(int want = -1) { Tlv t; return next(&t, want); }
    const uint8_t* pos() const { return p_; }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

enum : uint8_t {
    BOOLEAN = 0x01,
    INTEGER = 0x02,
    BIT_STRING = 0x03,
    OCTET_STRING = 0x04,
    NUL = 0x05,
    OID = 0x06,
    UTF8_STRING = 0x0c,
    PRINTABLE_STRING = 0x13,
    TELETEX_STRING = 0x14,
    IA5_STRING = 0x16,
    UTC_TIME = 0x17,
    GENERALIZED_TIME = 0x18,
    BMP_STRING = 0x1e,
    SEQUENCE = 0x30,
    SET = 0x31,
    EXPLICIT0 = 0xa0,
    EXPLICIT3 = 0xa3,
};

}  // namespace der
