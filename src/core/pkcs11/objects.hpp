// Objects on a token: searching, reading attributes, and what the CLI asks of them.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/pkcs11/cryptoki.hpp"
#include "core/util/hex.hpp"

namespace cac {

// A search template entry: the attribute and its value's bytes.
struct AttributeMatch {
    CK_ATTRIBUTE_TYPE type;
    Bytes value;
};

// A CK_ULONG-valued template entry (CKA_CLASS, CKA_KEY_TYPE...).
AttributeMatch ulong_match(CK_ATTRIBUTE_TYPE type, CK_ULONG value);

// One C_FindObjectsInit ... C_FindObjectsFinal operation; Final is called by the
// destructor whatever happened in between.
class ObjectSearch {
  public:
    // Throws Error(ErrorDomain::pkcs11, rv, "C_FindObjectsInit").
    ObjectSearch(const Cryptoki& cryptoki, CK_SESSION_HANDLE session,
                 const std::vector<AttributeMatch>& templ);
    ObjectSearch(const ObjectSearch&) = delete;
    ObjectSearch& operator=(const ObjectSearch&) = delete;
    ~ObjectSearch();

    // Up to `batch` more handles; empty when the search is done.
    [[nodiscard]] std::vector<CK_OBJECT_HANDLE> next(CK_ULONG batch = 64);

  private:
    Cryptoki cryptoki_;
    CK_SESSION_HANDLE session_;
    bool active_ = false;
};

// All matching objects, at most `limit` (a module that never ends a search cannot keep
// us looping).
[[nodiscard]] std::vector<CK_OBJECT_HANDLE> find_objects(const Cryptoki& cryptoki,
                                                         CK_SESSION_HANDLE session,
                                                         const std::vector<AttributeMatch>& templ,
                                                         std::size_t limit = 100000);

// What became of one attribute read.
enum class AttributeState {
    present,      // `value` holds the bytes (possibly none)
    absent,       // CKR_ATTRIBUTE_TYPE_INVALID: the object has no such attribute
    sensitive,    // CKR_ATTRIBUTE_SENSITIVE: it exists but may not be revealed
    unavailable,  // the module answered CK_UNAVAILABLE_INFORMATION without saying why
    too_large,    // larger than the limit given to read_attributes; not fetched
};

std::string_view to_string(AttributeState state);

struct Attribute {
    CK_ATTRIBUTE_TYPE type = 0;
    AttributeState state = AttributeState::unavailable;
    Bytes value;
    // The length the module reported, for too_large.
    CK_ULONG reported_length = 0;

    bool present() const { return state == AttributeState::present; }
    // The value as a CK_ULONG, when present with that size.
    std::optional<CK_ULONG> as_ulong() const;
    // The value as text (CKA_LABEL), when present.
    std::optional<std::string> as_text() const;
};

inline constexpr std::size_t default_attribute_limit = 1024 * 1024;

// Reads the attributes of one object, in the order asked. Modules answer a batch in
// every way the standard allows and some it does not; this asks for all lengths in one
// call and all values in another, and falls back to one attribute per call for whatever
// the batch left unclear. Throws only for failures that are not about an attribute
// (session gone, device removed...).
[[nodiscard]] std::vector<Attribute> read_attributes(const Cryptoki& cryptoki,
                                                     CK_SESSION_HANDLE session,
                                                     CK_OBJECT_HANDLE object,
                                                     std::span<const CK_ATTRIBUTE_TYPE> types,
                                                     std::size_t limit = default_attribute_limit);

struct CertificateObject {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    std::optional<std::string> label;
    std::optional<Bytes> id;
    std::optional<Bytes> value;  // DER
    std::optional<CK_CERTIFICATE_TYPE> certificate_type;
};

// The handles of every CKO_CERTIFICATE object, for reading them one at a time.
[[nodiscard]] std::vector<CK_OBJECT_HANDLE> certificate_handles(const Cryptoki& cryptoki,
                                                                CK_SESSION_HANDLE session);

// One certificate object's CKA_LABEL, CKA_ID, CKA_VALUE and CKA_CERTIFICATE_TYPE, read
// in one batch.
[[nodiscard]] CertificateObject read_certificate(const Cryptoki& cryptoki,
                                                 CK_SESSION_HANDLE session,
                                                 CK_OBJECT_HANDLE handle);

// The CKA_ID of every CKO_PRIVATE_KEY object visible in the session (before login,
// private keys are often hidden). Keys without an id are left out.
[[nodiscard]] std::vector<Bytes> private_key_ids(const Cryptoki& cryptoki,
                                                 CK_SESSION_HANDLE session);

}  // namespace cac
