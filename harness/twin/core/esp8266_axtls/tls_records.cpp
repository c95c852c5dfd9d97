#include "tls_records.h"

namespace twin {

void RecordSplitter::reset() {
    hdr_have_ = 0;
    body_need_ = 0;
    body_.clear();
}

void RecordSplitter::feed(uint8_t* data, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (hdr_have_ < 5) {
            hdr_ptr_[hdr_have_] = &data[i];
            hdr_[hdr_have_++] = data[i++];
            if (hdr_have_ == 5) {
                uint16_t version = (uint16_t)(hdr_[1] << 8 | hdr_[2]);
                if (fix_) {
                    uint16_t fixed = fix_(hdr_[0], version);
                    if (fixed != version) {
                        // Only bytes still in this chunk can be changed: the
                        // engine hands whole records, so they all are.
                        if (hdr_ptr_[1] >= data && hdr_ptr_[1] < data + len)
                            *hdr_ptr_[1] = (uint8_t)(fixed >> 8);
                        if (hdr_ptr_[2] >= data && hdr_ptr_[2] < data + len)
                            *hdr_ptr_[2] = (uint8_t)fixed;
                        hdr_[1] = (uint8_t)(fixed >> 8);
                        hdr_[2] = (uint8_t)fixed;
                    }
                }
                body_need_ = (size_t)(hdr_[3] << 8 | hdr_[4]);
                body_.clear();
                if (body_need_ == 0) {
                    on_record_(hdr_[0], (uint16_t)(hdr_[1] << 8 | hdr_[2]), nullptr, 0);
                    hdr_have_ = 0;
                }
            }
            continue;
        }
        size_t take = len - i < body_need_ - body_.size() ? len - i : body_need_ - body_.size();
        body_.insert(body_.end(), data + i, data + i + take);
        i += take;
        if (body_.size() == body_need_) {
            on_record_(hdr_[0], (uint16_t)(hdr_[1] << 8 | hdr_[2]), body_.data(), body_.size());
            hdr_have_ = 0;
            body_.clear();
        }
    }
}

void HandshakeSplitter::feed(const uint8_t* data, size_t len) {
    buf_.insert(buf_.end(), data, data + len);
    size_t off = 0;
    while (buf_.size() - off >= 4) {
        size_t mlen = (size_t)buf_[off + 1] << 16 | (size_t)buf_[off + 2] << 8 | buf_[off + 3];
        if (buf_.size() - off - 4 < mlen) break;
        on_message_(buf_[off], buf_.data() + off + 4, mlen);
        off += 4 + mlen;
    }
    buf_.erase(buf_.begin(), buf_.begin() + (long)off);
}

}  // namespace twin
