#include "core/piv/key_history.hpp"

#include "core/piv/flat_tlv.hpp"

namespace cac::piv {
namespace {

constexpr std::uint32_t kOnCard = 0xC1;
constexpr std::uint32_t kOffCard = 0xC2;
constexpr std::uint32_t kUrl = 0xF3;

std::optional<std::uint8_t> count(const detail::FlatTlv& fields, std::uint32_t tag,
                                  const char* name, std::vector<std::string>& warnings) {
    const TlvNode* node = fields.find(tag);
    if (!node) {
        warnings.push_back(std::string("no count of ") + name + " (" + tag_hex(tag) + ")");
        return std::nullopt;
    }
    if (node->value.size() != 1) {
        warnings.push_back(std::string("the count of ") + name + " (" + tag_hex(tag) + ") has " +
                           std::to_string(node->value.size()) + " bytes, not 1");
        return std::nullopt;
    }
    return node->value[0];
}

void check_counts(KeyHistory& out) {
    unsigned keys = unsigned(out.keys_with_on_card_certs.value_or(0)) +
                    unsigned(out.keys_with_off_card_certs.value_or(0));
    if (keys > kRetiredKeySlots) {
        out.warnings.push_back(std::to_string(keys) +
                               " retired keys, more than the 20 a card can hold");
    }
    if (out.keys_with_off_card_certs.value_or(0) > 0 && !out.off_card_cert_url)
        out.warnings.push_back("certificates off the card, but no URL (F3) to find them");
}

}  // namespace

KeyHistory parse_key_history(std::span<const std::uint8_t> object) {
    detail::FlatTlv fields = detail::read_object(object, "read the key history");
    KeyHistory out;
    out.keys_with_on_card_certs =
        count(fields, kOnCard, "keys with on-card certificates", out.warnings);
    out.keys_with_off_card_certs =
        count(fields, kOffCard, "keys with off-card certificates", out.warnings);
    if (const TlvNode* url = fields.find(kUrl))
        out.off_card_cert_url = std::string(url->value.begin(), url->value.end());
    if (fields.error)
        out.warnings.push_back("the key history is truncated: " + *fields.error);
    check_counts(out);
    return out;
}

}  // namespace cac::piv
