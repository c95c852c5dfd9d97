// Serial: UART0 of the board = the twin's serial fd (a pty in the harness).
#pragma once

#include "Stream.h"

class HardwareSerial : public Stream {
public:
    void begin(unsigned long baud) { baud_ = baud; }
    void end() {}
    void setDebugOutput(bool on) { debug_ = on; }
    size_t write(uint8_t c) override;
    size_t write(const uint8_t* buf, size_t len) override;
    using Print::write;
    int available() override;
    int read() override;
    int peek() override;
    void flush() override {}
    explicit operator bool() const { return true; }

private:
    unsigned long baud_ = 115200;
    bool debug_ = false;
    int peeked_ = -1;
};

extern HardwareSerial Serial;
