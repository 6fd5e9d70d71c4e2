#include "core/apdu/response.hpp"

#include "core/util/error.hpp"

namespace cac {

ApduResponse ApduResponse::decode(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 2) {
        throw Error(CoreCode::parse_error, "read the card's response",
                    "the response has " + std::to_string(bytes.size()) +
                        " byte(s); it needs at least the two status bytes");
    }
    ApduResponse response;
    response.data.assign(bytes.begin(), bytes.end() - 2);
    response.sw = {bytes[bytes.size() - 2], bytes[bytes.size() - 1]};
    return response;
}

Bytes ApduResponse::encode() const {
    Bytes out = data;
    out.push_back(sw.sw1);
    out.push_back(sw.sw2);
    return out;
}

std::string ApduResponse::describe() const {
    std::string text = sw.hex() + " (" + meaning().text + ")";
    if (!data.empty())
        text += ", " + std::to_string(data.size()) + " bytes";
    return text;
}

}  // namespace cac
