#include "der.h"

namespace der {

bool Reader::peek_tag(uint8_t* tag) const {
    if (p_ >= end_) return false;
    *tag = *p_;
    return true;
}

bool Reader::next(Tlv* out, int want) {
    const uint8_t* p = p_;
    if (p >= end_) return false;
    uint8_t tag = *p++;
    if (want >= 0 && tag != (uint8_t)want) return false;
    if (p >= end_) return false;
    size_t len = *p++;
    if (len & 0x80) {
        size_t nbytes = len & 0x7f;
        if (nbytes == 0 || nbytes > 4 || (size_t)(end_ - p) < nbytes) return false;
        len = 0;
        for (size_t i = 0; i < nbytes; ++i) len = (len << 8) | *p++;
    }
    if ((size_t)(end_ - p) < len) return false;
    out->tag = tag;
    out->hdr = p_;
    out->data = p;
    out->len = len;
    p_ = p + len;
    return true;
}

}  // namespace der
