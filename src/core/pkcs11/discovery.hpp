// Which PKCS#11 module to use.
//
// The CLI gathers the inputs (the --module option, PKCS11_LIB_PATH, the config file);
// the core never reads the environment itself. Explicit choices are taken in order and
// never fall through: a --module that does not resolve is an error, not a reason to pick
// something else. Only when nothing was given does auto-detection run: p11-kit's
// registered modules (without trust-policy modules, which hold CA stores rather than
// cards), then the places the common middleware installs itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/pkcs11/registry.hpp"

namespace cac {

// The well-known install paths of OpenSC, CACKey, ActivClient and SoftHSM2 on this
// platform (Linux: Debian multiarch and /usr/lib, /usr/lib64, /usr/local/lib; macOS;
// Windows), in order of preference. They may or may not exist.
std::vector<std::string> well_known_module_paths();
// The same lists for each platform, whatever this one is.
std::vector<std::string> well_known_module_paths_linux();
std::vector<std::string> well_known_module_paths_macos();
std::vector<std::string> well_known_module_paths_windows();

struct DiscoveryInputs {
    std::string module_option;                     // --module PATH|NAME, empty if not given
    std::string env_lib_path;                      // PKCS11_LIB_PATH, empty if unset
    std::string config_default_module;             // the config file's default module
    std::vector<std::string> config_search_paths;  // directories or files from the config
    // Replaced by tests; by default p11-kit's registry and this platform's list.
    std::function<std::vector<RegisteredModule>()> registry = registered_modules;
    std::vector<std::string> well_known_paths = well_known_module_paths();
};

struct ModuleChoice {
    std::string path;    // the library to load
    std::string name;    // the p11-kit name, when it came from the registry
    std::string source;  // "--module", "PKCS11_LIB_PATH", "config", "p11-kit", "well-known path"
};

// Throws CoreCode::module_not_found when an explicit choice does not resolve or
// auto-detection finds nothing; the hint says what was tried.
[[nodiscard]] ModuleChoice resolve_module(const DiscoveryInputs& inputs);

// Every module for `slots --all-modules`: all p11-kit knows (trust-policy ones included)
// and every well-known path that exists, de-duplicated by real path.
[[nodiscard]] std::vector<ModuleChoice> candidate_modules(const DiscoveryInputs& inputs);

}  // namespace cac
