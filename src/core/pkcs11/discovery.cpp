#include "core/pkcs11/discovery.hpp"

#include <filesystem>
#include <set>

#include "core/pkcs11/module.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace cac {
namespace {

namespace fs = std::filesystem;

// Debian's multiarch directory for this build's architecture.
constexpr const char* multiarch_dir() {
#if defined(__x86_64__)
    return "/usr/lib/x86_64-linux-gnu";
#elif defined(__aarch64__)
    return "/usr/lib/aarch64-linux-gnu";
#elif defined(__i386__)
    return "/usr/lib/i386-linux-gnu";
#elif defined(__arm__)
    return "/usr/lib/arm-linux-gnueabihf";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "/usr/lib/powerpc64le-linux-gnu";
#elif defined(__s390x__)
    return "/usr/lib/s390x-linux-gnu";
#else
    return "/usr/lib";
#endif
}

// The library file names of the middleware cactool knows, smart card middleware first.
const std::vector<std::string> module_file_names = {
    "opensc-pkcs11.so",    "libcackey.so",    "libacpkcs211.so",    "libsofthsm2.so",
    "opensc-pkcs11.dylib", "libcackey.dylib", "libacpkcs211.dylib", "opensc-pkcs11.dll",
    "cackey.dll",          "acpkcs211.dll",   "softhsm2-x64.dll",
};

bool is_file(const std::string& path) {
    std::error_code ignored;
    return !path.empty() && fs::is_regular_file(path, ignored);
}

bool is_directory(const std::string& path) {
    std::error_code ignored;
    return fs::is_directory(path, ignored);
}

std::string real_path(const std::string& path) {
    std::error_code error;
    fs::path real = fs::canonical(path, error);
    return error ? path : real.string();
}

bool has_separator(const std::string& spec) {
    return spec.find('/') != std::string::npos || spec.find('\\') != std::string::npos;
}

std::string registry_names(const std::vector<RegisteredModule>& modules) {
    std::string names;
    for (const auto& module : modules)
        names += (names.empty() ? "" : ", ") + module.name;
    return names.empty() ? "none" : names;
}

// Modules are files; a directory given instead gets a hint naming the known module
// files inside it, when there are any.
Error directory_given(const std::string& spec, const std::string& source) {
    std::string hint = "give the module's library file, not the directory it is in";
    std::vector<std::string> inside;
    for (const auto& name : module_file_names) {
        if (is_file(spec + "/" + name))
            inside.push_back((fs::path(spec) / name).string());
    }
    if (!inside.empty())
        hint += ", e.g. " + inside.front();
    return Error(CoreCode::module_not_found, "find module",
                 "'" + spec + "' (from " + source + ") is a directory, not a module file")
        .with_module(spec)
        .with_hint(hint);
}

// A --module, PKCS11_LIB_PATH or config value: a path, a file in a configured search
// directory, or a name registered with p11-kit.
ModuleChoice resolve_spec(const std::string& spec, const std::string& source,
                          const DiscoveryInputs& inputs) {
    if (has_separator(spec)) {
        if (is_file(spec))
            return {spec, {}, source};
        if (is_directory(spec))
            throw directory_given(spec, source);
        // Something else is there (a device, a pipe, a symbolic link loop): loading it says
        // what it is, with the loader's reason, where "no such file" would mislead.
        if (special_file_kind(spec))
            return {spec, {}, source};
        throw Error(CoreCode::module_not_found, "find module", "no such file: " + spec)
            .with_module(spec)
            .with_hint("check the path given by " + source);
    }
    for (const auto& directory : inputs.config_search_paths) {
        std::string candidate = directory + "/" + spec;
        if (is_directory(directory) && is_file(candidate))
            return {candidate, {}, source};
    }
    std::vector<RegisteredModule> registry =
        inputs.registry ? inputs.registry() : std::vector<RegisteredModule>{};
    if (auto found = find_registered_module(registry, spec))
        return {found->path, found->name, source};
    if (is_file(spec))
        return {spec, {}, source};
    if (is_directory(spec))
        throw directory_given(spec, source);
    throw Error(CoreCode::module_not_found, "find module",
                "'" + spec + "' is neither a file nor a module registered with p11-kit")
        .with_module(spec)
        .with_hint("give a module path, or one of the names p11-kit knows: " +
                   registry_names(registry));
}

// Search-path entries: a file is a module, a directory is searched for known names.
std::vector<std::string> search_path_modules(const std::vector<std::string>& entries) {
    std::vector<std::string> found;
    for (const auto& entry : entries) {
        if (is_file(entry)) {
            found.push_back(entry);
            continue;
        }
        if (!is_directory(entry))
            continue;
        for (const auto& name : module_file_names) {
            if (is_file(entry + "/" + name))
                found.push_back(entry + "/" + name);
        }
    }
    return found;
}

void add_unique(std::vector<ModuleChoice>& choices, std::set<std::string>& seen,
                ModuleChoice choice) {
    if (seen.insert(real_path(choice.path)).second)
        choices.push_back(std::move(choice));
}

}  // namespace

std::vector<std::string> well_known_module_paths_linux() {
    const std::string multiarch = multiarch_dir();
    std::vector<std::string> paths;
    const std::vector<std::string> prefixes = {multiarch, "/usr/lib", "/usr/lib64",
                                               "/usr/local/lib"};
    for (const auto& prefix : prefixes) {
        paths.push_back(prefix + "/opensc-pkcs11.so");
        paths.push_back(prefix + "/pkcs11/opensc-pkcs11.so");
    }
    for (const auto& prefix : prefixes) {
        paths.push_back(prefix + "/libcackey.so");
        paths.push_back(prefix + "/pkcs11/libcackey.so");
    }
    for (const auto& prefix : prefixes)
        paths.push_back(prefix + "/libacpkcs211.so");
    for (const auto& prefix : prefixes) {
        paths.push_back(prefix + "/softhsm/libsofthsm2.so");
        paths.push_back(prefix + "/pkcs11/libsofthsm2.so");
    }
    return paths;
}

std::vector<std::string> well_known_module_paths_macos() {
    return {
        "/Library/OpenSC/lib/opensc-pkcs11.so",     "/usr/local/lib/opensc-pkcs11.so",
        "/opt/homebrew/lib/opensc-pkcs11.so",       "/usr/local/lib/pkcs11/libcackey.dylib",
        "/usr/local/lib/libcackey.dylib",           "/usr/local/lib/pkcs11/libacpkcs211.dylib",
        "/usr/local/lib/libacpkcs211.dylib",        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/opt/homebrew/lib/softhsm/libsofthsm2.so",
    };
}

std::vector<std::string> well_known_module_paths_windows() {
    return {
        "C:\\Windows\\System32\\opensc-pkcs11.dll",
        "C:\\Program Files\\OpenSC Project\\OpenSC\\pkcs11\\opensc-pkcs11.dll",
        "C:\\Windows\\System32\\acpkcs211.dll",
        "C:\\Program Files\\CACKey\\cackey.dll",
        "C:\\Windows\\System32\\cackey.dll",
        "C:\\SoftHSM2\\lib\\softhsm2-x64.dll",
    };
}

std::vector<std::string> well_known_module_paths() {
#if defined(_WIN32)
    return well_known_module_paths_windows();
#elif defined(__APPLE__)
    return well_known_module_paths_macos();
#else
    return well_known_module_paths_linux();
#endif
}

ModuleChoice resolve_module(const DiscoveryInputs& inputs) {
    if (!inputs.module_option.empty())
        return resolve_spec(inputs.module_option, "--module", inputs);
    if (!inputs.env_lib_path.empty())
        return resolve_spec(inputs.env_lib_path, "PKCS11_LIB_PATH", inputs);
    if (!inputs.config_default_module.empty())
        return resolve_spec(inputs.config_default_module, "config", inputs);
    std::vector<std::string> configured = search_path_modules(inputs.config_search_paths);
    if (!configured.empty())
        return {configured.front(), {}, "config"};
    std::vector<RegisteredModule> registry =
        inputs.registry ? inputs.registry() : std::vector<RegisteredModule>{};
    for (const auto& module : registry) {
        if (module.trust_policy || !is_file(module.path))
            continue;
        return {module.path, module.name, "p11-kit"};
    }
    for (const auto& path : inputs.well_known_paths) {
        if (is_file(path))
            return {path, {}, "well-known path"};
    }
    throw Error(CoreCode::module_not_found, "find a PKCS#11 module",
                "no module was given and none was found in p11-kit's registry or the usual "
                "install locations")
        .with_hint("install OpenSC (package opensc-pkcs11) or give --module PATH");
}

std::vector<ModuleChoice> candidate_modules(const DiscoveryInputs& inputs) {
    std::vector<ModuleChoice> choices;
    std::set<std::string> seen;
    for (const auto& path : search_path_modules(inputs.config_search_paths))
        add_unique(choices, seen, {path, {}, "config"});
    std::vector<RegisteredModule> registry =
        inputs.registry ? inputs.registry() : std::vector<RegisteredModule>{};
    for (const auto& module : registry) {
        if (is_file(module.path))
            add_unique(choices, seen, {module.path, module.name, "p11-kit"});
        else
            log::debug("pkcs11", "p11-kit module " + module.name + " has no file " + module.path);
    }
    for (const auto& path : inputs.well_known_paths) {
        if (is_file(path))
            add_unique(choices, seen, {path, {}, "well-known path"});
    }
    return choices;
}

}  // namespace cac
