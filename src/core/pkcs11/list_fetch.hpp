// The PKCS#11 two-call idiom for lists (PKCS#11 v2.40 section 5.2): ask for the count
// with a NULL buffer, then fetch into a buffer of that size.
//
// Between the two calls the list can grow (a reader plugged in, a slot appearing), and
// the second call then fails with CKR_BUFFER_TOO_SMALL. Some modules put the new count
// in *count, some leave it alone; either way the count is asked again. The retries are
// bounded so that a module that keeps answering inconsistently produces an error
// instead of a loop.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace cac {

inline constexpr int list_fetch_attempts = 5;

// `call(T* buffer, CK_ULONG* count)` makes one C_Get...List call.
template <typename T, typename Call>
std::vector<T> fetch_list(const char* operation, Call&& call) {
    std::vector<T> list;
    CK_ULONG count = 0;
    for (int attempt = 0; attempt < list_fetch_attempts; ++attempt) {
        CK_RV rv = call(nullptr, &count);
        if (rv != CKR_OK)
            throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), operation);
        if (count == 0)
            return {};
        list.assign(count, T{});
        CK_ULONG filled = count;
        rv = call(list.data(), &filled);
        if (rv == CKR_OK && filled <= list.size()) {
            list.resize(filled);
            return list;
        }
        if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
            throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), operation);
    }
    throw Error(ErrorDomain::pkcs11, std::uint32_t(CKR_BUFFER_TOO_SMALL), operation,
                "the list kept changing size between calls (gave up after " +
                    std::to_string(list_fetch_attempts) + " attempts)")
        .with_hint(
            "the module's slot or mechanism list is unstable; "
            "wait for readers to settle and try again");
}

}  // namespace cac
