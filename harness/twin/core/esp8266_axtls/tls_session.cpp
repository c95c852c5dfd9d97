#include "tls_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "axtls_debug.h"
#include "twin_clock.h"
#include "twin_io.h"
#include "twin_net.h"

namespace twin {

namespace {

// axTLS 2.4.x ssl_prot_prefs (CONFIG_SSL_PROT_MEDIUM) as wire suite numbers.
const uint16_t AXTLS_SUITES[] = {0x003C, 0x003D, 0x0035, 0x002F};

TlsSession* owner_of(const br_x509_class* const* ctx) {
    return reinterpret_cast<const X509Capture*>(ctx)->owner;
}

void cb_start_chain(const br_x509_class** ctx, const char*) { owner_of(ctx)->x509_start_chain(); }
void cb_start_cert(const br_x509_class** ctx, uint32_t length) {
    owner_of(ctx)->x509_start_cert(length);
}
void cb_append(const br_x509_class** ctx, const unsigned char* buf, size_t len) {
    owner_of(ctx)->x509_append(buf, len);
}
void cb_end_cert(const br_x509_class** ctx) { owner_of(ctx)->x509_end_cert(); }
unsigned cb_end_chain(const br_x509_class** ctx) { return owner_of(ctx)->x509_end_chain(); }
const br_x509_pkey* cb_get_pkey(const br_x509_class* const* ctx, unsigned* usages) {
    return owner_of(ctx)->x509_pkey(usages);
}

// axTLS accepts any chain during the handshake (SSL_SERVER_VERIFY_LATER):
// this engine only keeps the certificates and hands BearSSL the leaf's key.
const br_x509_class CAPTURE_X509 = {
    sizeof(X509Capture), cb_start_chain, cb_start_cert, cb_append, cb_end_cert, cb_end_chain,
    cb_get_pkey,
};

// A BearSSL error turned into the axTLS code the same failure gives there.
int axtls_code_for(int br_err) {
    if (br_err >= BR_ERR_RECV_FATAL_ALERT && br_err < BR_ERR_SEND_FATAL_ALERT)
        return -(br_err - BR_ERR_RECV_FATAL_ALERT);
    switch (br_err) {
        case BR_ERR_IO: return axtls::SSL_ERROR_CONN_LOST;
        case BR_ERR_UNSUPPORTED_VERSION:
        case BR_ERR_BAD_VERSION: return axtls::SSL_ERROR_INVALID_VERSION;
        case BR_ERR_BAD_MAC: return axtls::SSL_ERROR_INVALID_HMAC;
        case BR_ERR_TOO_LARGE: return axtls::SSL_ERROR_RECORD_OVERFLOW;
        case BR_ERR_BAD_FINISHED: return axtls::SSL_ERROR_FINISHED_INVALID;
        case BR_ERR_OVERSIZED_ID: return axtls::SSL_ERROR_INVALID_SESSION;
        case BR_ERR_UNKNOWN_TYPE: return axtls::SSL_ERROR_INVALID_PROT_MSG;
        default:
            if (br_err >= 32 && br_err < 64) return axtls::SSL_ERROR_BAD_CERTIFICATE;  // X.509
            return axtls::SSL_ERROR_INVALID_HANDSHAKE;
    }
}

}  // namespace

TlsSession::TlsSession()
    : out_records_([this](uint8_t t, uint16_t v, const uint8_t* b, size_t n) { on_record_out(t, v, b, n); },
                   [this](uint8_t, uint16_t v) {
                       // axTLS writes every record with its ssl->version: TLS 1.2
                       // until the ServerHello, the negotiated one after. BearSSL
                       // sends its ClientHello record as TLS 1.0; the record header
                       // is not hashed, so it is set as axTLS would.
                       return server_hello_seen_ ? v : axtls_record_version();
                   }),
      in_records_([this](uint8_t t, uint16_t v, const uint8_t* b, size_t n) { on_record_in(t, v, b, n); }),
      out_hs_([](uint8_t type, const uint8_t*, size_t) { axtls::display_state(true, type); }),
      in_hs_([this](uint8_t type, const uint8_t* b, size_t n) { on_handshake_in(type, b, n); }) {
    x509_.vtable = &CAPTURE_X509;
    x509_.owner = this;
    iobuf_.resize(BR_SSL_BUFSIZE_BIDI);
}

TlsSession::~TlsSession() {
    if (fd_ >= 0) tcp_close(fd_);
}

void TlsSession::start(int fd, const char* sni) {
    fd_ = fd;
    br_ssl_client_zero(&cc_);
    br_ssl_engine_context* eng = &cc_.eng;
    br_ssl_engine_set_versions(eng, BR_TLS10, BR_TLS12);
    br_ssl_engine_set_suites(eng, AXTLS_SUITES, sizeof AXTLS_SUITES / sizeof AXTLS_SUITES[0]);
    br_ssl_client_set_default_rsapub(&cc_);
    br_ssl_engine_set_default_rsavrfy(eng);
    // The hashes axTLS's signature_algorithms names (SHA-512/384/256/1 with
    // RSA), plus MD5 for the TLS 1.0/1.1 PRF; no SHA-224.
    br_ssl_engine_set_hash(eng, br_md5_ID, &br_md5_vtable);
    br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
    br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
    br_ssl_engine_set_prf10(eng, &br_tls10_prf);
    br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_default_aes_cbc(eng);
    br_ssl_engine_set_x509(eng, &x509_.vtable);
    br_ssl_engine_set_buffer(eng, iobuf_.data(), iobuf_.size(), 1);
    br_ssl_client_reset(&cc_, sni, 0);
}

uint16_t TlsSession::axtls_record_version() const {
    if (!server_hello_seen_) return 0x0303;
    return server_version_ > 0x0303 ? 0x0303 : server_version_;
}

void TlsSession::on_record_out(uint8_t type, uint16_t, const uint8_t* body, size_t len) {
    switch (type) {
        case REC_HANDSHAKE:
            if (out_ccs_)
                axtls::display_state(true, 20);  // encrypted: it is our Finished
            else
                out_hs_.feed(body, len);
            break;
        case REC_CCS:
            out_ccs_ = true;
            break;
        case REC_ALERT:
            // An alert BearSSL sent on its own (it found the error itself).
            if (!out_ccs_ && len >= 2) out_alert_ = body[1];
            break;
        default:
            break;
    }
}

void TlsSession::on_handshake_in(uint8_t type, const uint8_t* body, size_t len) {
    if (type == 2 && len >= 38) {
        server_hello_seen_ = true;
        server_version_ = (uint16_t)(body[0] << 8 | body[1]);
        size_t sid = body[34];
        if (len >= 35 + sid + 2) cipher_suite_ = (uint16_t)(body[35 + sid] << 8 | body[36 + sid]);
    }
    axtls::display_state(false, type);
}

void TlsSession::on_record_in(uint8_t type, uint16_t, const uint8_t* body, size_t len) {
    switch (type) {
        case REC_HANDSHAKE:
            if (in_ccs_)
                axtls::display_state(false, 20);
            else
                in_hs_.feed(body, len);
            break;
        case REC_CCS:
            in_ccs_ = true;
            break;
        case REC_ALERT:
            if (in_ccs_) {
                ++in_encrypted_alerts_;
            } else if (len >= 2 && !(body[0] == 1 && body[1] == axtls::ALERT_CLOSE_NOTIFY)) {
                // basic_read: DISPLAY_ALERT for every alert but a close_notify.
                axtls::display_alert(body[1]);
                peer_alert_shown_ = true;
            }
            break;
        default:
            break;
    }
}

int TlsSession::closed_code() {
    int err = br_ssl_engine_last_error(&cc_.eng);
    if (err == BR_ERR_OK) return axtls::SSL_CLOSE_NOTIFY;
    return axtls_code_for(err);
}

int TlsSession::pump(Goal goal, int wait_ms) {
    br_ssl_engine_context* eng = &cc_.eng;
    for (;;) {
        // The socket failed: the engine is left as it was; nothing more moves.
        if (dead_) return axtls::SSL_ERROR_CONN_LOST;
        unsigned st = br_ssl_engine_current_state(eng);
        if (st == BR_SSL_CLOSED) {
            if (error_ == 0) error_ = closed_code();
            return error_;
        }
        if (st & BR_SSL_SENDREC) {
            size_t len;
            unsigned char* buf = br_ssl_engine_sendrec_buf(eng, &len);
            out_records_.feed(buf, len);
            if (dead_ || !send_all(fd_, buf, len)) {
                dead_ = true;
                error_ = axtls::SSL_ERROR_CONN_LOST;
                return error_;
            }
            br_ssl_engine_sendrec_ack(eng, len);
            continue;
        }
        if (goal == Goal::FLUSH) return axtls::SSL_OK;
        if (goal == Goal::HANDSHAKE && (st & BR_SSL_SENDAPP)) {
            established_ = true;
            return axtls::SSL_OK;
        }
        if (goal == Goal::APPDATA && (st & BR_SSL_RECVAPP)) return axtls::SSL_OK;
        if (!(st & BR_SSL_RECVREC)) return 1;
        int r = wait_readable(fd_, wait_ms);
        if (r == 0) return 1;
        size_t len;
        unsigned char* buf = br_ssl_engine_recvrec_buf(eng, &len);
        ssize_t n = r < 0 ? -1 : ::recv(fd_, buf, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // basic_read: the connection is gone; axTLS marks it dead.
            dead_ = true;
            error_ = axtls::SSL_ERROR_CONN_LOST;
            return error_;
        }
        in_records_.feed(buf, (size_t)n);
        br_ssl_engine_recvrec_ack(eng, (size_t)n);
        wait_ms = 0;  // keep going while data is there; do not wait again
    }
}

int TlsSession::handshake(uint32_t timeout_ms) {
    uint32_t start = millis_since_boot();
    for (;;) {
        uint32_t spent = millis_since_boot() - start;
        if (spent >= timeout_ms) return 1;
        int rc = pump(Goal::HANDSHAKE, (int)(timeout_ms - spent));
        if (rc == axtls::SSL_OK) return rc;
        if (rc < 0) {
            // A fatal alert that came encrypted: shown now, as axTLS shows it on reading.
            if (rc > axtls::SSL_ERROR_CONN_LOST && rc != axtls::SSL_CLOSE_NOTIFY &&
                !peer_alert_shown_ && in_encrypted_alerts_ > 0) {
                axtls::display_alert(-rc);
                peer_alert_shown_ = true;
            }
            return rc;
        }
    }
}

void TlsSession::write_plain_alert(uint8_t level, uint8_t desc) {
    uint16_t v = axtls_record_version();
    uint8_t rec[7] = {REC_ALERT, (uint8_t)(v >> 8), (uint8_t)v, 0, 2, level, desc};
    if (!send_all(fd_, rec, sizeof rec)) dead_ = true;
}

void TlsSession::send_alert_for_error(int error_code) {
    if (dead_) return;  // "Don't bother, we're already dead"
    axtls::display_error(error_code);
    bool warning = false;
    uint8_t alert = axtls::alert_for_error(error_code, &warning);
    bool peer_sent_it = error_code > axtls::SSL_ERROR_CONN_LOST && error_code < 0 &&
                        (peer_alert_shown_ || in_encrypted_alerts_ > 0);
    if (!peer_sent_it && out_alert_ >= 0) {
        // BearSSL found the error itself and already sent its own alert.
        alert = (uint8_t)out_alert_;
    } else if (!out_ccs_) {
        // After a received alert BearSSL sends nothing: this is axTLS's own.
        write_plain_alert(warning ? 1 : 2, alert);
    }
    axtls::display_alert(alert);
}

void TlsSession::free_session() {
    if (fd_ < 0) return;
    if (!dead_ && !close_notify_sent_) {
        if (established_ && br_ssl_engine_current_state(&cc_.eng) != BR_SSL_CLOSED) {
            br_ssl_engine_close(&cc_.eng);
            pump(Goal::FLUSH, 0);
        } else if (!out_ccs_) {
            write_plain_alert(1, axtls::ALERT_CLOSE_NOTIFY);
        }
        close_notify_sent_ = true;
        axtls::display_alert(axtls::ALERT_CLOSE_NOTIFY);
    }
    tcp_close(fd_);
    fd_ = -1;
}

bool TlsSession::is_open() const {
    return fd_ >= 0 && established_ && !dead_ &&
           br_ssl_engine_current_state(&cc_.eng) != BR_SSL_CLOSED;
}

int TlsSession::write(const uint8_t* data, size_t len) {
    if (!established_ || dead_) return axtls::SSL_ERROR_CONN_LOST;
    br_ssl_engine_context* eng = &cc_.eng;
    size_t done = 0;
    while (done < len) {
        unsigned st = br_ssl_engine_current_state(eng);
        if (st == BR_SSL_CLOSED) return closed_code();
        if (st & BR_SSL_SENDAPP) {
            size_t room;
            unsigned char* buf = br_ssl_engine_sendapp_buf(eng, &room);
            size_t n = len - done < room ? len - done : room;
            std::memcpy(buf, data + done, n);
            br_ssl_engine_sendapp_ack(eng, n);
            done += n;
        }
        // ssl_write sends one record per call, at once: flush each chunk.
        br_ssl_engine_flush(eng, 0);
        int rc = pump(Goal::FLUSH, 0);
        if (rc < 0) return rc;
    }
    return (int)len;
}

int TlsSession::available(int wait_ms) {
    if (fd_ < 0) return axtls::SSL_ERROR_CONN_LOST;
    br_ssl_engine_context* eng = &cc_.eng;
    size_t len = 0;
    if (br_ssl_engine_current_state(eng) & BR_SSL_RECVAPP) {
        br_ssl_engine_recvapp_buf(eng, &len);
        return (int)len;
    }
    int rc = pump(Goal::APPDATA, wait_ms);
    if (rc == axtls::SSL_OK) {
        br_ssl_engine_recvapp_buf(eng, &len);
        return (int)len;
    }
    if (rc == 1) return 0;
    if (rc == axtls::SSL_CLOSE_NOTIFY && !close_notify_sent_) {
        // The server's close_notify: BearSSL answered with ours, as
        // axTLS's basic_read does (send_alert(SSL_ALERT_CLOSE_NOTIFY)).
        pump(Goal::FLUSH, 0);
        close_notify_sent_ = true;
        axtls::display_alert(axtls::ALERT_CLOSE_NOTIFY);
    }
    return rc;
}

int TlsSession::read(uint8_t* dst, size_t want) {
    int avail = available(0);
    if (avail <= 0) return avail;
    size_t len;
    unsigned char* buf = br_ssl_engine_recvapp_buf(&cc_.eng, &len);
    size_t n = want < len ? want : len;
    std::memcpy(dst, buf, n);
    br_ssl_engine_recvapp_ack(&cc_.eng, n);
    return (int)n;
}

int TlsSession::peek() {
    if (available(0) <= 0) return -1;
    size_t len;
    unsigned char* buf = br_ssl_engine_recvapp_buf(&cc_.eng, &len);
    return len ? buf[0] : -1;
}

void TlsSession::x509_start_chain() {
    chain_der_.clear();
    server_certs_.clear();
}

void TlsSession::x509_start_cert(uint32_t length) {
    chain_der_.emplace_back();
    chain_der_.back().reserve(length);
}

void TlsSession::x509_append(const unsigned char* buf, size_t len) {
    if (!chain_der_.empty()) chain_der_.back().insert(chain_der_.back().end(), buf, buf + len);
}

void TlsSession::x509_end_cert() {}

unsigned TlsSession::x509_end_chain() {
    for (const auto& der : chain_der_) {
        axtls::Cert c;
        size_t used = 0;
        if (axtls::parse_cert(der.data(), der.size(), &c, &used) != axtls::X509_OK) {
            // process_certificate: x509_new fails -> SSL_ERROR_BAD_CERTIFICATE.
            return BR_ERR_X509_BAD_SERVER_NAME + 1;  // any X.509 error code
        }
        server_certs_.push_back(std::move(c));
    }
    if (server_certs_.empty()) return BR_ERR_X509_EMPTY_CHAIN;
    const axtls::Cert& leaf = server_certs_[0];
    key_n_.assign(leaf.modulus.begin(), leaf.modulus.end());
    key_e_.assign(leaf.exponent.begin(), leaf.exponent.end());
    pkey_.key_type = BR_KEYTYPE_RSA;
    pkey_.key.rsa.n = key_n_.data();
    pkey_.key.rsa.nlen = key_n_.size();
    pkey_.key.rsa.e = key_e_.data();
    pkey_.key.rsa.elen = key_e_.size();
    return 0;
}

const br_x509_pkey* TlsSession::x509_pkey(unsigned* usages) const {
    if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return server_certs_.empty() ? nullptr : &pkey_;
}

}  // namespace twin
