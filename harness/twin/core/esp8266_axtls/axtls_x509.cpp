#include "axtls_x509.h"

#include <cstring>
#include <ctime>

#include "der.h"

namespace axtls {

namespace {

const uint8_t OID_RSA_PREFIX[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01};
const uint8_t OID_SHA1_RSA_OIW[] = {0x2b, 0x0e, 0x03, 0x02, 0x1d};
const uint8_t OID_SAN[] = {0x55, 0x1d, 0x11};
const uint8_t OID_BASIC_CONSTRAINTS[] = {0x55, 0x1d, 0x13};
const uint8_t OID_KEY_USAGE[] = {0x55, 0x1d, 0x0f};
const int DN_TYPES[DN_COUNT] = {3, 10, 11, 7, 6, 8};  // CN, O, OU, L, C, ST

bool oid_is(const der::Tlv& t, const uint8_t* oid, size_t n) {
    return t.len == n && std::memcmp(t.data, oid, n) == 0;
}

int two(const uint8_t* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

// asn1_get_utc_time: broken-down UTC -> mktime() with the board's 32-bit time_t.
bool parse_time(der::Reader& r, int32_t* out) {
    der::Tlv t;
    if (!r.next(&t)) return false;
    struct tm tm;
    std::memset(&tm, 0, sizeof tm);
    const uint8_t* b = t.data;
    if (t.tag == der::UTC_TIME && t.len >= 12) {
        tm.tm_year = two(b);
        if (tm.tm_year < 50) tm.tm_year += 100;
        tm.tm_mon = two(b + 2) - 1;
        tm.tm_mday = two(b + 4);
        tm.tm_hour = two(b + 6);
        tm.tm_min = two(b + 8);
        tm.tm_sec = two(b + 10);
    } else if (t.tag == der::GENERALIZED_TIME && t.len >= 14) {
        int year = two(b) * 100 + two(b + 2);
        if (year <= 1901) {
            *out = 0;  // axTLS leaves the field as calloc'ed
            return true;
        }
        tm.tm_year = year - 1900;
        tm.tm_mon = two(b + 4) - 1;
        tm.tm_mday = two(b + 6);
        tm.tm_hour = two(b + 8);
        tm.tm_min = two(b + 10);
        tm.tm_sec = two(b + 12);
    } else {
        return false;
    }
    // The board has no TZ, so mktime is UTC; its time_t is a 32-bit long.
    int64_t wide = (int64_t)timegm(&tm);
    *out = (int32_t)(uint32_t)(uint64_t)wide;
    return true;
}

// asn1_get_printable_str: the string types axTLS accepts in a name.
bool printable(const der::Tlv& t, std::string* out) {
    switch (t.tag) {
        case der::PRINTABLE_STRING:
        case der::UTF8_STRING:
        case der::TELETEX_STRING:
        case der::IA5_STRING:
            out->assign((const char*)t.data, t.len);
            return true;
        case der::BMP_STRING:
            out->clear();
            for (size_t i = 0; i + 1 < t.len; i += 2) out->push_back((char)t.data[i + 1]);
            return true;
        default:
            return false;
    }
}

bool parse_name(der::Reader& r, std::optional<std::string> (&dn)[DN_COUNT]) {
    der::Tlv name;
    if (!r.next(&name, der::SEQUENCE)) return false;
    der::Reader rdns(name);
    der::Tlv set;
    while (rdns.next(&set, der::SET)) {
        der::Reader sr(set);
        der::Tlv atv;
        if (!sr.next(&atv, der::SEQUENCE)) return false;
        der::Reader ar(atv);
        der::Tlv oid, value;
        if (!ar.next(&oid, der::OID) || !ar.next(&value)) return false;
        int type = 0;
        if (oid.len == 3 && oid.data[0] == 0x55 && oid.data[1] == 0x04) type = oid.data[2];
        std::string s;
        if (!printable(value, &s)) return false;
        for (int i = 0; i < DN_COUNT; ++i) {
            if (type == DN_TYPES[i] && !dn[i]) {  // the first of each kind wins
                dn[i] = s;
                break;
            }
        }
    }
    return true;
}

bool strip_int(const der::Tlv& t, std::vector<uint8_t>* out) {
    const uint8_t* p = t.data;
    size_t n = t.len;
    if (n > 1 && p[0] == 0) { ++p; --n; }
    out->assign(p, p + n);
    return n > 0;
}

void parse_extension(const der::Tlv& oid, bool critical, const der::Tlv& value, Cert* c) {
    der::Reader vr(value);
    if (oid_is(oid, OID_SAN, sizeof OID_SAN)) {
        c->subject_alt_name_present = true;
        c->subject_alt_name_is_critical = critical;
        der::Tlv seq;
        if (!vr.next(&seq, der::SEQUENCE)) return;
        der::Reader gr(seq);
        der::Tlv gn;
        while (gr.next(&gn)) {
            if (gn.tag == 0x82) c->subject_alt_dnsnames.emplace_back((const char*)gn.data, gn.len);
        }
    } else if (oid_is(oid, OID_BASIC_CONSTRAINTS, sizeof OID_BASIC_CONSTRAINTS)) {
        c->basic_constraint_present = true;
        c->basic_constraint_is_critical = critical;
        c->basic_constraint_cA = false;
        c->basic_constraint_pathLenConstraint = 10000;  // axTLS: "unlimited"
        der::Tlv seq;
        if (!vr.next(&seq, der::SEQUENCE)) return;
        der::Reader br(seq);
        der::Tlv item;
        if (br.next(&item, der::BOOLEAN) && item.len == 1) {
            c->basic_constraint_cA = item.data[0] == 0xff;
            if (br.next(&item, der::INTEGER) && item.len <= 4) {
                int32_t v = 0;
                for (size_t i = 0; i < item.len; ++i) v = (v << 8) | item.data[i];
                c->basic_constraint_pathLenConstraint = v;
            }
        }
    } else if (oid_is(oid, OID_KEY_USAGE, sizeof OID_KEY_USAGE)) {
        c->key_usage_present = true;
        c->key_usage_is_critical = critical;
        der::Tlv bits;
        if (!vr.next(&bits, der::BIT_STRING) || bits.len < 1 || bits.len > 5) return;
        uint32_t v = 0;
        for (size_t i = bits.len - 1; i >= 1; --i) v = (v << 8) | bits.data[i];
        c->key_usage = v;
    }
}

void parse_extensions(const der::Tlv& explicit3, Cert* c) {
    der::Reader er(explicit3);
    der::Tlv exts;
    if (!er.next(&exts, der::SEQUENCE)) return;
    der::Reader xr(exts);
    der::Tlv ext;
    while (xr.next(&ext, der::SEQUENCE)) {
        der::Reader r(ext);
        der::Tlv oid, item;
        if (!r.next(&oid, der::OID) || !r.next(&item)) continue;
        bool critical = false;
        if (item.tag == der::BOOLEAN) {
            critical = item.len == 1 && item.data[0] == 0xff;
            if (!r.next(&item)) continue;
        }
        if (item.tag == der::OCTET_STRING) parse_extension(oid, critical, item, c);
    }
}

// asn1_signature_type: the TBS signature algorithm.
int sig_type_of(const der::Tlv& alg_seq) {
    der::Reader r(alg_seq);
    der::Tlv oid;
    if (!r.next(&oid, der::OID)) return -1;
    if (oid_is(oid, OID_SHA1_RSA_OIW, sizeof OID_SHA1_RSA_OIW)) return SIG_SHA1;
    if (oid.len == sizeof OID_RSA_PREFIX + 1 &&
        std::memcmp(oid.data, OID_RSA_PREFIX, sizeof OID_RSA_PREFIX) == 0)
        return oid.data[sizeof OID_RSA_PREFIX];
    return -1;
}

}  // namespace

int parse_cert(const uint8_t* p, size_t n, Cert* c, size_t* consumed) {
    *c = Cert();
    der::Reader top(p, n);
    der::Tlv cert;
    if (!top.next(&cert, der::SEQUENCE)) return X509_NOT_OK;
    *consumed = cert.total();
    c->der.assign(p, p + cert.total());
    const uint8_t* base = c->der.data();
    der::Reader cr(base + (cert.data - p), cert.len);
    der::Tlv tbs, outer_alg, sig;
    if (!cr.next(&tbs, der::SEQUENCE)) return X509_NOT_OK;
    c->tbs_off = (size_t)(tbs.hdr - base);
    c->tbs_len = tbs.total();

    der::Reader tr(tbs);
    der::Tlv t;
    int version = 0;
    uint8_t tag = 0;
    if (tr.peek_tag(&tag) && tag == der::EXPLICIT0) {
        if (!tr.next(&t)) return X509_NOT_OK;
        der::Reader vr(t);
        der::Tlv v;
        if (!vr.next(&v, der::INTEGER) || v.len != 1) return X509_NOT_OK;
        version = v.data[0];
    }
    if (!tr.skip(der::INTEGER)) return X509_NOT_OK;  // serial number
    der::Tlv alg;
    if (!tr.next(&alg, der::SEQUENCE)) return X509_NOT_OK;
    c->sig_type = sig_type_of(alg);
    if (c->sig_type < 0) {
        der::Reader ar(alg);
        der::Tlv oid;
        if (ar.next(&oid, der::OID)) c->unsupported_sig_oid.assign(oid.data, oid.data + oid.len);
        return X509_VFY_ERROR_UNSUPPORTED_DIGEST;
    }
    if (!parse_name(tr, c->ca_cert_dn)) return X509_NOT_OK;
    der::Tlv validity;
    if (!tr.next(&validity, der::SEQUENCE)) return X509_NOT_OK;
    der::Reader vr(validity);
    if (!parse_time(vr, &c->not_before) || !parse_time(vr, &c->not_after)) return X509_NOT_OK;
    if (!parse_name(tr, c->cert_dn)) return X509_NOT_OK;

    der::Tlv spki;
    if (!tr.next(&spki, der::SEQUENCE)) return X509_NOT_OK;
    {
        der::Reader sr(spki);
        der::Tlv bits;
        if (!sr.skip(der::SEQUENCE) || !sr.next(&bits, der::BIT_STRING) || bits.len < 1)
            return X509_NOT_OK;
        der::Reader kr(bits.data + 1, bits.len - 1);
        der::Tlv key, mod, exp;
        if (!kr.next(&key, der::SEQUENCE)) return X509_NOT_OK;
        der::Reader ir(key);
        if (!ir.next(&mod, der::INTEGER) || !ir.next(&exp, der::INTEGER)) return X509_NOT_OK;
        strip_int(mod, &c->modulus);
        strip_int(exp, &c->exponent);
    }
    if (version == 2) {
        while (tr.next(&t)) {
            if (t.tag == der::EXPLICIT3) parse_extensions(t, c);
        }
    }
    if (!cr.next(&outer_alg, der::SEQUENCE) || !cr.next(&sig, der::BIT_STRING) || sig.len < 1)
        return X509_NOT_OK;
    c->signature.assign(sig.data + 1, sig.data + sig.len);
    return X509_OK;
}

bool same_dn(const std::optional<std::string> (&a)[DN_COUNT],
             const std::optional<std::string> (&b)[DN_COUNT]) {
    for (int i = 0; i < DN_COUNT; ++i) {
        if (a[i].has_value() != b[i].has_value()) return false;
        if (a[i] && *a[i] != *b[i]) return false;
    }
    return true;
}

}  // namespace axtls
