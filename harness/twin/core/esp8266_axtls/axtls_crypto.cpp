#include "axtls_crypto.h"

#include <sys/random.h>

#include <cstring>

namespace axtls {

namespace {

// ssl_prot_prefs' ciphers with the sizes of cipher_info[] (key block = the
// MAC keys, the AES keys and the IVs of both directions).
const CipherInfo CIPHERS[] = {
    {0x2f, 16, 20, 2 * (20 + 16 + 16)},  // AES128-SHA
    {0x35, 32, 20, 2 * (20 + 32 + 16)},  // AES256-SHA
    {0x3c, 16, 32, 2 * (32 + 16 + 16)},  // AES128-SHA256
    {0x3d, 32, 32, 2 * (32 + 32 + 16)},  // AES256-SHA256
};

const size_t IV_SIZE = 16;

}  // namespace

const CipherInfo* cipher_info(uint8_t cipher) {
    for (const CipherInfo& c : CIPHERS)
        if (c.cipher == cipher) return &c;
    return nullptr;
}

void random_bytes(uint8_t* out, size_t len, bool nonzero) {
    size_t have = 0;
    while (have < len) {
        ssize_t n = getrandom(out + have, len - have, 0);
        if (n > 0) have += (size_t)n;  // n <= 0 only on EINTR
    }
    // get_random_NZ: a zero byte is drawn again.
    for (size_t i = 0; nonzero && i < len; ++i)
        while (out[i] == 0) random_bytes(out + i, 1, false);
}

Transcript::Transcript() {
    br_md5_init(&md5_);
    br_sha1_init(&sha1_);
    br_sha256_init(&sha256_);
}

void Transcript::add(const uint8_t* msg, size_t len) {
    // add_packet feeds SHA-256 for TLS 1.2 and MD5/SHA-1 before it (and for
    // the hellos); keeping all three is the same for every version.
    br_md5_update(&md5_, msg, len);
    br_sha1_update(&sha1_, msg, len);
    br_sha256_update(&sha256_, msg, len);
}

void Transcript::finished(uint8_t version, const uint8_t master[48], const char* label,
                          uint8_t out[12]) const {
    uint8_t digest[36];
    size_t dlen;
    if (version >= VERSION_TLS1_2) {
        br_sha256_out(&sha256_, digest);
        dlen = 32;
    } else {
        br_md5_out(&md5_, digest);
        br_sha1_out(&sha1_, digest + 16);
        dlen = 36;
    }
    prf(version, master, 48, label, digest, dlen, nullptr, 0, out, 12);
}

void prf(uint8_t version, const uint8_t* secret, size_t secret_len, const char* label,
         const uint8_t* seed1, size_t seed1_len, const uint8_t* seed2, size_t seed2_len,
         uint8_t* out, size_t out_len) {
    br_tls_prf_seed_chunk seeds[2] = {{seed1, seed1_len}, {seed2, seed2_len}};
    size_t n = seed2 ? 2 : 1;
    if (version >= VERSION_TLS1_2)
        br_tls12_sha256_prf(out, out_len, secret, secret_len, label, n, seeds);
    else
        br_tls10_prf(out, out_len, secret, secret_len, label, n, seeds);
}

std::vector<uint8_t> rsa_pkcs1_encrypt(const std::vector<uint8_t>& modulus,
                                       const std::vector<uint8_t>& exponent,
                                       const uint8_t* msg, size_t len) {
    size_t k = modulus.size();
    if (k < len + 11 || exponent.empty()) return {};
    // 00 02 <nonzero random> 00 <msg>
    std::vector<uint8_t> block(k);
    block[0] = 0x00;
    block[1] = 0x02;
    random_bytes(block.data() + 2, k - len - 3, true);
    block[k - len - 1] = 0x00;
    std::memcpy(block.data() + k - len, msg, len);
    br_rsa_public_key pk;
    pk.n = const_cast<unsigned char*>(modulus.data());
    pk.nlen = modulus.size();
    pk.e = const_cast<unsigned char*>(exponent.data());
    pk.elen = exponent.size();
    if (!br_rsa_i31_public(block.data(), block.size(), &pk)) return {};
    return block;
}

void RecordCipher::init(const CipherInfo* info, const uint8_t* mac_key, const uint8_t* key,
                        const uint8_t* iv, bool decrypt) {
    info_ = info;
    std::memcpy(mac_key_, mac_key, info->digest_size);
    if (decrypt)
        br_aes_ct_cbcdec_init(&dec_, key, info->key_size);
    else
        br_aes_ct_cbcenc_init(&enc_, key, info->key_size);
    std::memcpy(iv_, iv, IV_SIZE);
    std::memset(seq_, 0, sizeof seq_);
}

void RecordCipher::next_seq(uint8_t seq[8]) {
    for (int i = 7; i >= 0; --i)
        if (++seq[i]) break;
}

void RecordCipher::mac(const uint8_t seq[8], const uint8_t header[5], const uint8_t* data,
                       size_t len, uint8_t* out) const {
    br_hmac_key_context kc;
    br_hmac_key_init(&kc, info_->digest_size == 20 ? &br_sha1_vtable : &br_sha256_vtable,
                     mac_key_, info_->digest_size);
    br_hmac_context hc;
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, seq, 8);
    br_hmac_update(&hc, header, 5);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

std::vector<uint8_t> RecordCipher::seal(uint8_t type, uint8_t version, const uint8_t* data,
                                        size_t len) {
    uint8_t header[5] = {type, 0x03, (uint8_t)(version & 0x0f), (uint8_t)(len >> 8),
                         (uint8_t)len};
    size_t explicit_iv = version >= VERSION_TLS1_1 ? IV_SIZE : 0;
    size_t msg = len + info_->digest_size;
    size_t pad = IV_SIZE - msg % IV_SIZE;  // 1..16: never zero padding bytes
    std::vector<uint8_t> out(explicit_iv + msg + pad);
    if (explicit_iv) random_bytes(out.data(), explicit_iv);
    std::memcpy(out.data() + explicit_iv, data, len);
    mac(seq_, header, data, len, out.data() + explicit_iv + len);
    std::memset(out.data() + explicit_iv + msg, (int)(pad - 1), pad);
    next_seq(seq_);
    // The explicit IV block is encrypted too, chained from the last record.
    br_aes_ct_cbcenc_run(&enc_, iv_, out.data(), out.size());
    return out;
}

int RecordCipher::open(const uint8_t header[3], uint8_t version, uint8_t* body, size_t len,
                       uint8_t** plain) {
    size_t whole = len - len % IV_SIZE;
    if (whole) br_aes_ct_cbcdec_run(&dec_, iv_, body, whole);
    uint8_t* buf = body;
    long n = (long)len;
    if (version >= VERSION_TLS1_1) {
        buf += IV_SIZE;
        n -= (long)IV_SIZE;
    }
    *plain = buf;
    // verify_digest: a bad padding or a short record still gets a MAC (over
    // zero bytes) so that it fails there, as axTLS does it.
    long offset = -1;
    if (n > 0) {
        int last = buf[n - 1];
        offset = n - last - (long)info_->digest_size - 1;
        if (offset < 0) {
            offset = 0;
        } else {
            for (int i = 1; i < last; ++i)
                if (buf[n - i] != last) {
                    offset = 0;
                    break;
                }
        }
    }
    if (offset < 0) return -1;
    uint8_t mac_header[5] = {header[0], header[1], header[2], (uint8_t)(offset >> 8),
                             (uint8_t)offset};
    uint8_t want[32];
    mac(seq_, mac_header, buf, (size_t)offset, want);
    if ((size_t)offset + info_->digest_size > (size_t)n ||
        std::memcmp(want, buf + offset, info_->digest_size) != 0)
        return -1;
    next_seq(seq_);
    return (int)offset;
}

}  // namespace axtls
