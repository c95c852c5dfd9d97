// Deterministic pseudo-random bytes for the robustness checks (same run every time).
#pragma once

#include <cstdint>
#include <vector>

struct Lcg {
    uint32_t s;
    explicit Lcg(uint32_t seed) : s(seed) {}
    uint8_t byte() {
        s = s * 1664525u + 1013904223u;
        return (uint8_t)(s >> 24);
    }
    std::vector<uint8_t> bytes(size_t n) {
        std::vector<uint8_t> v(n);
        for (auto& b : v) b = byte();
        return v;
    }
};
