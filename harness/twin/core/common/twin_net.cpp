#include "twin_net.h"

#include <chrono>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "twin_io.h"

namespace twin {

static bool parse_ipv4(const std::string& s, in_addr* out) {
    return inet_pton(AF_INET, s.c_str(), out) == 1;
}

static bool in_loopback8(const in_addr& a) { return (ntohl(a.s_addr) >> 24) == 127; }

// A map in the environment: "from=to,from=to". Read on every call: cheap, and always
// current. Empty when `from` is not in it.
static std::string lookup(const char* var, const std::string& key) {
    const char* env = std::getenv(var);
    if (env == nullptr) return std::string();
    std::string map(env);
    size_t pos = 0;
    while (pos <= map.size()) {
        size_t comma = map.find(',', pos);
        if (comma == std::string::npos) comma = map.size();
        std::string item = map.substr(pos, comma - pos);
        size_t eq = item.find('=');
        if (!item.empty() && eq == std::string::npos) {
            diag("%s entry '%s' has no '=': ignored", var, item.c_str());
        } else if (!item.empty() && item.substr(0, eq) == key) {
            return item.substr(eq + 1);
        }
        pos = comma + 1;
    }
    return std::string();
}

// HIL_ADDR_MAP: the run's map of the sketch's host names and IP literals to its server.
static std::string mapped(const std::string& addr) {
    std::string to = lookup("HIL_ADDR_MAP", addr);
    return to.empty() ? addr : to;
}

bool resolve_name(const std::string& name, std::string* ip) {
    std::string target = mapped(name);
    if (target == "localhost") target = "127.0.0.1";
    in_addr a;
    if (!parse_ipv4(target, &a) || !in_loopback8(a)) return false;
    *ip = target;
    return true;
}

uint16_t mapped_port(uint16_t port) {
    std::string to = lookup("HIL_PORT_MAP", std::to_string(port));
    if (to.empty()) return port;
    char* end = nullptr;
    unsigned long p = std::strtoul(to.c_str(), &end, 10);
    if (end == to.c_str() || *end != '\0' || p == 0 || p > 65535) {
        diag("HIL_PORT_MAP maps port %u to '%s', not a port: not mapped", port, to.c_str());
        return port;
    }
    diag("port %u mapped to %lu", port, p);
    return (uint16_t)p;
}

Resolved resolve_guarded(const std::string& sketch_addr) {
    Resolved r;
    std::string target = mapped(sketch_addr);
    if (target == "localhost") target = "127.0.0.1";
    in_addr a;
    if (parse_ipv4(target, &a) && in_loopback8(a)) {
        r.ok = true;
        r.target = target;
        if (target != sketch_addr) diag("%s mapped to %s", sketch_addr.c_str(), target.c_str());
        return r;
    }
    r.refused = target;
    serial_printf("HIL:REFUSED %s: the twin only connects to 127.0.0.0/8 (map it with HIL_ADDR_MAP)\r\n",
                  target.c_str());
    diag("REFUSED %s%s%s: the twin only connects to 127.0.0.0/8 (map it with HIL_ADDR_MAP); "
         "no packet was sent",
         target.c_str(), target != sketch_addr ? " mapped from " : "",
         target != sketch_addr ? sketch_addr.c_str() : "");
    return r;
}

static void (*g_background_poll)() = nullptr;

void set_background_poll(void (*poll)()) { g_background_poll = poll; }

void run_background_poll() {
    if (g_background_poll) g_background_poll();
}

// Every socket tcp_connect() handed out, with its inode: a closed fd number that the
// process reuses for something else is not the same socket.
static std::vector<std::pair<int, ino_t>>& sockets() {
    static std::vector<std::pair<int, ino_t>> s;
    return s;
}

static void remember_socket(int fd) {
    struct stat st;
    if (fstat(fd, &st) == 0) sockets().emplace_back(fd, st.st_ino);
}

bool connection_open() {
    auto& s = sockets();
    for (size_t i = 0; i < s.size();) {
        struct stat st;
        if (fstat(s[i].first, &st) == 0 && st.st_ino == s[i].second) return true;
        s.erase(s.begin() + (long)i);
    }
    return false;
}

int tcp_connect(const std::string& ip, uint16_t port, uint32_t timeout_ms,
                const TcpOptions& opts) {
    in_addr a;
    if (!parse_ipv4(ip, &a) || !in_loopback8(a)) {
        // resolve_guarded() is the only way here; this is the second lock on the door.
        diag("internal: tcp_connect to %s refused (not 127.0.0.0/8)", ip.c_str());
        return -1;
    }
    // The sketch's port (443 on the bench) is the run's server port on this host.
    port = mapped_port(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    if (opts.nodelay) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opts.mss > 0) setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &opts.mss, sizeof opts.mss);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = a;
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc < 0 && errno == EINPROGRESS) {
        pollfd p = {fd, POLLOUT, 0};
        rc = poll(&p, 1, (int)timeout_ms);
        int err = 0;
        socklen_t len = sizeof err;
        if (rc == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = (rc == 1 && err == 0) ? 0 : -1;
        if (rc < 0) errno = err ? err : ETIMEDOUT;
    }
    if (rc < 0) {
        diag("TCP connect to %s:%u failed: %s", ip.c_str(), port, std::strerror(errno));
        ::close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, flags);
    remember_socket(fd);
    return fd;
}

bool send_all(int fd, const uint8_t* data, size_t len, uint32_t timeout_ms) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
    while (len > 0) {
        ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - clock::now()).count();
            if (left <= 0) return false;
            pollfd p = {fd, POLLOUT, 0};
            if (poll(&p, 1, (int)left) < 0 && errno != EINTR) return false;
            continue;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

int wait_readable(int fd, int timeout_ms) {
    pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : -1;
    return rc == 1 ? 1 : 0;
}

void tcp_close(int fd) {
    if (fd < 0) return;
    // As lwIP's tcp_close() (and the recorders' host sockets): a FIN, or a RST alone when
    // received data is still unread; no shutdown() first, which would send a FIN before it.
    ::close(fd);
}

}  // namespace twin
