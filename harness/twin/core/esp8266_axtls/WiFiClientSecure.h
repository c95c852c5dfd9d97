// WiFiClientSecure with the axTLS-era API of ESP8266 Arduino core 2.4.x.
//
// Trust is not checked during connect(): the sketch checks it afterwards
// with verify() or verifyCertChain(), exactly as on that core. The TLS work
// is the twin's own axTLS client (axtls_ssl.h); this class is the core's
// WiFiClientSecure + SSLContext around it, with their object lifetimes,
// because those decide what reaches the wire (see FIDELITY.md).
#pragma once

#include <memory>

#include "Arduino.h"
#include "IPAddress.h"
#include "axtls_core_version.h"
#include "hil_core_config.h"

namespace twin {
class LwipConn;
}
namespace axtls {
class SslContext;
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
    void allowSelfSignedCerts();

    // The BearSSL-era API that core 2.4.x lacks, declared unavailable (the attribute,
    // made from the release data, names the core versions that have it): a sketch that
    // calls one fails to compile as on this core, whatever arguments it passes.
    template <typename... A> void setInsecure(A&&...) HIL_API_ATTR_setInsecure;
    template <typename... A> bool setFingerprint(A&&...) HIL_API_ATTR_setFingerprint;
    template <typename... A> void setTrustAnchors(A&&...) HIL_API_ATTR_setTrustAnchors;
    template <typename... A> void setBufferSizes(A&&...) HIL_API_ATTR_setBufferSizes;
    template <typename... A> int getLastSSLError(A&&...) HIL_API_ATTR_getLastSSLError;
    template <typename... A> bool setCiphers(A&&...) HIL_API_ATTR_setCiphers;
    template <typename... A> bool setCiphersLessSecure(A&&...) HIL_API_ATTR_setCiphersLessSecure;
    template <typename... A> bool setSSLVersion(A&&...) HIL_API_ATTR_setSSLVersion;
    template <typename... A> void setKnownKey(A&&...) HIL_API_ATTR_setKnownKey;
    template <typename... A> void setX509Time(A&&...) HIL_API_ATTR_setX509Time;
    template <typename... A>
    static bool probeMaxFragmentLength(A&&...) HIL_API_ATTR_probeMaxFragmentLength;

    uint8_t connected();
    explicit operator bool() { return connected(); }

    size_t write(uint8_t b) override { return write(&b, 1); }
    size_t write(const uint8_t* buf, size_t size) override;
    using Print::write;
#if AXTLS_CORE_HAS_WRITE_STREAM
    size_t write(Stream& stream);
#endif
    int available() override;
    int read() override;
    int read(uint8_t* buf, size_t size);
    int peek() override;
    void flush() override {}
    void stop();

private:
    int connect_tcp(const String& addr, uint16_t port);
    int connect_ssl(const char* host_name);
    bool verify_dn(const char* domain_name);
    void init_ssl_context();

    std::shared_ptr<twin::LwipConn> client_;           // WiFiClient::_client
    std::shared_ptr<axtls::SslContext> ssl_;          // WiFiClientSecure::_ssl
};
