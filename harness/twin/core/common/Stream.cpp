#include "Stream.h"

#include "Arduino.h"

int Stream::timedRead() {
    unsigned long start = millis();
    do {
        int c = read();
        if (c >= 0) return c;
        yield();
    } while (millis() - start < timeout_);
    return -1;
}

String Stream::readStringUntil(char terminator) {
    String out;
    int c = timedRead();
    while (c >= 0 && c != terminator) {
        out += (char)c;
        c = timedRead();
    }
    return out;
}

String Stream::readString() {
    String out;
    int c = timedRead();
    while (c >= 0) {
        out += (char)c;
        c = timedRead();
    }
    return out;
}

size_t Stream::readBytes(uint8_t* buf, size_t len) {
    size_t n = 0;
    while (n < len) {
        int c = timedRead();
        if (c < 0) break;
        buf[n++] = (uint8_t)c;
    }
    return n;
}
