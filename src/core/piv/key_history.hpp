// The Key History object (SP 800-73-4 part 1 appendix A table 19, object 5FC10C), free to
// read: how many retired key management keys the card holds (at most 20, references 82
// to 95), counted by where their certificates are: C1 on the card (in 5FC10D onwards),
// C2 off the card, at the URL in F3, which table 19 requires when C2 is not zero.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cac::piv {

// The retired key slots SP 800-73-4 defines (key references 82 to 95).
inline constexpr unsigned kRetiredKeySlots = 20;

struct KeyHistory {
    std::optional<std::uint8_t> keys_with_on_card_certs;   // C1
    std::optional<std::uint8_t> keys_with_off_card_certs;  // C2
    std::optional<std::string> off_card_cert_url;          // F3
    std::vector<std::string> warnings;
};

// Reads the object: the value of its 53 wrapper or the whole object. Missing counts, a
// count that is not one byte, more than 20 keys, off-card certificates without a URL and
// truncation are warnings. Throws Error(parse_error) when no TLV at all can be read.
KeyHistory parse_key_history(std::span<const std::uint8_t> object);

}  // namespace cac::piv
