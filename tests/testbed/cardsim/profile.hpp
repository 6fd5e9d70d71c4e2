// A loaded card profile: every value the card needs, with keys and certificates made.
// The JSON format is described in ../README.md ("Card profiles").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "card.hpp"
#include "pki.hpp"

namespace cardsim {

struct SlotKey {
    std::uint8_t ref = 0;  // 9A, 9C, 9D or 9E
    Algorithm algorithm = Algorithm::rsa2048;
    Pkey key;
    Cert certificate;
    bool compressed = false;
    // false: the certificate is on the card but its private key is not (a key lost or
    // never loaded); the key still exists, in the export folder, to sign the certificate.
    bool key_on_card = true;
};

struct Profile {
    Bytes atr;
    std::string pin = "123456";
    std::string puk = "12345678";
    std::string global_pin_value = "123456";
    int pin_retries = 3;
    int puk_retries = 3;
    bool retries_630x = false;           // retry_encoding "630x"
    bool verified_status_count = false;  // verified_status "63Cx"
    bool global_pin = false;
    bool t0 = false;
    bool extended_length = true;
    // false: a card without a PIV application (SELECT of the PIV AID answers 6A82), such
    // as a payment card or a card only a vendor's middleware supports.
    bool piv_application = true;
    // Data objects by container tag; the value is what GET DATA wraps in tag 53, except for
    // the discovery object (7E), which is stored whole, tag and length included.
    std::map<std::uint32_t, Bytes> objects;
    std::vector<SlotKey> slots;

    const SlotKey* slot(std::uint8_t ref) const;
};

}  // namespace cardsim
