#include "hil_run_values.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "twin_io.h"

namespace {

[[noreturn]] void missing(const char* var, const char* why) {
    twin::diag("%s %s: the harness sets it when it resets a twin built with run-time values; "
               "run the twin through hil run",
               var, why);
    std::exit(3);
}

const char* need(const char* var) {
    const char* value = std::getenv(var);
    if (value == nullptr || *value == '\0') missing(var, "is not set");
    return value;
}

std::string read_file(const char* var) {
    const char* path = need(var);
    std::FILE* f = std::fopen(path, "rb");
    if (f == nullptr) missing(var, "names a file that cannot be read");
    std::string data;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
    std::fclose(f);
    if (data.empty()) missing(var, "names an empty file");
    return data;
}

}  // namespace

uint16_t hil_run_port() {
    static const uint16_t port = [] {
        const char* text = need("HIL_RUN_PORT");
        char* end = nullptr;
        errno = 0;
        long value = std::strtol(text, &end, 10);
        if (errno != 0 || *end != '\0' || value <= 0 || value > 65535)
            missing("HIL_RUN_PORT", "is not a port number");
        return static_cast<uint16_t>(value);
    }();
    return port;
}

const char* hil_run_cert_sha1() {
    static const std::string sha1 = need("HIL_RUN_CERT_SHA1");
    return sha1.c_str();
}

// Kept for the process's life: sketches hold on to the pointers (X509List, setCACert).
static const std::string& ca_der() {
    static const std::string der = read_file("HIL_RUN_CA_DER_FILE");
    return der;
}

const unsigned char* hil_run_ca_der() {
    return reinterpret_cast<const unsigned char*>(ca_der().data());
}

unsigned int hil_run_ca_der_len() { return static_cast<unsigned int>(ca_der().size()); }

const char* hil_run_ca_pem() {
    static const std::string pem = read_file("HIL_RUN_CA_PEM_FILE");
    return pem.c_str();
}
