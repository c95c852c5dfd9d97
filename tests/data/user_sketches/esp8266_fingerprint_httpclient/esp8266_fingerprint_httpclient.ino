// Worked on 2.4.2, fails after updating the core. Board: NodeMCU 1.0
#include <Arduino.h>
#include <ESP8266WiFi.h>
#include <ESP8266HTTPClient.h>
#include <WiFiClientSecureBearSSL.h>

const char* ssid = "MyHomeWiFi";
const char* password = "hunter2hunter2";

// SHA1 fingerprint of the certificate (copied from the browser)
const uint8_t fingerprint[20] = {0x3B, 0x91, 0x0C, 0x8A, 0x47, 0xE2, 0x5D, 0x16, 0xA9, 0x0F,
                                 0x72, 0xC4, 0x88, 0x1E, 0x63, 0xB5, 0xD0, 0x2A, 0x94, 0x7F};

void setup() {
  Serial.begin(115200);
  Serial.println();
  WiFi.mode(WIFI_STA);
  WiFi.begin(ssid, password);
  Serial.print("Connecting");
  while (WiFi.status() != WL_CONNECTED) {
    delay(500);
    Serial.print(".");
  }
  Serial.println();
  Serial.print("IP: ");
  Serial.println(WiFi.localIP());
}

void loop() {
  std::unique_ptr<BearSSL::WiFiClientSecure> client(new BearSSL::WiFiClientSecure);
  client->setFingerprint(fingerprint);

  HTTPClient https;
  Serial.print("[HTTPS] begin...\n");
  if (https.begin(*client, "https://api.weather.example.com/v1/current?city=Osaka")) {
    int httpCode = https.GET();
    if (httpCode > 0) {
      Serial.printf("[HTTPS] GET... code: %d\n", httpCode);
      String payload = https.getString();
      Serial.println(payload);
    } else {
      Serial.printf("[HTTPS] GET... failed, error: %s\n", https.errorToString(httpCode).c_str());
    }
    https.end();
  } else {
    Serial.printf("[HTTPS] Unable to connect\n");
  }
  Serial.println("Wait 10s before next round...");
  delay(10000);
}
