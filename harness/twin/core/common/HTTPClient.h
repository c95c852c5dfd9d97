// HTTPClient (ESP8266HTTPClient / arduino-esp32 HTTPClient), the part users' sketches use
// over a Client: begin(client, url), GET/POST/PUT/PATCH/sendRequest, addHeader,
// setAuthorization, setUserAgent, getString(), getStream(), errorToString(), end().
// Error codes and texts are the release's (hil_core_config.h, from the core data).
#pragma once

#include "Arduino.h"
#include "Client.h"
#include "hil_core_config.h"

#define HTTP_CODE_OK 200

#if defined(HTTPC_ERROR_CONNECTION_FAILED) && !defined(HTTPC_ERROR_CONNECTION_REFUSED)
// Releases that renamed it keep the old name as a deprecated constant
// (esp8266/Arduino 2.7.4 ESP8266HTTPClient.h:63, 3.1.2 :60).
constexpr int HTTPC_ERROR_CONNECTION_REFUSED __attribute__((deprecated)) = HTTPC_ERROR_CONNECTION_FAILED;
#endif

class HTTPClient {
public:
    bool begin(Client& client, const String& url);
    bool begin(Client& client, const String& host, uint16_t port, const String& uri = "/",
               bool https = false);
    int GET();
    int POST(const String& payload) { return POST((const uint8_t*)payload.c_str(), payload.length()); }
    int POST(const uint8_t* payload, size_t size) { return sendRequest("POST", payload, size); }
    int PUT(const String& payload) { return sendRequest("PUT", payload); }
    int PATCH(const String& payload) { return sendRequest("PATCH", payload); }
    int sendRequest(const char* type, const String& payload = String()) {
        return sendRequest(type, (const uint8_t*)payload.c_str(), payload.length());
    }
    int sendRequest(const char* type, const uint8_t* payload, size_t size);
    void addHeader(const String& name, const String& value, bool first = false,
                   bool replace = true);
    void setAuthorization(const char* user, const char* password);
    void setAuthorization(const char* base64);
    void setUserAgent(const String& agent) { agent_ = agent; }
    void setReuse(bool) {}  // the twin's requests say Connection: close, as GET() does
    bool connected() { return client_ != nullptr && client_->connected(); }
    Client& getStream() { return *client_; }
    Client* getStreamPtr() { return client_; }
    String getString();
    int getSize() const { return size_; }
    void setTimeout(uint16_t ms) { timeout_ms_ = ms; }
    void end();
    static String errorToString(int error);

private:
    bool connect();
    int read_response_head();
    String request_head(const char* type, size_t size) const;

    Client* client_ = nullptr;
    String host_, uri_ = "/";
    String agent_ = "ESP8266HTTPClient";
    String headers_;  // added by addHeader, each "Name: value\r\n"
    uint16_t port_ = 0;
    int size_ = -1;
    int code_ = 0;
    uint16_t timeout_ms_ = 5000;  // HTTPCLIENT_DEFAULT_TCP_TIMEOUT
};
