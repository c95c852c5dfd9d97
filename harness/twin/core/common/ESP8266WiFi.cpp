#include "ESP8266WiFi.h"

#include <cstring>

#include "twin_io.h"
#include "twin_net.h"

ESP8266WiFiClass WiFi;

wl_status_t ESP8266WiFiClass::begin(const char* ssid, const char*) {
    ssid_ = ssid ? ssid : "";
    begun_ = true;
    polls_ = 0;
    twin::diag("WiFi.begin(\"%s\"): the twin's station joins on the second status poll",
               ssid_.c_str());
    return WL_DISCONNECTED;
}

wl_status_t ESP8266WiFiClass::status() {
    if (!begun_) return WL_IDLE_STATUS;
    return ++polls_ >= 2 ? WL_CONNECTED : WL_DISCONNECTED;
}

IPAddress ESP8266WiFiClass::localIP() const {
    return polls_ >= 2 ? IPAddress(127, 0, 0, 1) : IPAddress();
}

int ESP8266WiFiClass::hostByName(const char* name, IPAddress& result) {
    if (name == nullptr) return 0;
    // The run's map first: a sketch's "192.168.1.210" or "api.example.com" is its server.
    std::string ip;
    if (twin::resolve_name(name, &ip)) return result.fromString(ip.c_str()) ? 1 : 0;
    // An unmapped literal parses as on the board (the TCP guard refuses it later, loudly).
    if (result.fromString(name)) return 1;
    twin::diag("hostByName(\"%s\"): not in the run's map (HIL_ADDR_MAP): no such host", name);
    return 0;
}
