// The cryptography of the axTLS personality's own TLS client, on BearSSL's
// primitives: the handshake hashes, the TLS 1.0/1.1 and 1.2 PRFs, RSA
// PKCS#1 v1.5 encryption of the premaster secret, and the AES-CBC + HMAC
// record protection of axTLS's four suites (ssl/tls1.c at igrr/axtls-8266
// 24af415: send_packet, verify_digest, set_key_block).
#pragma once

#include <bearssl.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace axtls {

// axTLS's ssl->version: major << 4 | minor (0x31 TLS 1.0 ... 0x33 TLS 1.2).
const uint8_t VERSION_TLS1_0 = 0x31;
const uint8_t VERSION_TLS1_1 = 0x32;
const uint8_t VERSION_TLS1_2 = 0x33;

// The cipher_info table: the suite's low byte (axTLS keeps only that one).
struct CipherInfo {
    uint8_t cipher;
    size_t key_size;
    size_t digest_size;  // 20 (SHA-1) or 32 (SHA-256)
    size_t key_block_size;
};
const CipherInfo* cipher_info(uint8_t cipher);

// Fill `out` with random bytes (the host's getrandom); nonzero = no zero byte.
void random_bytes(uint8_t* out, size_t len, bool nonzero = false);

// The running hashes of the handshake messages (add_packet).
class Transcript {
public:
    Transcript();
    void add(const uint8_t* msg, size_t len);
    // finished_digest with a label: the 12-byte verify_data for `version`.
    void finished(uint8_t version, const uint8_t master[48], const char* label,
                  uint8_t out[12]) const;

private:
    br_md5_context md5_;
    br_sha1_context sha1_;
    br_sha256_context sha256_;
};

// prf(): P_SHA256 for TLS 1.2, MD5 xor SHA-1 for older versions.
void prf(uint8_t version, const uint8_t* secret, size_t secret_len, const char* label,
         const uint8_t* seed1, size_t seed1_len, const uint8_t* seed2, size_t seed2_len,
         uint8_t* out, size_t out_len);

// RSA_encrypt(..., is_signing = 0): PKCS#1 v1.5 type 2 with the server's key.
// Returns the ciphertext (the modulus' length) or empty on a bad key.
std::vector<uint8_t> rsa_pkcs1_encrypt(const std::vector<uint8_t>& modulus,
                                       const std::vector<uint8_t>& exponent,
                                       const uint8_t* msg, size_t len);

// One direction of record protection: HMAC then AES-CBC with the chained IV,
// an explicit random IV block first from TLS 1.1 on.
class RecordCipher {
public:
    // `decrypt`: this direction reads records (the server's).
    void init(const CipherInfo* info, const uint8_t* mac_key, const uint8_t* key,
              const uint8_t* iv, bool decrypt);
    bool active() const { return info_ != nullptr; }
    size_t digest_size() const { return info_->digest_size; }

    // send_packet: MAC over seq | header | data, padding (at least one byte),
    // explicit IV (TLS 1.1+), encryption. Returns the record body to send.
    std::vector<uint8_t> seal(uint8_t type, uint8_t version, const uint8_t* data, size_t len);

    // basic_read + verify_digest: decrypt `body` in place; returns the plain
    // length (>= 0) at *plain, or -1 when the MAC does not verify. `header`
    // is the received record's first 3 bytes, as axTLS keeps them.
    int open(const uint8_t header[3], uint8_t version, uint8_t* body, size_t len,
             uint8_t** plain);

private:
    void mac(const uint8_t seq[8], const uint8_t header[5], const uint8_t* data, size_t len,
             uint8_t* out) const;
    static void next_seq(uint8_t seq[8]);

    const CipherInfo* info_ = nullptr;
    uint8_t mac_key_[32] = {};
    br_aes_ct_cbcenc_keys enc_{};
    br_aes_ct_cbcdec_keys dec_{};
    uint8_t iv_[16] = {};
    uint8_t seq_[8] = {};
};

}  // namespace axtls
