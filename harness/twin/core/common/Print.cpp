#include "Print.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

size_t Print::write(const uint8_t* buf, size_t len) {
    size_t n = 0;
    while (len--) n += write(*buf++);
    return n;
}

size_t Print::write(const char* s) { return s ? write((const uint8_t*)s, std::strlen(s)) : 0; }

size_t Print::printf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { va_end(ap2); return 0; }
    std::vector<char> buf((size_t)n + 1);
    std::vsnprintf(buf.data(), buf.size(), fmt, ap2);
    va_end(ap2);
    return write((const uint8_t*)buf.data(), (size_t)n);
}

size_t Print::print(long v, int base) {
    if (base == DEC) return print(String(v));
    return print(String((unsigned long)v, (unsigned)base));
}

size_t Print::print(unsigned long v, int base) { return print(String(v, (unsigned)base)); }

size_t Print::print(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return print(buf);
}

size_t Print::println() { return write("\r\n"); }
