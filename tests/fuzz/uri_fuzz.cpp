// pkcs11: URIs come from the command line and config files: parsing and masking them
// must neither crash nor let a pin-value through.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/pkcs11/uri.hpp"
#include "core/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    std::string masked = cac::masked_uri_text(text);
    (void)masked;
    try {
        cac::TokenUri uri = cac::TokenUri::parse(text);
        (void)uri;
    } catch (const cac::Error& e) {
        (void)e.message();
    }
    return 0;
}
