// twin_tcp.h: the TCP connection of the BearSSL and ESP32 twins. Every operation has a
// deadline (a peer that never reads cannot hold a write forever), and nothing outside
// 127.0.0.0/8 gets a socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
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

// The run's map of a user's sketch: its host names and literals go to the run's server,
// its ports to the server's port; anything else stays refused.
TEST(map_resolves_a_sketch_host_name_and_its_port_to_the_run_server) {
    Listener l;
    std::string map = "api.weather.example.com=127.0.0.1,192.168.1.210=127.0.0.1";
    std::string ports = "443=" + std::to_string(l.port);
    setenv("HIL_ADDR_MAP", map.c_str(), 1);
    setenv("HIL_PORT_MAP", ports.c_str(), 1);
    std::string ip;
    CHECK(twin::resolve_name("api.weather.example.com", &ip) && ip == "127.0.0.1");
    CHECK(twin::resolve_name("localhost", &ip) && ip == "127.0.0.1");
    CHECK(!twin::resolve_name("other.example.com", &ip));  // not in the map: no such host
    CHECK(twin::mapped_port(443) == l.port);
    CHECK(twin::mapped_port(8883) == 8883);
    twin::TcpConn c;
    CHECK(c.open("api.weather.example.com", 443, 2000));  // lands on the listener
    c.close();
    CHECK(c.open("192.168.1.210", 443, 2000));
    c.close();
    CHECK(!c.open("other.example.com", 443, 1000));  // refused: not mapped, not loopback
    CHECK(!c.open("10.1.2.3", 443, 1000));
    setenv("HIL_PORT_MAP", "443=notaport", 1);
    CHECK(twin::mapped_port(443) == 443);
    unsetenv("HIL_ADDR_MAP");
    unsetenv("HIL_PORT_MAP");
}
