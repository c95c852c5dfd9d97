// The TCP side of core 2.4.x's axTLS glue: ClientContext on lwIP, as
// WiFiClientSecure and ax_port_read/ax_port_write see it (core 2.4.1
// libraries/ESP8266WiFi/src/include/ClientContext.h), on a host socket.
//
// lwIP runs when the sketch yields: received bytes are queued then (pump), a
// FIN from the server makes ClientContext::_recv abort the connection (RST),
// and tcp_close() sends RST instead of FIN when received data was never read.
// Each write is its own send(), with Nagle on and lwIP's 536-byte MSS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace twin {

// LwipConn, not TcpConn: the common TcpConn (twin_tcp.h) is the other personalities'
// plain deadline-bound socket; this one models lwIP's ClientContext.
class LwipConn {
public:
    // TCP connect (bounded by timeout_ms); null on failure.
    static std::shared_ptr<LwipConn> open(const std::string& ip, uint16_t port,
                                         uint32_t timeout_ms);
    ~LwipConn();
    LwipConn(const LwipConn&) = delete;
    LwipConn& operator=(const LwipConn&) = delete;

    // ClientContext::state() == ESTABLISHED.
    bool established() const { return state_ == State::ESTABLISHED; }
    // getSize(): bytes received and not read yet.
    size_t available() const { return rx_.size() - rx_off_; }
    size_t read(uint8_t* dst, size_t len);
    // Sends all of it now; false when the connection is not established.
    bool write(const uint8_t* data, size_t len);
    // lwIP's turn: take what arrived, waiting up to wait_ms for something.
    void pump(int wait_ms);
    // tcp_close(): RST when unread data is queued, else FIN.
    void close();
    // tcp_abort(): RST.
    void abort();

    // Every connection's lwIP turn: called from delay() and yield().
    static void pump_all();

private:
    enum class State { ESTABLISHED, CLOSED };
    explicit LwipConn(int fd) : fd_(fd) {}
    void release_fd();

    int fd_;
    State state_ = State::ESTABLISHED;
    std::string rx_;
    size_t rx_off_ = 0;
};

}  // namespace twin
