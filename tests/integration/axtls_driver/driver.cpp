// A sketch for the C++ tests of the twin's axTLS personality, built with g++
// directly on harness/twin/core (see tests/integration/test_axtls_client.py),
// under AddressSanitizer and UBSan. It runs one connection as the founding
// report's sketch does, with the settings from the environment:
//   DRV_HOST, DRV_PORT       where to connect (DRV_BY_IP=1: connect(IPAddress))
//   DRV_CA                   a DER file for setCACert (optional)
//   DRV_FP                   a SHA-1 fingerprint for verify() (optional)
//   DRV_SET_CLOCK=1          configTime first (the board's clock is set)
//   DRV_REQUEST=1            send a GET after connecting and read the answer
//   DRV_READ_ALL=1           read until the connection ends (else one line)
//   DRV_IDLE_MS              how long loop() runs (lwIP keeps working) before exit
#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include <vector>

namespace {

const char* env(const char* name, const char* dflt = "") {
    const char* v = std::getenv(name);
    return v ? v : dflt;
}

bool flag(const char* name) { return std::atoi(env(name, "0")) != 0; }

WiFiClientSecure client;
unsigned long idle_from = 0;

}  // namespace

void setup() {
    Serial.begin(115200);
    if (flag("DRV_SET_CLOCK")) configTime(0, 0, "pool.ntp.org");
    const char* ca = env("DRV_CA");
    if (*ca) {
        std::vector<uint8_t> der;
        if (FILE* f = std::fopen(ca, "rb")) {
            int c;
            while ((c = std::fgetc(f)) != EOF) der.push_back((uint8_t)c);
            std::fclose(f);
        }
        client.setCACert(der.data(), der.size());
    }
    const char* host = env("DRV_HOST", "127.0.0.1");
    uint16_t port = (uint16_t)std::atoi(env("DRV_PORT", "0"));
    int ok;
    if (flag("DRV_BY_IP")) {
        IPAddress ip;
        ip.fromString(host);
        ok = client.connect(ip, port);
    } else {
        ok = client.connect(host, port);
    }
    Serial.printf("DRV:connected=%d\n", ok);
    if (ok) {
        const char* fp = env("DRV_FP");
        bool verified = *fp ? client.verify(fp, host) : client.verifyCertChain(host);
        Serial.printf("DRV:verified=%d\n", verified ? 1 : 0);
        if (flag("DRV_REQUEST")) {
            client.print(String("GET / HTTP/1.1\r\nHost: ") + host +
                         "\r\nUser-Agent: esp-tls-hil\r\nConnection: close\r\n\r\n");
            if (flag("DRV_READ_ALL")) {
                size_t n = 0;
                unsigned long start = millis();
                while ((client.connected() || client.available()) && millis() - start < 15000) {
                    int c = client.read();
                    if (c >= 0) ++n; else delay(1);
                }
                Serial.printf("DRV:bytes=%u\n", (unsigned)n);
            } else {
                String status = client.readStringUntil('\n');
                status.trim();
                Serial.printf("DRV:status=%s\n", status.c_str());
            }
            client.stop();
        }
    }
    Serial.printf("DRV:done\n");
    idle_from = millis();
}

void loop() {
    delay(10);
    // A board never leaves loop(): no destructors run (_exit, not exit).
    if (millis() - idle_from >= (unsigned long)std::atol(env("DRV_IDLE_MS", "300"))) {
        std::fflush(nullptr);
        _exit(0);
    }
}
