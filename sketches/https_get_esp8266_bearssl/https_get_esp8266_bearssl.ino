// ESP8266 core 2.5+ (BearSSL): the default HTTPS GET with the profile's CA as trust anchor.
//
// Builds unchanged for a real board and for the host twin; its settings come
// from the harness-generated hil_scenario.h. The HIL: lines frame the run.
#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>
#include <time.h>

#include "hil_scenario.h"

#ifndef HIL_SET_CLOCK
#define HIL_SET_CLOCK 1  // the certificate check reads dates: a clock as SNTP would set it
#endif

BearSSL::WiFiClientSecure client;
BearSSL::X509List* trustAnchors = nullptr;

void setup() {
  Serial.begin(115200);
  Serial.println();
  Serial.println("HIL:BOOT build=" HIL_BUILD_ID);

  WiFi.mode(WIFI_STA);
  WiFi.begin(HIL_WIFI_SSID, HIL_WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) {
    delay(500);
    Serial.print(".");
  }
  Serial.println();

#if HIL_SET_CLOCK
  // As an SNTP-using sketch does (certificate dates need the clock); bounded, so a
  // bench without NTP still ends.
  configTime(0, 0, "pool.ntp.org");
  unsigned long waited = millis();
  while (time(nullptr) < 1500000000 && millis() - waited < 15000) {
    delay(100);
  }
#endif
  trustAnchors = new BearSSL::X509List(hil_ca_cert_pem);
  client.setTrustAnchors(trustAnchors);
  Serial.print("Connecting to ");
  Serial.println(HIL_SERVER_HOST);
  int connected = 0;
  int verified = 0;
  if (!client.connect(HIL_SERVER_HOST, HIL_SERVER_PORT)) {
    Serial.println("Connection failed");
    char err[128];
    int code = client.getLastSSLError(err, sizeof err);
    Serial.print("getLastSSLError = ");
    Serial.print(code);
    Serial.print(": ");
    Serial.println(err);
  } else {
    connected = 1;
    verified = 1;
    client.print(String("GET / HTTP/1.1\r\nHost: ") + HIL_SERVER_HOST +
                 "\r\nUser-Agent: esp-tls-hil\r\nConnection: close\r\n\r\n");
    String status = client.readStringUntil('\n');
    status.trim();
    Serial.print("status: ");
    Serial.println(status);
    client.stop();
  }
  Serial.print("HIL:DONE connected=");
  Serial.print(connected);
  Serial.print(" verified=");
  Serial.println(verified);
}

void loop() {
  delay(1000);
}
