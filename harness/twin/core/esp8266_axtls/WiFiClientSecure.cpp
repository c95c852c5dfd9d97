#include "WiFiClientSecure.h"

#include <bearssl.h>

#include <cstring>
#include <list>
#include <vector>

#include "axtls_core_version.h"
#include "axtls_debug.h"
#include "axtls_ssl.h"
#include "axtls_tcp.h"
#include "axtls_verify.h"
#include "axtls_x509.h"
#include "twin_clock.h"
#include "twin_io.h"
#include "twin_net.h"

namespace axtls {

// The client SSL_CTX of core 2.4.x: one static context shared by every
// SSLContext (reference-counted), holding the CA store.
struct SslCtx {
    std::vector<Cert> ca_certs;
};

namespace {

std::shared_ptr<SslCtx> shared_ssl_ctx() {
    static std::weak_ptr<SslCtx> the_ctx;
    std::shared_ptr<SslCtx> ctx = the_ctx.lock();
    if (!ctx) {
        ctx = std::make_shared<SslCtx>();
        the_ctx = ctx;
    }
    return ctx;
}

// gettimeofday() on cores 2.4.x: seconds since boot until SNTP set the
// clock, the wall clock after; x509_verify compares with its 32-bit time_t.
int32_t core_time_of_day() { return (int32_t)(uint32_t)(uint64_t)twin::board_time(); }

}  // namespace

// The core's SSLContext (client side): the SSL object, the socket it writes
// to (io_ctx), the bytes of the last record not read by the sketch yet, and
// writes held back while they are there.
class SslContext {
public:
    SslContext() : ctx_(shared_ssl_ctx()) {}
    ~SslContext() {
        // io_ctx->unref() first: ssl_free's close_notify finds no socket.
        io_.reset();
        if (ssl_) ssl_->detach_io();
        ssl_.reset();
    }

    void connect(std::shared_ptr<twin::LwipConn> io, const char* host_name, uint32_t timeout_ms) {
        if (ssl_) {
            // "ssl_free will want to send a close notify alert, but the old
            // TCP connection is already gone at this point, so reset io_ctx."
            io_.reset();
            ssl_->detach_io();
            ssl_.reset();
            available_ = 0;
        }
        io_ = io;
        ssl_ = std::make_unique<Ssl>(io, host_name);
        uint32_t start = millis();
        while (millis() - start < timeout_ms && ssl_->handshake_status() != SSL_OK) {
            const uint8_t* data;
            int rc = ssl_->read(&data);
            if (rc < SSL_OK) {
                display_error(rc);
                break;
            }
        }
    }

    int handshake_status() const { return ssl_ ? ssl_->handshake_status() : SSL_NOT_OK; }

    void stop() {
        io_.reset();
        if (ssl_) ssl_->detach_io();
    }

    bool connected() const { return ssl_ && ssl_->handshake_status() == SSL_OK; }
    bool has_data() const { return available_ > 0 || (io_ && io_->available() > 0); }

    int read(uint8_t* dst, size_t size) {
        if (!available_ && !read_all()) return 0;
        size_t n = available_ < size ? available_ : size;
        std::memcpy(dst, data_.data() + read_off_, n);
        consumed(n);
        return (int)n;
    }

    int read() {
        if (!available_ && !read_all()) return -1;
        int c = data_[read_off_];
        consumed(1);
        return c;
    }

    int peek() {
        if (!available_ && !read_all()) return -1;
        return data_[read_off_];
    }

    int available() {
        int n = (int)available_;
        if (n == 0) n = read_all();
        return n;
    }

    int write(const uint8_t* src, size_t size) {
        if (!available_) {
            if (!write_buffers_.empty()) {
                int rc = write_buffers_send();
                if (rc < 0) return rc;
            }
            return raw_write(src, size);
        }
        // Received bytes still sit in axTLS's buffer, which ssl_write would
        // overwrite: the core keeps the data until they are read.
        if (!ssl_) return 0;
        write_buffers_.emplace_back(src, src + size);
        return (int)size;
    }

    bool verify_cert(bool allow_self_signed) {
        if (!ssl_ || !ssl_->has_cert()) return false;
        std::vector<const Cert*> chain = ssl_->chain();
        int32_t now = core_time_of_day();
        int rc = x509_verify(ctx_->ca_certs, chain, now);
        if (rc != X509_OK) {
            // ssl_verify_cert prints the chain against the CA store.
            if (core::DISPLAY_CERTS) print_chain(chain, now);
            rc += SSL_X509_OFFSET;
        }
        if (allow_self_signed && rc == SSL_X509_OFFSET + X509_VFY_ERROR_SELF_SIGNED) return true;
        if (rc != SSL_OK) {
            display_error(rc);
            return false;
        }
        return true;
    }

    // ssl_match_fingerprint: 0 when the leaf's SHA-1 is `fp`.
    int match_fingerprint(const uint8_t fp[20]) const {
        if (!ssl_ || !ssl_->has_cert()) return 1;
        const std::vector<uint8_t>& der = ssl_->chain()[0]->der;
        br_sha1_context sha;
        br_sha1_init(&sha);
        br_sha1_update(&sha, der.data(), der.size());
        uint8_t got[20];
        br_sha1_out(&sha, got);
        int res = std::memcmp(got, fp, 20);
        if (res != 0) {
            twin::serial_printf("cert FP: ");
            for (uint8_t b : got) twin::serial_printf("%02X ", b);
            twin::serial_printf("\r\ntest FP: ");
            for (int i = 0; i < 20; ++i) twin::serial_printf("%02X ", fp[i]);
            twin::serial_printf("\r\n");
        }
        return res;
    }

    const Cert* leaf() const {
        if (!ssl_ || !ssl_->has_cert()) return nullptr;
        return ssl_->chain()[0];
    }

    void load_ca_certs(const uint8_t* der, size_t size) {
        // add_cert_auth (its result is ignored: setCACert returns true): up to
        // CONFIG_X509_MAX_CA_CERTS certificates, each dumped. The buffer
        // pointer is never advanced, so a second certificate in the same
        // buffer is the first one parsed again.
        size_t slot = ctx_->ca_certs.size();
        long left = (long)size;
        while (left > 0) {
            if (slot >= core::MAX_CA_CERTS) {
                twin::serial_printf("Error: maximum number of CA certs added (%d) - change of "
                                    "compile-time configuration required\n",
                                    (int)core::MAX_CA_CERTS);
                break;
            }
            Cert cert;
            size_t used = 0;
            int rc = parse_cert(der, size, &cert, &used);
            if (rc == X509_OK) {
                if (core::DISPLAY_CERTS) x509_print(cert);
                ctx_->ca_certs.push_back(std::move(cert));
            } else {
                // x509_new's own message.
                print_x509_new_error(rc, cert);
            }
            ++slot;
            if (used == 0) break;  // axTLS would loop forever here
            left -= (long)used;
        }
    }

    void allow_self_signed() { allow_self_signed_ = true; }
    bool self_signed_allowed() const { return allow_self_signed_; }

private:
    int read_all() {
        if (!ssl_) return 0;
        const uint8_t* data = nullptr;
        int rc = ssl_->read(&data);
        if (rc <= 0) {
            // The SSL object goes; its close_notify still has the socket.
            if (rc < SSL_OK && rc != SSL_CLOSE_NOTIFY && rc != SSL_ERROR_CONN_LOST) ssl_.reset();
            return 0;
        }
        data_.assign(data, data + rc);
        read_off_ = 0;
        available_ = (size_t)rc;
        return rc;
    }

    void consumed(size_t n) {
        read_off_ += n;
        available_ -= n;
        if (available_ == 0 && !write_buffers_.empty()) write_buffers_send();
    }

    int raw_write(const uint8_t* src, size_t size) {
        if (!ssl_) return 0;
        return ssl_->write(src, size);
    }

    int write_buffers_send() {
        while (!write_buffers_.empty()) {
            std::vector<uint8_t> first = std::move(write_buffers_.front());
            write_buffers_.pop_front();
            int rc = raw_write(first.data(), first.size());
            if (rc < 0) {
                write_buffers_.clear();
                return rc;
            }
        }
        return 0;
    }

    // x509_print(x509_ctx, ca_cert_ctx): each certificate of the chain, then
    // what x509_verify says of the chain from it up.
    void print_chain(const std::vector<const Cert*>& chain, int32_t now) const {
        for (size_t i = 0; i < chain.size(); ++i) {
            x509_print(*chain[i]);
            std::vector<const Cert*> rest(chain.begin() + (long)i, chain.end());
            twin::serial_printf("Verify:\t\t\t\t%s\n",
                                x509_error_text(x509_verify(ctx_->ca_certs, rest, now)));
        }
    }

    std::shared_ptr<SslCtx> ctx_;
    std::shared_ptr<twin::LwipConn> io_;
    std::unique_ptr<Ssl> ssl_;
    std::vector<uint8_t> data_;
    size_t read_off_ = 0;
    size_t available_ = 0;
    std::list<std::vector<uint8_t>> write_buffers_;
    bool allow_self_signed_ = false;
};

}  // namespace axtls

using axtls::SslContext;

WiFiClientSecure::WiFiClientSecure() {
    // "TLS handshake may take more than the 5 second default timeout"
    timeout_ = axtls::core::HANDSHAKE_TIMEOUT_MS;
}

// The board's ~WiFiClientSecure drops _ssl (io_ctx detached first, so the
// close_notify of ssl_free is printed but not sent), then ~WiFiClient unrefs
// the TCP connection.
WiFiClientSecure::~WiFiClientSecure() = default;

void WiFiClientSecure::init_ssl_context() {
    if (!ssl_) ssl_ = std::make_shared<SslContext>();
}

bool WiFiClientSecure::setCACert(const uint8_t* der, size_t size) {
    init_ssl_context();
    ssl_->load_ca_certs(der, size);
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

void WiFiClientSecure::allowSelfSignedCerts() {
    init_ssl_context();
    ssl_->allow_self_signed();
}

int WiFiClientSecure::connect_tcp(const String& addr, uint16_t port) {
    // WiFiClient::connect: an old connection is closed first (stop()).
    if (client_) client_->close();
    client_.reset();
    twin::Resolved where = twin::resolve_guarded(addr.str());
    if (!where.ok) return 0;
    client_ = twin::LwipConn::open(where.target, port, axtls::core::TCP_CONNECT_TIMEOUT_MS);
    return client_ ? 1 : 0;
}

int WiFiClientSecure::connect(IPAddress ip, uint16_t port) {
    if (!connect_tcp(ip.toString(), port)) return 0;
    return connect_ssl(nullptr);
}

int WiFiClientSecure::connect(const char* host, uint16_t port) {
    if (host == nullptr) return 0;
    if (!connect_tcp(String(host), port)) return 0;
    // The name goes to the TLS layer as SNI, even an IP literal.
    return connect_ssl(host);
}

int WiFiClientSecure::connect_ssl(const char* host_name) {
    init_ssl_context();
    ssl_->connect(client_, host_name, (uint32_t)timeout_);
    if (ssl_->handshake_status() != axtls::SSL_OK) {
        if (ssl_->handshake_status() == axtls::SSL_NOT_OK)
            twin::diag("handshake did not finish within %lu ms", timeout_);
        // _ssl = nullptr: the context goes (and the CA store with it when no
        // other WiFiClientSecure holds it); the TCP connection stays open.
        ssl_.reset();
        return 0;
    }
    return 1;
}

bool WiFiClientSecure::verify_dn(const char* domain_name) {
    const axtls::Cert* leaf = ssl_ ? ssl_->leaf() : nullptr;
    if (leaf == nullptr) return false;
    return axtls::verify_dn(*leaf, domain_name ? domain_name : "");
}

bool WiFiClientSecure::verifyCertChain(const char* domain_name) {
    if (!ssl_) return false;
    if (!ssl_->verify_cert(ssl_->self_signed_allowed())) return false;
    return verify_dn(domain_name);
}

static int hex_nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool WiFiClientSecure::verify(const char* fp, const char* domain_name) {
    if (!ssl_ || fp == nullptr) return false;
    uint8_t want[20];
    int len = (int)std::strlen(fp), pos = 0;
    for (uint8_t& b : want) {
        while (pos < len && (fp[pos] == ' ' || fp[pos] == ':')) ++pos;
        if (pos > len - 2) return false;
        int hi = hex_nibble(fp[pos]), lo = hex_nibble(fp[pos + 1]);
        if (hi < 0 || lo < 0) return false;
        b = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    if (ssl_->match_fingerprint(want) != 0) return false;
    return verify_dn(domain_name);
}

uint8_t WiFiClientSecure::connected() {
    if (ssl_) {
        if (ssl_->has_data()) return 1;
        if (client_ && client_->established() && ssl_->connected()) return 1;
    }
    return 0;
}

size_t WiFiClientSecure::write(const uint8_t* buf, size_t size) {
    if (!ssl_) return 0;
    int rc = ssl_->write(buf, size);
    if (rc >= 0) return (size_t)rc;
    if (rc != axtls::SSL_CLOSE_NOTIFY) ssl_.reset();
    return 0;
}

#if AXTLS_CORE_HAS_WRITE_STREAM
size_t WiFiClientSecure::write(Stream& stream) {
    // 2.4.2: read and send 256-byte chunks until a chunk is short or not all sent.
    if (!ssl_) return 0;
    size_t total = 0, read_n, sent;
    do {
        uint8_t temp[256];
        sent = 0;
        read_n = stream.readBytes(temp, sizeof temp);
        if (read_n) {
            sent = write(temp, read_n);
            total += sent;
        }
        yield();
    } while (sent == read_n && sent > 0);
    return total;
}
#endif

int WiFiClientSecure::available() { return ssl_ ? ssl_->available() : 0; }

int WiFiClientSecure::read() { return ssl_ ? ssl_->read() : -1; }

int WiFiClientSecure::read(uint8_t* buf, size_t size) { return ssl_ ? ssl_->read(buf, size) : 0; }

int WiFiClientSecure::peek() { return ssl_ ? ssl_->peek() : -1; }

void WiFiClientSecure::stop() {
    // SSLContext::stop detaches the socket (no close_notify, nothing
    // printed); WiFiClient::stop closes TCP (RST when data is unread).
    if (ssl_) ssl_->stop();
    if (client_) client_->close();
}
