// The board's clocks: millis() since boot, and time() as an ESP8266 has it:
// seconds since boot until configTime() (SNTP) sets it, host wall clock after.
#pragma once

#include <cstdint>
#include <ctime>

namespace twin {

uint32_t millis_since_boot();
uint64_t micros_since_boot();
void mark_boot();
// Called by configTime(): from now on time() is the host's wall clock.
void set_clock_from_sntp();
bool clock_was_set();
// The board's time(): seconds since boot, or wall clock once set.
int64_t board_time();

}  // namespace twin
