// A TCP connection for the twin's TLS clients: every operation has a deadline,
// and the only way to open one is through the 127.0.0.0/8 guard (twin_net.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace twin {

class TcpConn {
public:
    TcpConn() = default;
    TcpConn(const TcpConn&) = delete;
    TcpConn& operator=(const TcpConn&) = delete;
    ~TcpConn() { close(); }

    // Map and guard `addr` (IP literal or name), then connect. false when refused
    // (HIL:REFUSED printed, no socket made) or when the connection fails.
    bool open(const std::string& addr, uint16_t port, uint32_t timeout_ms);
    bool is_open() const { return fd_ >= 0; }
    // The peer closed (EOF seen) or an error happened.
    bool peer_closed() const { return eof_; }
    int fd() const { return fd_; }

    // Write all of `len` before the deadline; bytes written (< len on timeout or error).
    size_t send(const uint8_t* data, size_t len, uint32_t timeout_ms);
    // Read what is there, waiting up to timeout_ms for the first byte:
    // > 0 bytes, 0 timeout, -1 EOF or error.
    int recv(uint8_t* buf, size_t len, uint32_t timeout_ms);
    // Bytes readable now without blocking (0 when none or closed).
    size_t pending() const;
    // Read and drop whatever has arrived, without waiting.
    void drain();
    // A FIN, or a RST when received data is unread (tcp_close in twin_net.h).
    void close();

private:
    int fd_ = -1;
    bool eof_ = false;
};

}  // namespace twin
