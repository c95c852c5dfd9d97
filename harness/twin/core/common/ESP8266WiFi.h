// ESP8266WiFi as a sketch sees it on the twin: the station joins at once
// (after a poll or two, so the sketch's dot loop prints one dot).
#pragma once

#include "Arduino.h"
#include "IPAddress.h"
#include "WiFiClientSecure.h"

typedef enum {
    WL_NO_SHIELD = 255,
    WL_IDLE_STATUS = 0,
    WL_NO_SSID_AVAIL = 1,
    WL_SCAN_COMPLETED = 2,
    WL_CONNECTED = 3,
    WL_CONNECT_FAILED = 4,
    WL_CONNECTION_LOST = 5,
    WL_DISCONNECTED = 6
} wl_status_t;

typedef enum { WIFI_OFF = 0, WIFI_STA = 1, WIFI_AP = 2, WIFI_AP_STA = 3 } WiFiMode_t;

class ESP8266WiFiClass {
public:
    wl_status_t begin(const char* ssid, const char* passphrase = nullptr);
    wl_status_t status();
    bool mode(WiFiMode_t m) { mode_ = m; return true; }
    WiFiMode_t getMode() const { return mode_; }
    IPAddress localIP() const;
    String SSID() const { return String(ssid_); }
    bool isConnected() { return status() == WL_CONNECTED; }
    bool disconnect(bool = false) { begun_ = false; polls_ = 0; return true; }
    // Names resolve through the run's map (HIL_ADDR_MAP) to its server, and
    // "localhost"; an IP literal parses as on the board; no DNS packet ever leaves.
    int hostByName(const char* name, IPAddress& result);

private:
    WiFiMode_t mode_ = WIFI_STA;
    bool begun_ = false;
    int polls_ = 0;
    String ssid_;
};

extern ESP8266WiFiClass WiFi;
