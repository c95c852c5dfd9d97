#include "axtls_ssl.h"

#include <cstring>
#include <ctime>

#include "axtls_core_version.h"
#include "axtls_debug.h"
#include "axtls_tcp.h"
#include "axtls_verify.h"
#include "twin_clock.h"
#include "twin_io.h"

namespace axtls {

namespace {

enum : uint8_t {
    HS_HELLO_REQUEST = 0,
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_CERTIFICATE = 11,
    HS_CERT_REQ = 13,
    HS_SERVER_HELLO_DONE = 14,
    HS_CERT_VERIFY = 15,
    HS_CLIENT_KEY_XCHG = 16,
    HS_FINISHED = 20,
};

enum : uint8_t { PT_CHANGE_CIPHER_SPEC = 20, PT_ALERT = 21, PT_HANDSHAKE = 22, PT_APP_DATA = 23 };

const size_t RECORD_SIZE = 5;
const size_t RT_MAX_PLAIN_LENGTH = 16384;
const size_t RT_EXTRA = 1024;
const size_t BM_RECORD_OFFSET = 5;
const size_t SECRET_SIZE = 48;
const size_t RANDOM_SIZE = 32;
const size_t SESSION_ID_SIZE = 32;
const size_t FINISHED_HASH_SIZE = 12;
// While the core's loop waits for bytes, ax_port_read's optimistic_yield lets
// lwIP run: the twin waits this long for the socket then.
const int YIELD_WAIT_MS = 1;

// ssl_prot_prefs with CONFIG_SSL_PROT_MEDIUM: the suites' low bytes.
const uint8_t PROT_PREFS[] = {0x3c, 0x3d, 0x35, 0x2f};

// g_sig_alg: signature_algorithms with SHA-512, SHA-384, SHA-256, SHA-1 (RSA).
const uint8_t SIG_ALG_EXT[] = {0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x06, 0x01,
                               0x05, 0x01, 0x04, 0x01, 0x02, 0x01};

// time(NULL): on cores 2.4.x SNTP's timestamp, 0 until the clock was set
// (twin_clock.cpp gives the personality that time()).
uint32_t core_time() { return (uint32_t)time(nullptr); }

}  // namespace

Ssl::Ssl(std::shared_ptr<twin::LwipConn> io, const char* host_name)
    : io_(std::move(io)),
      hs_status_(SSL_NOT_OK),
      max_plain_length_(core::INITIAL_PLAIN_LENGTH),
      buf_(RT_MAX_PLAIN_LENGTH + RT_EXTRA + BM_RECORD_OFFSET, 0) {
    // do_client_connect: the hello, then wait for the ServerHello.
    send_client_hello(host_name);
    next_state_ = HS_SERVER_HELLO;
    hs_status_ = SSL_NOT_OK;
}

Ssl::~Ssl() {
    // ssl_free: "spec says we must notify when we are dying".
    if (!sent_close_notify_) send_alert(ALERT_CLOSE_NOTIFY);
}

std::vector<const Cert*> Ssl::chain() const { return link_chain(certs_); }

int Ssl::port_read(uint8_t* dst, size_t len) {
    // ax_port_read: no io_ctx, or lwIP closed it and nothing is left: EIO.
    if (!io_ || (!io_->established() && io_->available() == 0)) return -1;
    size_t n = io_->read(dst, len);
    if (n == 0) {
        io_->pump(YIELD_WAIT_MS);
        return 0;  // EAGAIN
    }
    return (int)n;
}

int Ssl::send_raw(uint8_t type, const uint8_t* body, size_t len) {
    // send_raw_packet: one socket write per record, ssl->version in the header.
    std::vector<uint8_t> rec(RECORD_SIZE + len);
    rec[0] = type;
    rec[1] = 0x03;
    rec[2] = version_ & 0x0f;
    rec[3] = (uint8_t)(len >> 8);
    rec[4] = (uint8_t)len;
    std::memcpy(rec.data() + RECORD_SIZE, body, len);
    // ax_port_write: EIO without io_ctx or once lwIP closed the connection.
    if (!io_ || !io_->established() || !io_->write(rec.data(), rec.size()))
        return SSL_ERROR_CONN_LOST;
    need_record_ = true;  // SET_SSL_FLAG(SSL_NEED_RECORD): "reset for next time"
    return type == PT_APP_DATA ? (int)rec.size() : SSL_OK;
}

int Ssl::send_packet(uint8_t type, const uint8_t* data, size_t len) {
    if (hs_status_ == SSL_ERROR_DEAD) return SSL_ERROR_CONN_LOST;
    if (sent_close_notify_) return SSL_CLOSE_NOTIFY;
    if (type == PT_HANDSHAKE) {
        if (core::DISPLAY_STATES) display_state(true, data[0]);
        if (data[0] != HS_HELLO_REQUEST) transcript_.add(data, len);
    }
    int ret;
    if (tx_encrypted_) {
        std::vector<uint8_t> body = encrypt_.seal(type, version_, data, len);
        ret = send_raw(type, body.data(), body.size());
    } else {
        ret = send_raw(type, data, len);
    }
    if (ret <= 0) return ret;
    return (int)len;
}

int Ssl::send_client_hello(const char* host_name) {
    std::vector<uint8_t> b(6 + RANDOM_SIZE);
    b[0] = HS_CLIENT_HELLO;
    b[4] = 0x03;
    b[5] = version_ & 0x0f;
    uint32_t tm = core_time();
    b[6] = (uint8_t)(tm >> 24);
    b[7] = (uint8_t)(tm >> 16);
    b[8] = (uint8_t)(tm >> 8);
    b[9] = (uint8_t)tm;
    random_bytes(&b[10], RANDOM_SIZE - 4);
    std::memcpy(client_random_, &b[6], RANDOM_SIZE);
    b.push_back(0);  // no session id
    b.push_back(0);
    b.push_back(sizeof PROT_PREFS * 2);
    for (uint8_t c : PROT_PREFS) {
        b.push_back(0);
        b.push_back(c);
    }
    b.push_back(1);  // null compression only
    b.push_back(0);
    size_t ext_offset = b.size();
    b.push_back(0);  // extensions length, filled in below (if any)
    b.push_back(0);
    size_t ext_len = 0;
    if (version_ >= VERSION_TLS1_2) {
        b.insert(b.end(), SIG_ALG_EXT, SIG_ALG_EXT + sizeof SIG_ALG_EXT);
        ext_len += sizeof SIG_ALG_EXT;
    }
    if (host_name != nullptr) {
        // Lengths in one byte each, as axTLS writes them.
        size_t host_len = std::strlen(host_name);
        const uint8_t sni[] = {0, 0, 0, (uint8_t)(host_len + 5), 0, (uint8_t)(host_len + 3),
                               0, 0, (uint8_t)host_len};
        b.insert(b.end(), sni, sni + sizeof sni);
        b.insert(b.end(), host_name, host_name + host_len);
        ext_len += host_len + 9;
    }
    if (ext_len > 0) {
        b[ext_offset] = (uint8_t)(ext_len >> 8);
        b[ext_offset + 1] = (uint8_t)ext_len;
    }
    b[3] = (uint8_t)(b.size() - 4);  // the handshake size, in one byte
    return send_packet(PT_HANDSHAKE, b.data(), b.size());
}

int Ssl::send_alert(int error_code) {
    if (hs_status_ == SSL_ERROR_DEAD) return SSL_ERROR_CONN_LOST;  // "already dead"
    if (core::DISPLAY_STATES) display_error(error_code);
    bool warning = false;
    uint8_t alert = alert_for_error(error_code, &warning);
    uint8_t body[2] = {(uint8_t)(warning ? 1 : 2), alert};
    send_packet(PT_ALERT, body, sizeof body);
    display_alert(alert);
    return warning ? 0 : 1;
}

int Ssl::read(const uint8_t** data) {
    int ret;
    do {
        ret = basic_read(data);
        if (ret < SSL_OK && ret != SSL_CLOSE_NOTIFY && ret != SSL_ERROR_CONN_LOST)
            send_alert(ret);
    } while (read_blocking_ && got_bytes_ < need_bytes_ && ret == 0 && !need_record_);
    return ret;
}

int Ssl::write(const uint8_t* data, size_t len) {
    size_t done = 0;
    int out_len = (int)len;
    do {
        size_t nw = len - done;
        if (nw > max_plain_length_) nw = max_plain_length_;
        int i = send_packet(PT_APP_DATA, data + done, nw);
        if (i <= 0) return i;
        done += (size_t)i;
    } while (done < len);
    return out_len;
}

int Ssl::basic_read(const uint8_t** data) {
    if (sent_close_notify_) return SSL_CLOSE_NOTIFY;
    int n = port_read(buf_.data() + got_bytes_, need_bytes_ - got_bytes_);
    if (n == 0) return SSL_OK;
    int ret = SSL_OK;
    if (n < 0) {
        // "connection has gone, so die"
        hs_status_ = SSL_ERROR_DEAD;
        return SSL_ERROR_CONN_LOST;
    }
    got_bytes_ += (size_t)n;
    if (got_bytes_ < need_bytes_) return SSL_OK;
    size_t read_len = got_bytes_;
    got_bytes_ = 0;
    uint8_t* buf = buf_.data();

    if (need_record_) {
        if ((buf[0] & 0x80) && buf[2] == 1) {
            twin::serial_printf("Error: no SSLv23 handshaking allowed\n");
            return SSL_ERROR_NOT_SUPPORTED;
        }
        need_bytes_ = (size_t)(buf[3] << 8 | buf[4]);
        if (need_bytes_ > RT_MAX_PLAIN_LENGTH + RT_EXTRA - BM_RECORD_OFFSET)
            return SSL_ERROR_RECORD_OVERFLOW;
        if (need_bytes_ > max_plain_length_ + RT_EXTRA - BM_RECORD_OFFSET) {
            twin::serial_printf("ssl->need_bytes=%d > %d\r\n", (int)need_bytes_,
                                (int)(max_plain_length_ + RT_EXTRA - BM_RECORD_OFFSET));
            // increase_bm_data_size. basic_read then copies the record header
            // from the old block, which the board's umm_malloc leaves intact
            // (the host's malloc would not: esp8266-axtls-FACTS.md 4).
            if (max_plain_length_ != RT_MAX_PLAIN_LENGTH) {
                size_t required = (need_bytes_ + BM_RECORD_OFFSET - RT_EXTRA + 1023) & ~(size_t)1023;
                max_plain_length_ = required < RT_MAX_PLAIN_LENGTH ? required : RT_MAX_PLAIN_LENGTH;
            }
        }
        need_record_ = false;
        std::memcpy(hmac_header_, buf, 3);
        record_type_ = buf[0];
        return SSL_OK;
    }

    need_record_ = true;
    need_bytes_ = RECORD_SIZE;

    uint8_t* plain = buf;
    if (rx_encrypted_) {
        int len = decrypt_.open(hmac_header_, version_, buf, read_len, &plain);
        if (len < 0) return SSL_ERROR_INVALID_HMAC;
        read_len = (size_t)len;
    }

    switch (record_type_) {
        case PT_HANDSHAKE:
            if (handshake_done_) return SSL_ERROR_NO_CLIENT_RENOG;
            proc_index_ = 0;
            ret = do_handshake(plain, read_len);
            break;
        case PT_CHANGE_CIPHER_SPEC:
            if (next_state_ != HS_FINISHED) return SSL_ERROR_INVALID_HANDSHAKE;
            if (set_key_block(false) < 0) return SSL_ERROR_INVALID_HANDSHAKE;
            rx_encrypted_ = true;
            break;
        case PT_APP_DATA:
            if (data != nullptr && hs_status_ == SSL_OK) {
                *data = plain;
                ret = (int)read_len;
            } else {
                ret = SSL_ERROR_INVALID_PROT_MSG;
            }
            break;
        case PT_ALERT: {
            uint8_t level = read_len > 0 ? plain[0] : 0;
            uint8_t desc = read_len > 1 ? plain[1] : 0;
            if (level == 1 && desc == ALERT_CLOSE_NOTIFY) {
                ret = SSL_CLOSE_NOTIFY;
                send_alert(ALERT_CLOSE_NOTIFY);
                sent_close_notify_ = true;
            } else {
                ret = -(int)desc;
                display_alert(desc);
            }
            break;
        }
        default:
            ret = SSL_ERROR_INVALID_PROT_MSG;
            break;
    }
    return ret;
}

int Ssl::do_handshake(uint8_t* msg, size_t read_len) {
    if (read_len < 4) return SSL_ERROR_INVALID_HANDSHAKE;
    size_t hs_len = (size_t)(msg[2] << 8 | msg[3]);  // msg[1] is not read
    if (read_len - 4 < hs_len) return SSL_ERROR_INVALID_HANDSHAKE;  // PARANOIA_CHECK
    uint8_t type = msg[0];
    if (type != next_state_ && !(type == HS_CERT_REQ && next_state_ == HS_SERVER_HELLO_DONE))
        return SSL_ERROR_INVALID_HANDSHAKE;
    hs_len += 4;
    msg_len_ = hs_len;
    if (core::DISPLAY_STATES) display_state(false, type);
    if (type != HS_CERT_VERIFY && type != HS_HELLO_REQUEST) transcript_.add(msg, hs_len);

    int ret;
    switch (type) {
        case HS_SERVER_HELLO: ret = process_server_hello(msg, hs_len); break;
        case HS_CERTIFICATE: ret = process_certificate(hs_len); break;
        case HS_SERVER_HELLO_DONE: ret = after_server_hello_done(); break;
        case HS_CERT_REQ: ret = process_cert_req(hs_len); break;
        case HS_FINISHED:
            ret = process_finished(msg, hs_len);
            handshake_done_ = true;  // disposable_free
            read_blocking_ = true;   // the core's SSL_READ_BLOCKING
            break;
        default: ret = SSL_ERROR_INVALID_HANDSHAKE; break;
    }
    if (hs_len < read_len && ret == SSL_OK) ret = do_handshake(msg + hs_len, read_len - hs_len);
    return ret;
}

int Ssl::process_server_hello(uint8_t*, size_t pkt_size) {
    // Read from the start of the record buffer (bm_data), as axTLS does.
    const uint8_t* b = buf_.data();
    uint8_t version = (uint8_t)((b[4] << 4) + b[5]);
    // Newer than TLS 1.2 is taken as TLS 1.2; nothing older is refused
    // (axTLS compares ssl->version, not the server's, with the minimum).
    if (version > VERSION_TLS1_2) version = VERSION_TLS1_2;
    version_ = version;
    std::memcpy(server_random_, &b[6], RANDOM_SIZE);
    size_t offset = 6 + RANDOM_SIZE;
    size_t sess_id_size = b[offset++];
    if (sess_id_size > SESSION_ID_SIZE) return SSL_ERROR_INVALID_SESSION;
    offset += sess_id_size;
    cipher_ = b[++offset];  // the suite's low byte only
    next_state_ = HS_CERTIFICATE;
    offset += 2;  // compression; extensions are not read
    if (pkt_size < offset) return SSL_ERROR_INVALID_HANDSHAKE;
    proc_index_ = offset;
    return SSL_OK;
}

int Ssl::process_certificate(size_t pkt_size) {
    // From bm_proc_index: right after a ServerHello without extensions in the
    // same record, or the record's start.
    if (proc_index_ + 7 > buf_.size()) return SSL_ERROR_INVALID_HANDSHAKE;
    const uint8_t* b = buf_.data() + proc_index_;
    size_t limit = buf_.size() - proc_index_;
    size_t total = (size_t)(b[5] << 8 | b[6]);
    size_t offset = 7;
    if (pkt_size < total + offset) return SSL_ERROR_INVALID_HANDSHAKE;
    size_t start = offset;
    size_t count = 0;
    while (offset < total) {
        offset++;  // the length's high byte is skipped
        if (offset + 2 > limit) return SSL_ERROR_INVALID_HANDSHAKE;
        offset += 2 + (size_t)(b[offset] << 8 | b[offset + 1]);
        count++;
    }
    if (pkt_size < offset) return SSL_ERROR_INVALID_HANDSHAKE;
    offset = start;
    certs_.clear();
    while (offset < total) {
        offset++;
        size_t cert_size = (size_t)(b[offset] << 8 | b[offset + 1]);
        offset += 2;
        Cert cert;
        size_t used = 0;
        int rc = parse_cert(b + offset, pkt_size - offset, &cert, &used);
        if (rc != X509_OK) {
            print_x509_new_error(rc, cert);
            return SSL_ERROR_BAD_CERTIFICATE;
        }
        if (core::DISPLAY_CERTS) x509_print(cert);
        certs_.push_back(std::move(cert));
        offset += cert_size;
    }
    if (pkt_size < offset) return SSL_ERROR_INVALID_HANDSHAKE;
    // An empty list leaves axTLS with certs[0] of a zero-length array; the
    // twin reports it as a bad certificate.
    if (count == 0 || certs_.empty()) return SSL_ERROR_BAD_CERTIFICATE;
    next_state_ = HS_SERVER_HELLO_DONE;
    proc_index_ += offset;
    return SSL_OK;
}

int Ssl::process_cert_req(size_t pkt_size) {
    const uint8_t* b = buf_.data() + proc_index_;
    size_t cert_req_size = (size_t)(b[2] << 8 | b[3]);
    if (pkt_size < 4 + cert_req_size) return SSL_ERROR_INVALID_HANDSHAKE;
    proc_index_ = cert_req_size;  // sic
    // The algorithms are only read to check our own chain, which is empty.
    next_state_ = HS_SERVER_HELLO_DONE;
    has_cert_req_ = true;
    return SSL_OK;
}

int Ssl::after_server_hello_done() {
    next_state_ = HS_FINISHED;
    int ret;
    if (has_cert_req_) {
        // send_certificate (no certificate loaded: an empty list), then the
        // key exchange; send_cert_verify sends nothing without a key.
        ret = send_certificate();
        if (ret == SSL_OK) ret = send_client_key_xchg();
    } else {
        ret = send_client_key_xchg();
    }
    if (ret == SSL_OK && (ret = send_change_cipher_spec()) == SSL_OK) ret = send_finished();
    return ret;
}

int Ssl::send_certificate() {
    const uint8_t body[] = {HS_CERTIFICATE, 0, 0, 3, 0, 0, 0};
    return send_packet(PT_HANDSHAKE, body, sizeof body);
}

int Ssl::send_client_key_xchg() {
    uint8_t premaster[SECRET_SIZE];
    premaster[0] = 0x03;
    premaster[1] = VERSION_TLS1_2 & 0x0f;  // the version first offered
    random_bytes(premaster + 2, SECRET_SIZE - 2);
    const Cert& leaf = certs_[0];
    std::vector<uint8_t> enc = rsa_pkcs1_encrypt(leaf.modulus, leaf.exponent, premaster,
                                                 SECRET_SIZE);
    if (enc.empty()) return SSL_ERROR_INVALID_KEY;
    size_t n = enc.size();
    std::vector<uint8_t> body = {HS_CLIENT_KEY_XCHG, 0, (uint8_t)((n + 2) >> 8),
                                 (uint8_t)(n + 2), (uint8_t)(n >> 8), (uint8_t)n};
    body.insert(body.end(), enc.begin(), enc.end());
    // generate_master_secret
    prf(version_, premaster, SECRET_SIZE, "master secret", client_random_, RANDOM_SIZE,
        server_random_, RANDOM_SIZE, master_secret_, SECRET_SIZE);
    return send_packet(PT_HANDSHAKE, body.data(), body.size());
}

int Ssl::set_key_block(bool is_write) {
    const CipherInfo* info = cipher_info(cipher_);
    if (info == nullptr) return -1;
    if (key_block_.empty()) {
        key_block_.resize(info->key_block_size);
        prf(version_, master_secret_, SECRET_SIZE, "key expansion", server_random_,
            RANDOM_SIZE, client_random_, RANDOM_SIZE, key_block_.data(), key_block_.size());
    }
    const uint8_t* q = key_block_.data();
    const uint8_t* client_mac = q;
    const uint8_t* server_mac = q + info->digest_size;
    const uint8_t* client_key = server_mac + info->digest_size;
    const uint8_t* server_key = client_key + info->key_size;
    const uint8_t* client_iv = server_key + info->key_size;
    const uint8_t* server_iv = client_iv + 16;
    transcript_.finished(version_, master_secret_, "server finished", final_finish_mac_);
    if (is_write)
        encrypt_.init(info, client_mac, client_key, client_iv, false);
    else
        decrypt_.init(info, server_mac, server_key, server_iv, true);
    return 0;
}

int Ssl::send_change_cipher_spec() {
    const uint8_t ccs[1] = {1};
    int ret = send_packet(PT_CHANGE_CIPHER_SPEC, ccs, sizeof ccs);
    if (ret >= 0 && set_key_block(true) < 0) ret = SSL_ERROR_INVALID_HANDSHAKE;
    if (encrypt_.active()) tx_encrypted_ = true;
    return ret;
}

int Ssl::send_finished() {
    uint8_t body[4 + FINISHED_HASH_SIZE] = {HS_FINISHED, 0, 0, FINISHED_HASH_SIZE};
    transcript_.finished(version_, master_secret_, "client finished", body + 4);
    return send_packet(PT_HANDSHAKE, body, sizeof body);
}

int Ssl::process_finished(const uint8_t* msg, size_t len) {
    if (len < FINISHED_HASH_SIZE + 4) return SSL_ERROR_INVALID_HANDSHAKE;
    if (std::memcmp(final_finish_mac_, msg + 4, FINISHED_HASH_SIZE) != 0)
        return SSL_ERROR_FINISHED_INVALID;
    next_state_ = HS_HELLO_REQUEST;
    hs_status_ = SSL_OK;
    return SSL_OK;
}

}  // namespace axtls
