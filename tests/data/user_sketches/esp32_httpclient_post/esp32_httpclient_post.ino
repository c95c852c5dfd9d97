// Sends a reading as JSON every minute. setInsecure() because the cert changes often.
#include <WiFi.h>
#include <HTTPClient.h>
#include <WiFiClientSecure.h>

const char* ssid = "greenhouse";
const char* password = "plants4ever";
String serverName = "https://ingest.example.com:8443/api/v1/readings";

WiFiClientSecure client;
int readingId = 0;

void setup() {
  Serial.begin(115200);
  WiFi.begin(ssid, password);
  Serial.println("Connecting");
  while (WiFi.status() != WL_CONNECTED) {
    delay(500);
    Serial.print(".");
  }
  Serial.println("");
  Serial.print("Connected to WiFi network with IP Address: ");
  Serial.println(WiFi.localIP());
  client.setInsecure();
}

void loop() {
  if (WiFi.status() == WL_CONNECTED) {
    HTTPClient http;
    http.begin(client, serverName);
    http.addHeader("Content-Type", "application/json");
    http.setAuthorization("sensor", "s3cret");
    float temperature = 21.25;
    String body = String("{\"id\":") + readingId++ + ",\"t\":" + temperature + "}";
    int httpResponseCode = http.POST(body);
    Serial.print("HTTP Response code: ");
    Serial.println(httpResponseCode);
    if (httpResponseCode < 0) Serial.println(http.errorToString(httpResponseCode));
    http.end();
  }
  delay(60000);
}
