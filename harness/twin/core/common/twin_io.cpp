#include "twin_io.h"

#include <vector>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace twin {

int serial_fd() {
    static int fd = [] {
        const char* env = std::getenv("HIL_SERIAL_FD");
        if (env == nullptr || *env == '\0') return STDOUT_FILENO;
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end == env || *end != '\0' || v < 0 || v > 65535) {
            std::fprintf(stderr, "hil-twin: HIL_SERIAL_FD=%s is not an fd number; using stdout\n",
                         env);
            return STDOUT_FILENO;
        }
        return static_cast<int>(v);
    }();
    return fd;
}

void serial_write(const uint8_t* data, size_t len) {
    int fd = serial_fd();
    while (len > 0) {
        ssize_t n = ::write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return;  // the port went away: a board keeps running without its UART
        }
        data += n;
        len -= static_cast<size_t>(n);
    }
}

void serial_printf(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    va_list again;
    va_copy(again, ap);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && static_cast<size_t>(n) < sizeof buf) {
        serial_write(reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n));
    } else if (n >= 0) {
        // A long line (e.g. BearSSL's certificate dump): never cut, as on the board.
        std::vector<char> big(static_cast<size_t>(n) + 1);
        std::vsnprintf(big.data(), big.size(), fmt, again);
        serial_write(reinterpret_cast<const uint8_t*>(big.data()), static_cast<size_t>(n));
    }
    va_end(again);
}

void diag(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    std::fprintf(stderr, "hil-twin: %s\n", buf);
    std::fflush(stderr);
}

static void on_signal(int) {
    // Serial writes are unbuffered write(2) calls, so there is nothing to flush.
    _exit(0);
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a peer that vanished is an I/O error, not a crash
}

}  // namespace twin
