// WiFiClientSecure with the axTLS-era API of ESP8266 Arduino core 2.4.1.
//
// Trust is not checked during connect(): the sketch checks it afterwards
// with verify() or verifyCertChain(), exactly as on that core.
#pragma once

#include <memory>
#include <vector>

#include "Arduino.h"
#include "IPAddress.h"
#include "axtls_x509.h"

namespace twin {
class TlsSession;
}

class WiFiClientSecure : public Stream {
public:
    WiFiClientSecure();
    ~WiFiClientSecure() override;

    int connect(IPAddress ip, uint16_t port);
    int connect(const char* host, uint16_t port);
    int connect(const String& host, uint16_t port) { return connect(host.c_str(), port); }

    bool verify(const char* sha1_fingerprint_hex, const char* domain_name);
    bool verifyCertChain(const char* domain_name);

    bool setCACert(const uint8_t* der, size_t size);
    bool setCACert_P(const void* der, size_t size) { return setCACert((const uint8_t*)der, size); }
    bool setCertificate(const uint8_t* der, size_t size);
    bool setPrivateKey(const uint8_t* der, size_t size);
    void allowSelfSignedCerts() { allow_self_signed_ = true; }

    uint8_t connected();
    explicit operator bool() { return connected(); }

    size_t write(uint8_t b) override { return write(&b, 1); }
    size_t write(const uint8_t* buf, size_t size) override;
    using Print::write;
    int available() override;
    int read() override;
    int read(uint8_t* buf, size_t size);
    int peek() override;
    void flush() override {}
    void stop();

private:
    int connect_to(const String& addr, uint16_t port, const char* sni);
    int connect_ssl(int fd, const char* sni);
    // SSLContext's destruction on the board: ssl_free, then the TCP side.
    void release();

    std::unique_ptr<twin::TlsSession> ssl_;
    std::vector<axtls::Cert> ca_certs_;
    bool allow_self_signed_ = false;
};
