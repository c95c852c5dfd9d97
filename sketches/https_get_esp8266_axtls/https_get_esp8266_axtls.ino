// The default HTTPS GET for ESP8266 Arduino core 2.3/2.4 (axTLS): trust the
// profile's CA, connect, verify the chain, send a GET and read the status line.
// `hil run --board B --profile P` builds it when no --sketch is given.
//
// Its settings come from the harness-generated hil_scenario.h (see README.md);
// the switches there select the variants the golden recordings of core 2.4.1
// were made with (clock set or not, connect by name or by IPAddress, trust by
// CA or by SHA-1 fingerprint, read the whole response or only its status line).

#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>
#include <time.h>

#include "hil_scenario.h"

#ifndef HIL_SET_CLOCK
#define HIL_SET_CLOCK 1  // verifyCertChain() checks dates: a clock as SNTP would set it
#endif
#ifndef HIL_CONNECT_BY_IP
#define HIL_CONNECT_BY_IP 0  // 1: connect(IPAddress, port), which sends no SNI
#endif
#ifndef HIL_TRUST_FINGERPRINT
#define HIL_TRUST_FINGERPRINT 0  // 1: verify(HIL_CERT_SHA1, host) instead of a CA
#endif
#ifndef HIL_TRUST_NONE
#define HIL_TRUST_NONE 0  // 1: neither a CA nor a verify call (connects, checks nothing)
#endif
#ifndef HIL_READ_BODY
#define HIL_READ_BODY 0  // 1: read the response to its end and print its size
#endif

WiFiClientSecure client;

static void waitForClock() {
#if HIL_SET_CLOCK
  // Bounded, so a bench without NTP still ends.
  configTime(0, 0, "pool.ntp.org");
  unsigned long waited = millis();
  while (time(nullptr) < 1500000000 && millis() - waited < 15000) {
    delay(100);
  }
#endif
}

static bool connectToServer(const char* host, int port) {
#if HIL_CONNECT_BY_IP
  IPAddress ip;
  ip.fromString(host);
  return client.connect(ip, port);
#else
  return client.connect(host, port);
#endif
}

static bool verifyServer(const char* host) {
#if HIL_TRUST_FINGERPRINT
  return client.verify(HIL_CERT_SHA1, host);
#else
  return client.verifyCertChain(host);
#endif
}

static void getAndReadStatus(const char* host) {
  client.print(String("GET / HTTP/1.1\r\n") + "Host: " + host + "\r\n" +
               "User-Agent: esp-tls-hil\r\n" + "Connection: close\r\n\r\n");
  Serial.println("request sent");
  String status = client.readStringUntil('\n');
  status.trim();
  Serial.print("status: ");
  Serial.println(status);
#if HIL_READ_BODY
  unsigned long bytes = status.length();  // the trimmed status line, then the rest
  while (client.connected() || client.available()) {
    if (client.available()) {
      client.read();
      bytes++;
    } else {
      delay(1);
    }
  }
  Serial.print("response bytes: ");
  Serial.println(bytes);
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
  waitForClock();

#if !HIL_TRUST_FINGERPRINT && !HIL_TRUST_NONE
  Serial.println("Set CA Cert");
  client.setCACert(hil_ca_cert_der, hil_ca_cert_der_len);
  Serial.println("CA Cert set");
#endif

  const char* host = HIL_SERVER_HOST;
  Serial.print("Connecting to ");
  Serial.println(host);
  int connected = 0;
  int verified = 0;
  if (!connectToServer(host, HIL_SERVER_PORT)) {
    Serial.println("Connection failed");
  } else {
    connected = 1;
#if !HIL_TRUST_NONE
    verified = verifyServer(host) ? 1 : 0;
    Serial.println(verified ? "Server certificate verified"
                            : "ERROR: certificate verification failed!");
#endif
    getAndReadStatus(host);
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
