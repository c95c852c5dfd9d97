#include "WString.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

static std::string to_base(unsigned long long v, bool neg, unsigned base) {
    if (base < 2 || base > 36) base = 10;
    std::string out;
    do {
        unsigned d = (unsigned)(v % base);
        out.insert(out.begin(), (char)(d < 10 ? '0' + d : 'a' + d - 10));
        v /= base;
    } while (v);
    if (neg) out.insert(out.begin(), '-');
    return out;
}

String::String(int v, unsigned base)
    : s_(base == 10 ? to_base(v < 0 ? -(long long)v : v, v < 0, 10)
                    : to_base((unsigned)v, false, base)) {}
String::String(unsigned v, unsigned base) : s_(to_base(v, false, base)) {}
String::String(long v, unsigned base)
    : s_(base == 10 ? to_base(v < 0 ? -(long long)v : v, v < 0, 10)
                    : to_base((unsigned long)v, false, base)) {}
String::String(unsigned long v, unsigned base) : s_(to_base(v, false, base)) {}
String::String(long long v, unsigned base)
    : s_(base == 10 ? to_base(v < 0 ? -(unsigned long long)v : (unsigned long long)v, v < 0, 10)
                    : to_base((unsigned long long)v, false, base)) {}
String::String(unsigned long long v, unsigned base) : s_(to_base(v, false, base)) {}

String::String(double v, unsigned char decimalPlaces) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", (int)decimalPlaces, v);
    s_ = buf;
}

void String::getBytes(unsigned char* buf, unsigned size, unsigned index) const {
    if (buf == nullptr || size == 0) return;
    size_t n = index < s_.size() ? std::min<size_t>(size - 1, s_.size() - index) : 0;
    if (n) std::memcpy(buf, s_.data() + index, n);
    buf[n] = 0;
}

bool String::equalsIgnoreCase(const String& o) const {
    if (s_.size() != o.s_.size()) return false;
    for (size_t i = 0; i < s_.size(); ++i)
        if (std::tolower((unsigned char)s_[i]) != std::tolower((unsigned char)o.s_[i])) return false;
    return true;
}

int String::lastIndexOf(char c) const {
    auto p = s_.rfind(c);
    return p == std::string::npos ? -1 : (int)p;
}

int String::lastIndexOf(const String& s) const {
    auto p = s_.rfind(s.s_);
    return p == std::string::npos ? -1 : (int)p;
}

double String::toDouble() const { return std::strtod(s_.c_str(), nullptr); }

void String::replace(char from, char to) {
    for (auto& c : s_)
        if (c == from) c = to;
}

void String::replace(const String& from, const String& to) {
    if (from.s_.empty()) return;
    size_t pos = 0;
    while ((pos = s_.find(from.s_, pos)) != std::string::npos) {
        s_.replace(pos, from.s_.size(), to.s_);
        pos += to.s_.size();
    }
}

void String::remove(unsigned index) {
    if (index < s_.size()) s_.erase(index);
}

void String::remove(unsigned index, unsigned count) {
    if (index < s_.size()) s_.erase(index, count);
}

int String::indexOf(char c, unsigned from) const {
    auto p = s_.find(c, from);
    return p == std::string::npos ? -1 : (int)p;
}

int String::indexOf(const String& s, unsigned from) const {
    auto p = s_.find(s.s_, from);
    return p == std::string::npos ? -1 : (int)p;
}

String String::substring(unsigned from) const {
    return from >= s_.size() ? String() : String(s_.substr(from));
}

String String::substring(unsigned from, unsigned to) const {
    if (from > to) std::swap(from, to);
    if (from >= s_.size()) return String();
    return String(s_.substr(from, to - from));
}

bool String::endsWith(const String& p) const {
    return s_.size() >= p.s_.size() && s_.compare(s_.size() - p.s_.size(), p.s_.size(), p.s_) == 0;
}

void String::toLowerCase() {
    for (auto& c : s_) c = (char)std::tolower((unsigned char)c);
}

void String::toUpperCase() {
    for (auto& c : s_) c = (char)std::toupper((unsigned char)c);
}

void String::trim() {
    size_t b = 0, e = s_.size();
    while (b < e && std::isspace((unsigned char)s_[b])) ++b;
    while (e > b && std::isspace((unsigned char)s_[e - 1])) --e;
    s_ = s_.substr(b, e - b);
}

long String::toInt() const { return std::strtol(s_.c_str(), nullptr, 10); }

String operator+(const String& a, const String& b) { String r(a); r += b; return r; }
String operator+(const String& a, const char* b) { String r(a); r += b; return r; }
String operator+(const char* a, const String& b) { String r(a); r += b; return r; }
String operator+(char a, const String& b) { String r(a); r += b; return r; }
