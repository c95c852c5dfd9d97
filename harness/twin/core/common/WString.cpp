#include "WString.h"

#include <cctype>
#include <cstdlib>

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
