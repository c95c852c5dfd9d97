// BearSSL helper classes of the ESP8266 core (X509List, PublicKey, PrivateKey,
// Session) as the twin has them: certificates and keys decoded with the system
// BearSSL's PEM and X.509 decoders.
#pragma once

#include <bearssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace BearSSL {

class X509List {
public:
    X509List() = default;
    explicit X509List(const char* pem);
    X509List(const uint8_t* der, size_t len);
    X509List(const X509List&) = delete;
    X509List& operator=(const X509List&) = delete;

    bool append(const char* pem);
    bool append(const uint8_t* der, size_t len);

    size_t getCount() const { return certs_.size(); }
    const br_x509_certificate* getX509Certs() const { return certs_.data(); }
    const br_x509_trust_anchor* getTrustAnchors() const { return tas_.data(); }

private:
    struct Stored {
        std::vector<uint8_t> der, dn, key;
    };
    void rebuild();
    std::vector<std::unique_ptr<Stored>> stored_;
    std::vector<br_x509_certificate> certs_;
    std::vector<br_x509_trust_anchor> tas_;
    std::vector<uint8_t> ta_is_ec_;  // per anchor: key type (rebuild needs it)
};

class PublicKey {
public:
    PublicKey() = default;
    explicit PublicKey(const char* pem);
    PublicKey(const uint8_t* der, size_t len);
    bool parse(const char* pem);
    bool parse(const uint8_t* der, size_t len);
    bool isRSA() const { return type_ == BR_KEYTYPE_RSA; }
    bool isEC() const { return type_ == BR_KEYTYPE_EC; }
    const br_rsa_public_key* getRSA() const { return isRSA() ? &rsa_ : nullptr; }
    const br_ec_public_key* getEC() const { return isEC() ? &ec_ : nullptr; }

private:
    int type_ = 0;
    std::vector<uint8_t> a_, b_;
    br_rsa_public_key rsa_{};
    br_ec_public_key ec_{};
};

// Client keys are accepted and kept, but the twin does no client authentication
// with them (see FIDELITY-esp8266-bearssl.md).
class PrivateKey {
public:
    PrivateKey() = default;
    explicit PrivateKey(const char* pem) : pem_(pem ? pem : "") {}
    PrivateKey(const uint8_t* der, size_t len) : der_(der, der + len) {}

private:
    std::string pem_;
    std::vector<uint8_t> der_;
};

class Session {
public:
    br_ssl_session_parameters* getSession() { return &params_; }

private:
    br_ssl_session_parameters params_{};
};

// Decode every PEM object of `pem` whose label is `label` into DER.
std::vector<std::vector<uint8_t>> pem_objects(const char* pem, const char* label);

}  // namespace BearSSL

using BearSSL::PrivateKey;
using BearSSL::PublicKey;
using BearSSL::X509List;
// Core 2.4.2's names of these classes (global there; 2.5.0 moved them into BearSSL::).
typedef BearSSL::X509List BearSSLX509List;
typedef BearSSL::PublicKey BearSSLPublicKey;
typedef BearSSL::PrivateKey BearSSLPrivateKey;
