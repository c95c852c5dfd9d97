// The sketch of the founding report (esp8266/Arduino #4807 / #4826), as the
// reporter describes it: join WiFi, load the server's self-signed certificate
// (DER) with setCACert(), connect by the IP as a string, check the chain
// after connecting, and say "Connection failed" when connect() fails.
//
// Builds for a real ESP8266 on Arduino core 2.4.1 (axTLS, with the SSL debug
// level) and for the host twin. Its settings come from the harness-generated
// hil_scenario.h; the HIL: lines frame the run for the harness.

#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>
#include <time.h>

#include "hil_scenario.h"

const char* ssid = HIL_WIFI_SSID;
const char* password = HIL_WIFI_PASSWORD;
const char* host = HIL_SERVER_HOST;
const int httpsPort = HIL_SERVER_PORT;

WiFiClientSecure client;

void setup() {
  Serial.begin(115200);
  Serial.setDebugOutput(true);
  Serial.println();
  Serial.println("HIL:BOOT build=" HIL_BUILD_ID);

  WiFi.mode(WIFI_STA);
  WiFi.begin(ssid, password);
  while (WiFi.status() != WL_CONNECTED) {
    delay(500);
    Serial.print(".");
  }

#if HIL_SET_CLOCK
  // As an SNTP-using sketch does; bounded, so a bench without NTP still ends.
  configTime(0, 0, "pool.ntp.org");
  unsigned long waited = millis();
  while (time(nullptr) < 1500000000 && millis() - waited < 15000) {
    delay(100);
  }
#endif

  Serial.println("Set CA Cert");
  client.setCACert(hil_ca_cert_der, hil_ca_cert_der_len);
  Serial.println("CA Cert set");

  Serial.print("Connecting to ");
  Serial.println(host);

  int connected = 0;
  int verified = 0;
  if (!client.connect(host, httpsPort)) {
    Serial.println("Connection failed");
  } else {
    connected = 1;
    if (client.verifyCertChain(host)) {
      Serial.println("Server certificate verified");
      verified = 1;
    } else {
      Serial.println("ERROR: certificate verification failed!");
    }

    client.print(String("GET / HTTP/1.1\r\n") +
                 "Host: " + host + "\r\n" +
                 "User-Agent: esp-tls-hil\r\n" +
                 "Connection: close\r\n\r\n");
    Serial.println("request sent");
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
