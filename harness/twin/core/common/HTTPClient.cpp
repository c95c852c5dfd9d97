#include "HTTPClient.h"

#include "twin_clock.h"

namespace {

struct CodeText {
    int code;
    const char* text;
};
const CodeText kTexts[] = {HIL_HTTPC_ERROR_TEXTS};
// HTTPC_ERROR_CONNECTION_REFUSED up to 2.6, HTTPC_ERROR_CONNECTION_FAILED from 2.7:
// -1 under either name.
constexpr int kConnectFailed = -1;

}  // namespace

bool HTTPClient::begin(Client& client, const String& url) {
    String rest = url;
    bool https = rest.startsWith("https://");
    if (!https && !rest.startsWith("http://")) return false;
    rest = rest.substring(https ? 8 : 7);
    int slash = rest.indexOf('/');
    String hostport = slash < 0 ? rest : rest.substring(0, (unsigned)slash);
    String uri = slash < 0 ? String("/") : rest.substring((unsigned)slash);
    int colon = hostport.indexOf(':');
    uint16_t port = https ? 443 : 80;
    String host = hostport;
    if (colon >= 0) {
        host = hostport.substring(0, (unsigned)colon);
        port = (uint16_t)hostport.substring((unsigned)colon + 1).toInt();
    }
    return begin(client, host, port, uri, https);
}

bool HTTPClient::begin(Client& client, const String& host, uint16_t port, const String& uri, bool) {
    client_ = &client;
    host_ = host;
    port_ = port;
    uri_ = uri;
    size_ = -1;
    code_ = 0;
    return true;
}

bool HTTPClient::connect() {
    if (client_ == nullptr) return false;
    if (client_->connected()) return true;
    return client_->connect(host_.c_str(), port_) != 0;
}

int HTTPClient::GET() {
    if (!connect()) return kConnectFailed;
    String head = String("GET ") + uri_ + " HTTP/1.1\r\nHost: " + host_ +
                  "\r\nUser-Agent: ESP8266HTTPClient\r\nConnection: close\r\n\r\n";
    if (client_->write((const uint8_t*)head.c_str(), head.length()) != head.length()) {
        return HTTPC_ERROR_SEND_HEADER_FAILED;
    }
    return read_response_head();
}

int HTTPClient::read_response_head() {
    uint32_t start = twin::millis_since_boot();
    bool first = true;
    client_->setTimeout(timeout_ms_);
    while (client_->connected() || client_->available()) {
        if (!client_->available()) {
            if (twin::millis_since_boot() - start > timeout_ms_) return HTTPC_ERROR_READ_TIMEOUT;
            delay(1);
            continue;
        }
        String line = client_->readStringUntil('\n');
        line.trim();
        if (first) {
            first = false;
            if (!line.startsWith("HTTP/1.")) return HTTPC_ERROR_NO_HTTP_SERVER;
            code_ = (int)line.substring(9, 12).toInt();
            continue;
        }
        if (line.length() == 0) return code_ ? code_ : HTTPC_ERROR_NO_HTTP_SERVER;
        String lower = line;
        lower.toLowerCase();
        if (lower.startsWith("content-length:")) size_ = (int)line.substring(15).toInt();
    }
    return code_ ? code_ : HTTPC_ERROR_CONNECTION_LOST;
}

String HTTPClient::getString() {
    String body;
    if (client_ == nullptr) return body;
    uint32_t start = twin::millis_since_boot();
    while ((size_ < 0 || (int)body.length() < size_) &&
           twin::millis_since_boot() - start <= timeout_ms_) {
        if (client_->available()) {
            int c = client_->read();
            if (c >= 0) body += (char)c;
        } else if (!client_->connected()) {
            break;
        } else {
            delay(1);
        }
    }
    return body;
}

void HTTPClient::end() {
    if (client_ != nullptr) client_->stop();
}

String HTTPClient::errorToString(int error) {
    for (const auto& t : kTexts) {
        if (t.code == error) return String(t.text);
    }
    return String();
}
