// twin_clock.h's virtual time: a skipped delay still counts on the sketch's clocks, the
// clocks stay monotone, the lead over the host's clock is bounded, and twin_net.h says
// whether a connection is open (then delays are slept for real).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "twin_clock.h"
#include "twin_net.h"
#include "twin_tcp.h"

TEST(a_skipped_delay_counts_on_millis_and_micros) {
    CHECK(twin::virtual_time_enabled());  // the test runs without HIL_TWIN_REAL_TIME
    uint32_t before_ms = twin::millis_since_boot();
    uint64_t before_us = twin::micros_since_boot();
    CHECK(twin::skip_delay(500));
    CHECK(twin::millis_since_boot() - before_ms >= 500);
    CHECK(twin::micros_since_boot() - before_us >= 500000);
    uint64_t last = twin::micros_since_boot();
    for (int i = 0; i < 100; ++i) {
        twin::skip_delay(1);
        uint64_t now = twin::micros_since_boot();
        CHECK(now >= last);
        last = now;
    }
}

TEST(the_lead_over_the_host_clock_is_bounded) {
    // A loop() that only delays runs a minute ahead at most, then sleeps for real.
    int skipped = 0;
    while (skipped < 100 && twin::skip_delay(1000)) ++skipped;
    CHECK(skipped < 100);
    CHECK(!twin::skip_delay(1000));
}

TEST(connection_open_follows_the_socket_however_it_is_closed) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listener, 4);
    socklen_t len = sizeof a;
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    CHECK(!twin::connection_open());
    int fd = twin::tcp_connect("127.0.0.1", ntohs(a.sin_port), 2000);
    CHECK(fd >= 0);
    CHECK(twin::connection_open());
    close(fd);  // as axTLS's release_fd does, not through tcp_close
    CHECK(!twin::connection_open());
    // The same fd number reused by something else is not the connection.
    int other = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(!twin::connection_open());
    close(other);
    twin::TcpConn c;
    CHECK(c.open("127.0.0.1", ntohs(a.sin_port), 2000));
    CHECK(twin::connection_open());
    c.close();
    CHECK(!twin::connection_open());
    close(listener);
}

TEST(after_setup_every_delay_is_real) {
    // Last in this file: it ends virtual time for the process, as main() does once setup()
    // returns (a user's sketch's loop() paces its retries as on a board).
    twin::end_virtual_time();
    CHECK(!twin::virtual_time_enabled());
    CHECK(!twin::skip_delay(1));
}
