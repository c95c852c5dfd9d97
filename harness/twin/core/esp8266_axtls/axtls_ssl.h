// The axTLS personality's own TLS client: one SSL object of igrr/axtls-8266
// at 24af415 (the libaxtls.a of ESP8266 cores 2.4.0-2.4.2), written anew from
// what that library does: ssl/tls1.c (send_packet, basic_read, send_alert,
// ssl_free, do_handshake, process_certificate) and ssl/tls1_clnt.c
// (send_client_hello, process_server_hello, send_client_key_xchg).
//
// It writes what axTLS writes: the same ClientHello bytes, one socket write
// per record, its alerts in its order, and prints its debug lines
// (SSL_DISPLAY_STATES | SSL_DISPLAY_CERTS, as the core sets them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "axtls_crypto.h"
#include "axtls_x509.h"

namespace twin {
class LwipConn;
}

namespace axtls {

class Ssl {
public:
    // ssl_client_new + do_client_connect (SSL_CONNECT_IN_PARTS): sends the
    // ClientHello. `host_name` may be null (no server_name extension).
    Ssl(std::shared_ptr<twin::LwipConn> io, const char* host_name);
    // ssl_free: a close_notify unless one was sent, through the socket if
    // still attached; "Alert: close notify" is printed either way.
    ~Ssl();
    Ssl(const Ssl&) = delete;
    Ssl& operator=(const Ssl&) = delete;

    // The core sets io_ctx = nullptr: later writes fail, nothing reaches the wire.
    void detach_io() { io_.reset(); }
    bool attached() const { return io_ != nullptr; }
    twin::LwipConn* io() const { return io_.get(); }

    // ssl_read: < 0 an error (alert sent as axTLS does), 0 nothing yet, > 0
    // the length of application data now at *data.
    int read(const uint8_t** data);
    // ssl_write: the length, or an error (< 0).
    int write(const uint8_t* data, size_t len);
    // ssl_handshake_status.
    int handshake_status() const { return hs_status_; }

    // The server's chain as process_certificate linked it (leaf first).
    std::vector<const Cert*> chain() const;
    bool has_cert() const { return !certs_.empty(); }

private:
    int basic_read(const uint8_t** data);
    int do_handshake(uint8_t* msg, size_t len);
    int process_server_hello(uint8_t* msg, size_t len);
    int process_certificate(size_t msg_len);
    int process_cert_req(size_t msg_len);
    int process_finished(const uint8_t* msg, size_t len);
    int after_server_hello_done();
    int send_client_hello(const char* host_name);
    int send_certificate();
    int send_client_key_xchg();
    int send_change_cipher_spec();
    int send_finished();
    int send_alert(int error_code);
    int send_packet(uint8_t type, const uint8_t* data, size_t len);
    int send_raw(uint8_t type, const uint8_t* body, size_t len);
    int set_key_block(bool is_write);
    int port_read(uint8_t* dst, size_t len);

    std::shared_ptr<twin::LwipConn> io_;
    uint8_t version_ = VERSION_TLS1_2;
    uint8_t cipher_ = 0;
    int hs_status_;
    uint8_t next_state_ = 0;
    bool tx_encrypted_ = false;
    bool rx_encrypted_ = false;
    bool sent_close_notify_ = false;
    bool has_cert_req_ = false;
    bool read_blocking_ = false;
    bool handshake_done_ = false;  // disposable_free: no renegotiation

    // basic_read's record state.
    bool need_record_ = true;
    size_t need_bytes_ = 5;
    size_t got_bytes_ = 0;
    size_t max_plain_length_;
    uint8_t hmac_header_[3] = {0, 0, 0};
    uint8_t record_type_ = 0;
    std::vector<uint8_t> buf_;  // bm_data: the record being read
    size_t proc_index_ = 0;     // dc->bm_proc_index
    size_t msg_len_ = 0;        // bm_index while a handshake message is processed

    uint8_t client_random_[32];
    uint8_t server_random_[32];
    uint8_t master_secret_[48];
    uint8_t final_finish_mac_[12];
    std::vector<uint8_t> key_block_;
    Transcript transcript_;
    RecordCipher encrypt_;
    RecordCipher decrypt_;
    std::vector<Cert> certs_;  // as received; chain() links them
};

}  // namespace axtls
