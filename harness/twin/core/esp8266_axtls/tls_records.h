// Splits one direction of a TLS byte stream into records, as they go by.
//
// The twin watches its own connection at the record layer, where axTLS
// prints its states and alerts: the BearSSL engine does the crypto, this
// sees what crossed the wire (and may fix a record header on the way out).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace twin {

enum RecordType : uint8_t { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23 };

class RecordSplitter {
public:
    // Called for each complete record: type, version (e.g. 0x0303), body.
    using OnRecord = std::function<void(uint8_t type, uint16_t version, const uint8_t* body,
                                        size_t len)>;
    // Called before a header is passed on; may rewrite the version bytes.
    using FixVersion = std::function<uint16_t(uint8_t type, uint16_t version)>;

    explicit RecordSplitter(OnRecord on_record, FixVersion fix = nullptr)
        : on_record_(std::move(on_record)), fix_(std::move(fix)) {}

    // Feed bytes in stream order. `data` is mutable so a header can be fixed
    // in place before the bytes are sent.
    void feed(uint8_t* data, size_t len);
    void reset();

private:
    OnRecord on_record_;
    FixVersion fix_;
    uint8_t hdr_[5] = {0, 0, 0, 0, 0};
    uint8_t* hdr_ptr_[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
    size_t hdr_have_ = 0;
    size_t body_need_ = 0;
    std::vector<uint8_t> body_;
};

// Reassembles handshake messages (which may span records or share one).
class HandshakeSplitter {
public:
    using OnMessage = std::function<void(uint8_t type, const uint8_t* body, size_t len)>;
    explicit HandshakeSplitter(OnMessage on_message) : on_message_(std::move(on_message)) {}
    void feed(const uint8_t* data, size_t len);
    void reset() { buf_.clear(); }

private:
    OnMessage on_message_;
    std::vector<uint8_t> buf_;
};

}  // namespace twin
