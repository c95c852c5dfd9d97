/* esp-tls-hil: mbedTLS 3 options of arduino-esp32 3.x, applied on top of mbedTLS's own
 * default configuration (include/mbedtls/mbedtls_config.h of the same source) as
 * MBEDTLS_USER_CONFIG_FILE, for the twin's mbedTLS 3 built by `hil setup`
 * (harness/instruments/mbedtls3.py).
 *
 * Facts: arduino-esp32 3.0.x is built on ESP-IDF 5.1 with esp32-arduino-lib-builder's
 * release/v5.1 configs (configs/defconfig.common, tip 9bd19971, 2024-12-12). ESP-IDF maps
 * each CONFIG_MBEDTLS_* Kconfig option (components/mbedtls/Kconfig, v5.1.4) to an mbedTLS
 * option in components/mbedtls/port/include/mbedtls/esp_config.h. Only what differs from
 * mbedTLS's default configuration is listed; each line says why. The recordings that
 * these options must reproduce: tests/data/golden/esp32-3.x/<case>/PROVENANCE.md.
 *
 * Options that only change how the board computes (hardware AES/SHA/MPI, ROM tables,
 * the allocator, the entropy source) are left at the host's defaults: they do not show
 * on the wire or on Serial.
 */

/* TLS 1.3: Kconfig MBEDTLS_SSL_PROTO_TLS1_3 "default n" (v5.1.4); lib-builder leaves it. */
#undef MBEDTLS_SSL_PROTO_TLS1_3
#undef MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#undef MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED
#undef MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#undef MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED

/* Finite-field Diffie-Hellman: Kconfig MBEDTLS_DHM_C "default n", so no DHE suites. */
#undef MBEDTLS_DHM_C
#undef MBEDTLS_KEY_EXCHANGE_DHE_RSA_ENABLED
#undef MBEDTLS_KEY_EXCHANGE_DHE_PSK_ENABLED

/* Certificate dates are not checked: Kconfig MBEDTLS_HAVE_TIME_DATE "default n". */
#undef MBEDTLS_HAVE_TIME_DATE

/* ChaCha20-Poly1305: Kconfig MBEDTLS_CHACHA20_C and MBEDTLS_POLY1305_C "default n". */
#undef MBEDTLS_CHACHA20_C
#undef MBEDTLS_POLY1305_C
#undef MBEDTLS_CHACHAPOLY_C

/* Kconfig "default n" in v5.1.4 for each of these. */
#undef MBEDTLS_HKDF_C
#undef MBEDTLS_DES_C
#undef MBEDTLS_ECJPAKE_C
#undef MBEDTLS_KEY_EXCHANGE_ECJPAKE_ENABLED
#undef MBEDTLS_RIPEMD160_C
#undef MBEDTLS_NIST_KW_C
#undef MBEDTLS_SSL_CONTEXT_SERIALIZATION
#undef MBEDTLS_SSL_DTLS_CONNECTION_ID
#undef MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT

/* Curve448: esp_config.h undefines MBEDTLS_ECP_DP_CURVE448_ENABLED (no Kconfig option),
 * so supported_groups has no x448. */
#undef MBEDTLS_ECP_DP_CURVE448_ENABLED

/* esp_config.h defines these; MBEDTLS_TLS_DEFAULT_ALLOW_SHA1_IN_KEY_EXCHANGE keeps SHA-1
 * in the default signature algorithms of the key exchange. */
#define MBEDTLS_SSL_FALLBACK_SCSV
#define MBEDTLS_TLS_DEFAULT_ALLOW_SHA1_IN_KEY_EXCHANGE

/* Kept on although ESP-IDF differs, because they change nothing a peer or Serial sees:
 * - MBEDTLS_ARIA_C and MBEDTLS_CAMELLIA_C: on, as on the board (ARIA is on in mbedTLS's
 *   default and esp_config.h does not touch it; lib-builder sets CONFIG_MBEDTLS_CAMELLIA_C=y).
 * - MBEDTLS_DEBUG_C (Kconfig MBEDTLS_DEBUG "default n"): the twin never sets a debug callback.
 * - MBEDTLS_NET_C, MBEDTLS_TIMING_C: host socket and timer helpers (ESP-IDF has its own
 *   lwIP-based net_sockets.c).
 * - PSK key exchanges (lib-builder CONFIG_MBEDTLS_PSK_MODES=y, KEY_EXCHANGE_PSK=y): on in
 *   mbedTLS's default too.
 * - MBEDTLS_SSL_IN/OUT_CONTENT_LEN: 16384 in both (Kconfig MBEDTLS_SSL_MAX_CONTENT_LEN
 *   "default 16384"; lib-builder does not set MBEDTLS_ASYMMETRIC_CONTENT_LEN). */
