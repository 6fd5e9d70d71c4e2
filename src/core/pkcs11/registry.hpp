// The modules registered with p11-kit (pkcs11.conf(5): one .module file per module).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cac {

struct RegisteredModule {
    std::string name;           // the .module file's name: "opensc-pkcs11", "softhsm2"
    std::string path;           // absolute path of the module's library
    bool trust_policy = false;  // a CA store exposed as a token (p11-kit-trust), no card
};

// Every module p11-kit's configuration enables for this program, in p11-kit's order.
// Loading a module's library fails here only for that module; it is skipped.
std::vector<RegisteredModule> registered_modules();

// Whether `wanted` names the module: its p11-kit name, that name with "-pkcs11" added or
// removed, or its library's file name with or without "lib" and the extension.
bool module_name_matches(const RegisteredModule& module, std::string_view wanted);

std::optional<RegisteredModule> find_registered_module(const std::vector<RegisteredModule>& modules,
                                                       std::string_view wanted);

// p11-kit registers modules by a file name relative to its module directory
// ("p11-kit-trust.so"); this makes such a name absolute.
std::string resolve_module_filename(std::string_view filename);

// The module directory p11-kit was built with.
std::string_view p11_kit_module_directory();

}  // namespace cac
