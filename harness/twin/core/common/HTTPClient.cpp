#include "HTTPClient.h"

#include <algorithm>
#include <string>

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

int HTTPClient::GET() { return sendRequest("GET", nullptr, 0); }

String HTTPClient::request_head(const char* type, size_t size) const {
    String head = String(type) + " " + uri_ + " HTTP/1.1\r\n";
#ifdef HIL_HTTPC_REQUEST_HEADERS
    // The release's sendHeader(), as recorded (hil_core_config.h): its lines in order,
    // the sketch's user agent, its added headers before the Content-Length the core adds.
    static const char* const kHeaders[] = {HIL_HTTPC_REQUEST_HEADERS};
    std::string hostport = host_.c_str();
    if (port_ != 80 && port_ != 443) hostport += ":" + std::to_string(port_);
    bool length_done = false;
    for (const char* h : kHeaders) {
        std::string line = h;
        size_t at = line.find("{hostport}");
        if (at != std::string::npos) line.replace(at, 10, hostport);
        if (line.rfind("User-Agent: ", 0) == 0) line = std::string("User-Agent: ") + agent_.c_str();
        if (line.rfind("Content-Length: ", 0) == 0) {
            head += headers_;
            line = "Content-Length: " + std::to_string(size);
            length_done = true;
        }
        head += (line + "\r\n").c_str();
    }
    if (!length_done) {
        head += headers_;
        if (size > 0) head += String("Content-Length: ") + String((unsigned long)size) + "\r\n";
    }
#else
    // A GET with no added header writes what GET() always wrote (the recordings' bytes).
    head += String("Host: ") + host_ + "\r\nUser-Agent: " + agent_ + "\r\nConnection: close\r\n" +
            headers_;
    if (size > 0) head += String("Content-Length: ") + String((unsigned long)size) + "\r\n";
#endif
    return head + "\r\n";
}

int HTTPClient::sendRequest(const char* type, const uint8_t* payload, size_t size) {
    if (!connect()) return kConnectFailed;
    String head = request_head(type, payload != nullptr ? size : 0);
    if (client_->write((const uint8_t*)head.c_str(), head.length()) != head.length()) {
        return HTTPC_ERROR_SEND_HEADER_FAILED;
    }
    if (payload != nullptr && size > 0 && client_->write(payload, size) != size) {
        return HTTPC_ERROR_SEND_PAYLOAD_FAILED;
    }
    return read_response_head();
}

void HTTPClient::addHeader(const String& name, const String& value, bool first, bool replace) {
    String lower = name;
    lower.toLowerCase();
    // As the cores do: these are the client's own, not the sketch's to add.
    if (lower == "connection" || lower == "user-agent" || lower == "host") return;
    String line = name + ": " + value + "\r\n";
    if (replace) {
        // Drop an earlier header of the same name.
        String kept;
        int start = 0;
        while (start < (int)headers_.length()) {
            int end = headers_.indexOf("\r\n", (unsigned)start);
            if (end < 0) break;
            String one = headers_.substring((unsigned)start, (unsigned)end + 2);
            String key = one.substring(0, (unsigned)std::max(0, one.indexOf(':')));
            key.toLowerCase();
            if (key != lower) kept += one;
            start = end + 2;
        }
        headers_ = kept;
    }
    headers_ = first ? line + headers_ : headers_ + line;
}

static String base64(const String& in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    String out;
    const std::string& s = in.str();
    for (size_t i = 0; i < s.size(); i += 3) {
        uint32_t n = (uint8_t)s[i] << 16;
        if (i + 1 < s.size()) n |= (uint8_t)s[i + 1] << 8;
        if (i + 2 < s.size()) n |= (uint8_t)s[i + 2];
        out += abc[(n >> 18) & 63];
        out += abc[(n >> 12) & 63];
        out += i + 1 < s.size() ? abc[(n >> 6) & 63] : '=';
        out += i + 2 < s.size() ? abc[n & 63] : '=';
    }
    return out;
}

void HTTPClient::setAuthorization(const char* user, const char* password) {
    if (user == nullptr || password == nullptr) return;
    setAuthorization(base64(String(user) + ":" + password).c_str());
}

void HTTPClient::setAuthorization(const char* encoded) {
    if (encoded != nullptr) addHeader("Authorization", String("Basic ") + encoded);
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
