#include "core/pkcs11/registry.hpp"

#include <p11-kit/p11-kit.h>

#include <cstdlib>
#include <memory>

#include "core/pkcs11/p11_paths.hpp"
#include "core/util/log.hpp"

namespace cac {
namespace {

struct FreeDeleter {
    void operator()(char* text) const { std::free(text); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

std::string take(char* text) {
    CString owned(text);
    return owned ? std::string(owned.get()) : std::string();
}

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// "libopensc-pkcs11.so" and "opensc-pkcs11" and "opensc" all come down to "opensc".
std::string stem(std::string_view name) {
    std::size_t slash = name.find_last_of('/');
    if (slash != std::string_view::npos)
        name.remove_prefix(slash + 1);
    for (std::string_view extension : {".so", ".dylib", ".dll"}) {
        std::size_t at = name.find(extension);
        if (at != std::string_view::npos && at > 0)
            name = name.substr(0, at);
    }
    if (starts_with(name, "lib") && name.size() > 3)
        name.remove_prefix(3);
    if (ends_with(name, "-pkcs11") && name.size() > 7)
        name.remove_suffix(7);
    return std::string(name);
}

bool option_is_yes(CK_FUNCTION_LIST* module, const char* option) {
    std::string value = take(p11_kit_config_option(module, option));
    return value == "yes" || value == "true" || value == "on";
}

}  // namespace

std::string_view p11_kit_module_directory() {
    return CACTOOL_P11_MODULE_PATH;
}

std::string resolve_module_filename(std::string_view filename) {
    if (filename.empty() || filename.front() == '/')
        return std::string(filename);
    return std::string(p11_kit_module_directory()) + "/" + std::string(filename);
}

std::vector<RegisteredModule> registered_modules() {
    // p11-kit would print its own complaints about broken .module files on stderr; the
    // core never prints, so they go to the debug log instead.
    p11_kit_be_quiet();
    CK_FUNCTION_LIST** modules = p11_kit_modules_load(nullptr, P11_KIT_MODULE_UNMANAGED);
    std::vector<RegisteredModule> found;
    if (modules == nullptr) {
        const char* message = p11_kit_message();
        log::debug("pkcs11", std::string("p11-kit loaded no modules: ") +
                                 (message != nullptr ? message : "no reason given"));
        return found;
    }
    for (CK_FUNCTION_LIST** module = modules; *module != nullptr; ++module) {
        RegisteredModule entry;
        entry.name = take(p11_kit_module_get_name(*module));
        entry.path = resolve_module_filename(take(p11_kit_module_get_filename(*module)));
        entry.trust_policy = option_is_yes(*module, "trust-policy");
        found.push_back(std::move(entry));
    }
    p11_kit_modules_release(modules);
    return found;
}

bool module_name_matches(const RegisteredModule& module, std::string_view wanted) {
    if (wanted.empty())
        return false;
    if (module.name == wanted)
        return true;
    std::string key = stem(wanted);
    return key == stem(module.name) || key == stem(module.path);
}

std::optional<RegisteredModule> find_registered_module(const std::vector<RegisteredModule>& modules,
                                                       std::string_view wanted) {
    // An exact name wins over a looser match of another module.
    for (const auto& module : modules) {
        if (module.name == wanted)
            return module;
    }
    for (const auto& module : modules) {
        if (module_name_matches(module, wanted))
            return module;
    }
    return std::nullopt;
}

}  // namespace cac
