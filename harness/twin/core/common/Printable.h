// Arduino Printable: a thing that prints itself (IPAddress; a sketch's own classes).
#pragma once

#include <cstddef>

class Print;

class Printable {
public:
    virtual ~Printable() = default;
    virtual size_t printTo(Print& p) const = 0;
};
