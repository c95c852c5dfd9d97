// One TLS connection with a chosen trust method, for every core family the
// harness models (ESP8266 axTLS 2.4.x, ESP8266 BearSSL 2.5+, ESP32 mbedTLS), so a
// scenario can run the same sketch over core versions and see what changed.
//
// Settings from the harness-generated hil_scenario.h:
//   HIL_TRUST          0 none (no trust method), 1 the CA, 2 setInsecure()
//   HIL_CONNECT_BY_IP  0 connect(const char* host, port), 1 connect(IPAddress, port)
//   HIL_SET_CLOCK      1 (default): configTime() first, as the BearSSL docs ask
//   HIL_RECV_BUF       >0: ESP8266 BearSSL setBufferSizes(HIL_RECV_BUF, 512)
// The HIL: lines frame the run for the harness.

#if defined(ESP32)
#include <WiFi.h>
#else
#include <ESP8266WiFi.h>
#endif
#include <WiFiClientSecure.h>
#include <time.h>

#include "hil_scenario.h"
#include "hil_ca_cert_pem.h"

#ifndef HIL_TRUST
#define HIL_TRUST 1
#endif
#ifndef HIL_CONNECT_BY_IP
#define HIL_CONNECT_BY_IP 0
#endif
#ifndef HIL_SET_CLOCK
#define HIL_SET_CLOCK 1
#endif
#ifndef HIL_RECV_BUF
#define HIL_RECV_BUF 0
#endif

#if defined(ESP8266) && HIL_API_setTrustAnchors
// BearSSL cores (2.5.0+): the anchor must outlive the connection.
BearSSL::X509List trust_anchor(hil_ca_cert_der, hil_ca_cert_der_len);
#endif

WiFiClientSecure client;

static void set_trust() {
#if HIL_TRUST == 1
#if defined(ESP32)
  client.setCACert(hil_ca_cert_pem);
#elif HIL_API_setTrustAnchors
  client.setTrustAnchors(&trust_anchor);
#else
  client.setCACert(hil_ca_cert_der, hil_ca_cert_der_len);
#endif
  Serial.println("trust: CA");
#elif HIL_TRUST == 2
#if defined(ESP32) || HIL_API_setInsecure
  client.setInsecure();
  Serial.println("trust: insecure");
#else
  Serial.println("trust: none (axTLS does not verify during connect)");
#endif
#else
  Serial.println("trust: none");
#endif
}

void setup() {
  Serial.begin(115200);
  Serial.setDebugOutput(true);
  Serial.println();
  Serial.println("HIL:BOOT build=" HIL_BUILD_ID);

  WiFi.mode(WIFI_STA);
  WiFi.begin(HIL_WIFI_SSID, HIL_WIFI_PASSWORD);
  while (WiFi.status() != WL_CONNECTED) {
    delay(500);
    Serial.print(".");
  }

#if HIL_SET_CLOCK
  // BearSSL checks certificate dates against time(): set the clock as an SNTP sketch does
  // (bounded, so a bench without NTP still ends).
  configTime(0, 0, "pool.ntp.org");
  unsigned long waited = millis();
  while (time(nullptr) < 1500000000 && millis() - waited < 15000) {
    delay(100);
  }
#endif

  set_trust();
#if defined(ESP8266) && HIL_API_setBufferSizes
  if (HIL_RECV_BUF > 0) {
    client.setBufferSizes(HIL_RECV_BUF, 512);
  }
#endif

  Serial.print("Connecting to ");
  Serial.println(HIL_SERVER_HOST);
  int connected = 0;
#if HIL_CONNECT_BY_IP
  IPAddress ip;
  ip.fromString(HIL_SERVER_HOST);
  connected = client.connect(ip, HIL_SERVER_PORT);
#else
  connected = client.connect(HIL_SERVER_HOST, HIL_SERVER_PORT);
#endif
  int body = 0;
  if (!connected) {
    Serial.println("Connection failed");
  } else {
    client.print(String("GET / HTTP/1.1\r\nHost: ") + HIL_SERVER_HOST +
                 "\r\nUser-Agent: esp-tls-hil\r\nConnection: close\r\n\r\n");
    String status = client.readStringUntil('\n');
    status.trim();
    Serial.print("status: ");
    Serial.println(status);
    unsigned long started = millis();
    while ((client.connected() || client.available()) && millis() - started < 10000) {
      while (client.available()) {
        client.read();
        body++;
      }
      delay(1);
    }
    client.stop();
  }
  Serial.print("HIL:DONE connected=");
  Serial.print(connected ? 1 : 0);
  Serial.print(" bytes=");
  Serial.println(body);
}

void loop() {
  delay(1000);
}
