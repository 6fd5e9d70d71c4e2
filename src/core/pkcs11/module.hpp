// A loaded PKCS#11 module: the library handle and its function list, owned.
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>
#include <string>

#include "core/pkcs11/cryptoki.hpp"

namespace cac {

// "2.40", "2.6": major and minor in decimal, as pkcs11-tool and p11-kit print them (a
// module that means 2.06 cannot be told from one that means 2.6).
std::string version_text(const CK_VERSION& version);

// What `path` is when something is there that is neither a regular file nor a directory:
// "a character device", "a block device", "a named pipe (FIFO)", "a socket", "a loop of
// symbolic links", or "a symbolic link to a missing file ('T')". nullopt for a
// regular file, a directory, or nothing at all.
[[nodiscard]] std::optional<std::string> special_file_kind(const std::string& path);

struct ModuleInfo {
    std::string cryptoki_version;  // "2.40"
    std::string manufacturer;
    std::string description;
    std::string library_version;  // "0.23"
    CK_INFO raw{};
};

class Module {
  public:
    // dlopen (RTLD_NOW | RTLD_LOCAL) and C_GetFunctionList; does not initialise.
    // Throws CoreCode::module_not_found, module_load_failed or not_a_pkcs11_module.
    [[nodiscard]] static Module load_path(const std::string& path);
    // The module p11-kit's registry knows as `name` (see module_name_matches).
    [[nodiscard]] static Module load_name(const std::string& name);
    // A path when `spec` contains a '/' or names an existing file, else a p11-kit name.
    [[nodiscard]] static Module load(const std::string& spec);
    // load() then initialize().
    [[nodiscard]] static Module open(const std::string& spec);
    // A function list obtained elsewhere (tests, p11-kit); no library handle is owned.
    [[nodiscard]] static Module adopt(CK_FUNCTION_LIST* functions, std::string path);

    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    Module(Module&& other) noexcept;
    Module& operator=(Module&& other) noexcept;
    // C_Finalize if this object initialised the module, then dlclose; failures are logged.
    ~Module();

    // C_Initialize with NULL arguments (one thread at a time; see module.cpp for why not
    // the OS's locks). CKR_CRYPTOKI_ALREADY_INITIALIZED is accepted (and the module then is
    // not finalised by us). Anything else throws CoreCode::module_init_failed with the CKR
    // cause.
    void initialize();
    // C_Finalize and C_Initialize again, for a module that lost its state
    // (CKR_CRYPTOKI_NOT_INITIALIZED). Every session and handle from before is gone.
    void reinitialize();
    bool initialized() const { return initialized_; }
    bool finalize_on_close() const { return finalize_; }

    // C_GetInfo with trimmed text.
    [[nodiscard]] ModuleInfo info() const;

    const Cryptoki& cryptoki() const { return cryptoki_; }
    // The library's path as it was loaded (or the name given to adopt()).
    const std::string& path() const { return path_; }
    // The p11-kit name when loaded by name, else empty.
    const std::string& name() const { return name_; }

  private:
    Module(void* library, CK_FUNCTION_LIST* functions, std::string path);
    void close() noexcept;

    void* library_ = nullptr;
    Cryptoki cryptoki_;
    std::string path_;
    std::string name_;
    bool initialized_ = false;
    bool finalize_ = false;
};

}  // namespace cac
