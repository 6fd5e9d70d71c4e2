#include "core/util/secret.hpp"

#include <openssl/crypto.h>

namespace cac {

void wipe(void* data, std::size_t size) noexcept {
    if (data != nullptr && size != 0) {
        OPENSSL_cleanse(data, size);
    }
}

}  // namespace cac
