/*
 * Posting temperature to my server over HTTPS.
 * I don't care about the certificate, so setInsecure().
 */
#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>

#define WIFI_SSID "Shed-AP"
#define WIFI_PASS "tomato-42"

const char* host = "iot.example.net";
const int httpsPort = 8443;

WiFiClientSecure client;

void setup() {
  Serial.begin(115200);
  WiFi.begin(WIFI_SSID, WIFI_PASS);
  while (WiFi.status() != WL_CONNECTED) {
    delay(250);
    Serial.print('.');
  }
  Serial.println(" connected");

  client.setInsecure();
  Serial.print("connecting to ");
  Serial.println(host);
  if (!client.connect(host, httpsPort)) {
    Serial.println("connection failed");
    return;
  }
  String url = "/api/temp?value=" + String(21.5);
  client.print(String("GET ") + url + " HTTP/1.1\r\n" +
               "Host: " + host + "\r\n" +
               "Connection: close\r\n\r\n");
  while (client.connected()) {
    String line = client.readStringUntil('\n');
    if (line == "\r") {
      Serial.println("headers received");
      break;
    }
  }
  String body = client.readString();
  Serial.println("reply was:");
  Serial.println(body);
  client.stop();
}

void loop() {
}
