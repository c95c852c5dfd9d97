// The sketch the arduino-esp32 golden recordings (tests/data/golden/esp32-1.0.6,
// esp32-2.0.17) were made with, for the twin: the same WiFiClientSecure calls in the
// same order and the same lines, so a run compares with a recording line for line.
//
// Its settings come from the harness-generated hil_scenario.h; the golden comparison
// (harness/run/golden.py CASE_SWITCHES) sets the trust method of a case.
#include <WiFi.h>
#include <WiFiClientSecure.h>
#include <string.h>
#include <time.h>

#include "hil_scenario.h"

#ifndef HIL_GOLDEN_TRUST
#define HIL_GOLDEN_TRUST "ca"  // ca (setCACert), insecure (setInsecure), none
#endif

// A local client, destroyed on return as in the recorder (its destructor stops it).
static int run() {
  const char* host = HIL_SERVER_HOST;
  int port = HIL_SERVER_PORT;
  WiFiClientSecure client;
  if (!strcmp(HIL_GOLDEN_TRUST, "ca")) {
    client.setCACert(hil_ca_cert_pem);
  } else if (!strcmp(HIL_GOLDEN_TRUST, "insecure")) {
    client.setInsecure();
  }
  Serial.printf("Connecting to %s:%d\r\n", host, port);
  if (!client.connect(host, port)) {
    char buf[256] = {0};
    int err = client.lastError(buf, sizeof buf);
    Serial.printf("Connection failed! lastError=%d: %s\r\n", err, buf);
    return 0;
  }
  Serial.printf("Connected\r\n");
  String req = String("GET / HTTP/1.1\r\nHost: ") + host + "\r\nConnection: close\r\n\r\n";
  size_t w = client.write((const uint8_t*)req.c_str(), req.length());
  Serial.printf("Request sent (%u bytes)\r\n", (unsigned)w);
  String resp;
  unsigned long t0 = millis();
  while ((client.connected() || client.available() > 0) && millis() - t0 < 15000) {
    uint8_t b[1024];
    int n = client.read(b, sizeof b);
    if (n > 0) {
      for (int i = 0; i < n; i++) resp += (char)b[i];
    } else {
      delay(2);
    }
  }
  int e = resp.indexOf("\r\n");
  Serial.printf("Status: %s\r\n", (e < 0 ? resp : resp.substring(0, e)).c_str());
  Serial.printf("Received %u bytes\r\n", (unsigned)resp.length());
  client.stop();
  Serial.printf("Stopped\r\n");
  return 1;
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
  int connected = run();
  Serial.print("HIL:DONE connected=");
  Serial.print(connected);
  Serial.print(" verified=");
  Serial.println(connected);
}

void loop() {
  delay(1000);
}
