#include <WiFi.h>
#include <WiFiClientSecure.h>

const char* ssid     = "office-2.4G";
const char* password = "correcthorse";

const char*  server = "data.example.org";  // Server URL

// root CA of the server, from the browser's certificate viewer
const char* root_ca = \
"-----BEGIN CERTIFICATE-----\n" \
"MIIBlTCCATugAwIBAgIUErZSj25z087eaX/VQ4qZiQwBle0wCgYIKoZIzj0EAwIw\n" \
"QDEcMBoGA1UECgwTRXhhbXBsZSBTZW5zb3JzIEx0ZDEgMB4GA1UEAwwXRXhhbXBs\n" \
"ZSBTZW5zb3JzIFJvb3QgQ0EwHhcNMjQwMTAxMDAwMDAwWhcNMzcxMjMxMDAwMDAw\n" \
"WjBAMRwwGgYDVQQKDBNFeGFtcGxlIFNlbnNvcnMgTHRkMSAwHgYDVQQDDBdFeGFt\n" \
"cGxlIFNlbnNvcnMgUm9vdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABL19\n" \
"4+e1gZ+XSvecMobdEklFbsR90zFRnPNhZ+zDEYVD2dIFsje+duUbw6uowPMZhvKs\n" \
"23iGV1/Qi64NRdnFOfCjEzARMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID\n" \
"SAAwRQIhAJP9WjORCfPmbEVT1JHboaYdzOTJwwmhd7cHxmuGNe9cAiA7FOb9yKNt\n" \
"9bnoFaBzjEwSQFtuxAzGlai3mHLFZgJuYw==\n" \
"-----END CERTIFICATE-----\n";

WiFiClientSecure client;

void setup() {
  Serial.begin(115200);
  delay(100);

  Serial.print("Attempting to connect to SSID: ");
  Serial.println(ssid);
  WiFi.begin(ssid, password);

  while (WiFi.status() != WL_CONNECTED) {
    Serial.print(".");
    delay(1000);
  }

  Serial.print("Connected to ");
  Serial.println(ssid);

  client.setCACert(root_ca);

  Serial.println("\nStarting connection to server...");
  if (!client.connect(server, 443))
    Serial.println("Connection failed!");
  else {
    Serial.println("Connected to server!");
    client.println("GET https://data.example.org/feed HTTP/1.0");
    client.println("Host: data.example.org");
    client.println("Connection: close");
    client.println();

    while (client.connected()) {
      String line = client.readStringUntil('\n');
      if (line == "\r") {
        Serial.println("headers received");
        break;
      }
    }
    while (client.available()) {
      char c = client.read();
      Serial.write(c);
    }
    client.stop();
  }
}

void loop() {
  // do nothing
}
