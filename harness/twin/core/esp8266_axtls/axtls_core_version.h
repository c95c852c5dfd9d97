// Per-version values of the axTLS personality (ESP8266 Arduino core 2.4.x),
// in one place so they can later be fed from harness/model/cores/*.toml.
// The board file selects the core with ARDUINO_ESP8266_RELEASE_2_4_<n>.
//
// Sources: core tags 2.4.1 and 2.4.2, libraries/ESP8266WiFi/src/
// WiFiClientSecure.cpp (2.4.2: WiFiClientSecureAxTLS.cpp), include/ClientContext.h,
// cores/esp8266/time.c; igrr/axtls-8266 24af415 (the libaxtls.a of both).
#pragma once

#include <cstddef>
#include <cstdint>

namespace axtls {
namespace core {

// The only API difference on the axTLS path: WiFiClientSecure::write(Stream&)
// (256-byte chunks) is new in 2.4.2 (esp8266-axtls-FACTS.md 14). A macro,
// because it decides whether the method is declared at all.
#if defined(ARDUINO_ESP8266_RELEASE_2_4_2)
#define AXTLS_CORE_HAS_WRITE_STREAM 1
const char* const CORE_VERSION = "2.4.2";
#else
#define AXTLS_CORE_HAS_WRITE_STREAM 0
const char* const CORE_VERSION = "2.4.1";
#endif

// Same in 2.4.1 and 2.4.2:
// WiFiClientSecure(): _timeout = 15000 (the handshake and Stream timeout).
const uint32_t HANDSHAKE_TIMEOUT_MS = 15000;
// WiFiClient::connect passes the same _timeout to ClientContext::connect.
const uint32_t TCP_CONNECT_TIMEOUT_MS = 15000;
// lwIP2 "v2 Lower Memory", the default of both: TCP_MSS 536.
const int LWIP_TCP_MSS = 536;
// ssl_new: max_plain_length = 1460 * 4 (grown up to 16384 on demand).
const size_t INITIAL_PLAIN_LENGTH = 1460 * 4;
// CONFIG_X509_MAX_CA_CERTS of the libaxtls.a build.
const size_t MAX_CA_CERTS = 10;
// axTLS's SSL debug options the core sets with DEBUG_ESP_SSL.
const bool DISPLAY_STATES = true;
const bool DISPLAY_CERTS = true;

}  // namespace core
}  // namespace axtls
