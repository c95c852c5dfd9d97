// twin_tcp.h: the TCP connection of the BearSSL and ESP32 twins. Every operation has a
// deadline (a peer that never reads cannot hold a write forever), and nothing outside
// 127.0.0.0/8 gets a socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "check.h"
#include "twin_net.h"
#include "twin_tcp.h"

namespace {

// A listener on 127.0.0.1 that never accepts: connects complete (backlog), nobody reads.
struct Listener {
    int fd = -1;
    uint16_t port = 0;
    Listener() {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd, 4);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~Listener() { close(fd); }
};

}  // namespace

TEST(tcp_refuses_outside_loopback_without_a_socket) {
    twin::TcpConn c;
    CHECK(!c.open("10.1.2.3", 443, 1000));
    CHECK(!c.is_open() && c.fd() < 0);
    CHECK(!c.open("192.168.1.210", 443, 1000));
    CHECK(!c.is_open());
}

TEST(tcp_write_to_a_peer_that_never_reads_ends_at_its_deadline) {
    Listener l;
    twin::TcpConn c;
    CHECK(c.open("127.0.0.1", l.port, 2000));
    std::vector<uint8_t> big(64 << 20, 0x55);  // far more than the socket buffers hold
    size_t sent = c.send(big.data(), big.size(), 200);
    CHECK(sent > 0 && sent < big.size());
}

TEST(tcp_read_with_nothing_to_read_returns_at_its_deadline) {
    Listener l;
    twin::TcpConn c;
    CHECK(c.open("127.0.0.1", l.port, 2000));
    uint8_t buf[16];
    CHECK(c.recv(buf, sizeof buf, 50) == 0);
    CHECK(c.pending() == 0);
}

TEST(send_all_to_a_peer_that_never_reads_ends_at_its_deadline) {
    // The axTLS personality's writes (twin_net.h send_all): bounded like TcpConn's.
    Listener l;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(l.port);
    CHECK(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    std::vector<uint8_t> big(64 << 20, 0x55);
    CHECK(!twin::send_all(fd, big.data(), big.size(), 200));
    close(fd);
}
