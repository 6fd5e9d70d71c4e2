#include "core/pkcs11/uri.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/util/error.hpp"
#include "core/util/text.hpp"

namespace cac {
namespace {

constexpr CK_SLOT_ID no_slot_id = CK_SLOT_ID(-1);

template <std::size_t N>
void repad(unsigned char (&field)[N]) {
    std::string text = fixed_field_text(field);
    std::memset(field, ' ', N);
    std::memcpy(field, text.data(), std::min(text.size(), N));
}

CK_SLOT_INFO normalized_slot_info(const CK_SLOT_INFO& slot) {
    CK_SLOT_INFO copy = slot;
    repad(copy.slotDescription);
    repad(copy.manufacturerID);
    return copy;
}

CK_INFO normalized_module_info(const CK_INFO& module) {
    CK_INFO copy = module;
    repad(copy.manufacturerID);
    repad(copy.libraryDescription);
    return copy;
}

std::string trimmed(std::string_view text) {
    std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    std::size_t last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

bool is_uri(std::string_view text) {
    return text.substr(0, 7) == "pkcs11:";
}

struct UriDeleter {
    void operator()(P11KitUri* uri) const { p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriDeleter>;

UriPtr new_uri() {
    UriPtr uri(p11_kit_uri_new());
    if (!uri)
        throw Error(CoreCode::internal, "create pkcs11 URI", "out of memory");
    return uri;
}

std::string format(P11KitUri* uri, P11KitUriType type) {
    char* text = nullptr;
    int rv = p11_kit_uri_format(uri, type, &text);
    if (rv != P11_KIT_URI_OK)
        throw Error(CoreCode::internal, "format pkcs11 URI", p11_kit_uri_message(rv));
    std::string result(text);
    std::free(text);
    return result;
}

// A field as other p11-kit users see it: the module's bytes, with NUL padding (which
// the standard does not allow, and p11-kit would percent-encode) turned into blanks.
// Leading blanks stay, so a URI printed here finds the token in p11tool and friends too.
template <std::size_t N>
void blank_nul_padding(unsigned char (&field)[N]) {
    unsigned char* end = std::find(field, field + N, 0);
    std::fill(end, field + N, ' ');
}

CK_TOKEN_INFO uri_token_info(const CK_TOKEN_INFO& token) {
    CK_TOKEN_INFO copy = token;
    blank_nul_padding(copy.label);
    blank_nul_padding(copy.manufacturerID);
    blank_nul_padding(copy.model);
    blank_nul_padding(copy.serialNumber);
    return copy;
}

void set_token(P11KitUri* uri, const CK_TOKEN_INFO& token) {
    CK_TOKEN_INFO* info = p11_kit_uri_get_token_info(uri);
    *info = uri_token_info(token);
}

CK_OBJECT_CLASS object_class(ObjectType type) {
    switch (type) {
        case ObjectType::certificate:
            return CKO_CERTIFICATE;
        case ObjectType::private_key:
            return CKO_PRIVATE_KEY;
        case ObjectType::public_key:
            return CKO_PUBLIC_KEY;
        case ObjectType::data:
            return CKO_DATA;
        case ObjectType::secret_key:
            return CKO_SECRET_KEY;
    }
    return CKO_DATA;
}

void set_attribute(P11KitUri* uri, CK_ATTRIBUTE_TYPE type, const void* value, std::size_t size) {
    CK_ATTRIBUTE attribute{type, const_cast<void*>(value), CK_ULONG(size)};
    int rv = p11_kit_uri_set_attribute(uri, &attribute);
    if (rv != P11_KIT_URI_OK)
        throw Error(CoreCode::internal, "format pkcs11 URI", p11_kit_uri_message(rv));
}

std::string describe(const Slot& slot) {
    std::string text = "slot " + std::to_string(slot.id);
    if (slot.token)
        return text + " \"" + slot.token->label + "\"";
    if (slot.error)
        return text + " (unreadable: " + slot.error->code_text() + ")";
    return text + " (no token)";
}

std::string describe(const std::vector<Slot>& slots) {
    std::string text;
    for (const auto& slot : slots)
        text += (text.empty() ? "" : ", ") + describe(slot);
    return text.empty() ? "the module has no slots" : "found: " + text;
}

bool selector_matches(const Slot& slot, const TokenSelector& selector,
                      const std::optional<TokenUri>& uri, const CK_INFO* module) {
    if (selector.slot && slot.id != *selector.slot)
        return false;
    if (uri)
        return uri->matches(slot, module);
    if (!selector.token.empty())
        return slot.token && slot.token->label == trimmed(selector.token);
    return true;
}

}  // namespace

TokenUri TokenUri::parse(const std::string& text) {
    TokenUri parsed;
    parsed.uri_ = new_uri();
    parsed.text_ = text;
    int rv = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_ANY, parsed.uri_.get());
    if (rv != P11_KIT_URI_OK) {
        throw Error(CoreCode::usage, "parse pkcs11 URI",
                    std::string(p11_kit_uri_message(rv)) + ": " + text)
            .with_hint("write the URI as RFC 7512 says, e.g. pkcs11:token=PIV_II");
    }
    return parsed;
}

bool TokenUri::matches(const Slot& slot, const CK_INFO* module) const {
    CK_SLOT_ID wanted = p11_kit_uri_get_slot_id(uri_.get());
    if (wanted != no_slot_id && wanted != slot.id)
        return false;
    if (module != nullptr) {
        CK_INFO info = normalized_module_info(*module);
        if (!p11_kit_uri_match_module_info(uri_.get(), &info))
            return false;
    }
    if (slot.info) {
        CK_SLOT_INFO info = normalized_slot_info(slot.info->raw);
        if (!p11_kit_uri_match_slot_info(uri_.get(), &info))
            return false;
    }
    if (!slot.token)
        return false;
    // The URI may name the token as the module pads it (as printed here and by p11tool)
    // or as an operator types it, trimmed.
    CK_TOKEN_INFO as_printed = uri_token_info(slot.token->raw);
    CK_TOKEN_INFO as_typed = normalized_token_info(slot.token->raw);
    return p11_kit_uri_match_token_info(uri_.get(), &as_printed) != 0 ||
           p11_kit_uri_match_token_info(uri_.get(), &as_typed) != 0;
}

CK_TOKEN_INFO normalized_token_info(const CK_TOKEN_INFO& token) {
    CK_TOKEN_INFO copy = token;
    repad(copy.label);
    repad(copy.manufacturerID);
    repad(copy.model);
    repad(copy.serialNumber);
    return copy;
}

const Slot& select_token(const std::vector<Slot>& slots, const TokenSelector& selector,
                         const CK_INFO* module) {
    std::optional<TokenUri> uri;
    if (is_uri(selector.token))
        uri = TokenUri::parse(selector.token);
    for (const auto& slot : slots) {
        if (!selector_matches(slot, selector, uri, module))
            continue;
        if (slot.token)
            return slot;
        // An explicitly chosen slot whose token cannot be read: that is the answer.
        if (selector.slot && slot.error)
            throw *slot.error;
    }
    std::string wanted = selector.slot ? "slot " + std::to_string(*selector.slot) : "";
    if (!selector.token.empty())
        wanted += (wanted.empty() ? "token " : " with token ") + selector.token;
    if (wanted.empty())
        wanted = "a slot with a token";
    throw Error(CoreCode::not_found, "select token", "no " + wanted + "; " + describe(slots))
        .with_hint("list the tokens with 'cactool slots'");
}

std::string token_uri(const CK_TOKEN_INFO& token) {
    UriPtr uri = new_uri();
    set_token(uri.get(), token);
    return format(uri.get(), P11_KIT_URI_FOR_TOKEN);
}

std::string object_uri(const CK_TOKEN_INFO& token, std::span<const std::uint8_t> id,
                       std::string_view label, ObjectType type) {
    UriPtr uri = new_uri();
    set_token(uri.get(), token);
    if (!id.empty())
        set_attribute(uri.get(), CKA_ID, id.data(), id.size());
    if (!label.empty())
        set_attribute(uri.get(), CKA_LABEL, label.data(), label.size());
    CK_OBJECT_CLASS klass = object_class(type);
    set_attribute(uri.get(), CKA_CLASS, &klass, sizeof klass);
    return format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN);
}

}  // namespace cac
