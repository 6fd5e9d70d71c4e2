// Loading a profile: read the JSON, check every key, make what it asks to generate, and
// export what the card holds so tests can compare the card's answers with the files.
//
// Generated keys and certificates survive `restore`: the export folder keeps them with a
// stamp of the profile's bytes, and a later load of the same profile into the same folder
// reads them back instead of generating new ones.
#include "profile.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "objects.hpp"
#include "tlv.hpp"

namespace cardsim {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::time_t kDay = 86400;
constexpr std::time_t kCaNotBefore = 946684800;  // 2000-01-01: before any test validity
constexpr std::uint8_t kSlotRefs[] = {0x9A, 0x9C, 0x9D, 0x9E};

struct Source {
    fs::path file;  // empty for the default card
    fs::path dir;
    fs::path export_dir;
    bool reuse = false;  // the export folder holds what this same profile generated
};

[[noreturn]] void bad(const Source& src, const std::string& key, const std::string& problem) {
    std::string where = src.file.empty() ? "default profile" : src.file.string();
    throw std::runtime_error(where + ": " + key + ": " + problem);
}

std::string hex(std::span<const std::uint8_t> bytes) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xF];
    }
    return out;
}

std::string slot_name(std::uint8_t ref) {
    std::string h = hex(std::span(&ref, 1));
    return {static_cast<char>(std::tolower(h[0])), static_cast<char>(std::tolower(h[1]))};
}

std::optional<Bytes> parse_hex(const std::string& text) {
    Bytes out;
    int high = -1;
    for (char c : text) {
        if (c == ' ' || c == ':') {
            continue;
        }
        int v = std::isxdigit(static_cast<unsigned char>(c))
                    ? std::stoi(std::string(1, c), nullptr, 16)
                    : -1;
        if (v < 0) {
            return std::nullopt;
        }
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) {
        return std::nullopt;
    }
    return out;
}

void check_keys(const Source& src, const json& obj, const std::string& prefix,
                const std::set<std::string>& allowed) {
    if (!obj.is_object()) {
        bad(src, prefix.empty() ? "(top level)" : prefix, "must be a JSON object");
    }
    for (const auto& [key, value] : obj.items()) {
        if (!allowed.count(key)) {
            bad(src, prefix + key, "unknown key");
        }
    }
}

template <typename T>
T get(const Source& src, const json& obj, const std::string& key, const std::string& path,
      T fallback) {
    if (!obj.contains(key)) {
        return fallback;
    }
    try {
        return obj.at(key).get<T>();
    } catch (const json::exception&) {
        bad(src, path + key, "has the wrong type");
    }
}

std::string choice(const Source& src, const json& obj, const std::string& key,
                   const std::string& path, const std::set<std::string>& allowed,
                   const std::string& fallback) {
    auto value = get<std::string>(src, obj, key, path, fallback);
    if (!allowed.count(value)) {
        bad(src, path + key, "\"" + value + "\" is not one of the allowed values");
    }
    return value;
}

Bytes read_binary(const Source& src, const std::string& key, const fs::path& rel) {
    std::ifstream in(src.dir / rel, std::ios::binary);
    if (!in) {
        bad(src, key, "cannot read " + (src.dir / rel).string());
    }
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// RFC 3339 date-times (2024-05-01T00:00:00Z, with an offset, or a bare date) as UTC.
std::time_t parse_time(const Source& src, const std::string& key, const std::string& text) {
    std::tm tm{};
    char sep = 0;
    int off_h = 0, off_m = 0;
    int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    if (n != 3 && (n != 7 || (sep != 'T' && sep != 't' && sep != ' '))) {
        bad(src, key, "\"" + text + "\" is not an RFC 3339 date-time");
    }
    std::size_t zone = text.find_first_of("Zz+-", 10);
    if (n == 7 && zone != std::string::npos && text[zone] != 'Z' && text[zone] != 'z') {
        std::sscanf(text.c_str() + zone + 1, "%2d:%2d", &off_h, &off_m);
        off_m += off_h * 60;
        off_m = text[zone] == '-' ? -off_m : off_m;
    } else if (n == 7 && zone == std::string::npos) {
        bad(src, key, "\"" + text + "\" has no time zone (add Z)");
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm) - static_cast<std::time_t>(off_m) * 60;
}

std::string date_text(std::time_t t, const char* format) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

// PIV PINs are 6 to 8 digits (SP 800-73-4 part 2 clause 2.4.3); a PUK is 6 to 8 bytes.
bool valid_secret(const std::string& s, bool digits_only) {
    if (s.size() < 6 || s.size() > 8) {
        return false;
    }
    for (char c : s) {
        if (static_cast<unsigned char>(c) == 0xFF || (digits_only && (c < '0' || c > '9'))) {
            return false;
        }
    }
    return true;
}

Bytes default_atr(bool t0) {
    const std::string hist = "cactool-PIV1";
    auto k = static_cast<std::uint8_t>(hist.size());
    // T=1: TD1 announces TD2, which names T=1. T=0: no interface bytes at all, and then no
    // check byte either (ISO/IEC 7816-3 clause 8.2.5).
    Bytes atr = t0 ? Bytes{0x3B, k} : Bytes{0x3B, static_cast<std::uint8_t>(0x80 | k), 0x80, 0x01};
    atr.insert(atr.end(), hist.begin(), hist.end());
    if (!t0) {
        std::uint8_t tck = 0;
        for (std::size_t i = 1; i < atr.size(); ++i) {
            tck ^= atr[i];
        }
        atr.push_back(tck);
    }
    return atr;
}

struct Pki {
    Pkey ca_key;
    Cert ca;
};

Pki make_ca(const Source& src) {
    if (src.reuse) {
        return {read_private_key(src.export_dir / "ca.key.pem"),
                read_certificate(src.export_dir / "ca.pem")};
    }
    Pkey key = generate_key(Algorithm::ecc256);
    CertRequest req{"cactool test CA",
                    kCaNotBefore,
                    std::time(nullptr) + 20 * 365 * kDay,
                    true,
                    "keyCertSign,cRLSign",
                    ""};
    return {key, make_certificate(req, key.get(), nullptr, key.get())};
}

CertRequest slot_request(std::uint8_t ref, Algorithm alg) {
    CertRequest req;
    switch (ref) {
        case 0x9A:
            req.common_name = "cactool test PIV Authentication";
            req.key_usage = "digitalSignature";
            req.extended_key_usage = "clientAuth,1.3.6.1.4.1.311.20.2.2";
            break;
        case 0x9C:
            req.common_name = "cactool test Digital Signature";
            req.key_usage = "digitalSignature,nonRepudiation";
            break;
        case 0x9D:
            req.common_name = "cactool test Key Management";
            req.key_usage = alg == Algorithm::rsa2048 ? "keyEncipherment" : "keyAgreement";
            break;
        default:
            req.common_name = "cactool test Card Authentication";
            req.key_usage = "digitalSignature";
            break;
    }
    return req;
}

// valid_days: positive, the certificate is valid for that many days from not_before;
// negative, it expired that many days ago after a year of validity (handy for tests of
// expiry warnings, with no dates to keep up to date). A hundred years either way is plenty,
// and keeps notAfter well inside what an X.509 time can say.
constexpr int kMaxValidDays = 36500;

void set_expired_validity(const Source& src, const json& s, const std::string& path, int days,
                          CertRequest& req) {
    if (s.contains("not_before") || s.contains("not_after")) {
        bad(src, path + "valid_days", "a negative value sets both ends: no not_before/not_after");
    }
    req.not_after = std::time(nullptr) + days * kDay;
    req.not_before = req.not_after - 365 * kDay;
}

void set_validity(const Source& src, const json& s, const std::string& path, CertRequest& req) {
    // Read as a double so that no integer, however large, wraps into the range.
    const double value = get<double>(src, s, "valid_days", path, 365);
    if ((s.contains("valid_days") && !s.at("valid_days").is_number_integer()) || value == 0 ||
        value < -kMaxValidDays || value > kMaxValidDays) {
        bad(src, path + "valid_days",
            "must be a whole number of days from 1 to 36500, or from -36500 to -1 for a "
            "certificate that expired that many days ago");
    }
    const int days = static_cast<int>(value);
    if (days < 0) {
        set_expired_validity(src, s, path, days, req);
        return;
    }
    req.not_before = std::time(nullptr) - kDay;
    if (s.contains("not_before")) {
        req.not_before =
            parse_time(src, path + "not_before", get<std::string>(src, s, "not_before", path, ""));
    }
    req.not_after = req.not_before + days * kDay;
    if (s.contains("not_after")) {
        req.not_after =
            parse_time(src, path + "not_after", get<std::string>(src, s, "not_after", path, ""));
    }
    if (req.not_after <= req.not_before) {
        bad(src, path + "not_after", "must be later than not_before");
    }
}

Pkey slot_key(const Source& src, const json& s, const std::string& path, const std::string& name,
              Algorithm alg) {
    auto key_file = get<std::string>(src, s, "key", path, "generate");
    Pkey key;
    if (key_file != "generate") {
        key = read_private_key(src.dir / key_file);
    } else if (src.reuse && fs::exists(src.export_dir / (name + ".key.pem"))) {
        key = read_private_key(src.export_dir / (name + ".key.pem"));
    } else {
        return generate_key(alg);
    }
    if (key_algorithm(key.get()) != alg) {
        bad(src, path + "key", "the key is not " + algorithm_name(alg));
    }
    return key;
}

SlotKey load_slot(const Source& src, std::uint8_t ref, const json& s, const Pki& pki) {
    std::string name = slot_name(ref);
    std::string path = "slots." + name + ".";
    check_keys(src, s, path,
               {"algorithm", "key", "key_on_card", "certificate", "compress", "not_before",
                "not_after", "valid_days"});
    SlotKey slot;
    slot.ref = ref;
    std::string fallback = (ref == 0x9C) ? "ecc256" : (ref == 0x9E) ? "ecc384" : "rsa2048";
    auto alg_name = get<std::string>(src, s, "algorithm", path, fallback);
    auto alg = algorithm_from_name(alg_name);
    if (!alg) {
        bad(src, path + "algorithm", "\"" + alg_name + "\" is not rsa2048, ecc256 or ecc384");
    }
    slot.algorithm = *alg;
    slot.compressed = get<bool>(src, s, "compress", path, false);
    slot.key_on_card = get<bool>(src, s, "key_on_card", path, true);
    slot.key = slot_key(src, s, path, name, *alg);
    auto cert_file = get<std::string>(src, s, "certificate", path, "generate");
    if (cert_file != "generate") {
        slot.certificate = read_certificate(src.dir / cert_file);
    } else if (src.reuse && fs::exists(src.export_dir / (name + ".pem"))) {
        slot.certificate = read_certificate(src.export_dir / (name + ".pem"));
    } else {
        CertRequest req = slot_request(ref, *alg);
        set_validity(src, s, path, req);
        slot.certificate = make_certificate(req, slot.key.get(), pki.ca.get(), pki.ca_key.get());
    }
    if (!certificate_matches_key(slot.certificate.get(), slot.key.get())) {
        bad(src, path + "certificate", "does not belong to the slot's key");
    }
    return slot;
}

void load_slots(const Source& src, const json& root, Profile& p, const Pki& pki) {
    json slots = root.value("slots", json::object());
    check_keys(src, slots, "slots.", {"9a", "9c", "9d", "9e"});
    for (std::uint8_t ref : kSlotRefs) {
        std::string name = slot_name(ref);
        json s = slots.value(name, json::object());
        if (s.is_null() || s == "absent") {
            continue;  // the profile takes this key away
        }
        p.slots.push_back(load_slot(src, ref, s, pki));
        const SlotKey& slot = p.slots.back();
        p.objects[certificate_tag(ref)] =
            make_certificate_container(certificate_der(slot.certificate.get()), slot.compressed);
    }
}

// One object's profile value: "generate" (the default when `generate` is set), "absent",
// hex digits, or "file:PATH" with the object's bytes.
void load_object(const Source& src, const json& objects, const std::string& key, std::uint32_t tag,
                 bool default_generate, const std::function<Bytes()>& make, Profile& p) {
    auto value =
        get<std::string>(src, objects, key, "objects.", default_generate ? "generate" : "absent");
    std::string path = "objects." + key;
    if (value == "absent") {
        return;
    }
    if (value == "generate") {
        if (!make) {
            bad(src, path, "cannot be generated; give its bytes (hex or file:PATH)");
        }
        p.objects[tag] = make();
    } else if (value.rfind("file:", 0) == 0) {
        p.objects[tag] = read_binary(src, path, value.substr(5));
    } else if (auto bytes = parse_hex(value)) {
        p.objects[tag] = *bytes;
    } else {
        bad(src, path, "is neither generate, absent, file:PATH nor hex");
    }
    if (tag == kTagDiscovery && !read_tlv(p.objects[tag])) {
        bad(src, path, "the discovery object must be one whole TLV (tag 7E)");
    }
}

void load_objects(const Source& src, const json& root, Profile& p, const Pki& pki) {
    json objects = root.value("objects", json::object());
    check_keys(
        src, objects, "objects.",
        {"chuid", "ccc", "printed_information", "key_history", "security_object", "discovery"});
    json discovery = root.value("discovery", json::object());
    check_keys(src, discovery, "discovery.", {"pin_usage_policy"});
    auto policy_text = get<std::string>(src, discovery, "pin_usage_policy", "discovery.", "4010");
    auto policy = parse_hex(policy_text);
    if (!policy || policy->size() != 2) {
        bad(src, "discovery.pin_usage_policy", "must be two bytes in hex, like 4010");
    }
    Bytes ca_hash = sha256(certificate_der(pki.ca.get()));
    std::time_t expiry = std::time(nullptr) + 5 * 365 * kDay;
    load_object(
        src, objects, "chuid", kTagChuid, true,
        [&] {
            return make_chuid(encode_fascn({}), std::span(ca_hash).first(16),
                              date_text(expiry, "%Y%m%d"));
        },
        p);
    load_object(
        src, objects, "ccc", kTagCcc, true,
        [&] { return make_ccc(std::span(ca_hash).subspan(16, 14)); }, p);
    load_object(
        src, objects, "discovery", kTagDiscovery, true,
        [&] {
            return make_discovery(static_cast<std::uint16_t>((*policy)[0] << 8 | (*policy)[1]));
        },
        p);
    load_object(src, objects, "key_history", kTagKeyHistory, true, make_key_history, p);
    load_object(
        src, objects, "printed_information", kTagPrintedInformation, true,
        [&] {
            std::string date = date_text(expiry, "%Y%b%d");
            for (char& c : date) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            return make_printed_information("Test Cardholder", date);
        },
        p);
    load_object(src, objects, "security_object", kTagSecurityObject, false, nullptr, p);
}

void load_secrets(const Source& src, const json& root, Profile& p) {
    p.pin = get<std::string>(src, root, "pin", "", p.pin);
    if (!valid_secret(p.pin, true)) {
        bad(src, "pin", "a PIV PIN is 6 to 8 digits");
    }
    p.puk = get<std::string>(src, root, "puk", "", p.puk);
    if (!valid_secret(p.puk, false)) {
        bad(src, "puk", "a PUK is 6 to 8 bytes");
    }
    p.global_pin_value = get<std::string>(src, root, "global_pin_value", "", p.pin);
    if (!valid_secret(p.global_pin_value, true)) {
        bad(src, "global_pin_value", "a PIN is 6 to 8 digits");
    }
    p.pin_retries = get<int>(src, root, "pin_retries", "", 3);
    p.puk_retries = get<int>(src, root, "puk_retries", "", 3);
    for (auto [key, value] :
         {std::pair{"pin_retries", p.pin_retries}, {"puk_retries", p.puk_retries}}) {
        if (value < 1 || value > 15) {
            bad(src, key, "must be between 1 and 15 (the status word holds one hex digit)");
        }
    }
}

void load_settings(const Source& src, const json& root, Profile& p) {
    check_keys(
        src, root, "",
        {"atr", "pin", "puk", "global_pin_value", "pin_retries", "puk_retries", "retry_encoding",
         "verified_status", "global_pin", "discovery", "transport", "objects", "slots", "piv"});
    load_secrets(src, root, p);
    p.piv_application = get<bool>(src, root, "piv", "", true);
    p.retries_630x = choice(src, root, "retry_encoding", "", {"63Cx", "630x"}, "63Cx") == "630x";
    p.verified_status_count =
        choice(src, root, "verified_status", "", {"9000", "63Cx"}, "9000") == "63Cx";
    p.global_pin = get<bool>(src, root, "global_pin", "", false);
    json transport = root.value("transport", json::object());
    check_keys(src, transport, "transport.", {"t0", "extended_length"});
    p.t0 = get<bool>(src, transport, "t0", "transport.", false);
    p.extended_length = get<bool>(src, transport, "extended_length", "transport.", true);
    p.atr = default_atr(p.t0);
    if (root.contains("atr")) {
        auto atr = parse_hex(get<std::string>(src, root, "atr", "", ""));
        if (!atr || atr->size() < 2 || atr->size() > 33 ||
            ((*atr)[0] != 0x3B && (*atr)[0] != 0x3F)) {
            bad(src, "atr", "must be 2 to 33 bytes in hex starting with 3B or 3F");
        }
        p.atr = *atr;
    }
}

json read_json(const Source& src) {
    std::ifstream in(src.file);
    if (!in) {
        bad(src, "(file)", "cannot be read");
    }
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        bad(src, "(file)", std::string("is not valid JSON: ") + e.what());
    }
}

std::string profile_stamp(const Source& src) {
    std::string content = "default";
    if (!src.file.empty()) {
        std::ifstream in(src.file, std::ios::binary);
        content.assign(std::istreambuf_iterator<char>(in), {});
    }
    return hex(sha256(Bytes(content.begin(), content.end())));
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text << '\n';
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

void export_card(const Profile& p, const Pki& pki, const fs::path& dir, const std::string& stamp) {
    fs::create_directories(dir);
    json slots = json::object();
    for (const SlotKey& s : p.slots) {
        std::string name = slot_name(s.ref);
        write_certificate(dir / (name + ".pem"), s.certificate.get());
        write_private_key(dir / (name + ".key.pem"), s.key.get());
        slots[name] = {{"algorithm", algorithm_name(s.algorithm)},
                       {"certificate", name + ".pem"},
                       {"key", name + ".key.pem"},
                       {"compressed", s.compressed},
                       {"key_on_card", s.key_on_card},
                       {"sha256", hex(sha256(certificate_der(s.certificate.get())))}};
    }
    write_certificate(dir / "ca.pem", pki.ca.get());
    write_private_key(dir / "ca.key.pem", pki.ca_key.get());
    json card = {{"atr", hex(p.atr)},
                 {"slots", slots},
                 {"ca", "ca.pem"},
                 {"pin", {{"tries", p.pin_retries}, {"max", p.pin_retries}, {"value", p.pin}}},
                 {"puk", {{"tries", p.puk_retries}, {"max", p.puk_retries}, {"value", p.puk}}}};
    write_text(dir / "card.json", card.dump(2));
    write_text(dir / ".profile-sha256", stamp);
}

}  // namespace

const SlotKey* Profile::slot(std::uint8_t ref) const {
    for (const SlotKey& s : slots) {
        if (s.ref == ref) {
            return &s;
        }
    }
    return nullptr;
}

LoadedProfile load_profile(const fs::path& file, const fs::path& export_dir) {
    Source src{file, file.empty() ? fs::path() : file.parent_path(), export_dir};
    json root = file.empty() ? json::object() : read_json(src);
    std::string stamp = profile_stamp(src);
    src.reuse = !export_dir.empty() && read_text(export_dir / ".profile-sha256") == stamp &&
                fs::exists(export_dir / "ca.key.pem");
    auto p = std::make_shared<Profile>();
    load_settings(src, root, *p);
    Pki pki = make_ca(src);
    load_slots(src, root, *p, pki);
    load_objects(src, root, *p, pki);
    if (!export_dir.empty()) {
        export_card(*p, pki, export_dir, stamp);
    }
    return {p, file};
}

}  // namespace cardsim
