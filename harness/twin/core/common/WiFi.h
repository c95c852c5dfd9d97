// arduino-esp32's WiFi.h on the twin: the same stand-in station as ESP8266WiFi
// (joins on the second status poll; names resolve only to 127.0.0.0/8).
#pragma once

#include "ESP8266WiFi.h"

typedef ESP8266WiFiClass WiFiClass;
