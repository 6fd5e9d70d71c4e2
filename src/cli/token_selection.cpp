#include "cli/token_selection.hpp"

#include <cstdlib>

#include "cli/recovery.hpp"
#include "core/pkcs11/uri.hpp"
#include "core/recovery/module_recovery.hpp"
#include "core/util/log.hpp"

namespace cac::cli {

DiscoveryInputs discovery_inputs(const Context& ctx) {
    DiscoveryInputs inputs;
    inputs.module_option = ctx.options.module;
    if (const char* env = std::getenv("PKCS11_LIB_PATH"))
        inputs.env_lib_path = env;
    inputs.config_default_module = ctx.config.module.value_or("");
    inputs.config_search_paths = ctx.config.module_paths;
    return inputs;
}

Module open_module(const Context& ctx) {
    ModuleChoice choice = resolve_module(discovery_inputs(ctx));
    log::info("pkcs11", "using module " + choice.path + " (from " + choice.source + ")");
    return Module::open(choice.path);
}

TokenInModule open_selected_token(const Context& ctx) {
    TokenInModule found{open_module(ctx), {}, {}, nullptr};
    // Reading the module's slots changes nothing: a failure that the taxonomy says can
    // pass (a device error, a module that lost its initialisation) is recovered.
    RunRecovery recovery(ctx);
    ModuleRecoverer recoverer(found.module);
    recovery.policy().run(Repeatable::yes, recoverer, [&] {
        found.info = found.module.info();
        found.slots = list_slots(found.module.cryptoki());
    });
    TokenSelector selector{ctx.slot_id(), ctx.options.token};
    found.slot = &select_token(found.slots, selector, &found.info.raw);
    // Several tokens fit when nothing was chosen, or a URI left attributes out, or two
    // tokens share a label: the first is used, and the operator is told which.
    std::size_t fitting = matching_tokens(found.slots, selector, &found.info.raw).size();
    if (fitting > 1) {
        log::warning("pkcs11", std::to_string(fitting) + " tokens fit; using slot " +
                                   std::to_string(found.slot->id) + " (\"" + found.token().label +
                                   "\"); choose one with --token or --slot");
    }
    return found;
}

void require_pin_initialized(const TokenInfo& token, bool so) {
    if (so && (token.flags & CKF_TOKEN_INITIALIZED) == 0) {
        throw Error(CoreCode::not_found, "verify the SO PIN", "the token is not initialised")
            .with_token(token.label)
            .with_hint("initialise the token first");
    }
    if (!so && (token.flags & CKF_USER_PIN_INITIALIZED) == 0) {
        throw Error(ErrorDomain::pkcs11, CKR_USER_PIN_NOT_INITIALIZED, "verify the user PIN",
                    "the token has no user PIN")
            .with_token(token.label);
    }
}

Json token_reference_json(const TokenInfo& token) {
    return Json{{"label", token.label}, {"uri", token_uri(token.raw)}};
}

}  // namespace cac::cli
