// The agent: one build and one flash for many server profiles. After HIL:BOOT it
// asks for a job over Serial, takes the server's address, port, host name and trust
// anchor (PEM) from the harness, connects once as tls_client does (the CA as trust
// method, by host name) and reports in the usual HIL: lines.
//
// The line protocol (version 1, README.md):
//   board: HIL:AGENT ready proto=1 max=<bytes>
//   host:  HIL:JOB <length> <crc32 as 8 hex digits>\n  then exactly <length> bytes:
//            host=<address>\nport=<n>\nname=<host name>\nca_pem=\n<PEM>
//   board: HIL:AGENT job host=<address> port=<n> name=<host name>
//      or  HIL:AGENT error <what was wrong>      (then HIL:DONE connected=0 agent_error=1)
// Every wait has a deadline: the header within AGENT_JOB_WAIT_MS of "ready", the payload
// within AGENT_PAYLOAD_WAIT_MS of the header.

#if defined(ESP32)
#include <WiFi.h>
#else
#include <ESP8266WiFi.h>
#endif
#include <WiFiClientSecure.h>
#include <time.h>

#include "hil_scenario.h"

#define AGENT_MAX 4096
#define AGENT_JOB_WAIT_MS 30000UL
#define AGENT_PAYLOAD_WAIT_MS 10000UL

// Which ESP8266 trust API: the harness's build says it (HIL_API_*, from the core's
// release data, for the twin and for a real board alike); built elsewhere (the Arduino
// IDE), a core that has BearSSLHelpers.h is taken for BearSSL.
#if defined(HIL_API_setTrustAnchors)
#define AGENT_BEARSSL HIL_API_setTrustAnchors
#elif defined(__has_include)
#if __has_include(<BearSSLHelpers.h>)
#define AGENT_BEARSSL 1
#endif
#endif
#ifndef AGENT_BEARSSL
#define AGENT_BEARSSL 0
#endif

static char payload[AGENT_MAX + 1];
static char host[64];
static char name[128];
static long port = 0;
static const char* pem = nullptr;
static uint8_t der[AGENT_MAX];
static size_t der_len = 0;

WiFiClientSecure client;
#if defined(ESP8266) && AGENT_BEARSSL
BearSSL::X509List* anchor = nullptr;  // must outlive the connection
#endif

static uint32_t crc32_of(const uint8_t* data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// One line (without \n) into buf, or false at the deadline; a longer line is cut.
static bool read_line(char* buf, size_t size, unsigned long deadline_ms) {
  size_t n = 0;
  unsigned long started = millis();
  while (millis() - started < deadline_ms) {
    if (!Serial.available()) {
      delay(1);
      continue;
    }
    int c = Serial.read();
    if (c == '\n') {
      buf[n] = '\0';
      if (n > 0 && buf[n - 1] == '\r') buf[n - 1] = '\0';
      return true;
    }
    if (n + 1 < size) buf[n++] = (char)c;
  }
  buf[n] = '\0';
  return false;
}

static size_t read_exactly(char* buf, size_t len, unsigned long deadline_ms) {
  size_t n = 0;
  unsigned long started = millis();
  while (n < len && millis() - started < deadline_ms) {
    if (!Serial.available()) {
      delay(1);
      continue;
    }
    buf[n++] = (char)Serial.read();
  }
  return n;
}

// The value of "key=" on a line of its own, copied into out; false if absent or too long.
static bool field(const char* key, char* out, size_t size) {
  size_t klen = strlen(key);
  const char* p = payload;
  while (p && *p) {
    if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
      const char* v = p + klen + 1;
      const char* end = strchr(v, '\n');
      size_t len = end ? (size_t)(end - v) : strlen(v);
      if (len == 0 || len >= size) return false;
      memcpy(out, v, len);
      out[len] = '\0';
      return true;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return false;
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The DER of the first certificate in the PEM (ESP8266's trust APIs take DER).
static bool pem_to_der() {
  const char* begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
  const char* end = begin ? strstr(begin, "-----END CERTIFICATE-----") : nullptr;
  if (!begin || !end) return false;
  uint32_t acc = 0;
  int bits = 0;
  der_len = 0;
  for (const char* p = begin + 27; p < end; p++) {
    int v = b64_value(*p);
    if (v < 0) continue;  // newlines; '=' padding ends the data
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (der_len >= sizeof der) return false;
      der[der_len++] = (uint8_t)(acc >> bits);
    }
  }
  return der_len > 0;
}

static void refuse(const char* what, const char* detail) {
  Serial.print("HIL:AGENT error ");
  Serial.print(what);
  Serial.println(detail);
  Serial.println("HIL:DONE connected=0 agent_error=1");
}

static bool take_job() {
  Serial.print("HIL:AGENT ready proto=1 max=");
  Serial.println(AGENT_MAX);
  char header[96];
  if (!read_line(header, sizeof header, AGENT_JOB_WAIT_MS)) {
    refuse("no job line within the deadline; seen: ", header);
    return false;
  }
  unsigned long len = 0, crc = 0;
  char tail = 0;
  if (sscanf(header, "HIL:JOB %lu %lx%c", &len, &crc, &tail) != 2) {
    refuse("bad job line (expected 'HIL:JOB <length> <crc32>'): ", header);
    return false;
  }
  if (len == 0 || len > AGENT_MAX) {
    refuse("job length out of range 1..4096: ", header);
    return false;
  }
  size_t got = read_exactly(payload, len, AGENT_PAYLOAD_WAIT_MS);
  payload[got] = '\0';
  if (got != len) {
    char detail[48];
    snprintf(detail, sizeof detail, "%u of %lu bytes", (unsigned)got, len);
    refuse("job cut short within the deadline: ", detail);
    return false;
  }
  uint32_t mine = crc32_of((const uint8_t*)payload, len);
  if (mine != (uint32_t)crc) {
    char detail[48];
    snprintf(detail, sizeof detail, "crc32 %08lx, the line says %08lx", (unsigned long)mine, crc);
    refuse("job checksum mismatch: ", detail);
    return false;
  }
  char port_text[8];
  if (!field("host", host, sizeof host) || !field("name", name, sizeof name) ||
      !field("port", port_text, sizeof port_text)) {
    refuse("job without host, port or name", "");
    return false;
  }
  port = atol(port_text);
  pem = strstr(payload, "ca_pem=\n");
  if (port <= 0 || port > 65535 || pem == nullptr) {
    refuse("job with a bad port or without ca_pem", "");
    return false;
  }
  pem += 8;
  if (!pem_to_der()) {
    refuse("ca_pem holds no certificate", "");
    return false;
  }
  Serial.print("HIL:AGENT job host=");
  Serial.print(host);
  Serial.print(" port=");
  Serial.print(port);
  Serial.print(" name=");
  Serial.println(name);
  return true;
}

static void set_trust() {
#if defined(ESP32)
  client.setCACert(pem);
#elif AGENT_BEARSSL
  anchor = new BearSSL::X509List(der, der_len);
  client.setTrustAnchors(anchor);
#else
  client.setCACert(der, der_len);
#endif
  Serial.println("trust: CA");
}

void setup() {
  Serial.begin(115200);
  Serial.setDebugOutput(true);
  Serial.println();
  Serial.println("HIL:BOOT build=" HIL_BUILD_ID);

  WiFi.mode(WIFI_STA);
  WiFi.begin(HIL_WIFI_SSID, HIL_WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) {
    delay(500);
    Serial.print(".");
  }
  Serial.println();

  if (!take_job()) return;
  // As tls_client: set the clock first (BearSSL checks certificate dates against
  // time()), bounded, so a bench without NTP still ends.
  configTime(0, 0, "pool.ntp.org");
  unsigned long waited = millis();
  while (time(nullptr) < 1500000000 && millis() - waited < 15000) {
    delay(100);
  }
  set_trust();
  Serial.print("Connecting to ");
  Serial.println(name);
  int connected = client.connect(name, port);
  int body = 0;
  if (!connected) {
    Serial.println("Connection failed");
  } else {
    client.print(String("GET / HTTP/1.1\r\nHost: ") + name +
                 "\r\nUser-Agent: esp-tls-hil\r\nConnection: close\r\n\r\n");
    String status = client.readStringUntil('\n');
    status.trim();
    Serial.print("status: ");
    Serial.println(status);
    unsigned long started = millis();
    while ((client.connected() || client.available()) && millis() - started < 10000) {
      while (client.available()) {
        client.read();
        body++;
      }
      delay(1);
    }
    client.stop();
  }
  Serial.print("HIL:DONE connected=");
  Serial.print(connected ? 1 : 0);
  Serial.print(" bytes=");
  Serial.println(body);
}

void loop() {
  delay(1000);
}
