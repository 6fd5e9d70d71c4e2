// What `slots`, `certs` and `login` share: finding the module the options and the
// configuration name, and the token within it.
#pragma once

#include <vector>

#include "cli/context.hpp"
#include "core/pkcs11/discovery.hpp"
#include "core/pkcs11/module.hpp"
#include "core/pkcs11/slots.hpp"

namespace cac::cli {

// --module, PKCS11_LIB_PATH and the config file, as the discovery rules take them.
DiscoveryInputs discovery_inputs(const Context& ctx);

// The module to use, loaded and initialised.
Module open_module(const Context& ctx);

// A module with its slots read, and the one slot --slot/--token chose (or the first
// holding a token).
struct TokenInModule {
    Module module;
    ModuleInfo info;
    std::vector<Slot> slots;
    const Slot* slot = nullptr;

    const TokenInfo& token() const { return *slot->token; }
};

TokenInModule open_selected_token(const Context& ctx);

// Throws when there is no such PIN to verify: CKR_USER_PIN_NOT_INITIALIZED for a user
// PIN never set (p11-kit-trust has none at all), not_found for an uninitialised token.
void require_pin_initialized(const TokenInfo& token, bool so);

// {"label", "uri"} of a token, for documents about one token.
Json token_reference_json(const TokenInfo& token);

}  // namespace cac::cli
