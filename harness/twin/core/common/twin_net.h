// The twin's only way onto the network: TCP to 127.0.0.0/8, nothing else.
//
// A sketch names its server as on the bench (e.g. "192.168.1.210"). The
// harness maps such addresses with HIL_ADDR_MAP=addr=127.x.y.z,... (host names too:
// a user's sketch dials "api.example.com"), and the ports it dials with
// HIL_PORT_MAP=443=34567,...; whatever is not in 127.0.0.0/8 after mapping is refused
// before any packet is sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace twin {

struct Resolved {
    bool ok = false;
    std::string target;  // dotted quad in 127.0.0.0/8 when ok
    std::string refused;  // the address refused, when !ok
};

// Map (HIL_ADDR_MAP) and guard a sketch address (IP literal or host name).
// Prints the HIL:REFUSED line on Serial and stderr when refusing.
Resolved resolve_guarded(const std::string& sketch_addr);

// A host name (or literal) as the twin's resolver answers it: mapped by HIL_ADDR_MAP,
// "localhost", or a 127.0.0.0/8 literal; false for anything else (no DNS packet leaves).
bool resolve_name(const std::string& name, std::string* ip);

// The port a connection to the sketch's `port` goes to: HIL_PORT_MAP ("443=34567,...")
// maps the ports the sketch hard-codes to the run's server port; others stay.
uint16_t mapped_port(uint16_t port);

// How a personality's TCP stack sets up its sockets.
struct TcpOptions {
    bool nodelay = true;  // TCP_NODELAY (Nagle off)
    int mss = 0;          // TCP_MAXSEG before connecting; 0 = the host's
};

// What a write may wait for the peer to take the bytes: lwIP's glue gives up on an
// unacknowledged write after ClientContext's timeout; we bound it the same order.
constexpr uint32_t SEND_DEADLINE_MS = 15000;

// TCP connect (blocking, bounded by timeout_ms); -1 on failure.
int tcp_connect(const std::string& ip, uint16_t port, uint32_t timeout_ms,
                const TcpOptions& opts = TcpOptions());

// True while a socket tcp_connect() returned is still open in this process (however the
// personality closes it): time then passes for real, as the peer may be talking.
bool connection_open();

// lwIP's turn for every open connection of the personality (delay, yield).
void set_background_poll(void (*poll)());
void run_background_poll();

// Write everything, waiting for room at most timeout_ms in all; false when the peer is
// gone or the deadline passed (a peer that never reads cannot hold the sketch forever).
bool send_all(int fd, const uint8_t* data, size_t len, uint32_t timeout_ms = SEND_DEADLINE_MS);

// Wait up to timeout_ms for readable data. 1 = readable, 0 = timeout, -1 = error.
int wait_readable(int fd, int timeout_ms);

// Orderly close: FIN, then release the fd.
void tcp_close(int fd);

}  // namespace twin
