// The sketch the BearSSL golden recordings (tests/data/golden/esp8266-2.5.2 ... 3.1.2)
// were made with, for the twin: the same WiFiClientSecure calls in the same order and
// the same `sketch:` lines, so a run compares with a recording line for line.
//
// Its settings come from the harness-generated hil_scenario.h; the golden comparison
// (harness/run/golden.py CASE_SWITCHES) sets the mode and the connect path of a case.
#include <ESP8266WiFi.h>
#include <WiFiClientSecureBearSSL.h>
#include <ESP8266HTTPClient.h>
#include <string.h>
#include <time.h>

#include "hil_scenario.h"

#ifndef HIL_GOLDEN_MODE
// ca, lesssecure, mfln, httpclient (trust anchors); insecure; fingerprint; none
#define HIL_GOLDEN_MODE "ca"
#endif
#ifndef HIL_CONNECT_BY_IP
#define HIL_CONNECT_BY_IP 0  // 1: connect(IPAddress, port), which sends no SNI
#endif
// Core 2.4.2's recorder used that release's names (golden.py switches them per case):
// the global BearSSLX509List (BearSSL::X509List from 2.5.0), and setFingerprint() with
// 20 bytes (the hex string form came in 2.5.0).
#ifndef HIL_GOLDEN_X509_GLOBAL_NAME
#define HIL_GOLDEN_X509_GLOBAL_NAME 0
#endif
#ifndef HIL_GOLDEN_FP_BYTES
#define HIL_GOLDEN_FP_BYTES 0
#endif
#if HIL_GOLDEN_X509_GLOBAL_NAME
typedef BearSSLX509List GoldenX509List;
#else
typedef BearSSL::X509List GoldenX509List;
#endif

static void done(int connected) {
  Serial.print("HIL:DONE connected=");
  Serial.print(connected);
  Serial.print(" verified=");
  Serial.println(connected);
}

static bool is(const char* mode) { return !strcmp(HIL_GOLDEN_MODE, mode); }

static void run() {
  const char* host = HIL_SERVER_HOST;
  uint16_t port = HIL_SERVER_PORT;
  // Never destroyed, as in the recorder, which ends with exit() and runs no destructor.
  BearSSL::WiFiClientSecure& client = *new BearSSL::WiFiClientSecure();
  GoldenX509List* ta = nullptr;

  Serial.printf("sketch: mode=%s host=%s port=%u\n", HIL_GOLDEN_MODE, host, port);
  if (is("ca") || is("lesssecure") || is("mfln") || is("httpclient")) {
    ta = new GoldenX509List(hil_ca_cert_pem);
    client.setTrustAnchors(ta);
  } else if (is("insecure")) {
    client.setInsecure();
  } else if (is("fingerprint")) {
#if HIL_GOLDEN_FP_BYTES
    // As the 2.4.2 recorder: the hex string parsed into 20 bytes.
    uint8_t fpb[20] = {0};
    int n = 0;
    for (const char* p = HIL_CERT_SHA1; *p && n < 40; p++) {
      int v = (*p >= '0' && *p <= '9')   ? *p - '0'
              : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
              : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
                                         : -1;
      if (v < 0) continue;
      fpb[n / 2] |= (n % 2) ? v : (v << 4);
      n++;
    }
    client.setFingerprint(fpb);
#else
    client.setFingerprint(HIL_CERT_SHA1);
#endif
  }  // none: no trust method
#if HIL_API_BEARSSL_setCiphersLessSecure
  if (is("lesssecure")) {
    client.setCiphersLessSecure();
  }
#endif
  if (is("mfln")) {
    bool mfln;
#if HIL_CONNECT_BY_IP
    IPAddress pip;
    pip.fromString(host);
    mfln = BearSSL::WiFiClientSecure::probeMaxFragmentLength(pip, port, 512);
#else
    mfln = BearSSL::WiFiClientSecure::probeMaxFragmentLength(host, port, 512);
#endif
    Serial.printf("sketch: probeMaxFragmentLength(512) = %d\n", mfln ? 1 : 0);
    client.setBufferSizes(512, 512);
  }

  if (is("httpclient")) {
    HTTPClient& https = *new HTTPClient();
    String url = String("https://") + host + ":" + String(port) + "/";
    if (!https.begin(client, url)) {
      Serial.printf("sketch: begin failed\n");
      done(0);
      return;
    }
    int code = https.GET();
    if (code > 0) {
      String payload = https.getString();
      Serial.printf("sketch: GET code %d, %u bytes\n", code, (unsigned)payload.length());
    } else {
      Serial.printf("sketch: GET failed, error: %s\n", https.errorToString(code).c_str());
      char buf[128] = {0};
      int err = client.getLastSSLError(buf, sizeof(buf));
      Serial.printf("sketch: getLastSSLError = %d: %s\n", err, buf);
    }
    https.end();
    done(code > 0);
    return;
  }

  bool ok;
#if HIL_CONNECT_BY_IP
  IPAddress ip;
  ip.fromString(host);
  ok = client.connect(ip, port);
#else
  ok = client.connect(host, port);
#endif
  if (!ok) {
    char buf[128] = {0};
    int err = client.getLastSSLError(buf, sizeof(buf));
    Serial.printf("sketch: connect failed, getLastSSLError = %d: %s\n", err, buf);
    done(0);
    return;
  }
  Serial.printf("sketch: connected\n");
  client.print(String("GET / HTTP/1.1\r\nHost: ") + host +
               "\r\nUser-Agent: gtclient\r\nConnection: close\r\n\r\n");
  String status = client.readStringUntil('\n');
  status.trim();
  Serial.printf("sketch: status: %s\n", status.c_str());
  unsigned long total = status.length();
  unsigned long t0 = millis();
  while ((client.connected() || client.available()) && millis() - t0 < 10000) {
    int n = client.available();
    if (n > 0) {
      uint8_t b[256];
      int r = client.read(b, n > (int)sizeof(b) ? sizeof(b) : n);
      if (r > 0) total += r;
    } else {
      delay(1);
    }
  }
  Serial.printf("sketch: read %lu bytes\n", total);
  client.stop();
  Serial.printf("sketch: stopped\n");
  done(1);
}

void setup() {
  Serial.begin(115200);
  Serial.println();
  Serial.println("HIL:BOOT build=" HIL_BUILD_ID);
  WiFi.mode(WIFI_STA);
  WiFi.begin(HIL_WIFI_SSID, HIL_WIFI_PASSWORD);
  // The recorder joined no network: poll often, so the connection starts at once.
  while (WiFi.status() != WL_CONNECTED) {
    delay(10);
  }
  // The recorder ran on the host, whose clock is set: as after SNTP on a board.
  // Bounded, so a bench without NTP still ends.
  configTime(0, 0, "pool.ntp.org");
  unsigned long waited = millis();
  while (time(nullptr) < 1500000000 && millis() - waited < 15000) {
    delay(100);
  }
  run();
}

void loop() {
  delay(1000);
}
