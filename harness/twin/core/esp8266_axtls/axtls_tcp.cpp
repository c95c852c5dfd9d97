#include "axtls_tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "axtls_core_version.h"
#include "twin_net.h"

namespace twin {

namespace {

// The connections lwIP looks after: those the sketch's objects hold.
std::vector<std::weak_ptr<LwipConn>>& live() {
    static std::vector<std::weak_ptr<LwipConn>> v;
    return v;
}

}  // namespace

std::shared_ptr<LwipConn> LwipConn::open(const std::string& ip, uint16_t port,
                                       uint32_t timeout_ms) {
    TcpOptions opts;
    opts.nodelay = false;  // lwIP's Nagle is on unless the sketch calls setNoDelay
    opts.mss = axtls::core::LWIP_TCP_MSS;
    set_background_poll(&LwipConn::pump_all);
    int fd = tcp_connect(ip, port, timeout_ms, opts);
    if (fd < 0) return nullptr;
    std::shared_ptr<LwipConn> c(new LwipConn(fd));
    live().push_back(c);
    return c;
}

// ClientContext::unref() -> discard_received(); close(): a FIN.
LwipConn::~LwipConn() { release_fd(); }

void LwipConn::release_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

size_t LwipConn::read(uint8_t* dst, size_t len) {
    size_t n = std::min(len, available());
    std::memcpy(dst, rx_.data() + rx_off_, n);
    rx_off_ += n;
    if (rx_off_ == rx_.size()) {
        rx_.clear();
        rx_off_ = 0;
    }
    return n;
}

bool LwipConn::write(const uint8_t* data, size_t len) {
    if (state_ != State::ESTABLISHED) return false;
    if (send_all(fd_, data, len)) return true;
    // tcp_err: the pcb is gone.
    state_ = State::CLOSED;
    release_fd();
    return false;
}

void LwipConn::pump(int wait_ms) {
    if (state_ == State::CLOSED || fd_ < 0) return;
    if (wait_ms > 0) wait_readable(fd_, wait_ms);
    for (;;) {
        char buf[16384];
        ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            rx_.append(buf, (size_t)n);
            continue;
        }
        if (n == 0) {
            abort();  // _recv(pb == 0): _notify_error(); abort();
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        state_ = State::CLOSED;  // tcp_err (RST from the server)
        release_fd();
        return;
    }
}

void LwipConn::abort() {
    if (fd_ >= 0) {
        struct linger l = {1, 0};  // close() now sends RST, as tcp_abort does
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    state_ = State::CLOSED;
    release_fd();
}

void LwipConn::close() {
    if (state_ != State::ESTABLISHED) return;
    pump(0);
    if (state_ != State::ESTABLISHED) return;
    if (available() > 0) {
        abort();
        return;
    }
    // FIN. lwIP 2 marks the pcb TF_RXCLOSED: data that still arrives is
    // answered with a RST, as the host does for a closed socket.
    state_ = State::CLOSED;
    release_fd();
}

void LwipConn::pump_all() {
    auto& l = live();
    l.erase(std::remove_if(l.begin(), l.end(),
                           [](const std::weak_ptr<LwipConn>& w) { return w.expired(); }),
            l.end());
    for (auto& w : std::vector<std::weak_ptr<LwipConn>>(l))
        if (auto c = w.lock()) c->pump(0);
}

}  // namespace twin
