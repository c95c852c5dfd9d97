#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>

const char* ssid = "lab";
const char* password = "lab-pass";
const char* host = "sensors.example.com";
const int lastOctet = 77;

WiFiClientSecure client;

void setup() {
  Serial.begin(115200);
  WiFi.begin(ssid, password);
  while (WiFi.status() != WL_CONNECTED) delay(100);
  client.setInsecure();
  // The first try goes to the name, the fallback to an address made at run time.
  if (!client.connect(host, 443)) Serial.println("by name failed");
  client.stop();
  String fallback = String("192.168.4.") + lastOctet;
  Serial.print("Connecting to ");
  Serial.println(fallback);
  if (!client.connect(fallback.c_str(), 443)) {
    Serial.println("Connection failed");
  }
}

void loop() {}
