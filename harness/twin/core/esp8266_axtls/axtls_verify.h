// Certificate checks as axTLS does them after the handshake: x509_verify
// (ssl/x509.c at igrr/axtls-8266 24af415) and WiFiClientSecure's name match
// (_verifyDN / matchName of core 2.4.1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "axtls_x509.h"

namespace axtls {

// process_certificate's linking: the leaf first, then each cert's issuer
// found by DN among the others. Returns the chain in order.
std::vector<const Cert*> link_chain(const std::vector<Cert>& received);

// x509_verify over a linked chain against the CA store; `now` is the board's
// time() truncated to its 32-bit time_t. Returns an X509Err.
int x509_verify(const std::vector<Cert>& ca_store, const std::vector<const Cert*>& chain,
                int32_t now);

// _verifyDN: SAN dNSNames, then the CN, lower-cased, with matchName's wildcard rule.
bool verify_dn(const Cert& leaf, const std::string& domain_name);

}  // namespace axtls
