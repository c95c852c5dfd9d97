// BearSSL::WiFiClientSecure of the ESP8266 Arduino core (2.5+), on the system
// BearSSL. What differs between core releases (suites, buffers, timeouts, debug
// lines, error texts, which methods exist) comes from hil_core_config.h, made
// from harness/model/cores/<release>.toml: a method the release lacks is
// declared `unavailable` with a message naming the releases that have it.
// The methods read HIL_API_BEARSSL_ATTR_*, the table of the BearSSL class, which
// on core 2.4.2 is not the default class (a sketch there compiles with the axTLS
// release's hil_core_config.h; this class's own code with its own).
#pragma once

#include <bearssl.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "Arduino.h"
#include "BearSSLHelpers.h"
#include "Client.h"
#include "IPAddress.h"
#include "hil_core_config.h"
#include "twin_tcp.h"

namespace BearSSL {

class WiFiClientSecure : public Client {
public:
    WiFiClientSecure();
    ~WiFiClientSecure() override;
    WiFiClientSecure(const WiFiClientSecure&) = delete;
    WiFiClientSecure& operator=(const WiFiClientSecure&) = delete;

    int connect(IPAddress ip, uint16_t port) override;
    int connect(const char* name, uint16_t port) override;
    int connect(const String& host, uint16_t port) { return connect(host.c_str(), port); }

    uint8_t connected() override;
    size_t write(const uint8_t* buf, size_t size) override;
    size_t write(uint8_t b) override { return write(&b, 1); }
    using Print::write;
    size_t write_P(PGM_P buf, size_t size) { return write((const uint8_t*)buf, size); }
    int read(uint8_t* buf, size_t size) override;
    int read() override;
    int available() override;
    int peek() override;
    void flush() override;
    void stop() override;

    // Trust: exactly one of these is in force at connect().
    void setInsecure() HIL_API_BEARSSL_ATTR_setInsecure;
    void setKnownKey(const PublicKey* pk, unsigned usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN)
        HIL_API_BEARSSL_ATTR_setKnownKey;
    bool setFingerprint(const uint8_t fingerprint[20]) HIL_API_BEARSSL_ATTR_setFingerprint;
    bool setFingerprint(const char* fpStr) HIL_API_BEARSSL_ATTR_setFingerprint;
    void allowSelfSignedCerts() HIL_API_BEARSSL_ATTR_allowSelfSignedCerts;
    void setTrustAnchors(const X509List* ta) HIL_API_BEARSSL_ATTR_setTrustAnchors;
    void setX509Time(time_t now) HIL_API_BEARSSL_ATTR_setX509Time;
    void setClientRSACert(const X509List* cert, const PrivateKey* sk) HIL_API_BEARSSL_ATTR_setClientRSACert;

    void setBufferSizes(int recv, int xmit) HIL_API_BEARSSL_ATTR_setBufferSizes;
    int getMFLNStatus() HIL_API_BEARSSL_ATTR_getMFLNStatus;
    int getLastSSLError(char* dest = nullptr, size_t len = 0) HIL_API_BEARSSL_ATTR_getLastSSLError;

    bool setCiphers(const uint16_t* cipherAry, int cipherCount) HIL_API_BEARSSL_ATTR_setCiphers;
    bool setCiphers(const std::vector<uint16_t>& list) HIL_API_BEARSSL_ATTR_setCiphers;
    bool setCiphersLessSecure() HIL_API_BEARSSL_ATTR_setCiphersLessSecure;
    bool setSSLVersion(uint32_t min = BR_TLS10, uint32_t max = BR_TLS12) HIL_API_BEARSSL_ATTR_setSSLVersion;

    // The X.509 engines of a connection (public: BearSSL's C callbacks reach them).
    struct X509Ctx;

    static bool probeMaxFragmentLength(IPAddress ip, uint16_t port, uint16_t len)
        HIL_API_BEARSSL_ATTR_probeMaxFragmentLength;
    static bool probeMaxFragmentLength(const char* hostname, uint16_t port, uint16_t len)
        HIL_API_BEARSSL_ATTR_probeMaxFragmentLength;
    static bool probeMaxFragmentLength(const String& host, uint16_t port, uint16_t len)
        HIL_API_BEARSSL_ATTR_probeMaxFragmentLength;

    // The axTLS API the 2.5.x classes keep (deprecated there, gone in 3.0).
    bool setCACert(const uint8_t* der, size_t size) HIL_API_BEARSSL_ATTR_setCACert;
    bool setCACert_P(PGM_VOID_P der, size_t size) HIL_API_BEARSSL_ATTR_setCACert;
    bool verify(const char* fingerprint, const char* domain_name) HIL_API_BEARSSL_ATTR_verify;
    bool verifyCertChain(const char* domain_name) HIL_API_BEARSSL_ATTR_verifyCertChain;

private:
    bool connect_ssl(const char* host);
    int run_until(unsigned target, bool blocking = true);
    bool wait_for_handshake();
    int poll_recv_buffer();
    bool engine_connected();
    bool install_x509();
    void free_ssl();
    void close_tcp();
    void clear_auth();
    void note_server_hello(const uint8_t* data, size_t len);

    twin::TcpConn tcp_;
    std::unique_ptr<br_ssl_client_context> sc_;
    br_ssl_engine_context* eng_ = nullptr;
    std::vector<uint8_t> iobuf_in_, iobuf_out_;
    size_t iobuf_in_size_ = 0, iobuf_out_size_ = 0;
    std::unique_ptr<X509Ctx> x509_;
    uint32_t timeout_ms_ = HIL_HANDSHAKE_TIMEOUT_MS;
    bool handshake_done_ = false;
    bool oom_err_ = false;
    unsigned char* recvapp_buf_ = nullptr;
    size_t recvapp_len_ = 0;

    bool use_insecure_ = false, use_fingerprint_ = false, use_self_signed_ = false;
    uint8_t fingerprint_[20] = {};
    const X509List* ta_ = nullptr;
    std::unique_ptr<X509List> axtls_ta_;
    const PublicKey* knownkey_ = nullptr;
    unsigned knownkey_usages_ = 0;
    time_t now_ = 0;
    std::vector<uint16_t> cipher_list_;
    uint32_t tls_min_ = HIL_TLS_MIN, tls_max_ = HIL_TLS_MAX;

    // The start of what the server sent, to see whether it accepted MFLN.
    std::vector<uint8_t> server_hello_;
    int mfln_status_ = 0;
};

}  // namespace BearSSL
