#include "twin_tcp.h"

#include <cerrno>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "twin_clock.h"
#include "twin_net.h"

namespace twin {

bool TcpConn::open(const std::string& addr, uint16_t port, uint32_t timeout_ms) {
    close();
    Resolved r = resolve_guarded(addr);
    if (!r.ok) return false;  // refused before any socket exists
    fd_ = tcp_connect(r.target, port, timeout_ms);
    eof_ = false;
    return fd_ >= 0;
}

size_t TcpConn::send(const uint8_t* data, size_t len, uint32_t timeout_ms) {
    if (fd_ < 0) return 0;
    uint32_t start = millis_since_boot();
    size_t done = 0;
    while (done < len) {
        uint32_t spent = millis_since_boot() - start;
        if (spent >= timeout_ms) break;
        pollfd p = {fd_, POLLOUT, 0};
        int rc = poll(&p, 1, (int)(timeout_ms - spent));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) break;
        ssize_t n = ::send(fd_, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            eof_ = true;
            break;
        }
        done += (size_t)n;
    }
    return done;
}

int TcpConn::recv(uint8_t* buf, size_t len, uint32_t timeout_ms) {
    if (fd_ < 0 || eof_) return -1;
    pollfd p = {fd_, POLLIN, 0};
    int rc = poll(&p, 1, (int)timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : -1;
    if (rc == 0) return 0;
    ssize_t n = ::recv(fd_, buf, len, MSG_DONTWAIT);
    if (n > 0) return (int)n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    eof_ = true;
    return -1;
}

size_t TcpConn::pending() const {
    if (fd_ < 0) return 0;
    int n = 0;
    if (ioctl(fd_, FIONREAD, &n) < 0) return 0;
    return n > 0 ? (size_t)n : 0;
}

void TcpConn::drain() {
    uint8_t buf[1024];
    while (fd_ >= 0 && ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
}

void TcpConn::close() {
    if (fd_ >= 0) tcp_close(fd_);
    fd_ = -1;
}

}  // namespace twin
