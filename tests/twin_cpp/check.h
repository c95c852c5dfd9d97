// A minimal test runner for the twin's C++ units: TEST(name) { CHECK(...); }.
// Built with -fsanitize=address,undefined by tests/integration/test_twin_cpp.py;
// the last line is "N passed, M failed", which pytest reads.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct Case {
    const char* name;
    std::function<void()> fn;
};

inline std::vector<Case>& cases() {
    static std::vector<Case> all;
    return all;
}

inline int& failures() {
    static int n = 0;
    return n;
}

struct Register {
    Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

// Arguments from the command line (e.g. paths of certificates made by the test).
inline std::vector<std::string>& args() {
    static std::vector<std::string> a;
    return a;
}

}  // namespace check

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::printf("  FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
            ++check::failures();                                                     \
        }                                                                            \
    } while (0)

#define TEST_CAT2(a, b) a##b
#define TEST_CAT(a, b) TEST_CAT2(a, b)
#define TEST(name)                                                                   \
    static void name();                                                              \
    static check::Register TEST_CAT(reg_, name)(#name, name);                        \
    static void name()
