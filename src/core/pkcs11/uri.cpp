#include "core/pkcs11/uri.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include "core/util/error.hpp"
#include "core/util/hex.hpp"
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

constexpr std::string_view uri_scheme = "pkcs11:";

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

// RFC 3986 section 3.1: scheme names are case-insensitive.
bool is_uri(std::string_view text) {
    if (text.size() < uri_scheme.size())
        return false;
    for (std::size_t i = 0; i < uri_scheme.size(); ++i) {
        if (ascii_lower(text[i]) != uri_scheme[i])
            return false;
    }
    return true;
}

// An attribute's name as RFC 7512 compares it: its ABNF spells names as quoted strings,
// which are case-insensitive (RFC 5234 section 2.3), and a percent-encoded character of
// a name is the character itself (RFC 3986 section 6.2.2.2).
std::string attribute_name(std::string_view attribute) {
    std::string_view raw = attribute.substr(0, attribute.find('='));
    std::string name;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        std::optional<Bytes> encoded;
        if (raw[i] == '%' && raw.size() - i > 2)
            encoded = parse_hex(raw.substr(i + 1, 2));
        if (encoded && encoded->size() == 1) {
            name += ascii_lower(char(encoded->at(0)));
            i += 2;
        } else {
            name += ascii_lower(raw[i]);
        }
    }
    return name;
}

bool names_pin_value(std::string_view attribute) {
    return attribute.find('=') != std::string_view::npos &&
           attribute_name(attribute) == "pin-value";
}

// Where each attribute of the URI text starts: after the scheme and after every ';', '&'
// and '?'. That is more places than RFC 7512 delimits ('&' belongs to a path value), so
// that a PIN hidden inside another value is found too.
std::vector<std::size_t> attribute_starts(std::string_view text) {
    std::vector<std::size_t> starts;
    std::size_t start = is_uri(text) ? uri_scheme.size() : 0;
    while (start <= text.size()) {
        starts.push_back(start);
        std::size_t next = text.find_first_of(";&?", start);
        if (next == std::string_view::npos)
            break;
        start = next + 1;
    }
    return starts;
}

bool carries_pin_value(std::string_view text) {
    for (std::size_t start : attribute_starts(text)) {
        if (names_pin_value(text.substr(start, text.find_first_of(";&?", start) - start)))
            return true;
    }
    return false;
}

// A name is put back in normalised form only when it decodes to name characters: a
// decoded ';' or '&' would split the attribute.
std::string normalized_attribute(std::string_view attribute) {
    std::size_t equals = attribute.find('=');
    if (equals == std::string_view::npos)
        return std::string(attribute);
    std::string name = attribute_name(attribute);
    if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        return std::string(attribute);
    return name + std::string(attribute.substr(equals));
}

std::vector<std::string_view> split(std::string_view text, char delimiter) {
    std::vector<std::string_view> parts;
    while (true) {
        std::size_t end = text.find(delimiter);
        parts.push_back(text.substr(0, end));
        if (end == std::string_view::npos)
            return parts;
        text.remove_prefix(end + 1);
    }
}

std::string normalized_component(std::string_view component, char delimiter) {
    std::vector<std::string_view> attributes = split(component, delimiter);
    std::string text = normalized_attribute(attributes.front());
    for (std::size_t i = 1; i < attributes.size(); ++i)
        text += delimiter + normalized_attribute(attributes[i]);
    return text;
}

// The text p11-kit is given. p11-kit compares the scheme and names case-sensitively: it
// would drop "Token=PIV" as an unknown attribute and then match no token at all.
std::string normalized_uri_text(std::string_view text) {
    std::size_t query = text.find('?');
    std::string_view path = text.substr(uri_scheme.size(), query - uri_scheme.size());
    std::string normalized = std::string(uri_scheme) + normalized_component(path, ';');
    if (query != std::string_view::npos)
        normalized += "?" + normalized_component(text.substr(query + 1), '&');
    return normalized;
}

// RFC 7512 section 2.3: no path attribute may appear twice, and of the query only
// vendor attributes may. p11-kit would quietly keep the last one.
void refuse_repeats(std::string_view text) {
    std::size_t query = text.find('?');
    std::string_view path = text.substr(uri_scheme.size(), query - uri_scheme.size());
    std::vector<std::string> names;
    for (std::string_view attribute : split(path, ';'))
        names.push_back(attribute_name(attribute));
    if (query != std::string_view::npos) {
        for (std::string_view attribute : split(text.substr(query + 1), '&')) {
            std::string name = attribute_name(attribute);
            if (name == "pin-source" || name == "module-name" || name == "module-path")
                names.push_back(name);
        }
    }
    std::set<std::string> seen;
    for (const auto& name : names) {
        if (!name.empty() && !seen.insert(name).second) {
            throw Error(CoreCode::usage, "parse pkcs11 URI",
                        "the attribute '" + name + "' appears more than once")
                .with_hint("RFC 7512 allows each attribute once; keep the one you mean");
        }
    }
}

Error pin_in_uri() {
    return Error(CoreCode::usage, "parse pkcs11 URI",
                 "the URI carries a PIN (pin-value), and cactool takes no PIN from the "
                 "command line")
        .with_hint(
            "remove pin-value from the URI and give the PIN with --pin-stdin, "
            "--pin-env VAR or --pin-file PATH, or at the prompt");
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

// A copy of `token` with `change` applied to each text field a URI can name.
template <typename Change>
CK_TOKEN_INFO with_text_fields(const CK_TOKEN_INFO& token, Change change) {
    CK_TOKEN_INFO copy = token;
    change(copy.label);
    change(copy.manufacturerID);
    change(copy.model);
    change(copy.serialNumber);
    return copy;
}

CK_TOKEN_INFO uri_token_info(const CK_TOKEN_INFO& token) {
    return with_text_fields(token, [](auto& field) { blank_nul_padding(field); });
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

std::string masked_uri_text(std::string_view text) {
    std::string masked;
    std::size_t copied = 0;
    std::size_t query = text.find('?');
    for (std::size_t start : attribute_starts(text)) {
        if (start < copied)
            continue;
        if (!names_pin_value(text.substr(start, text.find_first_of(";&?", start) - start)))
            continue;
        std::size_t value = text.find('=', start) + 1;
        // The value runs to the end of the attribute as p11-kit reads it: a path value
        // to the next ';' or the query, a query value to the next '&'.
        bool in_query = query != std::string_view::npos && start > query;
        std::size_t end = in_query ? text.find('&', value) : text.find_first_of(";?", value);
        masked.append(text.substr(copied, value - copied)).append("<masked>");
        copied = end == std::string_view::npos ? text.size() : end;
    }
    return masked.append(text.substr(copied));
}

TokenUri TokenUri::parse(const std::string& text) {
    // Checked before p11-kit sees the text, so that no error of its echoes the PIN.
    if (carries_pin_value(text))
        throw pin_in_uri();
    TokenUri parsed;
    parsed.uri_ = new_uri();
    parsed.text_ = text;
    int rv = P11_KIT_URI_BAD_SCHEME;
    if (is_uri(text)) {
        refuse_repeats(text);
        rv = p11_kit_uri_parse(normalized_uri_text(text).c_str(), P11_KIT_URI_FOR_ANY,
                               parsed.uri_.get());
    }
    if (rv != P11_KIT_URI_OK) {
        throw Error(CoreCode::usage, "parse pkcs11 URI",
                    std::string(p11_kit_uri_message(rv)) + ": " + masked_uri_text(text))
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
    return with_text_fields(token, [](auto& field) { repad(field); });
}

std::vector<const Slot*> matching_tokens(const std::vector<Slot>& slots,
                                         const TokenSelector& selector, const CK_INFO* module) {
    std::optional<TokenUri> uri;
    if (is_uri(selector.token))
        uri = TokenUri::parse(selector.token);
    std::vector<const Slot*> found;
    for (const auto& slot : slots) {
        if (slot.token && selector_matches(slot, selector, uri, module))
            found.push_back(&slot);
    }
    return found;
}

const Slot& select_token(const std::vector<Slot>& slots, const TokenSelector& selector,
                         const CK_INFO* module) {
    std::vector<const Slot*> found = matching_tokens(slots, selector, module);
    if (!found.empty())
        return *found.front();
    // An explicitly chosen slot whose token cannot be read: that is the answer.
    auto chosen = std::find_if(slots.begin(), slots.end(), [&selector](const Slot& slot) {
        return selector.slot && slot.id == *selector.slot;
    });
    if (chosen != slots.end() && chosen->error)
        throw *chosen->error;
    std::string wanted = selector.slot ? "slot " + std::to_string(*selector.slot) : "";
    if (!selector.token.empty())
        wanted += (wanted.empty() ? "token " : " with token ") + masked_uri_text(selector.token);
    if (wanted.empty())
        wanted = "slot holds a token";
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
