// The board's firmware entry: boot, setup() once, loop() forever.
// (A framed user sketch: HIL:BOOT, setup(), HIL:DONE, loop() forever.)
#include <unistd.h>

#include "Arduino.h"
#include "twin_clock.h"
#include "twin_io.h"
#include "twin_net.h"

unsigned long millis() { return twin::millis_since_boot(); }
unsigned long micros() { return (unsigned long)twin::micros_since_boot(); }

void delay(unsigned long ms) {
    // Nothing open on the network: nothing can happen while the sketch waits, so the
    // wait is virtual (twin_clock.h). The WiFi join loop's delay(500) is the most of a
    // warm run otherwise.
    twin::run_background_poll();
    if (!twin::connection_open() && twin::skip_delay((uint32_t)ms)) return;
    // usleep is interrupted by SIGTERM, whose handler exits at once.
    // The network stack runs while the sketch waits.
    while (ms > 0) {
        unsigned long step = ms > 10 ? 10 : ms;
        twin::run_background_poll();
        usleep((useconds_t)step * 1000);
        ms -= step;
    }
    twin::run_background_poll();
}

void delayMicroseconds(unsigned int us) { usleep(us); }

void yield() {
    // A board's yield() lets the SDK run; the host has nothing to run, but a
    // tight loop should not spin a core at 100%.
    twin::run_background_poll();
    usleep(200);
}

void pinMode(uint8_t, uint8_t) {}
void digitalWrite(uint8_t, uint8_t) {}
int digitalRead(uint8_t) { return LOW; }

void configTime(int, int, const char* server1, const char*, const char*) {
    twin::diag("configTime(%s): clock set from the host (no SNTP packet)",
               server1 ? server1 : "-");
    twin::set_clock_from_sntp();
}

// A user's sketch prints no HIL: lines of its own: the harness compiles a definition of
// this symbol (its build id) into the program, and the core frames setup() with
// HIL:BOOT / HIL:DONE. Harness sketches frame themselves and leave it undefined (null).
extern "C" {
extern const char hil_frame_build_id[] __attribute__((weak));
}

int main() {
    twin::mark_boot();
    twin::install_signal_handlers();
    const bool framed = hil_frame_build_id != nullptr;
    // Before setup(), as a board's boot output comes before the sketch's Serial.begin().
    if (framed) twin::serial_printf("\r\nHIL:BOOT build=%s\r\n", hil_frame_build_id);
    setup();
    if (framed) twin::serial_printf("HIL:DONE setup() returned\r\n");
    twin::end_virtual_time();
    for (;;) {
        loop();
        yield();
    }
}
