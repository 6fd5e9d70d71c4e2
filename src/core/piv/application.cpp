#include "core/piv/application.hpp"

#include "core/piv/flat_tlv.hpp"
#include "core/util/error.hpp"

namespace cac::piv {
namespace {

constexpr std::uint16_t kSuccess = 0x9000;
constexpr std::uint16_t kNotFound = 0x6A82;
constexpr std::uint16_t kInsNotSupported = 0x6D00;

std::string object_label(std::uint32_t tag) {
    return "PIV object " + tag_hex(tag);
}

void read_algorithms(const Bytes& template_ac, ApplicationTemplate& out) {
    detail::FlatTlv entries = detail::read_flat(template_ac);
    for (const TlvNode& entry : entries.nodes) {
        if (entry.tag == 0x80 && entry.value.size() == 1)
            out.algorithms.push_back(entry.value[0]);
    }
    if (entries.error)
        out.warnings.push_back("the algorithm list (AC) is not TLV: " + *entries.error);
}

void read_authority(const Bytes& template_79, ApplicationTemplate& out) {
    // Part 2 table 3 puts the RID in a 4F inside 79; some cards write the bare RID.
    std::optional<Bytes> aid = detail::value_of_wrapper(template_79, 0x4F);
    if (aid) {
        out.authority = std::move(*aid);
        return;
    }
    out.authority = template_79;
    out.warnings.push_back("the allocation authority (79) holds a bare value, not a 4F");
}

void read_template_fields(const detail::FlatTlv& fields, ApplicationTemplate& out) {
    for (const TlvNode& field : fields.nodes) {
        switch (field.tag) {
            case 0x4F:
                out.aid = field.value;
                break;
            case 0x50:
                out.label.assign(field.value.begin(), field.value.end());
                break;
            case 0x5F50:
                out.url.assign(field.value.begin(), field.value.end());
                break;
            case 0x79:
                read_authority(field.value, out);
                break;
            case 0xAC:
                read_algorithms(field.value, out);
                break;
            default:
                break;
        }
    }
    if (fields.error)
        out.warnings.push_back("the template is cut short: " + *fields.error);
}

// PivApplet 0.8 writes a 128-byte template as 61 80 <128 bytes>: the length 80 (which BER
// reserves for the indefinite form) standing for itself. Read it as such when the bytes
// that follow are exactly that many, or at least that many (a 7F66 may follow).
std::optional<Bytes> misencoded_128(std::span<const std::uint8_t> response) {
    if (response.size() < 2 + 0x80 || response[0] != 0x61 || response[1] != 0x80)
        return std::nullopt;
    return Bytes(response.begin() + 2, response.begin() + 2 + 0x80);
}

}  // namespace

ApduResponse detail::exchange_checked(ApduExchanger& exchanger, const ApduCommand& command,
                                      const std::string& operation) {
    ExchangeResult result = exchanger.exchange(command);
    if (result.failure)
        throw *result.failure;
    if (result.interrupted) {
        StatusWord sw = result.response.sw;
        if (sw.sw1 != 0x90 && sw.sw1 != 0x61)
            throw Error(ErrorDomain::status_word, sw.value(), operation, result.note);
        throw Error(CoreCode::parse_error, operation, result.note);
    }
    return std::move(result.response);
}

ApplicationTemplate parse_application_template(std::span<const std::uint8_t> response) {
    ApplicationTemplate out;
    if (response.empty()) {
        out.warnings.push_back("the card answered SELECT without a template");
        return out;
    }
    // A 7F66 (extended length information) may follow the 61 template.
    std::optional<Bytes> fields = detail::value_of_wrapper(response, 0x61, true);
    if (!fields) {
        fields = misencoded_128(response);
        if (!fields) {
            out.warnings.push_back(
                "the answer to SELECT is not an application property "
                "template (61)");
            return out;
        }
        out.warnings.push_back("the template's length is written 80, read as 128 bytes");
    }
    read_template_fields(detail::read_flat(*fields), out);
    return out;
}

ApplicationTemplate select(ApduExchanger& exchanger) {
    const std::string operation(kSelectOperation);
    ApduCommand command =
        ApduCommand::make(0x00, 0xA4, 0x04, 0x00, Bytes(kPivAid.begin(), kPivAid.end()), 256);
    ApduResponse response = detail::exchange_checked(exchanger, command, operation);
    // 6A82 to SELECT means the application is missing, which is not what the same status
    // word means to GET DATA (an empty slot): a card that is not a PIV card is "not found"
    // (exit 3), with a hint of its own.
    if (response.sw.value() == kNotFound)
        throw Error(CoreCode::not_found, operation,
                    "the card has no PIV application (it answered SW 6A82)")
            .with_hint(
                "this card has no PIV application: it may be a CAC-only or another kind of "
                "card; see 'cactool readers --probe'");
    if (response.sw.value() != kSuccess)
        throw Error(ErrorDomain::status_word, response.sw.value(), operation);
    return parse_application_template(response.data);
}

bool is_no_piv_application(const Error& error) {
    return error.is(CoreCode::not_found) && error.operation() == kSelectOperation;
}

ApduCommand get_data_command(std::uint32_t tag) {
    Bytes tag_bytes;
    for (std::uint32_t t = tag; t != 0 || tag_bytes.empty(); t >>= 8)
        tag_bytes.insert(tag_bytes.begin(), std::uint8_t(t));
    Bytes data{0x5C, std::uint8_t(tag_bytes.size())};
    data.insert(data.end(), tag_bytes.begin(), tag_bytes.end());
    return ApduCommand::make(0x00, 0xCB, 0x3F, 0xFF, std::move(data), 256);
}

Bytes unwrap_object(std::span<const std::uint8_t> response, std::uint32_t tag) {
    // Part 2 section 3.1.2: the Discovery Object and the BIT Group Template come back in
    // their own template, every other object in 53.
    std::uint32_t wrapper = tag == 0x7E || tag == 0x7F61 ? tag : 0x53;
    std::optional<Bytes> value = detail::value_of_wrapper(response, wrapper, true);
    if (!value) {
        throw Error(CoreCode::parse_error, "read " + object_label(tag),
                    "the answer is not one " + tag_hex(wrapper) + " object: " +
                        detail::read_flat(response).error.value_or("it starts with another tag"));
    }
    return std::move(*value);
}

std::optional<Bytes> get_data(ApduExchanger& exchanger, std::uint32_t tag) {
    const std::string operation = "read " + object_label(tag);
    ApduResponse response = detail::exchange_checked(exchanger, get_data_command(tag), operation);
    std::uint16_t sw = response.sw.value();
    if (sw == kNotFound)
        return std::nullopt;
    if (sw == kInsNotSupported) {
        throw Error(ErrorDomain::status_word, sw, operation,
                    "GET DATA is not known here: the PIV application is not selected")
            .with_hint("select the PIV application first");
    }
    if (sw != kSuccess)
        throw Error(ErrorDomain::status_word, sw, operation);
    if (response.data.size() > kMaxObjectBytes) {
        throw Error(CoreCode::parse_error, operation,
                    "the object has " + std::to_string(response.data.size()) +
                        " bytes, over the limit of " + std::to_string(kMaxObjectBytes));
    }
    if (response.data.empty())
        return std::nullopt;  // some cards answer an object never written this way
    return unwrap_object(response.data, tag);
}

}  // namespace cac::piv
