// <ESP8266HTTPClient.h>: the ESP8266 core's name for HTTPClient.
#pragma once

#include "HTTPClient.h"
