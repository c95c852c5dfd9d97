// <WiFiClientSecure.h> of the ESP8266 core 2.5+: the BearSSL class is the default.
#pragma once

#include "WiFiClientSecureBearSSL.h"

using namespace BearSSL;
