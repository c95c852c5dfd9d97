// The board's clocks: millis() since boot, and time() as an ESP8266 has it:
// seconds since boot until configTime() (SNTP) sets it, host wall clock after.
#pragma once

#include <cstdint>
#include <ctime>

namespace twin {

uint32_t millis_since_boot();
uint64_t micros_since_boot();
void mark_boot();
// Virtual time: a delay() while no connection is open passes at once on the host,
// as nothing can happen in it that the sketch or the wire would see; millis(),
// micros() and the time() before configTime() count it as if slept. Off with
// HIL_TWIN_REAL_TIME=1. False (sleep for real) when off, or when the sketch's clock
// would run more than a minute ahead of the host's.
bool virtual_time_enabled();
// After setup(), or once the sketch looks for Serial input: real time from then on. A
// user's sketch that retries in loop() with a delay() paces its retries as on a board
// (its run ends when Serial goes quiet); a sketch waiting for input keeps its deadlines.
void end_virtual_time();
bool skip_delay(uint32_t ms);
// Called by configTime(): from now on time() is the host's wall clock.
void set_clock_from_sntp();
bool clock_was_set();
// The board's time(): seconds since boot, or wall clock once set.
int64_t board_time();

}  // namespace twin
