// `cactool slots`: PKCS#11 modules, their slots and tokens, flags, PIN status and URIs.
#include <algorithm>
#include <memory>

#include "cli/commands.hpp"
#include "cli/recovery.hpp"
#include "cli/token_selection.hpp"
#include "core/pkcs11/mechanisms.hpp"
#include "core/pkcs11/uri.hpp"
#include "core/recovery/module_recovery.hpp"

namespace cac::cli {
namespace {

struct SlotsOptions {
    bool all_modules = false;
    bool mechanisms = false;
};

Json optional_json(const std::optional<CK_ULONG>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json pin_status_json(const PinStatus& pin) {
    return Json{{"count_low", pin.count_low},
                {"final_try", pin.final_try},
                {"locked", pin.locked},
                {"to_be_changed", pin.to_be_changed}};
}

Json token_json(const TokenInfo& token) {
    return Json{
        {"label", token.label},
        {"manufacturer", token.manufacturer},
        {"model", token.model},
        {"serial", token.serial},
        {"flags", token.flag_names},
        {"pin_status", pin_status_json(token.user_pin)},
        {"so_pin_status", pin_status_json(token.so_pin)},
        {"uri", token_uri(token.raw)},
        {"min_pin_length", token.min_pin_length},
        {"max_pin_length", token.max_pin_length},
        {"session_count", optional_json(token.session_count)},
        {"max_session_count", optional_json(token.max_session_count)},
        {"hardware_version", token.hardware_version},
        {"firmware_version", token.firmware_version},
    };
}

Json mechanisms_json(const Cryptoki& cryptoki, CK_SLOT_ID slot) {
    Json list = Json::array();
    for (const Mechanism& mechanism : list_mechanisms(cryptoki, slot)) {
        Json entry{{"name", mechanism.name}, {"id", mechanism.type}};
        entry["min_key_size"] = mechanism.info ? Json(mechanism.info->ulMinKeySize) : Json();
        entry["max_key_size"] = mechanism.info ? Json(mechanism.info->ulMaxKeySize) : Json();
        entry["flags"] = mechanism.flag_names;
        entry["error"] = mechanism.error ? error_json(*mechanism.error) : Json();
        list.push_back(entry);
    }
    return list;
}

Json slot_json(const Slot& slot, const Cryptoki& cryptoki, const SlotsOptions& options) {
    Json entry{{"id", slot.id}};
    entry["description"] = slot.info ? Json(slot.info->description) : Json();
    entry["manufacturer"] = slot.info ? Json(slot.info->manufacturer) : Json();
    entry["token_present"] = slot.info ? slot.info->token_present : slot.token.has_value();
    entry["flags"] = slot.info ? Json(slot.info->flag_names) : Json();
    entry["error"] = slot.error ? error_json(*slot.error) : Json();
    entry["token"] = slot.token ? token_json(*slot.token) : Json();
    if (options.mechanisms && slot.token) {
        entry["mechanisms"] = mechanisms_json(cryptoki, slot.id);
    }
    return entry;
}

// With --slot or --token, only the slots they select; a URI may select several.
bool slot_wanted(const Context& ctx, const Slot& slot, const std::vector<Slot>& slots,
                 const CK_INFO& module) {
    if (ctx.options.slot.empty() && ctx.options.token.empty())
        return true;
    TokenSelector selector{ctx.slot_id(), ctx.options.token};
    std::vector<const Slot*> wanted = matching_tokens(slots, selector, &module);
    return std::find(wanted.begin(), wanted.end(), &slot) != wanted.end();
}

Json module_json(const Context& ctx, const Module& module, const SlotsOptions& options) {
    ModuleInfo info = module.info();
    Json slots = Json::array();
    std::vector<Slot> listed = list_slots(module.cryptoki());
    for (const Slot& slot : listed) {
        if (slot_wanted(ctx, slot, listed, info.raw)) {
            slots.push_back(slot_json(slot, module.cryptoki(), options));
        }
    }
    bool selecting = !ctx.options.slot.empty() || !ctx.options.token.empty();
    if (selecting && slots.empty()) {
        // Nothing fits the selection: select_token explains what was there (exit 3).
        (void)select_token(listed, TokenSelector{ctx.slot_id(), ctx.options.token}, &info.raw);
    }
    return Json{{"path", module.path()},
                {"manufacturer", info.manufacturer},
                {"description", info.description},
                {"cryptoki_version", info.cryptoki_version},
                {"library_version", info.library_version},
                {"error", nullptr},
                {"slots", slots}};
}

// With --all-modules one module that fails to load is reported in its entry; it does
// not hide the others.
Json failed_module_json(const std::string& path, const Error& error) {
    return Json{{"path", path},
                {"manufacturer", nullptr},
                {"description", nullptr},
                {"cryptoki_version", nullptr},
                {"library_version", nullptr},
                {"error", error_json(error)},
                {"slots", Json::array()}};
}

std::string pin_text(const Output& out, const Json& pin) {
    if (pin["locked"].get<bool>())
        return out.bad("locked");
    std::string text;
    auto note = [&text](const std::string& s) { text += (text.empty() ? "" : ", ") + s; };
    if (pin["final_try"].get<bool>())
        note(out.bad("final try"));
    if (pin["count_low"].get<bool>())
        note(out.warn("count low"));
    if (pin["to_be_changed"].get<bool>())
        note(out.warn("to be changed"));
    return text.empty() ? out.good("ok") : text;
}

std::string joined(const Json& list) {
    std::string text;
    for (const Json& item : list)
        text += (text.empty() ? "" : ", ") + item.get<std::string>();
    return text;
}

// Fields that come from the module or the token, ready for a terminal.
std::string text_or_empty(const Json& value) {
    return value.is_string() ? terminal_safe(value.get<std::string>()) : "";
}

void add_mechanism_rows(const Json& mechanisms, std::vector<std::vector<std::string>>& rows) {
    std::string label = "mechanisms";
    for (const Json& m : mechanisms) {
        std::string sizes;
        if (!m["min_key_size"].is_null()) {
            sizes = std::to_string(m["min_key_size"].get<unsigned long>()) + "-" +
                    std::to_string(m["max_key_size"].get<unsigned long>()) + " ";
        }
        rows.push_back({label, m["name"].get<std::string>(), sizes + joined(m["flags"])});
        label.clear();
    }
}

void print_slot(const Output& out, const Json& slot) {
    out.text("  slot " + std::to_string(slot["id"].get<unsigned long>()) + "  " +
             text_or_empty(slot["description"]));
    std::vector<std::vector<std::string>> rows;
    if (!slot["error"].is_null()) {
        rows.push_back({"error", out.bad(text_or_empty(slot["error"]["message"]))});
    }
    const Json& token = slot["token"];
    if (token.is_null()) {
        rows.push_back({"token", slot["token_present"].get<bool>() ? "unreadable" : "none"});
    } else {
        rows.push_back({"token", out.bold(text_or_empty(token["label"]))});
        rows.push_back({"made by", text_or_empty(token["manufacturer"]) + ", " +
                                       text_or_empty(token["model"])});
        rows.push_back({"serial", text_or_empty(token["serial"])});
        rows.push_back({"flags", joined(token["flags"])});
        rows.push_back({"user PIN", pin_text(out, token["pin_status"])});
        rows.push_back({"SO PIN", pin_text(out, token["so_pin_status"])});
        rows.push_back({"uri", token["uri"].get<std::string>()});
    }
    if (slot.contains("mechanisms"))
        add_mechanism_rows(slot["mechanisms"], rows);
    out.text(format_table(rows, "    "));
}

void print_module(const Output& out, const Json& module) {
    out.text(out.bold("module " + text_or_empty(module["path"])));
    if (!module["error"].is_null()) {
        out.text("  " + out.bad(text_or_empty(module["error"]["message"])) + "\n");
        return;
    }
    out.text("  " + text_or_empty(module["manufacturer"]) + ", " +
             text_or_empty(module["description"]) + ", library " +
             text_or_empty(module["library_version"]) + ", cryptoki " +
             text_or_empty(module["cryptoki_version"]));
    if (module["slots"].empty())
        out.text("  no slots\n");
    for (const Json& slot : module["slots"])
        print_slot(out, slot);
}

int run_slots(Context& ctx, const SlotsOptions& options) {
    std::vector<ModuleChoice> choices;
    if (options.all_modules) {
        choices = candidate_modules(discovery_inputs(ctx));
    } else {
        choices.push_back(resolve_module(discovery_inputs(ctx)));
    }
    Json modules = Json::array();
    bool any_loaded = false;
    RunRecovery recovery(ctx);
    for (const ModuleChoice& choice : choices) {
        try {
            Module module = Module::open(choice.path);
            // Reading the slots changes nothing, so a module that fails once (a reader
            // that hiccups, a module that lost its initialisation) is asked again.
            ModuleRecoverer recoverer(module);
            modules.push_back(recovery.policy().run(
                Repeatable::yes, recoverer, [&] { return module_json(ctx, module, options); }));
            any_loaded = true;
        } catch (const Error& error) {
            if (!options.all_modules)
                throw;
            modules.push_back(failed_module_json(choice.path, error));
        }
    }
    if (options.all_modules && !any_loaded && !choices.empty()) {
        throw Error(CoreCode::module_load_failed, "load any PKCS#11 module",
                    "none of the " + std::to_string(choices.size()) + " modules found loaded");
    }
    if (ctx.out.json()) {
        ctx.out.document(Json{{"modules", modules}});
        return exit_ok;
    }
    for (const Json& module : modules)
        print_module(ctx.out, module);
    return exit_ok;
}

}  // namespace

Runner setup_slots(CLI::App& app) {
    auto options = std::make_shared<SlotsOptions>();
    app.add_flag("--all-modules", options->all_modules,
                 "Every module p11-kit knows, plus those found in well-known places");
    app.add_flag("--mechanisms", options->mechanisms, "List each token's mechanisms");
    return [options](Context& ctx) { return run_slots(ctx, *options); };
}

}  // namespace cac::cli
