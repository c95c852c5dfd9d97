// Arduino Stream: Print plus timed reads (readStringUntil and friends).
#pragma once

#include "Print.h"

class Stream : public Print {
public:
    virtual int available() = 0;
    virtual int read() = 0;
    virtual int peek() = 0;

    void setTimeout(unsigned long ms) { timeout_ = ms; }
    unsigned long getTimeout() const { return timeout_; }

    String readStringUntil(char terminator);
    String readString();
    size_t readBytes(uint8_t* buf, size_t len);
    size_t readBytes(char* buf, size_t len) { return readBytes((uint8_t*)buf, len); }

protected:
    // read() until a byte comes or the timeout passes (-1 then), as on the board.
    int timedRead();
    unsigned long timeout_ = 1000;
};
