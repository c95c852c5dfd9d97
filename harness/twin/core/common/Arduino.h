// The host twin's Arduino.h: the subset of the ESP8266 Arduino core API that
// the project's sketches use, with the board's timing and clock semantics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "HardwareSerial.h"
#include "IPAddress.h"
#include "Print.h"
#include "Stream.h"
#include "WString.h"

#define PROGMEM
#define PGM_P const char*
#define PGM_VOID_P const void*
#define F(s) (s)
#define HIGH 1
#define LOW 0
#define INPUT 0
#define OUTPUT 1
#define LED_BUILTIN 2

// As the ESP8266 core: std::min/max for sketches that call min()/max() unqualified.
using std::max;
using std::min;

typedef uint8_t byte;
typedef bool boolean;

unsigned long millis();
unsigned long micros();
void delay(unsigned long ms);
void delayMicroseconds(unsigned int us);
void yield();
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);
int digitalRead(uint8_t pin);

// ESP8266 core's configTime(): starts SNTP. The twin sets the clock at once
// from the host's wall clock; no packet is sent.
void configTime(int timezone_sec, int daylightOffset_sec, const char* server1,
                const char* server2 = nullptr, const char* server3 = nullptr);

void setup();
void loop();
