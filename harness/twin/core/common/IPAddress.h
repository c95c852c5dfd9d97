// Arduino IPAddress (IPv4 only, as lwIP 2 in core 2.4.1 is used by sketches).
#pragma once

#include <cstdint>

#include "Printable.h"
#include "WString.h"

class IPAddress : public Printable {
public:
    IPAddress() = default;
    IPAddress(uint8_t a, uint8_t b, uint8_t c, uint8_t d) : b_{a, b, c, d} {}
    explicit IPAddress(uint32_t network_order) {
        for (int i = 0; i < 4; ++i) b_[i] = (uint8_t)(network_order >> (8 * i));
    }
    bool fromString(const char* s);
    String toString() const;
    uint8_t operator[](int i) const { return b_[i & 3]; }
    uint8_t& operator[](int i) { return b_[i & 3]; }
    bool operator==(const IPAddress& o) const {
        return b_[0] == o.b_[0] && b_[1] == o.b_[1] && b_[2] == o.b_[2] && b_[3] == o.b_[3];
    }
    bool isSet() const { return b_[0] || b_[1] || b_[2] || b_[3]; }
    operator uint32_t() const {
        return (uint32_t)b_[0] | (uint32_t)b_[1] << 8 | (uint32_t)b_[2] << 16 | (uint32_t)b_[3] << 24;
    }
    size_t printTo(Print& p) const override;

private:
    uint8_t b_[4] = {0, 0, 0, 0};
};
