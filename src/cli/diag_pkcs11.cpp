// diag's PKCS#11 checks: the modules that can be found and loaded, the tokens of the one
// in use set against the cards PC/SC sees, and the PIN status of each token.
#include <algorithm>
#include <filesystem>

#include "cli/diag.hpp"
#include "cli/token_selection.hpp"
#include "core/card/pin_policy.hpp"
#include "core/pkcs11/uri.hpp"

namespace cac::cli {
namespace {

constexpr const char* kUnsupportedHint =
    "the module does not support this card: use a module that supports it (OpenSC for PIV "
    "and CAC, or the issuer's middleware), or check the module's configuration";

std::string same_file_key(const std::string& path) {
    std::error_code ec;
    std::filesystem::path real = std::filesystem::weakly_canonical(path, ec);
    return ec ? path : real.string();
}

// The error's own words: the loader's reason (dlerror) is in its message. A library that
// loads but has no C_GetFunctionList is named as what it is not.
std::string failure_text(const Error& e) {
    if (e.is(CoreCode::not_a_pkcs11_module))
        return "not a PKCS#11 module: " + e.message();
    return e.message();
}

// Loading alone (dlopen and C_GetFunctionList) tells whether a module is usable without
// initialising every module on the machine.
void check_candidate(DiagState& state, const ModuleChoice& choice) {
    try {
        Module module = Module::load(choice.path);
        state.report("module", CheckStatus::pass, "loads (from " + choice.source + ")", {},
                     choice.path);
    } catch (const Error& e) {
        state.report("module", CheckStatus::warn, failure_text(e), e.hint(), choice.path);
    }
}

// The module tokens are looked for in: it must load and initialise.
void open_chosen(DiagState& state, const ModuleChoice& choice) {
    try {
        Module module = Module::open(choice.path);
        ModuleInfo info = module.info();
        state.report("module", CheckStatus::pass,
                     "in use (from " + choice.source + "): " + info.manufacturer + ", " +
                         info.description + ", cryptoki " + info.cryptoki_version,
                     {}, choice.path);
        state.module.emplace(LoadedModule{choice, std::move(module)});
    } catch (const Error& e) {
        state.module_problem = failure_text(e);
        state.report("module", CheckStatus::fail, state.module_problem, e.hint(), choice.path);
    }
}

// The cross-check of the two views: a card PC/SC sees should be a token of the module.
// Why the module may show no token, from what the PC/SC checks found: a module reaches
// the cards through pcscd, so the first broken layer below it is the one to name.
std::string no_token_hint(DiagState& state) {
    if (!state.pcsc)
        return "pcscd is not reachable (see the pcscd check), and the module reaches the cards "
               "through it";
    if (state.readers) {
        bool card = std::any_of(state.readers->begin(), state.readers->end(),
                                [](const pcsc::Reader& r) { return !r.atr.empty(); });
        if (!card)
            return "insert the card (PC/SC sees none)";
    }
    for (const CheckResult& r : state.results()) {
        if (r.id == "card_access" && r.status == CheckStatus::fail)
            return "the card cannot be reached (see the card_access check)";
    }
    return "the card is in, but the module shows no token for it: the module may not support "
           "it";
}

void check_cards_against_tokens(DiagState& state) {
    if (!state.readers) {
        state.report("card_token", CheckStatus::skip, "the readers could not be read over PC/SC");
        return;
    }
    bool any_card = false;
    for (const pcsc::Reader& reader : *state.readers) {
        if (reader.atr.empty())
            continue;
        any_card = true;
        const Slot* slot = slot_of_reader(state.slots, reader.name);
        if (slot == nullptr) {
            state.report("card_token", CheckStatus::skip,
                         "no slot of the module names this reader: which token is this card "
                         "cannot be told",
                         {}, reader.name);
        } else if (!slot->token) {
            state.report("card_token", CheckStatus::fail,
                         "PC/SC sees a card, but the module has no token for it: the module "
                         "does not support this card",
                         kUnsupportedHint, reader.name);
        } else {
            state.report("card_token", CheckStatus::pass,
                         "the card is token \"" + slot->token->label + "\"", {}, reader.name);
        }
    }
    if (!any_card)
        state.report("card_token", CheckStatus::skip, "PC/SC sees no card");
}

// --slot and --token narrow the token checks to the tokens they choose; --reader alone
// to its slot, for a module whose slots are readers. False (a failed check reported) when
// nothing is left: the options name no token of this module.
bool narrow_slots(DiagState& state) {
    const Context& ctx = state.ctx;
    TokenSelector selector{ctx.slot_id(), ctx.options.token};
    if (selector.slot || !selector.token.empty()) {
        CK_INFO info = state.module->module.info().raw;
        std::vector<const Slot*> chosen = matching_tokens(state.slots, selector, &info);
        if (chosen.empty()) {
            try {
                (void)select_token(state.slots, selector, &info);
            } catch (const Error& e) {
                state.report("token", CheckStatus::fail, failure_text(e),
                             "--slot and --token choose among the tokens 'cactool slots' lists");
            }
            state.slots.clear();
            return false;
        }
        std::vector<Slot> kept;
        for (const Slot* slot : chosen)
            kept.push_back(*slot);
        state.slots = std::move(kept);
        return true;
    }
    if (!ctx.options.reader.empty() && state.readers && state.readers->empty()) {
        state.report("token", CheckStatus::skip,
                     "--reader names no reader pcscd lists (see readers): no token to look at");
        state.slots.clear();
        return false;
    }
    if (!ctx.options.reader.empty() && state.readers && state.readers->size() == 1) {
        const Slot* slot = slot_of_reader(state.slots, state.readers->front().name);
        if (slot != nullptr) {
            Slot kept = *slot;
            state.slots = {std::move(kept)};
        }
    }
    return true;
}

}  // namespace

bool token_initialised(const Slot& slot) {
    return slot.token && (slot.token->flags & CKF_TOKEN_INITIALIZED) != 0;
}

const Slot* slot_of_reader(const std::vector<Slot>& slots, const std::string& reader) {
    for (const Slot& slot : slots) {
        // CK_SLOT_INFO's description holds 64 characters: a longer reader name is cut.
        if (slot.info && !slot.info->description.empty() &&
            reader.starts_with(slot.info->description))
            return &slot;
    }
    return nullptr;
}

void check_modules(DiagState& state) {
    DiscoveryInputs inputs = discovery_inputs(state.ctx);
    std::string chosen_key;
    try {
        ModuleChoice choice = resolve_module(inputs);
        chosen_key = same_file_key(choice.path);
        open_chosen(state, choice);
    } catch (const Error& e) {
        state.module_problem = failure_text(e);
        state.report("module", CheckStatus::fail, state.module_problem, e.hint(),
                     inputs.module_option);
    }
    for (const ModuleChoice& choice : candidate_modules(inputs)) {
        if (same_file_key(choice.path) != chosen_key)
            check_candidate(state, choice);
    }
}

void check_tokens(DiagState& state) {
    if (!state.module) {
        state.report("token", CheckStatus::skip, "no module in use: " + state.module_problem);
        state.report("card_token", CheckStatus::skip, "no module in use");
        return;
    }
    try {
        state.slots = list_slots(state.module->module.cryptoki());
        state.slots_read = true;
    } catch (const Error& e) {
        state.report("token", CheckStatus::fail, failure_text(e), e.hint());
        state.report("card_token", CheckStatus::skip, "the module's slots could not be read");
        return;
    }
    if (!narrow_slots(state)) {
        state.report("card_token", CheckStatus::skip, "no token is chosen (see token)");
        return;
    }
    bool any = false;
    // A slot that failed is reported, with its own hint; "no token" would count it twice.
    bool slot_failed = false;
    bool uninitialised = false;
    for (const Slot& slot : state.slots) {
        std::string about = "slot " + std::to_string(slot.id);
        if (slot.info && !slot.info->description.empty())
            about += " (" + slot.info->description + ")";
        if (slot.error && slot.error->is(ErrorDomain::pkcs11, CKR_TOKEN_NOT_RECOGNIZED)) {
            // A card is in the reader, but none of the module's drivers knows it.
            slot_failed = true;
            state.report("token", CheckStatus::fail,
                         "the module does not support this card (C_GetTokenInfo: "
                         "CKR_TOKEN_NOT_RECOGNIZED)",
                         kUnsupportedHint, about);
        } else if (slot.error) {
            slot_failed = true;
            state.report("token", CheckStatus::fail, failure_text(*slot.error), slot.error->hint(),
                         about);
        } else if (slot.token && !token_initialised(slot)) {
            uninitialised = true;
            state.report("token", CheckStatus::skip,
                         "token not initialised (no label, no objects): nothing on it to check", {},
                         about);
        } else if (slot.token) {
            any = true;
            state.report("token", CheckStatus::pass,
                         "\"" + slot.token->label + "\" (" + slot.token->manufacturer +
                             ", serial " + slot.token->serial + ")",
                         {}, about);
        }
    }
    if (!any && uninitialised) {
        state.report("token", CheckStatus::fail, "the module shows no initialised token",
                     "token not initialised: initialise it (for SoftHSM2, 'softhsm2-util "
                     "--init-token'), or choose the module of the card with --module");
    } else if (!any && !slot_failed) {
        state.report("token", CheckStatus::fail, "the module shows no token", no_token_hint(state));
    }
    check_cards_against_tokens(state);
}

void check_pin_status(DiagState& state) {
    if (!state.slots_read) {
        state.report("pin_status", CheckStatus::skip, "no token could be read");
        return;
    }
    bool any = false;
    for (const Slot& slot : state.slots) {
        if (!slot.token)
            continue;
        any = true;
        if (!token_initialised(slot)) {
            state.report("pin_status", CheckStatus::skip, "token not initialised", {},
                         "slot " + std::to_string(slot.id));
        } else {
            report(state, judge_pin_status(*slot.token));
        }
    }
    if (!any)
        state.report("pin_status", CheckStatus::skip, "the module shows no token");
}

}  // namespace cac::cli
