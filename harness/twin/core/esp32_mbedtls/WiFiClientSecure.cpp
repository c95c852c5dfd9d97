#include "WiFiClientSecure.h"  // first: hil_core_config.h may name mbedTLS 3's config file

#include <mbedtls/version.h>  // MBEDTLS_VERSION_MAJOR: 2 (system) or 3 (hil setup)
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "esp32_log.h"
#include "twin_clock.h"
#include "twin_io.h"
#include "twin_tcp.h"

namespace {

const int kSuites[] = {HIL_DEFAULT_SUITES, 0};
const uint16_t kGroups[] = {HIL_GROUPS};
const uint16_t kSigAlgs[] = {HIL_SIG_ALGS};

struct ErrorText {
    int code;
    const char* text;
};
const ErrorText kErrorTexts[] = {HIL_ERROR_TEXTS};

// Log texts the releases differ in; a release file that does not name one keeps the
// 1.0.x/2.0.x text (hil_core_config.h).
#ifndef HIL_LOG_CLIENT_FILE
#define HIL_LOG_CLIENT_FILE "WiFiClientSecure.cpp"
#endif
#ifndef HIL_LOG_HANDSHAKE_FUNCTION
#define HIL_LOG_HANDSHAKE_FUNCTION "start_ssl_client"
#endif
#ifndef HIL_LOG_STARTING_SOCKET
#define HIL_LOG_STARTING_SOCKET "Starting socket"
#endif
#ifndef HIL_LOG_SEND
#define HIL_LOG_SEND "Writing HTTP request with %u bytes..."
#endif

constexpr const char* kSslFile = "ssl_client.cpp";
constexpr const char* kClientFile = HIL_LOG_CLIENT_FILE;
// 3.x splits start_ssl_client: the handshake and its checks are ssl_starttls_handshake's.
constexpr const char* kHandshakeFunc = HIL_LOG_HANDSHAKE_FUNCTION;
// mbedTLS's MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: ssl_client.cpp's _handle_error stays silent on it.
constexpr int kPeerCloseNotify = -30848;
// How long the handshake's receive waits for data before the loop checks its deadline
// (the board's loop sleeps 2 ticks between tries; the twin waits in poll()).
constexpr int kRecvPollMs = 20;

// The text of an mbedTLS error as the release prints it: the release's own texts where
// its mbedTLS differs from the system's (hil_core_config.h), else the system's.
void error_string(int err, char* buf, size_t size) {
    for (const auto& e : kErrorTexts) {
        if (e.code == err) {
            snprintf(buf, size, "%s", e.text);
            return;
        }
    }
    mbedtls_strerror(err, buf, size);
}

int handle_error(int err, int line, const char* func = kHandshakeFunc) {
    if (err == kPeerCloseNotify) return err;
    char buf[100];
    error_string(err, buf, sizeof buf);
    esp32log::line('E', kSslFile, HIL_LOG_HANDLE_ERROR_LINE, "_handle_error", "[%s():%d]: (%d) %s",
                   func, line, err, buf);
    return err;
}

void log_v(int line, const char* func, const char* text) {
    esp32log::line('V', kSslFile, line, func, "%s", text);
}

int bio_send(void* ctx, const unsigned char* buf, size_t len) {
    auto* tcp = static_cast<twin::TcpConn*>(ctx);
    size_t n = tcp->send(buf, len, 5000);
    if (n == 0) return MBEDTLS_ERR_NET_SEND_FAILED;
    return (int)n;
}

int bio_recv(void* ctx, unsigned char* buf, size_t len) {
    auto* tcp = static_cast<twin::TcpConn*>(ctx);
    int n = tcp->recv(buf, len, kRecvPollMs);
    if (n > 0) return n;
    if (n == 0) return MBEDTLS_ERR_SSL_WANT_READ;
    return MBEDTLS_ERR_NET_CONN_RESET;
}

}  // namespace

struct sslclient_context {
    twin::TcpConn tcp;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_context entropy;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt client_cert;
    mbedtls_pk_context client_key;
    std::vector<mbedtls_ecp_group_id> curves;  // mbedTLS 2
    std::vector<int> hashes;                   // mbedTLS 2
    std::vector<uint16_t> groups;              // mbedTLS 3
    std::vector<uint16_t> sig_algs;            // mbedTLS 3
    unsigned long handshake_timeout = HIL_HANDSHAKE_TIMEOUT_MS;
    bool live = false;

    void init() {
        mbedtls_ssl_init(&ssl);
        mbedtls_ssl_config_init(&conf);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_entropy_init(&entropy);
        mbedtls_x509_crt_init(&ca);
        mbedtls_x509_crt_init(&client_cert);
        mbedtls_pk_init(&client_key);
        live = true;
    }
    void free_all() {
        if (!live) return;
        mbedtls_ssl_free(&ssl);
        mbedtls_ssl_config_free(&conf);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
        mbedtls_x509_crt_free(&ca);
        mbedtls_x509_crt_free(&client_cert);
        mbedtls_pk_free(&client_key);
        live = false;
    }
    ~sslclient_context() { free_all(); }
};

namespace {

// mbedTLS 2.16 (arduino-esp32 1.0.x) offers PSK suites whether or not a PSK is set;
// 2.28 offers them only with a PSK. When the release's list has PSK suites, give the
// system mbedTLS a placeholder PSK so the ClientHello is the board's. Servers here
// never choose a PSK suite, so the placeholder is never used on the wire.
void offer_psk_suites(mbedtls_ssl_config* conf) {
#if MBEDTLS_VERSION_MAJOR >= 3
    // mbedTLS 3 keeps mbedtls_ssl_ciphersuite_uses_psk internal, and 3.x's release list
    // (recorded) has no PSK suite: nothing to offer.
    (void)conf;
#else
    for (const int* s = kSuites; *s; ++s) {
        const mbedtls_ssl_ciphersuite_t* info = mbedtls_ssl_ciphersuite_from_id(*s);
        if (info != nullptr && mbedtls_ssl_ciphersuite_uses_psk(info)) {
            static const unsigned char key[] = {0};
            static const unsigned char ident[] = "hil-twin-unused";
            mbedtls_ssl_conf_psk(conf, key, sizeof key, ident, sizeof ident - 1);
            return;
        }
    }
#endif
}

// The board's mbedTLS has no time: the validity dates of a certificate are never checked.
int ignore_dates(void*, mbedtls_x509_crt*, int, uint32_t* flags) {
    *flags &= ~static_cast<uint32_t>(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    return 0;
}

// ssl_client.cpp's start_ssl_client(), step by step; returns the socket (> 0) or an error.
int start_ssl_client(sslclient_context* c, const char* host, uint16_t port, const char* ca,
                     bool bundle, const char* cli_cert, const char* cli_key, const char* psk_ident,
                     const char* psk, bool insecure, const char** alpn) {
    log_v(HIL_LOG_FREE_HEAP_BEFORE_LINE, "start_ssl_client", "Free internal heap before TLS 0");
    if (ca == nullptr && psk_ident == nullptr && psk == nullptr && !insecure && !bundle) {
        return -1;  // no trust method: refused before any socket
    }
    log_v(HIL_LOG_STARTING_SOCKET_LINE, "start_ssl_client", HIL_LOG_STARTING_SOCKET);
    if (!c->tcp.open(host, port, 30000)) return -1;

    log_v(HIL_LOG_SEEDING_LINE, "start_ssl_client", "Seeding the random number generator");
    c->free_all();
    c->init();
    static const char pers[] = "esp32-tls";
    int ret = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                                    reinterpret_cast<const unsigned char*>(pers), sizeof pers - 1);
    if (ret < 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);

    log_v(HIL_LOG_SETUP_LINE, "start_ssl_client", "Setting up the SSL/TLS structure...");
    ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    // The board's ESP-IDF mbedTLS is configured differently from the system's: offer
    // what the release offers (hil_core_config.h), in its order.
    mbedtls_ssl_conf_ciphersuites(&c->conf, kSuites);
    // Whether TLS 1.0 CBC data is split 1/n-1 depends on the release's ESP-IDF esp_config.h
    // (hil_core_config.h: 3.3 has no MBEDTLS_SSL_CBC_RECORD_SPLITTING, 4.4 has it).
#if defined(MBEDTLS_SSL_CBC_RECORD_SPLITTING) && defined(HIL_CBC_RECORD_SPLITTING)
    mbedtls_ssl_conf_cbc_record_splitting(&c->conf, HIL_CBC_RECORD_SPLITTING
                                                        ? MBEDTLS_SSL_CBC_RECORD_SPLITTING_ENABLED
                                                        : MBEDTLS_SSL_CBC_RECORD_SPLITTING_DISABLED);
#endif
    // Nor MBEDTLS_HAVE_TIME_DATE (CONFIG_MBEDTLS_HAVE_TIME_DATE is not set in either
    // release's sdkconfig): the board never checks certificate dates, so an expired or
    // not yet valid certificate verifies (recorded: expired--dnsname).
    mbedtls_ssl_conf_verify(&c->conf, ignore_dates, nullptr);
#if MBEDTLS_VERSION_MAJOR >= 3
    // mbedTLS 3 names versions by their wire value (MBEDTLS_SSL_VERSION_TLS1_2 = 0x0303)
    // and takes groups and signature algorithms as TLS ids, as the release data has them.
    mbedtls_ssl_conf_min_tls_version(&c->conf, static_cast<mbedtls_ssl_protocol_version>(HIL_TLS_MIN));
    mbedtls_ssl_conf_max_tls_version(&c->conf, static_cast<mbedtls_ssl_protocol_version>(HIL_TLS_MAX));
    c->groups.assign(kGroups, kGroups + HIL_GROUPS_COUNT);
    if (!c->groups.empty()) {
        c->groups.push_back(MBEDTLS_SSL_IANA_TLS_GROUP_NONE);
        mbedtls_ssl_conf_groups(&c->conf, c->groups.data());
    }
    c->sig_algs.assign(kSigAlgs, kSigAlgs + HIL_SIG_ALGS_COUNT);
    if (!c->sig_algs.empty()) {
        c->sig_algs.push_back(MBEDTLS_TLS1_3_SIG_NONE);
        mbedtls_ssl_conf_sig_algs(&c->conf, c->sig_algs.data());
    }
#else
    mbedtls_ssl_conf_min_version(&c->conf, 3, (HIL_TLS_MIN & 0xff));
    mbedtls_ssl_conf_max_version(&c->conf, 3, (HIL_TLS_MAX & 0xff));
    c->curves.clear();
    for (size_t i = 0; i < HIL_GROUPS_COUNT; ++i) {
        const mbedtls_ecp_curve_info* info = mbedtls_ecp_curve_info_from_tls_id(kGroups[i]);
        if (info != nullptr) c->curves.push_back(info->grp_id);
    }
    if (!c->curves.empty()) {
        c->curves.push_back(MBEDTLS_ECP_DP_NONE);
        mbedtls_ssl_conf_curves(&c->conf, c->curves.data());
    }
    c->hashes.clear();
    for (size_t i = 0; i < HIL_SIG_ALGS_COUNT; ++i) {
        // TLS 1.2 hash byte -> mbedTLS md type (mbedTLS writes ECDSA and RSA for each).
        static const int md[] = {MBEDTLS_MD_NONE, MBEDTLS_MD_MD5, MBEDTLS_MD_SHA1, MBEDTLS_MD_SHA224,
                                 MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512};
        unsigned h = kSigAlgs[i] >> 8;
        if (h < 7 && (c->hashes.empty() || c->hashes.back() != md[h])) c->hashes.push_back(md[h]);
    }
    if (!c->hashes.empty()) {
        c->hashes.push_back(MBEDTLS_MD_NONE);
        mbedtls_ssl_conf_sig_hashes(&c->conf, c->hashes.data());
    }
#endif
    if (alpn != nullptr) {
        ret = mbedtls_ssl_conf_alpn_protocols(&c->conf, alpn);
        if (ret != 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    }

    if (insecure) {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
        esp32log::line(HIL_LOG_INSECURE_LEVEL[0], kSslFile, HIL_LOG_INSECURE_LINE, "start_ssl_client",
                       "WARNING: Skipping SSL Verification. INSECURE!");
    } else if (ca != nullptr) {
        log_v(HIL_LOG_LOADING_CA_LINE, "start_ssl_client", "Loading CA cert");
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        ret = mbedtls_x509_crt_parse(&c->ca, reinterpret_cast<const unsigned char*>(ca), strlen(ca) + 1);
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, nullptr);
        if (ret < 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    } else if (bundle) {
        // The twin has no certificate bundle: nothing is trusted, as with an empty bundle.
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        twin::diag("setCACertBundle: the twin has no CA bundle; every chain is untrusted");
    } else if (psk_ident != nullptr && psk != nullptr) {
        std::vector<unsigned char> key;
        size_t n = strlen(psk);
        if (n % 2 || n > 2 * MBEDTLS_PSK_MAX_LEN) return -1;
        for (size_t i = 0; i < n; i += 2) {
            auto nib = [](char ch) -> int {
                if (ch >= '0' && ch <= '9') return ch - '0';
                if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
                if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
                return -1;
            };
            int hi = nib(psk[i]), lo = nib(psk[i + 1]);
            if (hi < 0 || lo < 0) return -1;
            key.push_back((unsigned char)(hi << 4 | lo));
        }
        ret = mbedtls_ssl_conf_psk(&c->conf, key.data(), key.size(),
                                   reinterpret_cast<const unsigned char*>(psk_ident), strlen(psk_ident));
        if (ret != 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    } else {
        return -1;
    }
    if (psk_ident == nullptr || psk == nullptr) offer_psk_suites(&c->conf);

    if (!insecure && cli_cert != nullptr && cli_key != nullptr) {
        ret = mbedtls_x509_crt_parse(&c->client_cert, reinterpret_cast<const unsigned char*>(cli_cert),
                                     strlen(cli_cert) + 1);
        if (ret < 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
        ret = mbedtls_pk_parse_key(&c->client_key, reinterpret_cast<const unsigned char*>(cli_key),
                                   strlen(cli_key) + 1, nullptr, 0
#if MBEDTLS_VERSION_MAJOR >= 3
                                   ,
                                   mbedtls_ctr_drbg_random, &c->drbg
#endif
        );
        if (ret != 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
        mbedtls_ssl_conf_own_cert(&c->conf, &c->client_cert, &c->client_key);
    }

    log_v(HIL_LOG_HOSTNAME_LINE, "start_ssl_client", "Setting hostname for TLS session...");
    ret = mbedtls_ssl_set_hostname(&c->ssl, host);
    if (ret != 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    ret = mbedtls_ssl_setup(&c->ssl, &c->conf);
    if (ret != 0) return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    mbedtls_ssl_set_bio(&c->ssl, &c->tcp, bio_send, bio_recv, nullptr);
    return c->tcp.fd();
}

// The handshake and the verification: the end of start_ssl_client on 1.0.x/2.0.x, a
// function of its own on 3.x (ssl_starttls_handshake), called by connect() when
// start_ssl_client returned a socket. The lines are the same but for the function name.
int ssl_handshake(sslclient_context* c, bool insecure) {
    int ret;
    log_v(HIL_LOG_HANDSHAKE_LINE, kHandshakeFunc, "Performing the SSL/TLS handshake...");
    uint32_t start = twin::millis_since_boot();
    while ((ret = mbedtls_ssl_handshake(&c->ssl)) != 0) {
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
        }
        // Each WANT_READ has waited in poll() (bio_recv): no busy loop.
        if (twin::millis_since_boot() - start > c->handshake_timeout) return -1;
    }
    log_v(HIL_LOG_VERIFYING_LINE, kHandshakeFunc, "Verifying peer X.509 certificate...");
    uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
    if (flags != 0 && !insecure) {
        char buf[512];
        mbedtls_x509_crt_verify_info(buf, sizeof buf, "  ! ", flags);
        esp32log::line('E', kSslFile, HIL_LOG_VERIFYING_LINE, kHandshakeFunc,
                       "Failed to verify peer certificate! verification info: %s", buf);
        return handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
    }
    log_v(HIL_LOG_VERIFIED_LINE, kHandshakeFunc, "Certificate verified.");
    log_v(HIL_LOG_FREE_HEAP_AFTER_LINE, kHandshakeFunc, "Free internal heap after TLS 0");
    return c->tcp.fd();
}

}  // namespace

WiFiClientSecure::WiFiClientSecure() : ssl_(new sslclient_context()) {}

WiFiClientSecure::~WiFiClientSecure() { stop(); }

int WiFiClientSecure::connect(IPAddress ip, uint16_t port) { return connect(ip.toString().c_str(), port); }

int WiFiClientSecure::connect(const char* host, uint16_t port) {
    int ret = start_ssl_client(ssl_.get(), host, port, ca_cert_, use_bundle_, cert_, private_key_,
                               psk_ident_, psk_, use_insecure_, alpn_);
    if (ret >= 0) {
        ret = ssl_handshake(ssl_.get(), use_insecure_);
    } else {
#ifdef HIL_LOG_POSTPONED
        // 3.x's connect() runs the handshake only when start_ssl_client returned a socket;
        // otherwise it logs this (also when nothing was postponed, as after the -1 rule).
        esp32log::line('I', kClientFile, HIL_LOG_POSTPONED_LINE, "connect", HIL_LOG_POSTPONED);
#endif
    }
    last_error_ = ret;
    if (ret < 0) {
        esp32log::line('E', kClientFile, HIL_LOG_CONNECT_ERROR_LINE, "connect", HIL_LOG_CONNECT_ERROR, ret);
        stop();
        return 0;
    }
    connected_ = true;
    return 1;
}

void WiFiClientSecure::stop() {
    // ssl_client.cpp's stop_ssl_socket(): close the socket, free mbedTLS.
    log_v(HIL_LOG_CLEANING_LINE, "stop_ssl_socket", "Cleaning SSL connection.");
    connected_ = false;
    peeked_ = -1;
    ssl_->tcp.close();
    ssl_->free_all();
}

int WiFiClientSecure::available() {
    if (!connected_) return 0;
    int ret = mbedtls_ssl_read(&ssl_->ssl, nullptr, 0);
    int res = (int)mbedtls_ssl_get_bytes_avail(&ssl_->ssl);
    if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE && ret < 0) {
        handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
#ifdef HIL_LOG_AVAILABLE_ERROR
        if (ret != kPeerCloseNotify) esp32log::line('E', kClientFile, 0, "available", HIL_LOG_AVAILABLE_ERROR);
#endif
        stop();
        return 0;
    }
    return res + (peeked_ >= 0 ? 1 : 0);
}

int WiFiClientSecure::read(uint8_t* buf, size_t size) {
    if (peeked_ >= 0 && size > 0) {
        buf[0] = (uint8_t)peeked_;
        peeked_ = -1;
        return 1;
    }
    if (!available()) return -1;
    int res = mbedtls_ssl_read(&ssl_->ssl, buf, size);
    if (res < 0) stop();
    return res;
}

int WiFiClientSecure::read() {
    uint8_t c;
    int r = read(&c, 1);
    return r == 1 ? c : -1;
}

int WiFiClientSecure::peek() {
    if (peeked_ < 0) peeked_ = read();
    return peeked_;
}

size_t WiFiClientSecure::write(const uint8_t* buf, size_t size) {
    if (!connected_) return 0;
    // send_ssl_data(): its length is a uint16_t there.
    if (HIL_LOG_SEND[0] != '\0') {  // 3.x's send_ssl_data logs nothing
        char text[64];
        snprintf(text, sizeof text, HIL_LOG_SEND, (unsigned)(uint16_t)size);
        log_v(HIL_LOG_SEND_LINE, "send_ssl_data", text);
    }
    uint32_t start = twin::millis_since_boot();
    int ret;
    while ((ret = mbedtls_ssl_write(&ssl_->ssl, buf, size)) <= 0) {
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE && ret < 0) {
            handle_error(ret, HIL_LOG_HANDSHAKE_ERROR_LINE);
            stop();
            return 0;
        }
        // The board's loop has no deadline; the twin gives up after the handshake's.
        if (twin::millis_since_boot() - start > ssl_->handshake_timeout) {
            stop();
            return 0;
        }
    }
    return (size_t)ret;
}

uint8_t WiFiClientSecure::connected() {
    uint8_t dummy = 0;
    if (connected_) (void)read(&dummy, 0);
    return connected_;
}

void WiFiClientSecure::setInsecure() {
    ca_cert_ = nullptr;
    cert_ = nullptr;
    private_key_ = nullptr;
    psk_ident_ = nullptr;
    psk_ = nullptr;
    use_insecure_ = true;
}

void WiFiClientSecure::setCACert(const char* rootCA) {
    ca_cert_ = rootCA;
    use_insecure_ = false;
}

void WiFiClientSecure::setCertificate(const char* client_ca) { cert_ = client_ca; }
void WiFiClientSecure::setPrivateKey(const char* private_key) { private_key_ = private_key; }

void WiFiClientSecure::setPreSharedKey(const char* ident, const char* key) {
    psk_ident_ = ident;
    psk_ = key;
}

#if HIL_API_setCACertBundle
void WiFiClientSecure::setCACertBundle(const uint8_t* bundle) { use_bundle_ = bundle != nullptr; }
#endif

void WiFiClientSecure::setAlpnProtocols(const char** alpn) { alpn_ = alpn; }

void WiFiClientSecure::setHandshakeTimeout(unsigned long seconds) {
    ssl_->handshake_timeout = seconds * 1000;
}

int WiFiClientSecure::lastError(char* buf, const size_t size) {
    if (!last_error_) return 0;
    char text[100];
    error_string(last_error_, text, sizeof text);
    snprintf(buf, size, "%s", text);
    return last_error_;
}

namespace {

// matchName of ssl_client.cpp: exact, or "*." + the rest of the name after its first label.
bool match_name(const std::string& name, const std::string& domain) {
    size_t star = name.find('*');
    if (star == std::string::npos) return name == domain;
    size_t dot = name.find('.');
    if (star != 0 || dot != 1) return false;
    size_t domain_dot = domain.find('.');
    return domain_dot != std::string::npos && name.substr(1) == domain.substr(domain_dot);
}

std::string lower(std::string s) {
    for (auto& c : s) c = (char)std::tolower((unsigned char)c);
    return s;
}

}  // namespace

#if HIL_API_verify
bool WiFiClientSecure::verify(const char* fp, const char* domain_name) {
    if (!connected_ || fp == nullptr) return false;
    uint8_t want[32];
    size_t n = 0;
    for (const char* p = fp; *p && n < sizeof want;) {
        if (*p == ' ' || *p == ':') {
            ++p;
            continue;
        }
        auto nib = [](char ch) -> int {
            if (ch >= '0' && ch <= '9') return ch - '0';
            if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
            if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
            return -1;
        };
        int hi = nib(p[0]);
        int lo = hi < 0 ? -1 : nib(p[1]);
        if (hi < 0 || lo < 0) return false;
        want[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    if (n != sizeof want) return false;
    const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&ssl_->ssl);
    if (peer == nullptr) return false;
    uint8_t got[32];
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_sha256(peer->raw.p, peer->raw.len, got, 0);
#else
    mbedtls_sha256_ret(peer->raw.p, peer->raw.len, got, 0);
#endif
    if (std::memcmp(want, got, sizeof got) != 0) return false;
    if (domain_name == nullptr) return true;
    std::string domain = lower(domain_name);
    // SAN dNSName entries first; the CN only when there are none.
    bool any_san = false;
    for (const mbedtls_x509_sequence* san = &peer->subject_alt_names; san && san->buf.p; san = san->next) {
        if ((san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != 2) continue;  // dNSName
        any_san = true;
        if (match_name(lower(std::string((const char*)san->buf.p, san->buf.len)), domain)) return true;
    }
    if (any_san) return false;
    for (const mbedtls_x509_name* dn = &peer->subject; dn; dn = dn->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid) == 0) {
            return match_name(lower(std::string((const char*)dn->val.p, dn->val.len)), domain);
        }
    }
    return false;
}
#endif
