#include "axtls_verify.h"

#include <bearssl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace axtls {

std::vector<const Cert*> link_chain(const std::vector<Cert>& certs) {
    std::vector<const Cert*> chain;
    if (certs.empty()) return chain;
    std::vector<bool> used(certs.size(), false);
    const Cert* cur = &certs[0];
    used[0] = true;
    chain.push_back(cur);
    for (;;) {
        size_t i = 1;
        for (; i < certs.size(); ++i) {
            if (used[i]) continue;
            if (same_dn(cur->ca_cert_dn, certs[i].cert_dn)) {
                used[i] = true;
                cur = &certs[i];
                chain.push_back(cur);
                break;
            }
        }
        if (i >= certs.size()) break;
    }
    return chain;
}

namespace {

// sig_verify + digest compare: PKCS#1 v1.5 with the issuer's key over the TBS.
bool signature_ok(const Cert& cert, const Cert& issuer) {
    const unsigned char* oid = nullptr;
    const br_hash_class* hc = nullptr;
    static const unsigned char OID_MD5[] = "\x08\x2A\x86\x48\x86\xF7\x0D\x02\x05";
    switch (cert.sig_type) {
        case SIG_MD5: oid = OID_MD5; hc = &br_md5_vtable; break;
        case SIG_SHA1: oid = BR_HASH_OID_SHA1; hc = &br_sha1_vtable; break;
        case SIG_SHA256: oid = BR_HASH_OID_SHA256; hc = &br_sha256_vtable; break;
        case SIG_SHA384: oid = BR_HASH_OID_SHA384; hc = &br_sha384_vtable; break;
        case SIG_SHA512: oid = BR_HASH_OID_SHA512; hc = &br_sha512_vtable; break;
        default: return false;  // axTLS computes no digest: "Bad signature"
    }
    br_hash_compat_context hctx;
    hc->init(&hctx.vtable);
    hc->update(&hctx.vtable, cert.der.data() + cert.tbs_off, cert.tbs_len);
    unsigned char digest[64];
    hc->out(&hctx.vtable, digest);
    size_t dlen = (hc->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;

    std::vector<unsigned char> n(issuer.modulus.begin(), issuer.modulus.end());
    std::vector<unsigned char> e(issuer.exponent.begin(), issuer.exponent.end());
    if (n.empty() || e.empty() || cert.signature.size() != n.size()) return false;
    br_rsa_public_key pk = {n.data(), n.size(), e.data(), e.size()};
    unsigned char out[64];
    br_rsa_pkcs1_vrfy vrfy = br_rsa_pkcs1_vrfy_get_default();
    if (!vrfy(cert.signature.data(), cert.signature.size(), oid, dlen, &pk, out)) return false;
    return std::memcmp(out, digest, dlen) == 0;
}

int verify_at(const std::vector<Cert>& ca_store, const std::vector<const Cert*>& chain,
              size_t idx, int32_t now, int* pathLenConstraint) {
    const Cert& cert = *chain[idx];
    const Cert* signer = nullptr;
    bool is_self_signed = same_dn(cert.ca_cert_dn, cert.cert_dn);
    bool match_ca_cert = false;
    if (is_self_signed) signer = &cert;

    if (now < cert.not_before) return X509_VFY_ERROR_NOT_YET_VALID;
    if (now > cert.not_after) return X509_VFY_ERROR_EXPIRED;

    if (cert.basic_constraint_present) {
        if (!cert.basic_constraint_cA && cert.has_key_usage(KU_KEY_CERT_SIGN))
            return X509_VFY_ERROR_BASIC_CONSTRAINT;
        if (cert.basic_constraint_cA &&
            (!cert.key_usage_present || cert.has_key_usage(KU_KEY_CERT_SIGN)) &&
            (cert.basic_constraint_pathLenConstraint + 1) < *pathLenConstraint)
            return X509_VFY_ERROR_BASIC_CONSTRAINT;
    }

    const Cert* next = idx + 1 < chain.size() ? chain[idx + 1] : nullptr;
    if (next == nullptr) {
        for (const Cert& ca : ca_store) {
            // axTLS `continue`s here without advancing its index, which would
            // spin forever on the board; the twin skips the CA instead.
            if (cert.basic_constraint_present && !ca.basic_constraint_cA) continue;
            if (same_dn(cert.ca_cert_dn, ca.cert_dn)) {
                match_ca_cert = true;
                signer = &ca;
                break;
            }
        }
        if (!match_ca_cert && !is_self_signed) return X509_VFY_ERROR_NO_TRUSTED_CERT;
    } else if (!same_dn(cert.ca_cert_dn, next->cert_dn)) {
        return X509_VFY_ERROR_INVALID_CHAIN;
    } else {
        signer = next;
    }

    if (!match_ca_cert && is_self_signed) return X509_VFY_ERROR_SELF_SIGNED;

    if (signer == nullptr || !signature_ok(cert, *signer)) return X509_VFY_ERROR_BAD_SIGNATURE;

    if (next != nullptr) {
        (*pathLenConstraint)++;
        return verify_at(ca_store, chain, idx + 1, now, pathLenConstraint);
    }
    return X509_OK;
}

std::string lower(std::string s) {
    for (auto& c : s) c = (char)std::tolower((unsigned char)c);
    return s;
}

bool match_name(const std::string& name, const std::string& domain) {
    size_t wildcard = name.find('*');
    if (wildcard == std::string::npos) return name == domain;
    size_t first_dot = name.find('.');
    if (first_dot == std::string::npos || wildcard > first_dot) return false;
    if (wildcard != 0 || first_dot != 1) return false;
    size_t domain_dot = domain.find('.');
    if (domain_dot == std::string::npos) return false;
    return domain.substr(domain_dot) == name.substr(first_dot);
}

}  // namespace

int x509_verify(const std::vector<Cert>& ca_store, const std::vector<const Cert*>& chain,
                int32_t now) {
    if (chain.empty()) return X509_VFY_ERROR_NO_TRUSTED_CERT;
    int path_len = 0;
    return verify_at(ca_store, chain, 0, now, &path_len);
}

bool verify_dn(const Cert& leaf, const std::string& domain_name) {
    std::string domain = lower(domain_name);
    for (const auto& san : leaf.subject_alt_dnsnames) {
        if (match_name(lower(san), domain)) return true;
    }
    if (leaf.cert_dn[DN_CN] && match_name(lower(*leaf.cert_dn[DN_CN]), domain)) return true;
    return false;
}

}  // namespace axtls
