// HTTPClient (ESP8266HTTPClient / arduino-esp32 HTTPClient), the part sketches use for
// a GET over a Client: begin(client, url), GET(), getString(), errorToString(), end().
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
    String getString();
    int getSize() const { return size_; }
    void setTimeout(uint16_t ms) { timeout_ms_ = ms; }
    void end();
    static String errorToString(int error);

private:
    bool connect();
    int read_response_head();

    Client* client_ = nullptr;
    String host_, uri_ = "/";
    uint16_t port_ = 0;
    int size_ = -1;
    int code_ = 0;
    uint16_t timeout_ms_ = 5000;  // HTTPCLIENT_DEFAULT_TCP_TIMEOUT
};
