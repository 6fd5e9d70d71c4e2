// Helpers shared by the card's unit tests: building APDUs, reading answers, loading the
// fixture profiles in tests/testbed/profiles, and OpenSSL as the independent witness.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <string>

#include "card.hpp"

namespace cardsim::test {

Bytes hex(const std::string& text);
std::uint16_t sw(const Bytes& response);
Bytes body(const Bytes& response);  // the response without its status word

// Short APDU: header, Lc and data when data is not empty, Le when le >= 0 (256 → 00).
Bytes apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
           const Bytes& data = {}, int le = -1);
Bytes extended_apdu(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data, int le);

// Sends `command`, then GET RESPONSE while the card answers 61xx; returns all the data and
// the last status word.
Bytes exchange(Card& card, const Bytes& command);

Bytes select_piv(Card& card);
Bytes get_data(Card& card, const Bytes& tag);
std::uint16_t verify(Card& card, const std::string& pin, std::uint8_t ref = 0x80);
Bytes pin_field(const std::string& pin);

// A folder under the system's temporary directory, removed with its contents at the end.
struct TempDir {
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path path;
};

// The fixture profiles (CARDSIM_PROFILES names their folder), each loaded once per run.
struct Loaded {
    std::shared_ptr<const Profile> profile;
    std::filesystem::path card_dir;  // what load_profile exported
};
const Loaded& fixture(const std::string& name);  // "" for the default card
std::filesystem::path profiles_dir();

std::shared_ptr<X509> read_pem_certificate(const std::filesystem::path& path);
Bytes der_of(X509* cert);
bool verify_with_certificate(X509* cert, const EVP_MD* md, const Bytes& message,
                             const Bytes& signature, bool pkcs1);
Bytes digest(const EVP_MD* md, const Bytes& message);

}  // namespace cardsim::test
