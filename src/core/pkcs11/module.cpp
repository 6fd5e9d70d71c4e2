#include "core/pkcs11/module.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "core/pkcs11/registry.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"
#include "core/util/text.hpp"

namespace cac {
namespace {

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

// What dlerror()'s text most likely means, as advice an operator can act on.
std::string load_hint(const std::string& path, const std::string& reason) {
    if (contains(reason, "wrong ELF class") || contains(reason, "ELF file's machine") ||
        contains(reason, "Exec format error"))
        return "the module was built for another architecture (32/64-bit or CPU type); "
               "install the build matching this system";
    if (contains(reason, "invalid ELF header") || contains(reason, "file too short") ||
        contains(reason, "not a dynamic"))
        return "'" + path + "' is not a shared library; give the path of the module's .so";
    if (contains(reason, "cannot open shared object file") && reason.rfind(path, 0) != 0)
        return "a library the module depends on is missing: run 'ldd " + path +
               "' and install what it reports as 'not found'";
    if (contains(reason, "undefined symbol"))
        return "the module was built against other versions of its libraries: "
               "run 'ldd -r " +
               path + "' and reinstall the module";
    if (contains(reason, "Permission denied"))
        return "the module file is not readable by this user; check its permissions";
    return "check the module with 'ldd " + path + "' and reinstall it";
}

std::string dl_error_text() {
    const char* text = dlerror();
    return text != nullptr ? text : "unknown dynamic loader error";
}

std::vector<std::string> registered_names(const std::vector<RegisteredModule>& modules) {
    std::vector<std::string> names;
    for (const auto& module : modules)
        names.push_back(module.name);
    return names;
}

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text.empty() ? "none" : text;
}

}  // namespace

std::string version_text(const CK_VERSION& version) {
    char text[16];
    std::snprintf(text, sizeof text, "%u.%u", unsigned(version.major), unsigned(version.minor));
    return text;
}

Module::Module(void* library, CK_FUNCTION_LIST* functions, std::string path)
    : library_(library), cryptoki_(functions), path_(std::move(path)) {}

Module::Module(Module&& other) noexcept
    : library_(std::exchange(other.library_, nullptr)),
      cryptoki_(std::exchange(other.cryptoki_, Cryptoki())),
      path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      initialized_(std::exchange(other.initialized_, false)),
      finalize_(std::exchange(other.finalize_, false)) {}

Module& Module::operator=(Module&& other) noexcept {
    if (this != &other) {
        close();
        library_ = std::exchange(other.library_, nullptr);
        cryptoki_ = std::exchange(other.cryptoki_, Cryptoki());
        path_ = std::move(other.path_);
        name_ = std::move(other.name_);
        initialized_ = std::exchange(other.initialized_, false);
        finalize_ = std::exchange(other.finalize_, false);
    }
    return *this;
}

Module::~Module() {
    close();
}

void Module::close() noexcept {
    if (finalize_ && cryptoki_) {
        CK_RV rv = cryptoki_.finalize();
        if (rv != CKR_OK)
            log::warning("pkcs11",
                         "C_Finalize failed: " + ckr_name(rv) + " (module " + path_ + ")");
    }
    finalize_ = false;
    initialized_ = false;
    cryptoki_ = Cryptoki();
    if (library_ != nullptr && dlclose(library_) != 0)
        log::warning("pkcs11", "dlclose failed: " + dl_error_text() + " (module " + path_ + ")");
    library_ = nullptr;
}

std::optional<std::string> special_file_kind(const std::string& path) {
    struct stat link {};
    if (path.empty() || ::lstat(path.c_str(), &link) != 0)
        return std::nullopt;
    struct stat target {};
    if (::stat(path.c_str(), &target) != 0) {
        if (errno == ELOOP)
            return "a loop of symbolic links";
        std::error_code ignored;
        std::string to = std::filesystem::read_symlink(path, ignored).string();
        return "a symbolic link to a missing file ('" + to + "')";
    }
    if (S_ISCHR(target.st_mode))
        return "a character device";
    if (S_ISBLK(target.st_mode))
        return "a block device";
    if (S_ISFIFO(target.st_mode))
        return "a named pipe (FIFO)";
    if (S_ISSOCK(target.st_mode))
        return "a socket";
    return std::nullopt;
}

namespace {

// A path that is there but is not a file dlopen can map: what it is, and for a link that
// leads nowhere the loader's own reason. Nothing else is opened: dlopen would wait on a
// named pipe for a writer that never comes, and opening a device can act on it (a
// hardware watchdog starts counting when its device is opened).
[[noreturn]] void refuse_special_file(const std::string& path, const std::string& kind) {
    std::string reason = "'" + path + "' is " + kind + ", not a regular file";
    if (kind.find("symbolic link") != std::string::npos) {
        dlerror();
        if (void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))
            dlclose(library);
        else
            reason += ": " + dl_error_text();
    }
    throw Error(CoreCode::module_load_failed, "load module", reason)
        .with_module(path)
        .with_hint("give the path of the module's library file (a .so)");
}

}  // namespace

Module Module::load_path(const std::string& path) {
    std::error_code ignored;
    if (std::optional<std::string> kind = special_file_kind(path))
        refuse_special_file(path, *kind);
    if (!std::filesystem::exists(path, ignored)) {
        throw Error(CoreCode::module_not_found, "load module", "no such file: " + path)
            .with_module(path);
    }
    // dlopen would say only "cannot read file data: Is a directory".
    if (std::filesystem::is_directory(path, ignored)) {
        throw Error(CoreCode::module_not_found, "load module",
                    "'" + path + "' is a directory, not a module file")
            .with_module(path)
            .with_hint("give the module's library file, not the directory it is in");
    }
    // Without a slash dlopen would search the library path instead of this file.
    std::string file = path.find('/') == std::string::npos ? "./" + path : path;
    dlerror();
    void* library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        std::string reason = dl_error_text();
        throw Error(CoreCode::module_load_failed, "load module", reason)
            .with_module(path)
            .with_hint(load_hint(path, reason));
    }
    Module module(library, nullptr, path);
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
    if (get_list == nullptr) {
        throw Error(CoreCode::not_a_pkcs11_module, "load module",
                    "the library has no C_GetFunctionList")
            .with_module(path);
    }
    CK_FUNCTION_LIST* functions = nullptr;
    CK_RV rv = get_list(&functions);
    if (rv != CKR_OK || functions == nullptr) {
        Error cause(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetFunctionList");
        throw Error(CoreCode::module_load_failed, "load module",
                    "C_GetFunctionList returned no function list")
            .with_module(path)
            .with_cause(cause);
    }
    module.cryptoki_ = Cryptoki(functions);
    log::debug("pkcs11", "loaded module " + path);
    return module;
}

Module Module::load_name(const std::string& name) {
    std::vector<RegisteredModule> modules = registered_modules();
    std::optional<RegisteredModule> found = find_registered_module(modules, name);
    if (!found) {
        throw Error(CoreCode::module_not_found, "load module",
                    "no module named '" + name + "' is registered with p11-kit")
            .with_module(name)
            .with_hint("give the module's path, or one of the names p11-kit knows: " +
                       joined(registered_names(modules)));
    }
    Module module = load_path(found->path);
    module.name_ = found->name;
    return module;
}

Module Module::load(const std::string& spec) {
    std::error_code ignored;
    if (spec.find('/') != std::string::npos || std::filesystem::is_regular_file(spec, ignored))
        return load_path(spec);
    return load_name(spec);
}

Module Module::open(const std::string& spec) {
    Module module = load(spec);
    module.initialize();
    return module;
}

Module Module::adopt(CK_FUNCTION_LIST* functions, std::string path) {
    return Module(nullptr, functions, std::move(path));
}

void Module::initialize() {
    if (initialized_)
        return;
    // No initialisation arguments: cactool calls a module from one thread at a time, and
    // that is what a NULL argument promises. Asking for the OS's locks (CKF_OS_LOCKING_OK)
    // buys nothing here and costs a hang: OpenSC 0.23 with its own mutexes on deadlocks in
    // C_GetTokenInfo when the card is pulled mid-operation (it re-takes its global lock
    // while releasing the card), where without them it returns an error.
    CK_RV rv = cryptoki_.initialize(nullptr);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        // Someone else in this process initialised it; finalising would pull the module
        // from under them.
        initialized_ = true;
        return;
    }
    if (rv != CKR_OK) {
        Error cause(ErrorDomain::pkcs11, std::uint32_t(rv), "C_Initialize");
        throw Error(CoreCode::module_init_failed, "initialize module", ckr_name(rv))
            .with_module(path_)
            .with_cause(cause);
    }
    initialized_ = true;
    finalize_ = true;
}

void Module::reinitialize() {
    if (initialized_ && finalize_) {
        CK_RV rv = cryptoki_.finalize();
        if (rv != CKR_OK && rv != CKR_CRYPTOKI_NOT_INITIALIZED)
            log::warning("pkcs11", "C_Finalize before initialising again: " + ckr_name(rv));
    }
    initialized_ = false;
    finalize_ = false;
    initialize();
}

ModuleInfo Module::info() const {
    ModuleInfo info;
    CK_RV rv = cryptoki_.get_info(&info.raw);
    if (rv != CKR_OK)
        throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetInfo").with_module(path_);
    info.cryptoki_version = version_text(info.raw.cryptokiVersion);
    info.manufacturer = fixed_field_text(info.raw.manufacturerID);
    info.description = fixed_field_text(info.raw.libraryDescription);
    info.library_version = version_text(info.raw.libraryVersion);
    return info;
}

}  // namespace cac
