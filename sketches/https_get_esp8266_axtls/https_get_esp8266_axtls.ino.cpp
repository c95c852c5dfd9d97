# 1 "/tmp/tmp_0zgoab6"
#include <Arduino.h>
# 1 "/work/wt-golden/sketches/https_get_esp8266_axtls/https_get_esp8266_axtls.ino"
# 10 "/work/wt-golden/sketches/https_get_esp8266_axtls/https_get_esp8266_axtls.ino"
#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>
#include <time.h>

#include "hil_scenario.h"

#ifndef HIL_SET_CLOCK
#define HIL_SET_CLOCK 1
#endif
#ifndef HIL_CONNECT_BY_IP
#define HIL_CONNECT_BY_IP 0
#endif
#ifndef HIL_TRUST_FINGERPRINT
#define HIL_TRUST_FINGERPRINT 0
#endif
#ifndef HIL_TRUST_NONE
#define HIL_TRUST_NONE 0
#endif
#ifndef HIL_READ_BODY
#define HIL_READ_BODY 0
#endif

WiFiClientSecure client;
static void waitForClock();
static bool connectToServer(const char* host, int port);
static bool verifyServer(const char* host);
static void getAndReadStatus(const char* host);
void setup();
void loop();
#line 34 "/work/wt-golden/sketches/https_get_esp8266_axtls/https_get_esp8266_axtls.ino"
static void waitForClock() {
#if HIL_SET_CLOCK

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
  return client.verify(HIL_SERVER_SHA1, host);
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
  unsigned long bytes = 0;
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