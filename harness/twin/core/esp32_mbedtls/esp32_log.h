// arduino-esp32's log_x() lines as the release prints them (esp32-hal-log.h's
// ARDUHAL_LOG_FORMAT): "[%6u][E][file:line] func(): " on 2.0.x, "[E][file:line] func(): "
// on 1.0.x. The format, file line numbers and levels come from hil_core_config.h.
#pragma once

#include <cstdarg>

namespace esp32log {

// One log line: level letter, source file name and line (0 = not known), function.
void line(char level, const char* file, int src_line, const char* func, const char* fmt, ...)
    __attribute__((format(printf, 5, 6)));

}  // namespace esp32log
