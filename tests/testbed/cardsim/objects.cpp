#include "objects.hpp"

#include "pki.hpp"
#include "tlv.hpp"

namespace cardsim {

namespace {

Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// Appends one 5-bit FASC-N character: the four data bits least significant first, then the
// bit that makes the number of ones odd.
void push_character(std::vector<bool>& bits, unsigned value) {
    int ones = 0;
    for (int i = 0; i < 4; ++i) {
        bool bit = (value >> i) & 1U;
        ones += bit;
        bits.push_back(bit);
    }
    bits.push_back(ones % 2 == 0);
}

}  // namespace

std::uint32_t certificate_tag(std::uint8_t key_ref) {
    switch (key_ref) {
        case 0x9A:
            return kTagPivAuthCert;
        case 0x9C:
            return kTagDigSigCert;
        case 0x9D:
            return kTagKeyMgmtCert;
        case 0x9E:
            return kTagCardAuthCert;
        default:
            return 0;
    }
}

Bytes encode_fascn(const Fascn& f) {
    constexpr unsigned kStart = 0xB, kSeparator = 0xD, kEnd = 0xF;
    std::vector<unsigned> chars = {kStart};
    auto digits = [&chars](const std::string& s) {
        for (char c : s) {
            chars.push_back(static_cast<unsigned>(c - '0') & 0xF);
        }
    };
    for (const std::string* field : {&f.agency, &f.system, &f.credential, &f.series}) {
        digits(*field);
        chars.push_back(kSeparator);
    }
    digits(f.issue);
    chars.push_back(kSeparator);
    for (const std::string* field : {&f.person, &f.org_category, &f.org_id, &f.association}) {
        digits(*field);
    }
    chars.push_back(kEnd);
    unsigned lrc = 0;
    for (unsigned c : chars) {
        lrc ^= c;
    }
    chars.push_back(lrc);
    std::vector<bool> bits;
    for (unsigned c : chars) {
        push_character(bits, c);
    }
    Bytes out((bits.size() + 7) / 8);
    for (std::size_t i = 0; i < bits.size(); ++i) {
        out[i / 8] |= static_cast<std::uint8_t>(bits[i] << (7 - i % 8));
    }
    return out;
}

Bytes make_chuid(std::span<const std::uint8_t> fascn, std::span<const std::uint8_t> guid,
                 const std::string& expiry_yyyymmdd) {
    Bytes out;
    append_tlv(out, 0x30, fascn);
    append_tlv(out, 0x34, guid);
    append_tlv(out, 0x35, text(expiry_yyyymmdd));
    append_tlv(out, 0x3E, {});  // an unsigned CHUID: the issuer signature is left empty
    append_tlv(out, 0xFE, {});
    return out;
}

Bytes make_ccc(std::span<const std::uint8_t> card_id) {
    // Card identifier: the GSC-RID A0 00 00 01 16, manufacturer FF (none), card type 02
    // (Java Card), then the 14-byte card ID.
    Bytes identifier = {0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02};
    identifier.insert(identifier.end(), card_id.begin(), card_id.end());
    Bytes out;
    append_tlv(out, 0xF0, identifier);
    append_tlv(out, 0xF1, Bytes{0x21});  // capability container version
    append_tlv(out, 0xF2, Bytes{0x21});  // grammar version
    append_tlv(out, 0xF3, {});           // applications CardURL
    append_tlv(out, 0xF4, Bytes{0x00});  // no PKCS#15
    append_tlv(out, 0xF5, Bytes{0x10});  // registered data model number: PIV
    for (std::uint32_t tag : {0xF6U, 0xF7U, 0xFAU, 0xFBU, 0xFCU, 0xFDU, 0xFEU}) {
        append_tlv(out, tag, {});
    }
    return out;
}

Bytes make_discovery(std::uint16_t pin_usage_policy) {
    Bytes inner;
    append_tlv(inner, 0x4F, kPivAid);
    append_tlv(inner, 0x5F2F,
               Bytes{static_cast<std::uint8_t>(pin_usage_policy >> 8),
                     static_cast<std::uint8_t>(pin_usage_policy)});
    return tlv(kTagDiscovery, inner);
}

Bytes make_key_history() {
    // No retired keys, neither with on-card nor with off-card certificates; so no URL.
    Bytes out;
    append_tlv(out, 0xC1, Bytes{0x00});
    append_tlv(out, 0xC2, Bytes{0x00});
    append_tlv(out, 0xFE, {});
    return out;
}

Bytes make_printed_information(const std::string& name, const std::string& expiry_yyyymmmdd) {
    Bytes out;
    append_tlv(out, 0x01, text(name));
    append_tlv(out, 0x02, text("Test"));
    append_tlv(out, 0x04, text(expiry_yyyymmmdd));
    append_tlv(out, 0x05, text("0000000001"));
    append_tlv(out, 0x06, text("cactool test"));
    append_tlv(out, 0xFE, {});
    return out;
}

Bytes make_certificate_container(std::span<const std::uint8_t> der, bool compress) {
    Bytes out;
    if (compress) {
        append_tlv(out, 0x70, gzip(der));
    } else {
        append_tlv(out, 0x70, der);
    }
    append_tlv(out, 0x71, Bytes{static_cast<std::uint8_t>(compress ? 0x01 : 0x00)});
    append_tlv(out, 0xFE, {});
    return out;
}

Bytes make_application_template(std::span<const std::uint8_t> algorithm_ids) {
    Bytes pix(kPivAid.begin() + 5, kPivAid.end());
    Bytes rid(kPivAid.begin(), kPivAid.begin() + 5);
    Bytes algorithms;
    for (std::uint8_t id : algorithm_ids) {
        append_tlv(algorithms, 0x80, Bytes{id});
    }
    append_tlv(algorithms, 0x06, Bytes{0x00});
    Bytes inner;
    append_tlv(inner, 0x4F, pix);
    append_tlv(inner, 0x79, tlv(0x4F, rid));
    append_tlv(inner, 0x50, text("cactool virtual PIV"));
    append_tlv(inner, 0xAC, algorithms);
    return tlv(0x61, inner);
}

}  // namespace cardsim
