// tls_records.h: the record and handshake splitters of the axTLS personality's watcher.
#include <vector>

#include "check.h"
#include "fuzz.h"
#include "tls_records.h"

namespace {

std::vector<uint8_t> record(uint8_t type, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> r = {type, 0x03, 0x03, (uint8_t)(body.size() >> 8), (uint8_t)body.size()};
    r.insert(r.end(), body.begin(), body.end());
    return r;
}

}  // namespace

TEST(records_split_at_any_chunk_size) {
    std::vector<uint8_t> stream;
    auto a = record(22, {1, 0, 0, 2, 0xaa, 0xbb});
    auto b = record(21, {2, 40});
    auto c = record(23, std::vector<uint8_t>(300, 7));
    stream.insert(stream.end(), a.begin(), a.end());
    stream.insert(stream.end(), b.begin(), b.end());
    stream.insert(stream.end(), c.begin(), c.end());
    for (size_t chunk = 1; chunk <= stream.size(); chunk += 7) {
        std::vector<std::pair<uint8_t, size_t>> seen;
        twin::RecordSplitter s([&](uint8_t type, uint16_t version, const uint8_t*, size_t len) {
            CHECK(version == 0x0303);
            seen.emplace_back(type, len);
        });
        std::vector<uint8_t> copy = stream;
        for (size_t off = 0; off < copy.size(); off += chunk) {
            s.feed(copy.data() + off, std::min(chunk, copy.size() - off));
        }
        CHECK((seen == std::vector<std::pair<uint8_t, size_t>>{{22, 6}, {21, 2}, {23, 300}}));
    }
}

TEST(records_header_version_can_be_rewritten) {
    auto r = record(22, {1, 0, 0, 0});
    r[1] = 0x03;
    r[2] = 0x01;
    twin::RecordSplitter s([](uint8_t, uint16_t, const uint8_t*, size_t) {},
                           [](uint8_t, uint16_t) -> uint16_t { return 0x0303; });
    s.feed(r.data(), 1);  // the type alone, then the rest of the header and body
    s.feed(r.data() + 1, r.size() - 1);
    CHECK(r[1] == 0x03 && r[2] == 0x03);
    // Bytes of an earlier chunk are gone by the time the header completes: kept as sent
    // (the engine hands whole records, so this does not happen in the twin).
    auto q = record(22, {1, 0, 0, 0});
    q[2] = 0x01;
    twin::RecordSplitter t([](uint8_t, uint16_t, const uint8_t*, size_t) {},
                           [](uint8_t, uint16_t) -> uint16_t { return 0x0303; });
    t.feed(q.data(), 3);
    t.feed(q.data() + 3, q.size() - 3);
    CHECK(q[2] == 0x01);
}

TEST(handshake_messages_spanning_records) {
    std::vector<std::pair<uint8_t, size_t>> seen;
    twin::HandshakeSplitter h([&](uint8_t type, const uint8_t*, size_t len) { seen.emplace_back(type, len); });
    std::vector<uint8_t> msgs = {2, 0, 0, 3, 9, 9, 9, 14, 0, 0, 0};
    h.feed(msgs.data(), 2);
    h.feed(msgs.data() + 2, 5);
    h.feed(msgs.data() + 7, msgs.size() - 7);
    CHECK((seen == std::vector<std::pair<uint8_t, size_t>>{{2, 3}, {14, 0}}));
}

TEST(records_random_streams_stay_in_bounds) {
    Lcg rng(7);
    for (int round = 0; round < 3000; ++round) {
        auto buf = rng.bytes(1 + rng.byte() * 4);
        twin::HandshakeSplitter h([](uint8_t, const uint8_t*, size_t) {});
        twin::RecordSplitter s([&](uint8_t type, uint16_t, const uint8_t* body, size_t len) {
            if (type == 22) h.feed(body, len);
        });
        size_t off = 0;
        while (off < buf.size()) {
            size_t n = std::min<size_t>(1 + rng.byte() % 50, buf.size() - off);
            s.feed(buf.data() + off, n);
            off += n;
        }
    }
    CHECK(true);
}
