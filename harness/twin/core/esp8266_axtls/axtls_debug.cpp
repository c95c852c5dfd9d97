#include "axtls_debug.h"

#include <cstdio>
#include <ctime>
#include <string>

#include "twin_io.h"

namespace axtls {

using twin::serial_printf;

void display_state(bool is_send, uint8_t state) {
    const char* str;
    switch (state) {
        case 0: str = "Hello Request (0)"; break;
        case 1: str = "Client Hello (1)"; break;
        case 2: str = "Server Hello (2)"; break;
        case 11: str = "Certificate (11)"; break;
        case 12: str = "Certificate Request (12)"; break;  // sic: axTLS's label for ServerKeyExchange
        case 13: str = "Certificate Request (13)"; break;
        case 14: str = "Server Hello Done (14)"; break;
        case 15: str = "Certificate Verify (15)"; break;
        case 16: str = "Client Key Exchange (16)"; break;
        case 20: str = "Finished (16)"; break;  // sic: axTLS prints 16 for Finished
        default: str = "Error (Unknown)"; break;
    }
    serial_printf("State:\t%s%s\n", is_send ? "sending " : "receiving ", str);
}

void display_alert(int alert) {
    const char* s = nullptr;
    switch (alert) {
        case ALERT_CLOSE_NOTIFY: s = "close notify"; break;
        case ALERT_UNEXPECTED_MESSAGE: s = "unexpected message"; break;
        case ALERT_BAD_RECORD_MAC: s = "bad record mac"; break;
        case ALERT_RECORD_OVERFLOW: s = "record overlow"; break;  // sic
        case ALERT_HANDSHAKE_FAILURE: s = "handshake failure"; break;
        case ALERT_BAD_CERTIFICATE: s = "bad certificate"; break;
        case ALERT_UNSUPPORTED_CERTIFICATE: s = "unsupported certificate"; break;
        case ALERT_CERTIFICATE_EXPIRED: s = "certificate expired"; break;
        case ALERT_CERTIFICATE_UNKNOWN: s = "certificate unknown"; break;
        case ALERT_ILLEGAL_PARAMETER: s = "illegal parameter"; break;
        case ALERT_UNKNOWN_CA: s = "unknown ca"; break;
        case ALERT_DECODE_ERROR: s = "decode error"; break;
        case ALERT_DECRYPT_ERROR: s = "decrypt error"; break;
        case ALERT_INVALID_VERSION: s = "invalid version"; break;
        case ALERT_NO_RENEGOTIATION: s = "no renegotiation"; break;
        default: break;
    }
    if (s)
        serial_printf("Alert: %s\n", s);
    else
        serial_printf("Alert: alert - (unknown %d)\n", alert);
}

const char* x509_error_text(int error) {
    switch (error) {
        case X509_OK: return "Certificate verify successful";
        case X509_NOT_OK: return "X509 not ok";
        case X509_VFY_ERROR_NO_TRUSTED_CERT: return "No trusted cert is available";
        case X509_VFY_ERROR_BAD_SIGNATURE: return "Bad signature";
        case X509_VFY_ERROR_NOT_YET_VALID: return "Cert is not yet valid";
        case X509_VFY_ERROR_EXPIRED: return "Cert has expired";
        case X509_VFY_ERROR_SELF_SIGNED: return "Cert is self-signed";
        case X509_VFY_ERROR_INVALID_CHAIN: return "Chain is invalid (check order of certs)";
        case X509_VFY_ERROR_UNSUPPORTED_DIGEST: return "Unsupported digest";
        case X509_INVALID_PRIV_KEY: return "Invalid private key";
        case X509_VFY_ERROR_BASIC_CONSTRAINT: return "Basic constraint invalid";
        default: return "Unknown";
    }
}

void display_error(int error_code) {
    if (error_code == SSL_OK) return;
    if (error_code < SSL_X509_OFFSET) {
        serial_printf("Error: %s\n", x509_error_text(error_code - SSL_X509_OFFSET));
        return;
    }
    if (error_code > SSL_ERROR_CONN_LOST) {
        serial_printf("Error: SSL error %d\n", -error_code);
        return;
    }
    const char* s;
    switch (error_code) {
        case SSL_ERROR_DEAD: s = "connection dead"; break;
        case SSL_ERROR_RECORD_OVERFLOW: s = "record overflow"; break;
        case SSL_ERROR_INVALID_HANDSHAKE: s = "invalid handshake"; break;
        case SSL_ERROR_INVALID_PROT_MSG: s = "invalid protocol message"; break;
        case SSL_ERROR_INVALID_HMAC: s = "invalid mac"; break;
        case SSL_ERROR_INVALID_VERSION: s = "invalid version"; break;
        case SSL_ERROR_INVALID_SESSION: s = "invalid session"; break;
        case SSL_ERROR_NO_CIPHER: s = "no cipher"; break;
        case SSL_ERROR_INVALID_CERT_HASH_ALG: s = "invalid cert hash algorithm"; break;
        case SSL_ERROR_CONN_LOST: s = "connection lost"; break;
        case SSL_ERROR_BAD_CERTIFICATE: s = "bad certificate"; break;
        case SSL_ERROR_INVALID_KEY: s = "invalid key"; break;
        case SSL_ERROR_FINISHED_INVALID: s = "finished invalid"; break;
        case SSL_ERROR_NO_CERT_DEFINED: s = "no certificate defined"; break;
        case SSL_ERROR_NO_CLIENT_RENOG: s = "client renegotiation not supported"; break;
        case SSL_ERROR_NOT_SUPPORTED: s = "Option not supported"; break;
        default:
            serial_printf("Error: undefined as yet - %d\n", error_code);
            return;
    }
    serial_printf("Error: %s\n", s);
}

uint8_t alert_for_error(int error_code, bool* is_warning) {
    *is_warning = false;
    switch (error_code) {
        case ALERT_CLOSE_NOTIFY: *is_warning = true; return ALERT_CLOSE_NOTIFY;
        case SSL_ERROR_CONN_LOST: *is_warning = true; return 0;
        case SSL_ERROR_NO_CIPHER: return ALERT_HANDSHAKE_FAILURE;
        case SSL_ERROR_INVALID_HMAC: return ALERT_BAD_RECORD_MAC;
        case SSL_ERROR_FINISHED_INVALID:
        case SSL_ERROR_INVALID_KEY: return ALERT_DECRYPT_ERROR;
        case SSL_ERROR_INVALID_VERSION: return ALERT_INVALID_VERSION;
        case SSL_ERROR_INVALID_SESSION: return ALERT_ILLEGAL_PARAMETER;
        case SSL_ERROR_NO_CLIENT_RENOG: return ALERT_NO_RENEGOTIATION;
        case SSL_ERROR_RECORD_OVERFLOW: return ALERT_RECORD_OVERFLOW;
        case SSL_X509_OFFSET + X509_VFY_ERROR_EXPIRED:
        case SSL_X509_OFFSET + X509_VFY_ERROR_NOT_YET_VALID: return ALERT_CERTIFICATE_EXPIRED;
        case SSL_X509_OFFSET + X509_VFY_ERROR_NO_TRUSTED_CERT: return ALERT_UNKNOWN_CA;
        case SSL_X509_OFFSET + X509_VFY_ERROR_UNSUPPORTED_DIGEST:
        case SSL_ERROR_INVALID_CERT_HASH_ALG: return ALERT_UNSUPPORTED_CERTIFICATE;
        case SSL_ERROR_BAD_CERTIFICATE:
        case SSL_X509_OFFSET + X509_VFY_ERROR_BAD_SIGNATURE: return ALERT_BAD_CERTIFICATE;
        default:
            return error_code <= SSL_X509_OFFSET ? ALERT_CERTIFICATE_UNKNOWN
                                                 : ALERT_UNEXPECTED_MESSAGE;
    }
}

// ctime() on the board: UTC (no TZ), from the 32-bit time_t.
static void print_ctime(const char* label, int32_t t) {
    static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t wide = (time_t)t;
    struct tm tm;
    gmtime_r(&wide, &tm);
    serial_printf("%s%.3s %.3s%3d %.2d:%.2d:%.2d %d\n", label, days[tm.tm_wday],
                  months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  1900 + tm.tm_year);
}

static const char* const NOT_PART = "<Not Part Of Certificate>";

static void print_dn(const std::optional<std::string> (&dn)[DN_COUNT]) {
    serial_printf("Common Name (CN):\t\t%s\n", dn[DN_CN] ? dn[DN_CN]->c_str() : NOT_PART);
    serial_printf("Organization (O):\t\t%s\n", dn[DN_O] ? dn[DN_O]->c_str() : NOT_PART);
    if (dn[DN_OU]) serial_printf("Organizational Unit (OU):\t%s\n", dn[DN_OU]->c_str());
    if (dn[DN_L]) serial_printf("Location (L):\t\t\t%s\n", dn[DN_L]->c_str());
    if (dn[DN_C]) serial_printf("Country (C):\t\t\t%s\n", dn[DN_C]->c_str());
    if (dn[DN_ST]) serial_printf("State (ST):\t\t\t%s\n", dn[DN_ST]->c_str());
}

void x509_print(const Cert& c) {
    serial_printf("=== CERTIFICATE ISSUED TO ===\n");
    print_dn(c.cert_dn);
    if (c.basic_constraint_present) {
        serial_printf("Basic Constraints:\t\t%sCA:%s, pathlen:%d\n",
                      c.basic_constraint_is_critical ? "critical, " : "",
                      c.basic_constraint_cA ? "TRUE" : "FALSE",
                      c.basic_constraint_pathLenConstraint);
    }
    if (c.key_usage_present) {
        static const struct {
            uint32_t flag;
            const char* name;
        } usages[] = {
            {KU_DIGITAL_SIGNATURE, "Digital Signature"}, {KU_NON_REPUDIATION, "Non Repudiation"},
            {KU_KEY_ENCIPHERMENT, "Key Encipherment"}, {KU_DATA_ENCIPHERMENT, "Data Encipherment"},
            {KU_KEY_AGREEMENT, "Key Agreement"}, {KU_KEY_CERT_SIGN, "Key Cert Sign"},
            {KU_CRL_SIGN, "CRL Sign"}, {KU_ENCIPHER_ONLY, "Encipher Only"},
            {KU_DECIPHER_ONLY, "Decipher Only"},
        };
        serial_printf("Key Usage:\t\t\t%s", c.key_usage_is_critical ? "critical, " : "");
        bool started = false;
        for (const auto& u : usages) {
            if (!c.has_key_usage(u.flag)) continue;
            serial_printf("%s%s", started ? ", " : "", u.name);
            started = true;
        }
        serial_printf("\n");
    }
    if (c.subject_alt_name_present) {
        serial_printf("Subject Alt Name:\t\t%s", c.subject_alt_name_is_critical ? "critical, " : "");
        for (const auto& n : c.subject_alt_dnsnames) serial_printf("%s ", n.c_str());
        serial_printf("\n");
    }
    serial_printf("=== CERTIFICATE ISSUED BY ===\n");
    print_dn(c.ca_cert_dn);
    print_ctime("Not Before:\t\t\t", c.not_before);
    print_ctime("Not After:\t\t\t", c.not_after);
    serial_printf("RSA bitsize:\t\t\t%d\n", (int)c.rsa_bits());
    switch (c.sig_type) {
        case SIG_MD5: serial_printf("Sig Type:\t\t\tMD5\n"); break;
        case SIG_SHA1: serial_printf("Sig Type:\t\t\tSHA1\n"); break;
        case SIG_SHA256: serial_printf("Sig Type:\t\t\tSHA256\n"); break;
        case SIG_SHA384: serial_printf("Sig Type:\t\t\tSHA384\n"); break;
        case SIG_SHA512: serial_printf("Sig Type:\t\t\tSHA512\n"); break;
        default: serial_printf("Sig Type:\t\t\tUnrecognized: %d\n", c.sig_type); break;
    }
}

void print_x509_new_error(int error, const Cert& cert) {
    if (error == X509_VFY_ERROR_UNSUPPORTED_DIGEST && !cert.unsupported_sig_oid.empty()) {
        // ssl/asn1.c asn1_signature_type at 24af415: each byte "%02x ", then a newline
        // (recorded: esp8266-2.4.1/mozilla-modern, an ECDSA root given to setCACert).
        std::string line = "invalid digest: ";
        char hex[4];
        for (uint8_t b : cert.unsupported_sig_oid) {
            std::snprintf(hex, sizeof hex, "%02x ", b);
            line += hex;
        }
        serial_printf("%s\n", line.c_str());
    }
    serial_printf("Error: Invalid X509 ASN.1 file (%s)\n", x509_error_text(error));
}

}  // namespace axtls
