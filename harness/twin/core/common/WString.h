// A minimal Arduino String: what sketches of this project use, nothing more.
#pragma once

#include <cstddef>
#include <string>

class String {
public:
    String() = default;
    String(const char* s) : s_(s ? s : "") {}
    String(const std::string& s) : s_(s) {}
    String(char c) : s_(1, c) {}
    explicit String(int v, unsigned base = 10);
    explicit String(unsigned v, unsigned base = 10);
    explicit String(long v, unsigned base = 10);
    explicit String(unsigned long v, unsigned base = 10);

    const char* c_str() const { return s_.c_str(); }
    unsigned length() const { return (unsigned)s_.size(); }
    char operator[](unsigned i) const { return i < s_.size() ? s_[i] : '\0'; }
    char charAt(unsigned i) const { return (*this)[i]; }

    String& operator+=(const String& o) { s_ += o.s_; return *this; }
    String& operator+=(const char* o) { s_ += (o ? o : ""); return *this; }
    String& operator+=(char c) { s_ += c; return *this; }
    bool concat(char c) { s_ += c; return true; }
    bool concat(const String& o) { s_ += o.s_; return true; }

    bool operator==(const String& o) const { return s_ == o.s_; }
    bool operator==(const char* o) const { return s_ == (o ? o : ""); }
    bool operator!=(const String& o) const { return !(*this == o); }
    bool equals(const String& o) const { return *this == o; }

    int indexOf(char c, unsigned from = 0) const;
    int indexOf(const String& s, unsigned from = 0) const;
    String substring(unsigned from) const;
    String substring(unsigned from, unsigned to) const;
    bool startsWith(const String& p) const { return s_.compare(0, p.s_.size(), p.s_) == 0; }
    bool endsWith(const String& p) const;
    void toLowerCase();
    void toUpperCase();
    void trim();
    long toInt() const;

    const std::string& str() const { return s_; }

private:
    std::string s_;
};

String operator+(const String& a, const String& b);
String operator+(const String& a, const char* b);
String operator+(const char* a, const String& b);
