#include "IPAddress.h"

#include <arpa/inet.h>
#include <cstdio>

#include "Print.h"

bool IPAddress::fromString(const char* s) {
    struct in_addr a;
    if (s == nullptr || inet_pton(AF_INET, s, &a) != 1) return false;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(&a.s_addr);
    for (int i = 0; i < 4; ++i) b_[i] = p[i];
    return true;
}

String IPAddress::toString() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b_[0], b_[1], b_[2], b_[3]);
    return String(buf);
}

size_t IPAddress::printTo(Print& p) const { return p.print(toString()); }
