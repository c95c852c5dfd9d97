// axTLS's debug output, string for string (igrr/axtls-8266 ssl/tls1.c
// DISPLAY_STATE, DISPLAY_ALERT, ssl_display_error; ssl/x509.c x509_print,
// x509_display_error), written to the serial as the SSL debug level does.
#pragma once

#include <cstdint>

#include "axtls_x509.h"

namespace axtls {

// ssl.h error codes the twin produces.
enum SslErr {
    SSL_OK = 0,
    SSL_NOT_OK = -1,
    SSL_ERROR_DEAD = -2,
    SSL_CLOSE_NOTIFY = -3,
    SSL_ERROR_CONN_LOST = -256,
    SSL_ERROR_RECORD_OVERFLOW = -257,
    SSL_ERROR_INVALID_HANDSHAKE = -260,
    SSL_ERROR_INVALID_PROT_MSG = -261,
    SSL_ERROR_INVALID_HMAC = -262,
    SSL_ERROR_INVALID_VERSION = -263,
    SSL_ERROR_INVALID_SESSION = -265,
    SSL_ERROR_NO_CIPHER = -266,
    SSL_ERROR_INVALID_CERT_HASH_ALG = -267,
    SSL_ERROR_BAD_CERTIFICATE = -268,
    SSL_ERROR_INVALID_KEY = -269,
    SSL_ERROR_FINISHED_INVALID = -271,
    SSL_ERROR_NO_CERT_DEFINED = -272,
    SSL_ERROR_NO_CLIENT_RENOG = -273,
    SSL_ERROR_NOT_SUPPORTED = -274,
    SSL_X509_OFFSET = -512,
};

enum Alert : uint8_t {
    ALERT_CLOSE_NOTIFY = 0,
    ALERT_UNEXPECTED_MESSAGE = 10,
    ALERT_BAD_RECORD_MAC = 20,
    ALERT_RECORD_OVERFLOW = 22,
    ALERT_HANDSHAKE_FAILURE = 40,
    ALERT_BAD_CERTIFICATE = 42,
    ALERT_UNSUPPORTED_CERTIFICATE = 43,
    ALERT_CERTIFICATE_EXPIRED = 45,
    ALERT_CERTIFICATE_UNKNOWN = 46,
    ALERT_ILLEGAL_PARAMETER = 47,
    ALERT_UNKNOWN_CA = 48,
    ALERT_DECODE_ERROR = 50,
    ALERT_DECRYPT_ERROR = 51,
    ALERT_INVALID_VERSION = 70,
    ALERT_NO_RENEGOTIATION = 100,
};

// "State:\tsending Client Hello (1)" and friends.
void display_state(bool is_send, uint8_t handshake_type);
// "Alert: handshake failure" (also for alerts the board sends).
void display_alert(int alert);
// "Error: SSL error 40", "Error: connection lost", "Error: Cert has expired".
void display_error(int error_code);
// The certificate dump of setCACert (x509_print without a CA store).
void x509_print(const Cert& cert);
// x509_display_error's text.
const char* x509_error_text(int error);
// What x509_new prints when a certificate does not parse: asn1_signature_type's
// "invalid digest: 2a 86 ..." for an unsupported signature algorithm, then
// "Error: Invalid X509 ASN.1 file (<text>)".
void print_x509_new_error(int error, const Cert& cert);
// send_alert's mapping of an error code to the alert it sends (and its level).
uint8_t alert_for_error(int error_code, bool* is_warning);

}  // namespace axtls
