// Arduino's String as user sketches use it: the constructors (numbers in a base, floats
// with decimal places), concatenation with numbers, search, replace and conversions.
#pragma once

#include <cstddef>
#include <string>

class String {
public:
    String() = default;
    String(const char* s) : s_(s ? s : "") {}
    String(const std::string& s) : s_(s) {}
    String(char c) : s_(1, c) {}
    explicit String(unsigned char v, unsigned char base = 10) : String((unsigned)v, (unsigned)base) {}
    explicit String(int v, unsigned base = 10);
    explicit String(unsigned v, unsigned base = 10);
    explicit String(long v, unsigned base = 10);
    explicit String(unsigned long v, unsigned base = 10);
    explicit String(long long v, unsigned base = 10);
    explicit String(unsigned long long v, unsigned base = 10);
    explicit String(float v, unsigned char decimalPlaces = 2) : String((double)v, decimalPlaces) {}
    explicit String(double v, unsigned char decimalPlaces = 2);

    const char* c_str() const { return s_.c_str(); }
    unsigned length() const { return (unsigned)s_.size(); }
    bool isEmpty() const { return s_.empty(); }
    bool reserve(unsigned n) { s_.reserve(n); return true; }
    explicit operator bool() const { return true; }  // Arduino: a String is always valid
    char operator[](unsigned i) const { return i < s_.size() ? s_[i] : '\0'; }
    char& operator[](unsigned i) { static char dummy; return i < s_.size() ? s_[i] : (dummy = 0); }
    char charAt(unsigned i) const { return (*this)[i]; }
    void setCharAt(unsigned i, char c) { if (i < s_.size()) s_[i] = c; }
    void getBytes(unsigned char* buf, unsigned size, unsigned index = 0) const;
    void toCharArray(char* buf, unsigned size, unsigned index = 0) const {
        getBytes((unsigned char*)buf, size, index);
    }
    const char* begin() const { return s_.c_str(); }
    const char* end() const { return s_.c_str() + s_.size(); }

    String& operator+=(const String& o) { s_ += o.s_; return *this; }
    String& operator+=(const char* o) { s_ += (o ? o : ""); return *this; }
    String& operator+=(char c) { s_ += c; return *this; }
    bool concat(char c) { s_ += c; return true; }
    bool concat(const String& o) { s_ += o.s_; return true; }
    bool concat(const char* o) { s_ += (o ? o : ""); return true; }
    bool concat(const char* o, unsigned len) { if (o) s_.append(o, len); return true; }
    bool concat(unsigned char v) { return concat(String(v)); }
    bool concat(int v) { return concat(String(v)); }
    bool concat(unsigned v) { return concat(String(v)); }
    bool concat(long v) { return concat(String(v)); }
    bool concat(unsigned long v) { return concat(String(v)); }
    bool concat(long long v) { return concat(String(v)); }
    bool concat(unsigned long long v) { return concat(String(v)); }
    bool concat(float v) { return concat(String(v)); }
    bool concat(double v) { return concat(String(v)); }
    template <typename T>
    String& operator+=(T v) { concat(v); return *this; }

    bool operator==(const String& o) const { return s_ == o.s_; }
    bool operator==(const char* o) const { return s_ == (o ? o : ""); }
    bool operator!=(const String& o) const { return !(*this == o); }
    bool operator!=(const char* o) const { return !(*this == o); }
    bool operator<(const String& o) const { return s_ < o.s_; }
    bool operator>(const String& o) const { return s_ > o.s_; }
    bool operator<=(const String& o) const { return s_ <= o.s_; }
    bool operator>=(const String& o) const { return s_ >= o.s_; }
    bool equals(const String& o) const { return *this == o; }
    bool equalsIgnoreCase(const String& o) const;
    int compareTo(const String& o) const { return s_.compare(o.s_); }

    int indexOf(char c, unsigned from = 0) const;
    int indexOf(const String& s, unsigned from = 0) const;
    int indexOf(const char* s, unsigned from = 0) const { return indexOf(String(s), from); }
    int lastIndexOf(char c) const;
    int lastIndexOf(const String& s) const;
    int lastIndexOf(const char* s) const { return lastIndexOf(String(s)); }
    String substring(unsigned from) const;
    String substring(unsigned from, unsigned to) const;
    bool startsWith(const String& p) const { return s_.compare(0, p.s_.size(), p.s_) == 0; }
    bool startsWith(const String& p, unsigned offset) const {
        return offset <= s_.size() && s_.compare(offset, p.s_.size(), p.s_) == 0;
    }
    bool endsWith(const String& p) const;
    void toLowerCase();
    void toUpperCase();
    void trim();
    long toInt() const;
    float toFloat() const { return (float)toDouble(); }
    double toDouble() const;
    void replace(char from, char to);
    void replace(const String& from, const String& to);
    void remove(unsigned index);
    void remove(unsigned index, unsigned count);

    const std::string& str() const { return s_; }

private:
    std::string s_;
};

String operator+(const String& a, const String& b);
String operator+(const String& a, const char* b);
String operator+(const char* a, const String& b);
String operator+(char a, const String& b);
// Arduino's StringSumHelper: a String plus a number appends the number's text.
template <typename T>
String operator+(const String& a, T v) {
    String r(a);
    r.concat(v);
    return r;
}
