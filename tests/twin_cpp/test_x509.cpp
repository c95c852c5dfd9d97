// axtls_x509.h: the axTLS-faithful certificate parser, on real certificates (made by the
// pytest side with `cryptography`, paths on the command line) and on damaged copies.
#include <fstream>
#include <iterator>
#include <vector>

#include "axtls_x509.h"
#include "check.h"
#include "fuzz.h"

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST(x509_parses_the_certificates_given) {
    CHECK(!check::args().empty());
    for (const auto& path : check::args()) {
        auto der = read_file(path);
        CHECK(!der.empty());
        axtls::Cert cert;
        size_t used = 0;
        int rc = axtls::parse_cert(der.data(), der.size(), &cert, &used);
        CHECK(rc == 0);
        CHECK(used == der.size());
        CHECK(cert.rsa_bits() >= 1024);
        CHECK(cert.cert_dn[0].has_value());  // a common name
    }
}

TEST(x509_every_truncation_is_refused_in_bounds) {
    for (const auto& path : check::args()) {
        auto der = read_file(path);
        for (size_t n = 0; n < der.size(); n += (n < 64 ? 1 : 13)) {
            std::vector<uint8_t> cut(der.begin(), der.begin() + n);
            axtls::Cert cert;
            size_t used = 0;
            CHECK(axtls::parse_cert(cut.data(), cut.size(), &cert, &used) != 0);
        }
    }
}

TEST(x509_flipped_bytes_never_read_out_of_bounds) {
    Lcg rng(42);
    for (const auto& path : check::args()) {
        auto der = read_file(path);
        for (int round = 0; round < 3000; ++round) {
            auto bad = der;
            for (int k = 0; k < 1 + rng.byte() % 4; ++k) {
                size_t at = ((size_t)rng.byte() << 8 | rng.byte()) % bad.size();
                bad[at] = rng.byte();
            }
            axtls::Cert cert;
            size_t used = 0;
            (void)axtls::parse_cert(bad.data(), bad.size(), &cert, &used);
            CHECK(used <= bad.size());
        }
    }
}
