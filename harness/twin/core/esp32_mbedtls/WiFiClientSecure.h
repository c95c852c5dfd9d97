// arduino-esp32's WiFiClientSecure on the system mbedTLS 2.28 (MBEDTLS_SSL_PRESET_DEFAULT),
// following its ssl_client.cpp: start_ssl_client's order of steps, its -1 rule, its
// log lines. Release differences (suites, log format and line numbers, timeouts, which
// methods exist) come from hil_core_config.h, made from the core release data.
#pragma once

#include <memory>

#include "Arduino.h"
#include "Client.h"
#include "IPAddress.h"
#include "hil_core_config.h"

struct sslclient_context;

class WiFiClientSecure : public Client {
public:
    WiFiClientSecure();
    ~WiFiClientSecure() override;
    WiFiClientSecure(const WiFiClientSecure&) = delete;
    WiFiClientSecure& operator=(const WiFiClientSecure&) = delete;

    int connect(IPAddress ip, uint16_t port) override;
    int connect(const char* host, uint16_t port) override;
    int connect(const String& host, uint16_t port) { return connect(host.c_str(), port); }

    size_t write(const uint8_t* buf, size_t size) override;
    size_t write(uint8_t b) override { return write(&b, 1); }
    using Print::write;
    int read(uint8_t* buf, size_t size) override;
    int read() override;
    int available() override;
    int peek() override;
    void flush() override {}
    uint8_t connected() override;
    void stop() override;

    void setInsecure() HIL_API_ATTR_setInsecure;
    void setCACert(const char* rootCA) HIL_API_ATTR_setCACert;
    void setCertificate(const char* client_ca) HIL_API_ATTR_setCertificate;
    void setPrivateKey(const char* private_key) HIL_API_ATTR_setPrivateKey;
    void setPreSharedKey(const char* pskIdent, const char* psKey) HIL_API_ATTR_setPreSharedKey;
    void setCACertBundle(const uint8_t* bundle) HIL_API_ATTR_setCACertBundle;
    void setAlpnProtocols(const char** alpn_protos) HIL_API_ATTR_setAlpnProtocols;
    void setCiphers(const char* ciphers) HIL_API_ATTR_setCiphers;
    void setHandshakeTimeout(unsigned long handshake_timeout) HIL_API_ATTR_setHandshakeTimeout;
    int lastError(char* buf, const size_t size) HIL_API_ATTR_lastError;
    // ssl_client.cpp's verify_ssl_fingerprint (SHA-256 of the peer certificate) and
    // verify_ssl_dn (SAN dNSName entries, else the CN; a leading "*." label wildcard).
    bool verify(const char* fingerprint, const char* domain_name) HIL_API_ATTR_verify;

private:
    std::unique_ptr<sslclient_context> ssl_;
    const char* ca_cert_ = nullptr;
    const char* cert_ = nullptr;
    const char* private_key_ = nullptr;
    const char* psk_ident_ = nullptr;
    const char* psk_ = nullptr;
    const char** alpn_ = nullptr;
    bool use_insecure_ = false;
    bool use_bundle_ = false;
    bool connected_ = false;
    int last_error_ = 0;
    int peeked_ = -1;
};
