// One TLS connection of the axTLS personality, done by BearSSL.
//
// The engine is configured as axTLS 2.4.x offers itself (the four RSA
// AES-CBC suites in axTLS order, TLS 1.0-1.2, no EC at all); certificates
// are accepted as they come and kept, because axTLS checks them only when
// the sketch asks (verifyCertChain). The session runs the socket loop itself
// so it can print axTLS's state and alert lines for the records it sees,
// and put on the wire the alerts axTLS sends after an error.
#pragma once

#include <bearssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "axtls_x509.h"
#include "tls_records.h"

namespace twin {

class TlsSession;

// The BearSSL X.509 "engine" of a session: a vtable pointer first, as
// BearSSL calls it through that pointer.
struct X509Capture {
    const br_x509_class* vtable;
    TlsSession* owner;
};

class TlsSession {
public:
    TlsSession();
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Start the handshake on a connected socket (sends the ClientHello).
    // `sni` may be null (connect(IPAddress)): then no server_name.
    void start(int fd, const char* sni);

    // Run the handshake until it completes, fails or `timeout_ms` passes.
    // Returns SSL_OK, an axTLS error code (< 0), or 1 when the time ran out.
    // Prints nothing but the state/alert lines of records as they pass.
    int handshake(uint32_t timeout_ms);

    // axTLS send_alert(error): prints "Error: ..." and the alert, and puts the
    // alert on the wire when axTLS would (plaintext, before our CCS).
    void send_alert_for_error(int error_code);

    // axTLS ssl_free(): sends close_notify unless sent already or the
    // connection is dead; prints "Alert: close notify".
    void free_session();

    bool established() const { return established_; }
    bool dead() const { return dead_; }
    // The TLS connection can still carry data (TCP up, engine not closed).
    bool is_open() const;
    int fd() const { return fd_; }

    // Application data. write returns bytes written or an axTLS error (< 0).
    int write(const uint8_t* data, size_t len);
    // Bytes of application data available now, after waiting up to wait_ms
    // for records. 0 = none yet; < 0 = the connection ended (axTLS code).
    int available(int wait_ms);
    int read(uint8_t* dst, size_t len);
    int peek();

    // The server's certificates as received, leaf first.
    const std::vector<axtls::Cert>& server_certs() const { return server_certs_; }
    uint16_t cipher_suite() const { return cipher_suite_; }

    // Called by the X.509 capture engine (BearSSL callbacks).
    void x509_start_chain();
    void x509_start_cert(uint32_t length);
    void x509_append(const unsigned char* buf, size_t len);
    void x509_end_cert();
    unsigned x509_end_chain();
    const br_x509_pkey* x509_pkey(unsigned* usages) const;

private:
    enum class Goal { HANDSHAKE, APPDATA, FLUSH };
    // Drive the engine and the socket; returns SSL_OK when the goal is met,
    // 1 when waiting timed out, or an axTLS error when the engine closed.
    int pump(Goal goal, int wait_ms);
    int closed_code();
    void on_record_out(uint8_t type, uint16_t version, const uint8_t* body, size_t len);
    void on_record_in(uint8_t type, uint16_t version, const uint8_t* body, size_t len);
    void on_handshake_in(uint8_t type, const uint8_t* body, size_t len);
    void write_plain_alert(uint8_t level, uint8_t desc);
    uint16_t axtls_record_version() const;

    br_ssl_client_context cc_;
    X509Capture x509_;
    std::vector<unsigned char> iobuf_;
    int fd_ = -1;
    bool established_ = false;
    bool dead_ = false;                // TCP gone (axTLS SSL_ERROR_DEAD)
    bool out_ccs_ = false;             // our ChangeCipherSpec sent: TX encrypted
    bool in_ccs_ = false;              // server's ChangeCipherSpec seen
    bool server_hello_seen_ = false;
    bool close_notify_sent_ = false;
    bool peer_alert_shown_ = false;
    int in_encrypted_alerts_ = 0;
    int out_alert_ = -1;               // last plaintext alert BearSSL itself sent
    uint16_t server_version_ = 0;
    uint16_t cipher_suite_ = 0;
    int error_ = 0;                    // axTLS code once the engine closed
    RecordSplitter out_records_;
    RecordSplitter in_records_;
    HandshakeSplitter out_hs_;
    HandshakeSplitter in_hs_;

    std::vector<std::vector<uint8_t>> chain_der_;
    std::vector<axtls::Cert> server_certs_;
    std::vector<unsigned char> key_n_, key_e_;
    br_x509_pkey pkey_{};
};

}  // namespace twin
