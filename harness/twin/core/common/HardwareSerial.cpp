#include "HardwareSerial.h"

#include <poll.h>
#include <unistd.h>

#include "twin_clock.h"
#include "twin_io.h"

HardwareSerial Serial;

size_t HardwareSerial::write(uint8_t c) {
    twin::serial_write(&c, 1);
    return 1;
}

size_t HardwareSerial::write(const uint8_t* buf, size_t len) {
    twin::serial_write(buf, len);
    return len;
}

int HardwareSerial::available() {
    // A sketch that looks for input waits on the outside world (the agent's job, a
    // user typing): from here on its delays are real, or its deadlines pass at once.
    twin::end_virtual_time();
    if (peeked_ >= 0) return 1;
    struct pollfd p = {twin::serial_fd(), POLLIN, 0};
    if (twin::serial_fd() == STDOUT_FILENO) p.fd = STDIN_FILENO;
    return (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) ? 1 : 0;
}

int HardwareSerial::read() {
    if (peeked_ >= 0) {
        int c = peeked_;
        peeked_ = -1;
        return c;
    }
    if (!available()) return -1;
    uint8_t c;
    int fd = twin::serial_fd() == STDOUT_FILENO ? STDIN_FILENO : twin::serial_fd();
    return ::read(fd, &c, 1) == 1 ? c : -1;
}

int HardwareSerial::peek() {
    if (peeked_ < 0) peeked_ = read();
    return peeked_;
}
