#include "twin_clock.h"

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace twin {

static struct timespec g_boot = {0, 0};
static bool g_clock_set = false;
// Virtual time: the delays the twin skipped (see skip_delay), added to every clock
// the sketch reads, so millis() still counts them and stays monotone.
static uint64_t g_skipped_us = 0;
// How far the sketch's clock may run ahead of the host's: a loop() that only
// delays (after HIL:DONE) must not spin through days of board time.
static constexpr uint64_t MAX_LEAD_US = 60ull * 1000000;

static struct timespec mono_now() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

void mark_boot() { g_boot = mono_now(); }

uint64_t micros_since_boot() {
    if (g_boot.tv_sec == 0 && g_boot.tv_nsec == 0) mark_boot();
    struct timespec now = mono_now();
    int64_t us = (int64_t)(now.tv_sec - g_boot.tv_sec) * 1000000 +
                 (now.tv_nsec - g_boot.tv_nsec) / 1000;
    return (us < 0 ? 0 : (uint64_t)us) + g_skipped_us;
}

// Set once setup() has returned: from then on every delay is real.
static bool g_real_time_from_now = false;

void end_virtual_time() { g_real_time_from_now = true; }

bool virtual_time_enabled() {
    if (g_real_time_from_now) return false;
    static int enabled = -1;
    if (enabled < 0) {
        const char* env = std::getenv("HIL_TWIN_REAL_TIME");
        enabled = (env == nullptr || *env == '\0' || std::strcmp(env, "0") == 0) ? 1 : 0;
    }
    return enabled == 1;
}

bool skip_delay(uint32_t ms) {
    if (!virtual_time_enabled() || g_skipped_us + (uint64_t)ms * 1000 > MAX_LEAD_US) return false;
    g_skipped_us += (uint64_t)ms * 1000;
    return true;
}

uint32_t millis_since_boot() { return (uint32_t)(micros_since_boot() / 1000); }

void set_clock_from_sntp() { g_clock_set = true; }

bool clock_was_set() { return g_clock_set; }

int64_t board_time() {
    if (g_clock_set) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec;
    }
    return (int64_t)(micros_since_boot() / 1000000);
}

}  // namespace twin

// The sketch's time(): the C library's is replaced for the whole program, as
// newlib's time() on the board reads the SDK clock that only SNTP sets.
extern "C" time_t time(time_t* out) {
#if defined(HIL_PERSONALITY_AXTLS)
    // Cores 2.4.x: time() is SNTP's timestamp, 0 until the clock was set
    // (cores/esp8266/time.c); gettimeofday() counts from boot (board_time).
    time_t t = twin::clock_was_set() ? (time_t)twin::board_time() : 0;
#else
    time_t t = (time_t)twin::board_time();
#endif
    if (out) *out = t;
    return t;
}
