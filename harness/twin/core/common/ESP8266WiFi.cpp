#include "ESP8266WiFi.h"

#include <cstring>

#include "twin_io.h"

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
    if (result.fromString(name)) return 1;
    if (std::strcmp(name, "localhost") == 0) {
        result = IPAddress(127, 0, 0, 1);
        return 1;
    }
    return 0;
}
