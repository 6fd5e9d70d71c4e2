// Token selection and RFC 7512 pkcs11: URIs (parsed and formatted by p11-kit).
//
// p11-kit compares URI fields with the raw, blank-padded fields of CK_TOKEN_INFO. Modules
// pad those fields in several ways (left, NUL, none). A URI printed here keeps the
// module's bytes (NUL padding blanked), so other p11-kit users find the token with it
// too; a URI is matched both against those bytes and against the fields re-padded the
// way the standard says, so a URI typed with the trimmed label matches as well.
#pragma once

#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/pkcs11/slots.hpp"

namespace cac {

// A parsed pkcs11: URI.
class TokenUri {
  public:
    // Throws CoreCode::usage with p11-kit's message when the URI is malformed, and when
    // it carries a PIN (pin-value): a PIN is never taken from the command line.
    [[nodiscard]] static TokenUri parse(const std::string& text);

    // Whether the URI's slot, token and (given `module`) library attributes all match.
    bool matches(const Slot& slot, const CK_INFO* module = nullptr) const;

    const std::string& text() const { return text_; }

  private:
    std::shared_ptr<P11KitUri> uri_;
    std::string text_;
};

// The text with the value of every pin-value attribute replaced by "<masked>", for any
// message that names a URI (or a --token value that may be one). pin-source, a file
// name, stays.
[[nodiscard]] std::string masked_uri_text(std::string_view text);

// --slot and --token: a slot id, a token label (compared trimmed and exactly), or a
// pkcs11: URI. Empty means "the first slot holding a token".
struct TokenSelector {
    std::optional<CK_SLOT_ID> slot;
    std::string token;
};

// Every slot, in slot order, whose token (present and readable) the selector names.
// Often more than one: an empty selector, "pkcs11:" and "pkcs11:model=..." name every
// token that fits (RFC 7512 section 2.4: an attribute left out matches everything), and
// two tokens can share a label. Which to use is the caller's choice. Empty when none
// fits; throws CoreCode::usage for a malformed or refused URI.
[[nodiscard]] std::vector<const Slot*> matching_tokens(const std::vector<Slot>& slots,
                                                       const TokenSelector& selector,
                                                       const CK_INFO* module = nullptr);

// The first of matching_tokens. When there is none, throws the error of an explicitly
// chosen slot whose token could not be read, or else CoreCode::not_found naming what
// was there.
[[nodiscard]] const Slot& select_token(const std::vector<Slot>& slots,
                                       const TokenSelector& selector,
                                       const CK_INFO* module = nullptr);

// "pkcs11:model=...;manufacturer=...;serial=...;token=..." (P11_KIT_URI_FOR_TOKEN).
[[nodiscard]] std::string token_uri(const CK_TOKEN_INFO& token);

enum class ObjectType { certificate, private_key, public_key, data, secret_key };

// The token's URI plus id, object label and type ("type=cert", "type=private").
// An empty id or label is left out.
[[nodiscard]] std::string object_uri(const CK_TOKEN_INFO& token, std::span<const std::uint8_t> id,
                                     std::string_view label, ObjectType type);

// The CK_TOKEN_INFO with its text fields re-padded as the standard says.
CK_TOKEN_INFO normalized_token_info(const CK_TOKEN_INFO& token);

}  // namespace cac
