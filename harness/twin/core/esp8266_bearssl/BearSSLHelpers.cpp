#include "BearSSLHelpers.h"

#include <cstring>
#include <string>

namespace BearSSL {

namespace {

void append_bytes(void* ctx, const void* data, size_t len) {
    auto* v = static_cast<std::vector<uint8_t>*>(ctx);
    const auto* p = static_cast<const uint8_t*>(data);
    v->insert(v->end(), p, p + len);
}

}  // namespace

std::vector<std::vector<uint8_t>> pem_objects(const char* pem, const char* label) {
    std::vector<std::vector<uint8_t>> out;
    if (pem == nullptr) return out;
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    std::vector<uint8_t> cur;
    std::string name;
    bool inside = false;
    // A trailing newline ends the last line, so the decoder sees the END marker.
    std::string text(pem);
    text += "\n";
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
        size_t n = br_pem_decoder_push(&pc, p, left);
        p += n;
        left -= n;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            name = br_pem_decoder_name(&pc);
            inside = (name == label);
            cur.clear();
            br_pem_decoder_setdest(&pc, inside ? append_bytes : nullptr, inside ? &cur : nullptr);
            break;
        case BR_PEM_END_OBJ:
            if (inside && !cur.empty()) out.push_back(cur);
            inside = false;
            break;
        case BR_PEM_ERROR:
            return out;
        default:
            break;
        }
    }
    return out;
}

X509List::X509List(const char* pem) { append(pem); }

X509List::X509List(const uint8_t* der, size_t len) { append(der, len); }

bool X509List::append(const char* pem) {
    bool any = false;
    for (auto& der : pem_objects(pem, "CERTIFICATE")) any = append(der.data(), der.size()) || any;
    return any;
}

bool X509List::append(const uint8_t* der, size_t len) {
    auto s = std::make_unique<Stored>();
    s->der.assign(der, der + len);
    br_x509_decoder_context dc;
    br_x509_decoder_init(&dc, append_bytes, &s->dn);
    br_x509_decoder_push(&dc, s->der.data(), s->der.size());
    const br_x509_pkey* pk = br_x509_decoder_get_pkey(&dc);
    if (pk == nullptr) return false;  // not a certificate BearSSL can read
    uint8_t is_ec = pk->key_type == BR_KEYTYPE_EC;
    // Anchor key bytes must outlive the decoder: keep them as n|e or curve|q.
    if (is_ec) {
        s->key.assign(pk->key.ec.q, pk->key.ec.q + pk->key.ec.qlen);
        s->key.push_back((uint8_t)pk->key.ec.curve);
    } else {
        s->key.assign(pk->key.rsa.n, pk->key.rsa.n + pk->key.rsa.nlen);
        s->key.insert(s->key.end(), pk->key.rsa.e, pk->key.rsa.e + pk->key.rsa.elen);
        s->key.push_back((uint8_t)pk->key.rsa.nlen);
        s->key.push_back((uint8_t)(pk->key.rsa.nlen >> 8));
    }
    uint8_t flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    s->key.push_back(flags);
    stored_.push_back(std::move(s));
    ta_is_ec_.push_back(is_ec);
    rebuild();
    return true;
}

void X509List::rebuild() {
    certs_.clear();
    tas_.clear();
    for (size_t i = 0; i < stored_.size(); ++i) {
        Stored& s = *stored_[i];
        certs_.push_back({s.der.data(), s.der.size()});
        br_x509_trust_anchor ta{};
        ta.dn.data = s.dn.data();
        ta.dn.len = s.dn.size();
        size_t k = s.key.size() - 1;
        ta.flags = s.key[k];
        if (ta_is_ec_[i]) {
            ta.pkey.key_type = BR_KEYTYPE_EC;
            ta.pkey.key.ec.curve = s.key[k - 1];
            ta.pkey.key.ec.q = s.key.data();
            ta.pkey.key.ec.qlen = k - 1;
        } else {
            size_t nlen = s.key[k - 2] | (size_t)s.key[k - 1] << 8;
            ta.pkey.key_type = BR_KEYTYPE_RSA;
            ta.pkey.key.rsa.n = s.key.data();
            ta.pkey.key.rsa.nlen = nlen;
            ta.pkey.key.rsa.e = s.key.data() + nlen;
            ta.pkey.key.rsa.elen = k - 2 - nlen;
        }
        tas_.push_back(ta);
    }
}

PublicKey::PublicKey(const char* pem) { parse(pem); }

PublicKey::PublicKey(const uint8_t* der, size_t len) { parse(der, len); }

bool PublicKey::parse(const char* pem) {
    auto objs = pem_objects(pem, "PUBLIC KEY");
    return !objs.empty() && parse(objs[0].data(), objs[0].size());
}

bool PublicKey::parse(const uint8_t* der, size_t len) {
    // A SubjectPublicKeyInfo; BearSSL 0.6 has no SPKI decoder, so wrap it in nothing
    // and use the key decoder for RSA/EC public keys via br_skey? Not available:
    // parse the SPKI by hand (algorithm OID, then the BIT STRING).
    type_ = 0;
    static const uint8_t rsa_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
    static const uint8_t ec_oid[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    auto tlv = [](const uint8_t*& p, const uint8_t* end, uint8_t* tag, size_t* n) -> bool {
        if (end - p < 2) return false;
        *tag = *p++;
        size_t l = *p++;
        if (l & 0x80) {
            int k = l & 0x7f;
            if (k > 2 || end - p < k) return false;
            l = 0;
            while (k--) l = (l << 8) | *p++;
        }
        if ((size_t)(end - p) < l) return false;
        *n = l;
        return true;
    };
    const uint8_t* p = der;
    const uint8_t* end = der + len;
    uint8_t tag;
    size_t n;
    if (!tlv(p, end, &tag, &n) || tag != 0x30) return false;
    if (!tlv(p, end, &tag, &n) || tag != 0x30) return false;
    const uint8_t* alg_end = p + n;
    if (!tlv(p, alg_end, &tag, &n) || tag != 0x06) return false;
    bool is_rsa = n == sizeof rsa_oid && std::memcmp(p, rsa_oid, n) == 0;
    bool is_ec = n == sizeof ec_oid && std::memcmp(p, ec_oid, n) == 0;
    p += n;
    int curve = 0;
    if (is_ec) {
        if (!tlv(p, alg_end, &tag, &n) || tag != 0x06) return false;
        static const uint8_t p256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
        static const uint8_t p384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
        static const uint8_t p521[] = {0x2b, 0x81, 0x04, 0x00, 0x23};
        if (n == sizeof p256 && !std::memcmp(p, p256, n)) curve = BR_EC_secp256r1;
        if (n == sizeof p384 && !std::memcmp(p, p384, n)) curve = BR_EC_secp384r1;
        if (n == sizeof p521 && !std::memcmp(p, p521, n)) curve = BR_EC_secp521r1;
    }
    p = alg_end;
    if (!tlv(p, end, &tag, &n) || tag != 0x03 || n < 1) return false;
    const uint8_t* bits = p + 1;  // skip the unused-bits byte
    size_t blen = n - 1;
    if (is_ec && curve) {
        a_.assign(bits, bits + blen);
        ec_ = {curve, a_.data(), a_.size()};
        type_ = BR_KEYTYPE_EC;
        return true;
    }
    if (!is_rsa) return false;
    const uint8_t* q = bits;
    const uint8_t* qend = bits + blen;
    if (!tlv(q, qend, &tag, &n) || tag != 0x30) return false;
    if (!tlv(q, qend, &tag, &n) || tag != 0x02) return false;
    const uint8_t* mod = q;
    size_t modlen = n;
    q += n;
    if (!tlv(q, qend, &tag, &n) || tag != 0x02) return false;
    while (modlen > 1 && *mod == 0) { ++mod; --modlen; }
    a_.assign(mod, mod + modlen);
    b_.assign(q, q + n);
    rsa_ = {a_.data(), a_.size(), b_.data(), b_.size()};
    type_ = BR_KEYTYPE_RSA;
    return true;
}

}  // namespace BearSSL
