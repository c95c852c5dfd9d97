// Arduino Print: the text formatting every output (Serial, TLS client) shares.
#pragma once

#include <cstddef>
#include <cstdint>

#include "Printable.h"
#include "WString.h"

#define DEC 10
#define HEX 16
#define OCT 8
#define BIN 2

class Print {
public:
    virtual ~Print() = default;
    virtual size_t write(uint8_t c) = 0;
    virtual size_t write(const uint8_t* buf, size_t len);
    size_t write(const char* s);
    size_t write(const char* buf, size_t len) { return write((const uint8_t*)buf, len); }

    size_t printf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

    size_t print(const String& s) { return write(s.c_str(), s.length()); }
    size_t print(const char* s) { return write(s); }
    size_t print(char c) { return write((uint8_t)c); }
    size_t print(unsigned char v, int base = DEC) { return print((unsigned long)v, base); }
    size_t print(int v, int base = DEC) { return print((long)v, base); }
    size_t print(unsigned v, int base = DEC) { return print((unsigned long)v, base); }
    size_t print(long v, int base = DEC);
    size_t print(unsigned long v, int base = DEC);
    size_t print(double v, int digits = 2);
    size_t print(const Printable& p) { return p.printTo(*this); }

    size_t println();
    template <typename T>
    size_t println(const T& v) { size_t n = print(v); return n + println(); }
    template <typename T>
    size_t println(const T& v, int fmt) { size_t n = print(v, fmt); return n + println(); }

    virtual void flush() {}
};
