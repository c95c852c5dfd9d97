#include "esp32_log.h"

#include <cstdio>
#include <string>

#include "hil_core_config.h"
#include "twin_clock.h"
#include "twin_io.h"

namespace esp32log {

void line(char level, const char* file, int src_line, const char* func, const char* fmt, ...) {
    char body[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    // HIL_LOG_PREFIX is the release's ARDUHAL_LOG_FORMAT; its fields are filled in
    // order: [%6u] millis (2.0.x only), %c level, %s file, %u line, %s function.
    std::string head;
    int strings = 0;
    for (const char* p = HIL_LOG_PREFIX; *p; ++p) {
        if (*p != '%') {
            head += *p;
            continue;
        }
        char field[32];
        if (p[1] == '6' && p[2] == 'u') {
            snprintf(field, sizeof field, "%6u", (unsigned)twin::millis_since_boot());
            p += 2;
        } else if (p[1] == 'c') {
            snprintf(field, sizeof field, "%c", level);
            p += 1;
        } else if (p[1] == 'u') {
            snprintf(field, sizeof field, "%u", (unsigned)src_line);
            p += 1;
        } else if (p[1] == 's') {
            head += strings++ == 0 ? file : func;
            p += 1;
            continue;
        } else {
            head += *p;
            continue;
        }
        head += field;
    }
    twin::serial_printf("%s%s\r\n", head.c_str(), body);
}

}  // namespace esp32log
