// An X.509 certificate as axTLS 2.4.x (igrr/axtls-8266 ssl/x509.c, asn1.c)
// sees it: the six DN fields it knows, dates as a 32-bit time_t (mktime on
// the board, so dates after 2038-01-19 wrap), the RSA key, the v3 extensions
// it reads, and the SHA-1 fingerprint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace axtls {

// Index order of axTLS's dn arrays (g_dn_types = {3, 10, 11, 7, 6, 8}).
enum DnIndex { DN_CN = 0, DN_O, DN_OU, DN_L, DN_C, DN_ST, DN_COUNT };

// axTLS sig_type numbers: the last arc of 1.2.840.113549.1.1.x.
enum SigType { SIG_MD5 = 4, SIG_SHA1 = 5, SIG_SHA256 = 11, SIG_SHA384 = 12, SIG_SHA512 = 13 };

// x509.c error codes (X509_OK ... X509_VFY_ERROR_BASIC_CONSTRAINT).
enum X509Err {
    X509_OK = 0,
    X509_NOT_OK = -1,
    X509_VFY_ERROR_NO_TRUSTED_CERT = -2,
    X509_VFY_ERROR_BAD_SIGNATURE = -3,
    X509_VFY_ERROR_NOT_YET_VALID = -4,
    X509_VFY_ERROR_EXPIRED = -5,
    X509_VFY_ERROR_SELF_SIGNED = -6,
    X509_VFY_ERROR_INVALID_CHAIN = -7,
    X509_VFY_ERROR_UNSUPPORTED_DIGEST = -8,
    X509_INVALID_PRIV_KEY = -9,
    X509_MAX_CERTS = -10,
    X509_VFY_ERROR_BASIC_CONSTRAINT = -11,
};

// Key usage flags as axTLS stores them (bit string bytes read little-endian).
enum KeyUsage : uint32_t {
    KU_DIGITAL_SIGNATURE = 0x0080,
    KU_NON_REPUDIATION = 0x0040,
    KU_KEY_ENCIPHERMENT = 0x0020,
    KU_DATA_ENCIPHERMENT = 0x0010,
    KU_KEY_AGREEMENT = 0x0008,
    KU_KEY_CERT_SIGN = 0x0004,
    KU_CRL_SIGN = 0x0002,
    KU_ENCIPHER_ONLY = 0x0001,
    KU_DECIPHER_ONLY = 0x8000,
};

struct Cert {
    std::vector<uint8_t> der;  // the whole certificate
    size_t tbs_off = 0, tbs_len = 0;  // tbsCertificate within der
    std::optional<std::string> cert_dn[DN_COUNT];     // subject
    std::optional<std::string> ca_cert_dn[DN_COUNT];  // issuer
    int32_t not_before = 0;  // 32-bit time_t as on the board
    int32_t not_after = 0;
    int sig_type = 0;
    // asn1_signature_type's refusal: the OID it printed as "invalid digest: ..." bytes.
    std::vector<uint8_t> unsupported_sig_oid;
    std::vector<uint8_t> modulus;   // leading zero byte dropped, as axTLS does
    std::vector<uint8_t> exponent;
    std::vector<uint8_t> signature;
    bool basic_constraint_present = false;
    bool basic_constraint_is_critical = false;
    bool basic_constraint_cA = false;
    int32_t basic_constraint_pathLenConstraint = 0;
    bool key_usage_present = false;
    bool key_usage_is_critical = false;
    uint32_t key_usage = 0;
    bool subject_alt_name_present = false;
    bool subject_alt_name_is_critical = false;
    std::vector<std::string> subject_alt_dnsnames;

    bool has_key_usage(uint32_t flag) const { return (key_usage & flag) != 0; }
    unsigned rsa_bits() const { return (unsigned)modulus.size() * 8; }
};

// Parse one DER certificate at `p`. `consumed` = its outer length (as
// x509_new's *len); returns an X509Err (X509_OK on success).
int parse_cert(const uint8_t* p, size_t n, Cert* out, size_t* consumed);

// asn1_compare_dn: equal when all six fields are equal (absent == absent).
bool same_dn(const std::optional<std::string> (&a)[DN_COUNT],
             const std::optional<std::string> (&b)[DN_COUNT]);

}  // namespace axtls
