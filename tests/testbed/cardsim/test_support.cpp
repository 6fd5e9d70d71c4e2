#include "test_support.hpp"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <stdexcept>

#include "profile.hpp"

namespace cardsim::test {

namespace fs = std::filesystem;

Bytes hex(const std::string& text) {
    Bytes out;
    std::string digits;
    for (char c : text) {
        if (c != ' ') {
            digits += c;
        }
    }
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::uint16_t sw(const Bytes& r) {
    if (r.size() < 2) {
        return 0;
    }
    return static_cast<std::uint16_t>(r[r.size() - 2] << 8 | r[r.size() - 1]);
}

Bytes body(const Bytes& r) {
    return r.size() < 2 ? Bytes{} : Bytes(r.begin(), r.end() - 2);
}

Bytes apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data,
           int le) {
    Bytes out = {cla, ins, p1, p2};
    if (!data.empty()) {
        out.push_back(static_cast<std::uint8_t>(data.size()));
        out.insert(out.end(), data.begin(), data.end());
    }
    if (le >= 0) {
        out.push_back(static_cast<std::uint8_t>(le & 0xFF));
    }
    return out;
}

Bytes extended_apdu(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data, int le) {
    Bytes out = {0x00, ins, p1, p2, 0x00};
    if (!data.empty()) {
        out.push_back(static_cast<std::uint8_t>(data.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(data.size()));
        out.insert(out.end(), data.begin(), data.end());
    }
    if (le >= 0) {
        out.push_back(static_cast<std::uint8_t>((le >> 8) & 0xFF));
        out.push_back(static_cast<std::uint8_t>(le & 0xFF));
    }
    return out;
}

Bytes exchange(Card& card, const Bytes& command) {
    Bytes r = card.transmit(command);
    Bytes all = body(r);
    for (int guard = 0; sw(r) >> 8 == 0x61 && guard < 1000; ++guard) {
        r = card.transmit(apdu(0x00, 0xC0, 0x00, 0x00, {}, r[r.size() - 1]));
        Bytes piece = body(r);
        all.insert(all.end(), piece.begin(), piece.end());
    }
    all.push_back(r.size() >= 2 ? r[r.size() - 2] : 0);
    all.push_back(r.size() >= 2 ? r[r.size() - 1] : 0);
    return all;
}

Bytes select_piv(Card& card) {
    return exchange(card, apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 03 08 00 00 10 00 01 00"), 0));
}

Bytes get_data(Card& card, const Bytes& tag) {
    Bytes list = {0x5C, static_cast<std::uint8_t>(tag.size())};
    list.insert(list.end(), tag.begin(), tag.end());
    return exchange(card, apdu(0x00, 0xCB, 0x3F, 0xFF, list, 0));
}

Bytes pin_field(const std::string& pin) {
    Bytes out(pin.begin(), pin.end());
    out.resize(8, 0xFF);
    return out;
}

std::uint16_t verify(Card& card, const std::string& pin, std::uint8_t ref) {
    return sw(card.transmit(apdu(0x00, 0x20, 0x00, ref, pin_field(pin))));
}

TempDir::TempDir() {
    std::random_device rd;
    for (int i = 0; i < 100 && path.empty(); ++i) {
        fs::path p = fs::temp_directory_path() / ("cardsim-test-" + std::to_string(rd()));
        if (fs::create_directory(p)) {
            path = p;
        }
    }
    if (path.empty()) {
        throw std::runtime_error("cannot make a temporary folder");
    }
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

fs::path profiles_dir() {
    const char* dir = std::getenv("CARDSIM_PROFILES");
    if (dir == nullptr) {
        throw std::runtime_error("CARDSIM_PROFILES is not set (meson test sets it)");
    }
    return dir;
}

const Loaded& fixture(const std::string& name) {
    static TempDir root;
    static std::map<std::string, Loaded> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        fs::path out = root.path / (name.empty() ? "default" : name);
        fs::path file = name.empty() ? fs::path() : profiles_dir() / (name + ".json");
        it = cache.emplace(name, Loaded{load_profile(file, out).profile, out}).first;
    }
    return it->second;
}

std::shared_ptr<X509> read_pem_certificate(const fs::path& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) {
        throw std::runtime_error("cannot open " + path.string());
    }
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (cert == nullptr) {
        throw std::runtime_error(path.string() + " holds no certificate");
    }
    return std::shared_ptr<X509>(cert, X509_free);
}

Bytes der_of(X509* cert) {
    unsigned char* buf = nullptr;
    int len = i2d_X509(cert, &buf);
    Bytes out(buf, buf + len);
    OPENSSL_free(buf);
    return out;
}

Bytes digest(const EVP_MD* md, const Bytes& message) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    EVP_Digest(message.data(), message.size(), out.data(), &len, md, nullptr);
    out.resize(len);
    return out;
}

bool verify_with_certificate(X509* cert, const EVP_MD* md, const Bytes& message,
                             const Bytes& signature, bool pkcs1) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    bool ok = EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key) == 1 &&
              (!pkcs1 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
              EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(),
                               message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

}  // namespace cardsim::test
