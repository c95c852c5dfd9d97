#include "WiFiClientSecure.h"

#include <bearssl.h>

#include <cctype>
#include <cstring>

#include "ESP8266WiFi.h"
#include "axtls_debug.h"
#include "axtls_verify.h"
#include "tls_session.h"
#include "twin_clock.h"
#include "twin_io.h"
#include "twin_net.h"

namespace {

// SSLContext::connect's handshake budget on core 2.4.1.
const uint32_t HANDSHAKE_TIMEOUT_MS = 5000;
const uint32_t TCP_CONNECT_TIMEOUT_MS = 5000;

}  // namespace

WiFiClientSecure::WiFiClientSecure() = default;

WiFiClientSecure::~WiFiClientSecure() { release(); }

void WiFiClientSecure::release() {
    if (ssl_) {
        ssl_->free_session();
        ssl_.reset();
    }
}

bool WiFiClientSecure::setCACert(const uint8_t* der, size_t size) {
    // add_cert_auth: every certificate in the buffer is parsed and, with
    // SSL_DISPLAY_CERTS, dumped; errors are printed and otherwise ignored.
    size_t off = 0;
    while (off < size) {
        axtls::Cert cert;
        size_t used = 0;
        int rc = axtls::parse_cert(der + off, size - off, &cert, &used);
        if (rc == axtls::X509_OK) {
            axtls::x509_print(cert);
            ca_certs_.push_back(std::move(cert));
        } else {
            twin::serial_printf("Error: Invalid X509 ASN.1 file (%s)\n", axtls::x509_error_text(rc));
        }
        if (used == 0) break;  // axTLS would loop forever here
        off += used;
    }
    return true;
}

bool WiFiClientSecure::setCertificate(const uint8_t*, size_t) {
    twin::diag("setCertificate: client certificates are not supported by the twin (ignored)");
    return true;
}

bool WiFiClientSecure::setPrivateKey(const uint8_t*, size_t) {
    twin::diag("setPrivateKey: client keys are not supported by the twin (ignored)");
    return true;
}

int WiFiClientSecure::connect(IPAddress ip, uint16_t port) {
    return connect_to(ip.toString(), port, nullptr);
}

int WiFiClientSecure::connect(const char* host, uint16_t port) {
    if (host == nullptr) return 0;
    // connect(const char*) hands the name to the TLS layer as SNI, even an IP literal.
    return connect_to(String(host), port, host);
}

int WiFiClientSecure::connect_to(const String& addr, uint16_t port, const char* sni) {
    // A new connection frees the old TLS session first (SSLContext::connect).
    release();
    twin::Resolved where = twin::resolve_guarded(addr.str());
    if (!where.ok) return 0;
    int fd = twin::tcp_connect(where.target, port, TCP_CONNECT_TIMEOUT_MS);
    if (fd < 0) return 0;
    return connect_ssl(fd, sni);
}

int WiFiClientSecure::connect_ssl(int fd, const char* sni) {
    ssl_ = std::make_unique<twin::TlsSession>();
    ssl_->start(fd, sni);
    int rc = ssl_->handshake(HANDSHAKE_TIMEOUT_MS);
    if (rc == axtls::SSL_OK) return 1;
    if (rc < 0) {
        // ssl_read's send_alert(), then SSLContext::connect's ssl_display_error().
        if (rc != axtls::SSL_ERROR_CONN_LOST) ssl_->send_alert_for_error(rc);
        axtls::display_error(rc);
    } else {
        twin::diag("handshake did not finish within %u ms", HANDSHAKE_TIMEOUT_MS);
    }
    // _connectSSL: status != SSL_OK -> unref -> ssl_free (close_notify).
    release();
    return 0;
}

bool WiFiClientSecure::verifyCertChain(const char* domain_name) {
    if (!ssl_ || ssl_->server_certs().empty()) return false;
    std::vector<const axtls::Cert*> chain = axtls::link_chain(ssl_->server_certs());
    int32_t now = (int32_t)(uint32_t)(uint64_t)twin::board_time();
    int rc = axtls::x509_verify(ca_certs_, chain, now);
    if (allow_self_signed_ && rc == axtls::X509_VFY_ERROR_SELF_SIGNED) return true;
    if (rc != axtls::X509_OK) {
        axtls::display_error(axtls::SSL_X509_OFFSET + rc);
        return false;
    }
    return axtls::verify_dn(ssl_->server_certs()[0], domain_name ? domain_name : "");
}

static int hex_nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool WiFiClientSecure::verify(const char* fp, const char* domain_name) {
    if (!ssl_ || ssl_->server_certs().empty() || fp == nullptr) return false;
    uint8_t want[20];
    size_t len = std::strlen(fp), pos = 0;
    for (uint8_t& b : want) {
        while (pos < len && (fp[pos] == ' ' || fp[pos] == ':')) ++pos;
        if (pos + 2 > len) return false;
        int hi = hex_nibble(fp[pos]), lo = hex_nibble(fp[pos + 1]);
        if (hi < 0 || lo < 0) return false;
        b = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    const std::vector<uint8_t>& der = ssl_->server_certs()[0].der;
    br_sha1_context sha;
    br_sha1_init(&sha);
    br_sha1_update(&sha, der.data(), der.size());
    uint8_t got[20];
    br_sha1_out(&sha, got);
    if (std::memcmp(got, want, sizeof got) != 0) return false;
    return axtls::verify_dn(ssl_->server_certs()[0], domain_name ? domain_name : "");
}

uint8_t WiFiClientSecure::connected() {
    if (!ssl_) return 0;
    if (ssl_->available(0) > 0) return 1;
    return ssl_->is_open() ? 1 : 0;
}

size_t WiFiClientSecure::write(const uint8_t* buf, size_t size) {
    if (!ssl_) return 0;
    int rc = ssl_->write(buf, size);
    return rc < 0 ? 0 : (size_t)rc;
}

int WiFiClientSecure::available() {
    if (!ssl_) return 0;
    int n = ssl_->available(0);
    return n < 0 ? 0 : n;
}

int WiFiClientSecure::read() {
    uint8_t c;
    return read(&c, 1) == 1 ? c : -1;
}

int WiFiClientSecure::read(uint8_t* buf, size_t size) {
    if (!ssl_) return 0;
    int n = ssl_->read(buf, size);
    return n < 0 ? 0 : n;
}

int WiFiClientSecure::peek() { return ssl_ ? ssl_->peek() : -1; }

void WiFiClientSecure::stop() {
    // See FIDELITY.md: the twin sends close_notify here, then FIN.
    release();
}
