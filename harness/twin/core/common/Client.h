// Arduino's Client: what HTTPClient and sketches use of any TCP/TLS client.
// The BearSSL and ESP32 WiFiClientSecure derive from it, as on the boards.
#pragma once

#include "IPAddress.h"
#include "Stream.h"

class Client : public Stream {
public:
    virtual int connect(IPAddress ip, uint16_t port) = 0;
    virtual int connect(const char* host, uint16_t port) = 0;
    size_t write(uint8_t b) override { return write(&b, 1); }
    size_t write(const uint8_t* buf, size_t size) override = 0;
    using Print::write;
    virtual int read(uint8_t* buf, size_t size) = 0;
    int read() override = 0;
    virtual uint8_t connected() = 0;
    virtual void stop() = 0;
    explicit operator bool() { return connected(); }
};
