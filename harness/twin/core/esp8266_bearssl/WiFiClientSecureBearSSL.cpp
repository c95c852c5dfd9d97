#include "WiFiClientSecureBearSSL.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

#include "ESP8266WiFi.h"
#include "twin_clock.h"
#include "twin_io.h"

namespace {

const uint16_t kDefaultSuites[] = {HIL_DEFAULT_SUITES};

struct ErrorText {
    int code;
    const char* text;
};
const ErrorText kErrorTexts[] = {HIL_ERROR_TEXTS};

// A "BSSL:" debug line of the release; an empty format = the release has no such line.
void bssl_log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void bssl_log(const char* fmt, ...) {
    // No prefix: the release has no debug output at all (core 2.4.2's class).
    if (HIL_LOG_PREFIX[0] == '\0' || fmt == nullptr || fmt[0] == '\0') return;
    char body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    twin::serial_printf("%s%s\n", HIL_LOG_PREFIX, body);
}

const char* error_text(int code) {
    for (const auto& e : kErrorTexts) {
        if (e.code == code) return e.text;
    }
    return HIL_ERR_UNKNOWN_TEXT;
}

// Days from 0000-01-01 to 1970-01-01, as br_x509_minimal_set_time counts.
constexpr uint32_t kDaysToEpoch = 719528;

}  // namespace

namespace BearSSL {

// The X.509 engines a connection can use: BearSSL's minimal validator (trust
// anchors), or the core's "insecure" one (setInsecure/setFingerprint/
// allowSelfSignedCerts), or a known key.
struct WiFiClientSecure::X509Ctx {
    // The insecure validator must start with its vtable pointer (BearSSL's object model).
    struct Insecure {
        const br_x509_class* vtable;
        bool done_cert;
        const uint8_t* match_fingerprint;
        bool allow_self_signed;
        br_sha1_context sha1_cert;
        br_x509_decoder_context decoder;
        std::vector<uint8_t> leaf;
    };
    struct KnownKey {
        const br_x509_class* vtable;
        br_x509_pkey pkey;
        unsigned usages;
    };
    br_x509_minimal_context minimal;
    Insecure insecure;
    KnownKey knownkey;
};

namespace {

void insecure_start_chain(const br_x509_class** ctx, const char*) {
    auto* xc = reinterpret_cast<WiFiClientSecure::X509Ctx::Insecure*>(ctx);
    xc->done_cert = false;
    xc->leaf.clear();
    br_sha1_init(&xc->sha1_cert);
    br_x509_decoder_init(&xc->decoder, nullptr, nullptr);
}

void insecure_start_cert(const br_x509_class**, uint32_t) {}

// The core's BearSSL (earlephilhower/bearssl-esp8266) hands a certificate to the
// validator in 256-byte pieces, so a debug build prints one "CERT:" line per 256
// bytes (recorded: golden-staging/esp8266-3.1.2/self-signed--insecure). The system
// BearSSL hands it in other pieces: the twin prints at the same 256-byte boundaries.
constexpr size_t kCertDumpChunk = 256;

void cert_dump_line(const uint8_t* p, size_t n) {
    std::string hex;
    char two[4];
    for (size_t i = 0; i < n; ++i) {
        snprintf(two, sizeof two, "%02x ", p[i]);
        hex += two;
    }
    twin::serial_printf("%s%s%s\n", HIL_LOG_PREFIX, HIL_LOG_CERT_DUMP, hex.c_str());
}

void insecure_append(const br_x509_class** ctx, const unsigned char* buf, size_t len) {
    auto* xc = reinterpret_cast<WiFiClientSecure::X509Ctx::Insecure*>(ctx);
    if (xc->done_cert) return;  // only the server's own certificate matters
    br_sha1_update(&xc->sha1_cert, buf, len);
    br_x509_decoder_push(&xc->decoder, buf, len);
    size_t before = xc->leaf.size();
    xc->leaf.insert(xc->leaf.end(), buf, buf + len);
    if (HIL_LOG_CERT_DUMP[0] == '\0') return;
    for (size_t mark = (before / kCertDumpChunk + 1) * kCertDumpChunk; mark <= xc->leaf.size();
         mark += kCertDumpChunk) {
        cert_dump_line(xc->leaf.data() + mark - kCertDumpChunk, kCertDumpChunk);
    }
}

void insecure_end_cert(const br_x509_class** ctx) {
    auto* xc = reinterpret_cast<WiFiClientSecure::X509Ctx::Insecure*>(ctx);
    if (!xc->done_cert && HIL_LOG_CERT_DUMP[0] != '\0' && xc->leaf.size() % kCertDumpChunk) {
        size_t rest = xc->leaf.size() % kCertDumpChunk;
        cert_dump_line(xc->leaf.data() + xc->leaf.size() - rest, rest);
    }
    xc->done_cert = true;
}

// Issuer and subject Name of a DER certificate, as raw bytes (empty when malformed).
void issuer_and_subject(const std::vector<uint8_t>& der, std::string* issuer, std::string* subject) {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial,
    //                 signature AlgId, issuer Name, validity, subject Name, ... } ... }
    auto next = [](const uint8_t*& p, const uint8_t* end, uint8_t* tag, const uint8_t** body,
                   size_t* n) -> bool {
        if (end - p < 2) return false;
        const uint8_t* start = p;
        *tag = *p++;
        size_t l = *p++;
        if (l & 0x80) {
            int k = l & 0x7f;
            if (k < 1 || k > 3 || end - p < k) return false;
            l = 0;
            while (k--) l = (l << 8) | *p++;
        }
        if ((size_t)(end - p) < l) return false;
        *body = p;
        *n = l;
        p += l;
        (void)start;
        return true;
    };
    const uint8_t* p = der.data();
    const uint8_t* end = p + der.size();
    uint8_t tag;
    const uint8_t* body;
    size_t n;
    if (!next(p, end, &tag, &body, &n) || tag != 0x30) return;
    p = body;
    end = body + n;
    if (!next(p, end, &tag, &body, &n) || tag != 0x30) return;
    p = body;
    end = body + n;
    const uint8_t* field_start = p;
    std::vector<std::string> fields;
    while (p < end && fields.size() < 6) {
        field_start = p;
        if (!next(p, end, &tag, &body, &n)) return;
        fields.emplace_back(reinterpret_cast<const char*>(field_start), (size_t)(p - field_start));
        if (fields.size() == 1 && tag != 0xa0) fields.insert(fields.begin(), std::string());
    }
    if (fields.size() < 6) return;
    *issuer = fields[3];
    *subject = fields[5];
}

unsigned insecure_end_chain(const br_x509_class** ctx) {
    auto* xc = reinterpret_cast<WiFiClientSecure::X509Ctx::Insecure*>(ctx);
    if (!xc->done_cert) {
        bssl_log("%s", "insecure_end_chain: No cert seen");
        return 1;
    }
    uint8_t res[20];
    br_sha1_out(&xc->sha1_cert, res);
    if (xc->match_fingerprint && std::memcmp(res, xc->match_fingerprint, sizeof res) != 0) {
        bssl_log("%s", HIL_LOG_FP_MISMATCH);
        std::string want, got;
        char hex[4];
        for (size_t i = 0; i < sizeof res; ++i) {
            snprintf(hex, sizeof hex, "%02x ", xc->match_fingerprint[i]);
            want += hex;
            snprintf(hex, sizeof hex, "%02x ", res[i]);
            got += hex;
        }
        if (HIL_LOG_FP_EXPECTED[0] != '\0') bssl_log(HIL_LOG_FP_EXPECTED, want.c_str());
        if (HIL_LOG_FP_RECEIVED[0] != '\0') bssl_log(HIL_LOG_FP_RECEIVED, got.c_str());
        return BR_ERR_X509_NOT_TRUSTED;
    }
    if (xc->allow_self_signed) {
        std::string issuer, subject;
        issuer_and_subject(xc->leaf, &issuer, &subject);
        if (issuer != subject) {
            bssl_log("%s", HIL_LOG_NOT_SELF_SIGNED);
            return BR_ERR_X509_NOT_TRUSTED;
        }
    }
    return 0;
}

const br_x509_pkey* insecure_get_pkey(const br_x509_class* const* ctx, unsigned* usages) {
    auto* xc = reinterpret_cast<const WiFiClientSecure::X509Ctx::Insecure*>(ctx);
    if (usages != nullptr) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return br_x509_decoder_get_pkey(const_cast<br_x509_decoder_context*>(&xc->decoder));
}

const br_x509_class kInsecureVtable = {
    sizeof(WiFiClientSecure::X509Ctx::Insecure), insecure_start_chain, insecure_start_cert,
    insecure_append, insecure_end_cert, insecure_end_chain, insecure_get_pkey,
};

void knownkey_start_chain(const br_x509_class**, const char*) {}
void knownkey_start_cert(const br_x509_class**, uint32_t) {}
void knownkey_append(const br_x509_class**, const unsigned char*, size_t) {}
void knownkey_end_cert(const br_x509_class**) {}
unsigned knownkey_end_chain(const br_x509_class**) { return 0; }
const br_x509_pkey* knownkey_get_pkey(const br_x509_class* const* ctx, unsigned* usages) {
    auto* kk = reinterpret_cast<const WiFiClientSecure::X509Ctx::KnownKey*>(ctx);
    if (usages != nullptr) *usages = kk->usages;
    return &kk->pkey;
}

const br_x509_class kKnownKeyVtable = {
    sizeof(WiFiClientSecure::X509Ctx::KnownKey), knownkey_start_chain, knownkey_start_cert,
    knownkey_append, knownkey_end_cert, knownkey_end_chain, knownkey_get_pkey,
};

void install_hashes_x509(br_x509_minimal_context* x) {
    br_x509_minimal_set_hash(x, br_md5_ID, &br_md5_vtable);
    br_x509_minimal_set_hash(x, br_sha1_ID, &br_sha1_vtable);
    br_x509_minimal_set_hash(x, br_sha224_ID, &br_sha224_vtable);
    br_x509_minimal_set_hash(x, br_sha256_ID, &br_sha256_vtable);
    br_x509_minimal_set_hash(x, br_sha384_ID, &br_sha384_vtable);
    br_x509_minimal_set_hash(x, br_sha512_ID, &br_sha512_vtable);
}

// The core's br_ssl_client_base_init: the engine set up as the ESP8266 core does.
void client_base_init(br_ssl_client_context* cc, const uint16_t* suites, size_t count) {
    br_ssl_client_zero(cc);
    br_ssl_engine_add_flags(&cc->eng, BR_OPT_NO_RENEGOTIATION);
    br_ssl_engine_set_versions(&cc->eng, HIL_TLS_MIN, HIL_TLS_MAX);
    br_ssl_engine_set_suites(&cc->eng, suites, count);
    br_ssl_client_set_default_rsapub(cc);
    br_ssl_engine_set_default_rsavrfy(&cc->eng);
    br_ssl_engine_set_default_ecdsa(&cc->eng);
    br_ssl_engine_set_hash(&cc->eng, br_md5_ID, &br_md5_vtable);
    br_ssl_engine_set_hash(&cc->eng, br_sha1_ID, &br_sha1_vtable);
    br_ssl_engine_set_hash(&cc->eng, br_sha224_ID, &br_sha224_vtable);
    br_ssl_engine_set_hash(&cc->eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(&cc->eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(&cc->eng, br_sha512_ID, &br_sha512_vtable);
    br_ssl_engine_set_prf10(&cc->eng, &br_tls10_prf);
    br_ssl_engine_set_prf_sha256(&cc->eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(&cc->eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_cbc(&cc->eng);
    br_ssl_engine_set_default_aes_gcm(&cc->eng);
    br_ssl_engine_set_default_aes_ccm(&cc->eng);
    br_ssl_engine_set_default_des_cbc(&cc->eng);
    br_ssl_engine_set_default_chapol(&cc->eng);
}

}  // namespace

WiFiClientSecure::WiFiClientSecure() : x509_(new X509Ctx()) {
    setBufferSizes(HIL_BUF_RECV, HIL_BUF_XMIT);
    clear_auth();
}

WiFiClientSecure::~WiFiClientSecure() { stop(); }

void WiFiClientSecure::clear_auth() {
    use_insecure_ = use_fingerprint_ = use_self_signed_ = false;
    knownkey_ = nullptr;
    ta_ = nullptr;
}

// -- connecting --------------------------------------------------------------------------

int WiFiClientSecure::connect(IPAddress ip, uint16_t port) {
    if (!tcp_.open(ip.toString().c_str(), port, timeout_ms_)) return 0;
    return connect_ssl(nullptr);
}

int WiFiClientSecure::connect(const char* name, uint16_t port) {
    IPAddress remote;
    // The board resolves names by DNS; the twin only knows literals and mapped names,
    // and its TCP layer refuses whatever is not loopback (HIL:REFUSED).
    if (!WiFi.hostByName(name, remote) && std::getenv("HIL_ADDR_MAP") == nullptr) {
        bssl_log("%s", HIL_LOG_NAME_LOOKUP);
        return 0;
    }
    if (!tcp_.open(name, port, timeout_ms_)) {
        bssl_log("%s", HIL_LOG_TCP_FAILED);
        return 0;
    }
    return connect_ssl(name);
}

bool WiFiClientSecure::install_x509() {
    X509Ctx& x = *x509_;
    const br_x509_class** vt = nullptr;
    if (use_insecure_ || use_fingerprint_ || use_self_signed_) {
        x.insecure = X509Ctx::Insecure{};
        x.insecure.vtable = &kInsecureVtable;
        x.insecure.match_fingerprint = use_fingerprint_ ? fingerprint_ : nullptr;
        x.insecure.allow_self_signed = use_self_signed_;
        vt = &x.insecure.vtable;
    } else if (knownkey_ != nullptr) {
        x.knownkey.vtable = &kKnownKeyVtable;
        x.knownkey.usages = knownkey_usages_;
        if (knownkey_->isRSA()) {
            x.knownkey.pkey.key_type = BR_KEYTYPE_RSA;
            x.knownkey.pkey.key.rsa = *knownkey_->getRSA();
        } else if (knownkey_->isEC()) {
            x.knownkey.pkey.key_type = BR_KEYTYPE_EC;
            x.knownkey.pkey.key.ec = *knownkey_->getEC();
        } else {
            return false;
        }
        vt = &x.knownkey.vtable;
    } else {
        // No anchors at all is allowed: BearSSL then refuses every chain, as on the board.
        br_x509_minimal_init(&x.minimal, &br_sha256_vtable, ta_ ? ta_->getTrustAnchors() : nullptr,
                             ta_ ? ta_->getCount() : 0);
        install_hashes_x509(&x.minimal);
        br_x509_minimal_set_rsa(&x.minimal, br_rsa_pkcs1_vrfy_get_default());
        br_x509_minimal_set_ecdsa(&x.minimal, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
        // The board's time(): seconds since boot until configTime() (twin_clock.h),
        // unless the sketch gave setX509Time().
        int64_t now = now_ ? (int64_t)now_ : twin::board_time();
        br_x509_minimal_set_time(&x.minimal, (uint32_t)(now / 86400) + kDaysToEpoch,
                                 (uint32_t)(now % 86400));
        vt = &x.minimal.vtable;
    }
    br_ssl_engine_set_x509(&sc_->eng, vt);
    return true;
}

bool WiFiClientSecure::connect_ssl(const char* host) {
    bssl_log("%s", HIL_LOG_CONNECT_START);
    free_ssl();
    oom_err_ = false;
    if (!use_insecure_ && !use_fingerprint_ && !use_self_signed_ && knownkey_ == nullptr &&
        ta_ == nullptr) {
        bssl_log("%s", HIL_LOG_NO_TRUST);
    }
    sc_ = std::make_unique<br_ssl_client_context>();
    eng_ = &sc_->eng;
    iobuf_in_.assign(iobuf_in_size_, 0);
    iobuf_out_.assign(iobuf_out_size_, 0);
    if (cipher_list_.empty()) {
        client_base_init(sc_.get(), kDefaultSuites, sizeof kDefaultSuites / sizeof kDefaultSuites[0]);
    } else {
        client_base_init(sc_.get(), cipher_list_.data(), cipher_list_.size());
    }
    install_x509();
    br_ssl_engine_set_buffers_bidi(eng_, iobuf_in_.data(), iobuf_in_.size(), iobuf_out_.data(),
                                   iobuf_out_.size());
    br_ssl_engine_set_versions(eng_, tls_min_, tls_max_);
    server_hello_.clear();
    mfln_status_ = 0;
    if (!br_ssl_client_reset(sc_.get(), host, 0)) {
        free_ssl();
        bssl_log("%s", "_connectSSL: Can't reset client");
        return false;
    }
    bool ok = wait_for_handshake();
    if (!ok) {
        char err[256];
#if HIL_API_getLastSSLError
        getLastSSLError(err, sizeof err);
#else
        err[0] = '\0';
#endif
        bssl_log(HIL_LOG_COULDNT_CONNECT, err);
        // The board keeps the TCP connection until stop(); the twin ends it now, so
        // every failed attempt is closed on the wire (FIDELITY-esp8266-bearssl.md).
        close_tcp();
    } else {
        bssl_log("%s", HIL_LOG_CONNECTED);
        timeout_ms_ = HIL_AFTER_CONNECT_TIMEOUT_MS;
    }
    return ok;
}

void WiFiClientSecure::note_server_hello(const uint8_t* data, size_t len) {
    // Keep the first record only (the ServerHello); enough to read its extensions.
    if (server_hello_.size() >= 5 + 16384) return;
    server_hello_.insert(server_hello_.end(), data, data + len);
    const auto& b = server_hello_;
    if (b.size() < 5 + 4 || b[0] != 22 || b[5] != 2) return;
    size_t rec = (size_t)b[3] << 8 | b[4];
    size_t hs = (size_t)b[6] << 16 | (size_t)b[7] << 8 | b[8];
    if (b.size() < 5 + std::min(rec, hs + 4)) return;
    size_t p = 9 + 2 + 32;  // version, random
    if (p >= b.size()) return;
    p += 1 + b[p];          // session id
    p += 2 + 1;             // suite, compression
    if (p + 2 > b.size()) return;
    size_t ext_end = std::min(b.size(), p + 2 + ((size_t)b[p] << 8 | b[p + 1]));
    p += 2;
    while (p + 4 <= ext_end) {
        unsigned type = (unsigned)b[p] << 8 | b[p + 1];
        size_t len2 = (size_t)b[p + 2] << 8 | b[p + 3];
        if (type == 0x0001) mfln_status_ = 1;
        p += 4 + len2;
    }
}

// The core's _run_until, with the twin's rules: every wait is a poll() with the
// connection's deadline, and when the engine wants neither to send nor to receive
// (nothing can change) it fails at once instead of spinning until the deadline.
int WiFiClientSecure::run_until(unsigned target, bool blocking) {
    if (eng_ == nullptr) {
        bssl_log("%s", "_run_until: Not connected");
        return -1;
    }
    uint32_t start = twin::millis_since_boot();
    for (int no_work = 0; blocking || no_work < 2;) {
        uint32_t spent = twin::millis_since_boot() - start;
        if (spent >= timeout_ms_) {
            bssl_log("%s", HIL_LOG_RUN_UNTIL_TIMEOUT);
            return -1;
        }
        uint32_t left = timeout_ms_ - spent;
        unsigned state = br_ssl_engine_current_state(eng_);
        if (state & BR_SSL_CLOSED) return -1;
        if (!tcp_.is_open()) return (state & target) ? 0 : -1;
        // Records to send go out first, also after the server's FIN (a half-closed
        // socket still sends): so BearSSL's reply to the server's close_notify reaches
        // the wire, as recorded (golden-staging esp8266-3.1.2/do-2016-ssl-params).
        if (state & BR_SSL_SENDREC) {
            size_t len;
            unsigned char* buf = br_ssl_engine_sendrec_buf(eng_, &len);
            size_t n = tcp_.send(buf, len, left);
            if (n == 0) return -1;
            br_ssl_engine_sendrec_ack(eng_, n);
            no_work = 0;
            continue;
        }
        if (tcp_.peer_closed() && tcp_.pending() == 0) return (state & target) ? 0 : -1;
        if (state & target) return 0;
        if (state & BR_SSL_RECVAPP) {
            bssl_log("%s", "_run_until: Fatal protocol state");
            return -1;
        }
        if (state & BR_SSL_RECVREC) {
            size_t len;
            unsigned char* buf = br_ssl_engine_recvrec_buf(eng_, &len);
            int n = tcp_.recv(buf, len, blocking ? (int)std::min<uint32_t>(left, 100) : 0);
            if (n > 0) {
                if (!handshake_done_) note_server_hello(buf, (size_t)n);
                br_ssl_engine_recvrec_ack(eng_, (size_t)n);
                no_work = 0;
                continue;
            }
            if (n < 0) continue;  // EOF: the check above ends the loop
            if (blocking) continue;  // waited in poll(); the deadline bounds the loop
            no_work++;
            continue;
        }
        // Neither sending nor receiving is possible: flush, and if that changes
        // nothing, no amount of waiting will.
        br_ssl_engine_flush(eng_, 0);
        unsigned after = br_ssl_engine_current_state(eng_);
        if (!(after & (BR_SSL_SENDREC | BR_SSL_RECVREC)) && !(after & target)) return -1;
        no_work++;
    }
    return -1;
}

bool WiFiClientSecure::wait_for_handshake() {
    handshake_done_ = false;
    while (!handshake_done_ && tcp_.is_open()) {
        if (run_until(BR_SSL_SENDAPP) < 0) {
            bssl_log("%s", HIL_LOG_HANDSHAKE_FAILED);
            break;
        }
        if (br_ssl_engine_current_state(eng_) & BR_SSL_SENDAPP) handshake_done_ = true;
    }
    return handshake_done_;
}

// -- data --------------------------------------------------------------------------------

bool WiFiClientSecure::engine_connected() {
    return tcp_.is_open() && !(tcp_.peer_closed() && tcp_.pending() == 0) && handshake_done_ &&
           eng_ && br_ssl_engine_current_state(eng_) != BR_SSL_CLOSED;
}

uint8_t WiFiClientSecure::connected() {
    if (recvapp_buf_ && recvapp_len_) return 1;
    if (!engine_connected()) return poll_recv_buffer() > 0;
    if (poll_recv_buffer() > 0) return 1;
    return engine_connected();
}

int WiFiClientSecure::poll_recv_buffer() {
    if (recvapp_buf_) return (int)recvapp_len_;
    if (eng_ == nullptr || run_until(BR_SSL_RECVAPP, false) < 0) return 0;
    unsigned st = br_ssl_engine_current_state(eng_);
    if (st == BR_SSL_CLOSED) return 0;
    if (st & BR_SSL_RECVAPP) {
        recvapp_buf_ = br_ssl_engine_recvapp_buf(eng_, &recvapp_len_);
        return (int)recvapp_len_;
    }
    return 0;
}

int WiFiClientSecure::available() { return poll_recv_buffer(); }

int WiFiClientSecure::read(uint8_t* buf, size_t size) {
    if (eng_ == nullptr || !handshake_done_) return -1;
    int avail = poll_recv_buffer();
    bool engine = engine_connected();
    if (!avail && engine) return 0;
    if (!avail && !engine) {
        bssl_log("%s", "read: Not connected, none left available");
        return -1;
    }
    size_t n = std::min(recvapp_len_, size);
    std::memcpy(buf, recvapp_buf_, n);
    br_ssl_engine_recvapp_ack(eng_, n);
    recvapp_buf_ = nullptr;
    recvapp_len_ = 0;
    return (int)n;
}

int WiFiClientSecure::read() {
    uint8_t c;
    if (read(&c, 1) == 1) return c;
    bssl_log("%s", HIL_LOG_READ_FAILED);
    return -1;
}

int WiFiClientSecure::peek() {
    if (eng_ == nullptr || poll_recv_buffer() == 0) {
        bssl_log("%s", "peek: Not connected, none left available");
        return -1;
    }
    return recvapp_buf_[0];
}

size_t WiFiClientSecure::write(const uint8_t* buf, size_t size) {
    size_t sent = 0;
    if (!size || !engine_connected()) {
        if (size && !handshake_done_) bssl_log("%s", HIL_LOG_WRITE_NOT_CONNECTED);
        return 0;
    }
    while (size) {
        if (run_until(BR_SSL_SENDAPP) < 0) break;
        if (!(br_ssl_engine_current_state(eng_) & BR_SSL_SENDAPP)) break;
        size_t room;
        unsigned char* app = br_ssl_engine_sendapp_buf(eng_, &room);
        size_t n = std::min(room, size);
        std::memcpy(app, buf, n);
        br_ssl_engine_sendapp_ack(eng_, n);
        br_ssl_engine_flush(eng_, 0);
        flush();
        buf += n;
        sent += n;
        size -= n;
    }
    return sent;
}

void WiFiClientSecure::flush() {
    if (eng_ != nullptr && handshake_done_) (void)run_until(BR_SSL_SENDAPP);
}

void WiFiClientSecure::free_ssl() {
    sc_.reset();
    eng_ = nullptr;
    recvapp_buf_ = nullptr;
    recvapp_len_ = 0;
    handshake_done_ = false;
    timeout_ms_ = HIL_HANDSHAKE_TIMEOUT_MS;
}

void WiFiClientSecure::close_tcp() {
    // The core's ClientContext has taken every received segment from lwIP into its own
    // buffer, which close() frees: nothing is left unread, so the close is a FIN (as
    // recorded), not the RST a socket with unread data would send.
    tcp_.drain();
    tcp_.close();
}

void WiFiClientSecure::stop() {
    // WiFiClient::stop() flushes (our flush), then closes TCP; no close_notify is
    // written by the core's stop().
    flush();
    close_tcp();
    // getLastSSLError() still reads the last engine after a failed connect; stop() ends it.
    free_ssl();
}

// -- settings ----------------------------------------------------------------------------

void WiFiClientSecure::setInsecure() {
    clear_auth();
    use_insecure_ = true;
}

void WiFiClientSecure::setKnownKey(const PublicKey* pk, unsigned usages) {
    clear_auth();
    knownkey_ = pk;
    knownkey_usages_ = usages;
}

bool WiFiClientSecure::setFingerprint(const uint8_t fingerprint[20]) {
    clear_auth();
    std::memcpy(fingerprint_, fingerprint, 20);
    use_fingerprint_ = true;
    return true;
}

bool WiFiClientSecure::setFingerprint(const char* fp) {
    auto htoi = [](uint8_t c) -> uint8_t {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return 10 + c - 'A';
        if (c >= 'a' && c <= 'f') return 10 + c - 'a';
        return 255;
    };
    uint8_t out[20];
    int idx = 0;
    while (idx < 20) {
        uint8_t c = (uint8_t)*fp++;
        if (!c) break;
        uint8_t d = (uint8_t)*fp++;
        if (!d) {
            bssl_log("%s", "setFingerprint: FP too short");
            return false;
        }
        c = htoi(c);
        d = htoi(d);
        if (c > 15 || d > 15) {
            bssl_log("%s", "setFingerprint: Invalid char");
            return false;
        }
        out[idx++] = (uint8_t)(c << 4 | d);
        while (*fp == ' ' || *fp == ':') ++fp;
    }
    if (idx != 20 || *fp) {
        bssl_log("%s", "setFingerprint: Garbage at end of fp");
        return false;
    }
    return setFingerprint(out);
}

void WiFiClientSecure::allowSelfSignedCerts() {
    clear_auth();
    use_self_signed_ = true;
}

void WiFiClientSecure::setTrustAnchors(const X509List* ta) {
    clear_auth();
    ta_ = ta;
}

void WiFiClientSecure::setX509Time(time_t now) { now_ = now; }

void WiFiClientSecure::setClientRSACert(const X509List*, const PrivateKey*) {
    twin::diag("setClientRSACert: accepted, but the twin does no client authentication");
}

void WiFiClientSecure::setBufferSizes(int recv, int xmit) {
    // The core's limits: 512 B..16 KB of data, plus the protocol's overhead.
    recv = std::max(512, std::min(16384, recv));
    xmit = std::max(512, std::min(16384, xmit));
    iobuf_in_size_ = (size_t)(recv + HIL_BUF_RECV_OVERHEAD);
    iobuf_out_size_ = (size_t)(xmit + HIL_BUF_XMIT_OVERHEAD);
}

int WiFiClientSecure::getMFLNStatus() { return connected() && mfln_status_; }

int WiFiClientSecure::getLastSSLError(char* dest, size_t len) {
    int err = 0;
    const char* recv_fatal = "";
    const char* send_fatal = "";
    if (sc_) err = br_ssl_engine_last_error(eng_);
    if (oom_err_) {
        err = -1000;
    } else if (HIL_ERR_RECV_FATAL_PREFIX[0] != '\0') {
        // 3.x strips the alert flags and names them; 2.x returns 256+n / 512+n as they
        // are (an empty prefix in the release data), whose text is then "unknown".
        if (err & BR_ERR_RECV_FATAL_ALERT) {
            recv_fatal = HIL_ERR_RECV_FATAL_PREFIX;
            err &= ~BR_ERR_RECV_FATAL_ALERT;
        }
        if (err & BR_ERR_SEND_FATAL_ALERT) {
            send_fatal = HIL_ERR_SEND_FATAL_PREFIX;
            err &= ~BR_ERR_SEND_FATAL_ALERT;
        }
    }
    const char* t = err == 0 ? HIL_ERR_OK_TEXT : error_text(err);
    if (dest) snprintf(dest, len, "%s%s%s", recv_fatal, send_fatal, t);
    return err;
}

#if HIL_API_setCiphers
bool WiFiClientSecure::setCiphers(const uint16_t* list, int count) {
    if (count <= 0) return false;
    cipher_list_.assign(list, list + count);
    return true;
}

bool WiFiClientSecure::setCiphers(const std::vector<uint16_t>& list) {
    return setCiphers(list.data(), (int)list.size());
}
#endif

#if HIL_API_setCiphersLessSecure
bool WiFiClientSecure::setCiphersLessSecure() {
    static const uint16_t less[] = {HIL_LESS_SECURE_SUITES};
    return setCiphers(less, HIL_LESS_SECURE_SUITES_COUNT);
}
#endif

#if HIL_API_setSSLVersion
bool WiFiClientSecure::setSSLVersion(uint32_t min, uint32_t max) {
    auto ok = [](uint32_t v) { return v == BR_TLS10 || v == BR_TLS11 || v == BR_TLS12; };
    if (!ok(min) || !ok(max) || max < min) return false;
    tls_min_ = min;
    tls_max_ = max;
    return true;
}
#endif

#if HIL_API_setCACert
bool WiFiClientSecure::setCACert(const uint8_t* der, size_t size) {
    axtls_ta_ = std::make_unique<X509List>(der, size);
    ta_ = axtls_ta_.get();
    return ta_ != nullptr;
}

bool WiFiClientSecure::setCACert_P(PGM_VOID_P der, size_t size) {
    return setCACert(static_cast<const uint8_t*>(der), size);
}
#endif

#if HIL_API_verify
bool WiFiClientSecure::verify(const char*, const char*) { return connected(); }
#endif

#if HIL_API_verifyCertChain
bool WiFiClientSecure::verifyCertChain(const char*) { return connected(); }
#endif

// -- MFLN probe --------------------------------------------------------------------------

#if HIL_API_probeMaxFragmentLength
bool WiFiClientSecure::probeMaxFragmentLength(IPAddress ip, uint16_t port, uint16_t len) {
    return probeMaxFragmentLength(ip.toString(), port, len);
}

bool WiFiClientSecure::probeMaxFragmentLength(const String& host, uint16_t port, uint16_t len) {
    return probeMaxFragmentLength(host.c_str(), port, len);
}

// As the core does: a hand-made TLS 1.2 ClientHello with the default suites and a
// max_fragment_length extension, then look for that extension in the ServerHello.
bool WiFiClientSecure::probeMaxFragmentLength(const char* name, uint16_t port, uint16_t len) {
    int mfl;
    switch (len) {
    case 512: mfl = 1; break;
    case 1024: mfl = 2; break;
    case 2048: mfl = 3; break;
    case 4096: mfl = 4; break;
    default: return false;
    }
    twin::TcpConn tcp;
    if (!tcp.open(name, port, 5000)) {
        bssl_log("%s", "probeMaxFragmentLength: Can't connect");
        return false;
    }
    std::vector<uint8_t> body = {0x03, 0x03};
    // The core's clientHelloHead_P has a fixed "random": 01..08 11..18, twice.
    for (int i = 0; i < 32; ++i) body.push_back((uint8_t)(((i % 16) / 8) * 0x10 + i % 8 + 1));
    body.push_back(0);  // no session id
    size_t n = sizeof kDefaultSuites / sizeof kDefaultSuites[0];
    body.push_back((uint8_t)(n * 2 >> 8));
    body.push_back((uint8_t)(n * 2));
    for (uint16_t s : kDefaultSuites) {
        body.push_back((uint8_t)(s >> 8));
        body.push_back((uint8_t)s);
    }
    // Null compression, then the extensions the core's probe sends (its clientHelloTail_P):
    // signature_algorithms (ECDSA then RSA with SHA-256/384/512/224/1... as BearSSL's
    // own hello), supported_groups P-256, P-384, P-521, X25519, ec_point_formats
    // uncompressed, and max_fragment_length.
    // The release data may name another layout (HIL_MFLN_PROBE_EXTENSIONS): core 2.4.2's
    // probe sends max_fragment_length alone.
    static const uint8_t sig_algs[] = {0x00, 0x0d, 0x00, 0x16, 0x00, 0x14, 0x04, 0x03, 0x03,
                                       0x03, 0x05, 0x03, 0x06, 0x03, 0x02, 0x03, 0x04, 0x01,
                                       0x03, 0x01, 0x05, 0x01, 0x06, 0x01, 0x02, 0x01};
    static const uint8_t groups[] = {0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00,
                                     0x17, 0x00, 0x18, 0x00, 0x19, 0x00, 0x1d};
    static const uint8_t point_formats[] = {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
    const uint8_t max_frag[] = {0x00, 0x01, 0x00, 0x01, (uint8_t)mfl};
#ifdef HIL_MFLN_PROBE_EXTENSIONS
    static const uint16_t layout[] = {HIL_MFLN_PROBE_EXTENSIONS};
#else
    static const uint16_t layout[] = {0x000d, 0x000a, 0x000b, 0x0001};
#endif
    std::vector<uint8_t> exts;
    for (uint16_t type : layout) {
        auto add = [&exts](const uint8_t* p, size_t n) { exts.insert(exts.end(), p, p + n); };
        if (type == 0x000d) add(sig_algs, sizeof sig_algs);
        if (type == 0x000a) add(groups, sizeof groups);
        if (type == 0x000b) add(point_formats, sizeof point_formats);
        if (type == 0x0001) add(max_frag, sizeof max_frag);
    }
    body.push_back(0x01);  // one compression method: null
    body.push_back(0x00);
    body.push_back((uint8_t)(exts.size() >> 8));
    body.push_back((uint8_t)exts.size());
    body.insert(body.end(), exts.begin(), exts.end());
    std::vector<uint8_t> rec = {0x16, 0x03, 0x03, (uint8_t)((body.size() + 4) >> 8),
                                (uint8_t)(body.size() + 4), 0x01, 0x00,
                                (uint8_t)(body.size() >> 8), (uint8_t)body.size()};
    rec.insert(rec.end(), body.begin(), body.end());
    if (tcp.send(rec.data(), rec.size(), 5000) != rec.size()) {
        bssl_log("%s", "probeMaxFragmentLength: Protocol error");
        return false;
    }
    std::vector<uint8_t> in;
    uint8_t buf[1024];
    uint32_t start = twin::millis_since_boot();
    while (twin::millis_since_boot() - start < 5000 && in.size() < 5 + 4 + 2 + 32 + 1 + 32 + 3 + 2) {
        int r = tcp.recv(buf, sizeof buf, 100);
        if (r < 0) break;
        in.insert(in.end(), buf, buf + r);
    }
    // Read the whole first record, then its extensions.
    while (in.size() >= 5 && in.size() < 5 + ((size_t)in[3] << 8 | in[4]) &&
           twin::millis_since_boot() - start < 5000) {
        int r = tcp.recv(buf, sizeof buf, 100);
        if (r < 0) break;
        in.insert(in.end(), buf, buf + r);
    }
    // Then the core ends the probe with a user_canceled and a close_notify warning, each
    // a record of its own (recorded: large-records--mfln).
    static const uint8_t bye[][7] = {{0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x5a},
                                     {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00}};
    for (const auto& alert : bye) tcp.send(alert, sizeof alert, 5000);
    tcp.drain();
    tcp.close();
    if (in.size() < 9 || in[0] != 0x16 || in[5] != 0x02 || in[9] != 0x03 || in[10] != 0x03) {
        return false;  // not a TLS 1.2 ServerHello: MFLN cannot be used
    }
    size_t p = 5 + 4 + 2 + 32;
    if (p >= in.size()) return false;
    p += 1 + in[p] + 2 + 1;
    if (p + 2 > in.size()) return false;
    size_t end = std::min(in.size(), p + 2 + ((size_t)in[p] << 8 | in[p + 1]));
    p += 2;
    while (p + 4 <= end) {
        unsigned type = (unsigned)in[p] << 8 | in[p + 1];
        size_t l = (size_t)in[p + 2] << 8 | in[p + 3];
        if (type == 0x0001 && l == 1 && p + 4 < end && in[p + 4] == mfl) return true;
        p += 4 + l;
    }
    return false;
}
#endif

}  // namespace BearSSL
