// ESP8266 core 2.5+ (BearSSL): an HTTPS GET through HTTPClient over a
// BearSSL::WiFiClientSecure with the profile's CA as trust anchor. Prints the
// HTTP code, or HTTPClient's error code and errorToString() text.
//
// Builds unchanged for a real board and for the host twin; its settings come
// from the harness-generated hil_scenario.h. The HIL: lines frame the run.
#include <ESP8266WiFi.h>
#include <ESP8266HTTPClient.h>
#include <WiFiClientSecure.h>

#include <time.h>

#include "hil_scenario.h"

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

#if defined(HIL_SET_CLOCK) && HIL_SET_CLOCK
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

  String url = String("https://") + HIL_SERVER_HOST + ":" + String(HIL_SERVER_PORT) + "/";
  HTTPClient https;
  int connected = 0;
  if (https.begin(client, url)) {
    int code = https.GET();
    if (code > 0) {
      connected = 1;
      Serial.print("HTTP code: ");
      Serial.println(code);
      String body = https.getString();
      Serial.print("body bytes: ");
      Serial.println((int)body.length());
    } else {
      Serial.print("GET failed, error: ");
      Serial.print(code);
      Serial.print(" ");
      Serial.println(HTTPClient::errorToString(code));
      char err[128];
      int ssl = client.getLastSSLError(err, sizeof err);
      Serial.print("getLastSSLError = ");
      Serial.print(ssl);
      Serial.print(": ");
      Serial.println(err);
    }
    https.end();
  }
  Serial.print("HIL:DONE connected=");
  Serial.print(connected);
  Serial.print(" verified=");
  Serial.println(connected);
}

void loop() {
  delay(1000);
}
