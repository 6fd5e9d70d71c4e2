#include <dlfcn.h>
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/pkcs11/discovery.hpp"
#include "core/pkcs11/module.hpp"
#include "core/pkcs11/registry.hpp"
#include "core/pkcs11/session.hpp"
#include "core/pkcs11/slots.hpp"
#include "core/pkcs11/uri.hpp"
#include "core/util/error.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "cactool-pkcs11-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    std::string file(const std::string& name, const std::string& content = "x") const {
        std::ofstream(path / name) << content;
        return (path / name).string();
    }
};

template <typename F>
Error caught(F&& f) {
    try {
        f();
    } catch (const Error& error) {
        return error;
    }
    FAIL("no error was thrown");
    return Error(CoreCode::internal, "unreachable");
}

// The system's zlib, found through the dynamic loader rather than a fixed path.
std::string zlib_path() {
    void* zlib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (zlib == nullptr)
        return {};
    Dl_info info{};
    std::string path;
    if (dladdr(dlsym(zlib, "zlibVersion"), &info) != 0 && info.dli_fname != nullptr)
        path = info.dli_fname;
    dlclose(zlib);
    return path;
}

std::optional<RegisteredModule> softhsm() {
    return find_registered_module(registered_modules(), "softhsm2");
}

}  // namespace

TEST_CASE("a module path that does not exist is module_not_found") {
    Error error = caught([] { (void)Module::load_path("/nonexistent/opensc-pkcs11.so"); });
    CHECK(error.is(CoreCode::module_not_found));
    CHECK(error.context().module == "/nonexistent/opensc-pkcs11.so");
}

TEST_CASE("a directory given as the module says it is a directory") {
    TempDir dir;
    Error error = caught([&] { (void)Module::load_path(dir.path.string()); });
    CHECK(error.is(CoreCode::module_not_found));
    CHECK(error.reason().find("is a directory") != std::string::npos);
    CHECK(error.reason().find("no such file") == std::string::npos);
    CHECK(error.hint().find("library file") != std::string::npos);
}

TEST_CASE("a file that is not a shared library fails to load with the loader's reason") {
    TempDir dir;
    std::string path = dir.file("fake-pkcs11.so", "this is not an ELF file\n");
    Error error = caught([&] { (void)Module::load_path(path); });
    CHECK(error.is(CoreCode::module_load_failed));
    CHECK(error.reason().find(path) != std::string::npos);  // dlerror names the file
    CHECK(error.hint().find("not a shared library") != std::string::npos);
}

TEST_CASE("a shared library without C_GetFunctionList is not a PKCS#11 module") {
    std::string path = zlib_path();
    REQUIRE_FALSE(path.empty());
    Error error = caught([&] { (void)Module::load_path(path); });
    CHECK(error.is(CoreCode::not_a_pkcs11_module));
}

TEST_CASE("an unknown module name lists the names p11-kit knows") {
    Error error = caught([] { (void)Module::load_name("no-such-middleware"); });
    CHECK(error.is(CoreCode::module_not_found));
    CHECK(error.hint().find("names p11-kit knows") != std::string::npos);
}

TEST_CASE("C_Initialize gets no arguments and the module is finalised on destruction") {
    // NULL arguments promise single-threaded use; asking OpenSC for OS locks makes it
    // deadlock when the card is pulled mid-operation.
    FakeModule fake;
    bool got_arguments = true;
    fake.initialize = [&got_arguments](CK_VOID_PTR args) {
        got_arguments = args != nullptr;
        return CKR_OK;
    };
    {
        Module module = Module::adopt(&fake.list, "fake");
        module.initialize();
        CHECK(module.finalize_on_close());
        Module moved = std::move(module);
    }
    CHECK_FALSE(got_arguments);
    CHECK(fake.count("C_Finalize") == 1);
}

TEST_CASE("an already initialised module is used and not finalised by us") {
    FakeModule fake;
    fake.initialize = [](CK_VOID_PTR) { return CKR_CRYPTOKI_ALREADY_INITIALIZED; };
    {
        Module module = Module::adopt(&fake.list, "fake");
        module.initialize();
        CHECK(module.initialized());
        CHECK_FALSE(module.finalize_on_close());
    }
    CHECK(fake.count("C_Finalize") == 0);
}

TEST_CASE("a failing C_Initialize is called once and not retried") {
    FakeModule fake;
    fake.initialize = [](CK_VOID_PTR) { return CKR_CANT_LOCK; };
    Module module = Module::adopt(&fake.list, "fake");
    Error error = caught([&] { module.initialize(); });
    CHECK(error.is(CoreCode::module_init_failed));
    REQUIRE(error.cause() != nullptr);
    CHECK(error.cause()->is(ErrorDomain::pkcs11, CKR_CANT_LOCK));
    CHECK(fake.count("C_Initialize") == 1);
}

TEST_CASE("a failing C_Initialize is module_init_failed with the CKR cause") {
    FakeModule fake;
    fake.initialize = [](CK_VOID_PTR) { return CKR_GENERAL_ERROR; };
    {
        Module module = Module::adopt(&fake.list, "/usr/lib/broken.so");
        Error error = caught([&] { module.initialize(); });
        CHECK(error.is(CoreCode::module_init_failed));
        CHECK(error.cause()->is(ErrorDomain::pkcs11, CKR_GENERAL_ERROR));
        CHECK(error.context().module == "/usr/lib/broken.so");
        CHECK(error.message().find("CKR_GENERAL_ERROR") != std::string::npos);
    }
    CHECK(fake.count("C_Finalize") == 0);
}

TEST_CASE("C_GetInfo text is trimmed and versions are written as PKCS#11 writes them") {
    FakeModule fake;
    fake.get_info = [](CK_INFO* info) {
        *info = {};
        info->cryptokiVersion = {2, 40};
        set_field(info->manufacturerID, "OpenSC Project");
        set_field(info->libraryDescription, "OpenSC smartcard framework", '\0');
        info->libraryVersion = {0, 23};
        return CKR_OK;
    };
    Module module = Module::adopt(&fake.list, "fake");
    ModuleInfo info = module.info();
    CHECK(info.cryptoki_version == "2.40");
    CHECK(info.manufacturer == "OpenSC Project");
    CHECK(info.description == "OpenSC smartcard framework");
    CHECK(info.library_version == "0.23");
}

TEST_CASE("module names match with or without -pkcs11, lib and the extension") {
    RegisteredModule opensc{"opensc-pkcs11", "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so"};
    RegisteredModule soft{"softhsm2", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"};
    RegisteredModule trust{"p11-kit-trust", "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so",
                           true};
    CHECK(module_name_matches(opensc, "opensc"));
    CHECK(module_name_matches(opensc, "opensc-pkcs11"));
    CHECK(module_name_matches(opensc, "opensc-pkcs11.so"));
    CHECK(module_name_matches(soft, "softhsm2"));
    CHECK(module_name_matches(soft, "softhsm2-pkcs11"));
    CHECK(module_name_matches(soft, "libsofthsm2.so"));
    CHECK(module_name_matches(trust, "p11-kit-trust"));
    CHECK_FALSE(module_name_matches(opensc, "softhsm2"));
    CHECK_FALSE(module_name_matches(trust, "p11-kit"));
    CHECK(find_registered_module({opensc, soft, trust}, "softhsm2")->name == "softhsm2");
}

TEST_CASE("relative p11-kit module file names resolve against p11-kit's module directory") {
    CHECK(resolve_module_filename("p11-kit-trust.so") ==
          std::string(p11_kit_module_directory()) + "/p11-kit-trust.so");
    CHECK(resolve_module_filename("/opt/x.so") == "/opt/x.so");
}

TEST_CASE("discovery takes explicit choices in order and never falls through") {
    TempDir dir;
    std::string given = dir.file("given.so");
    std::string env = dir.file("env.so");
    std::string config = dir.file("config.so");
    DiscoveryInputs inputs;
    inputs.registry = [] {
        return std::vector<RegisteredModule>{{"p11-kit-trust", "/nonexistent/trust.so", true}};
    };
    inputs.well_known_paths = {};
    inputs.module_option = given;
    inputs.env_lib_path = env;
    inputs.config_default_module = config;
    ModuleChoice choice = resolve_module(inputs);
    CHECK(choice.path == given);
    CHECK(choice.source == "--module");
    inputs.module_option.clear();
    CHECK(resolve_module(inputs).source == "PKCS11_LIB_PATH");
    CHECK(resolve_module(inputs).path == env);
    inputs.env_lib_path.clear();
    CHECK(resolve_module(inputs).source == "config");
    inputs.module_option = (dir.path / "missing.so").string();
    CHECK(caught([&] { (void)resolve_module(inputs); }).is(CoreCode::module_not_found));
}

TEST_CASE("a directory as --module or PKCS11_LIB_PATH is named as one, with the modules in it") {
    TempDir dir;
    DiscoveryInputs inputs;
    inputs.registry = [] { return std::vector<RegisteredModule>{}; };
    inputs.well_known_paths = {};
    inputs.module_option = dir.path.string();
    Error error = caught([&] { (void)resolve_module(inputs); });
    CHECK(error.is(CoreCode::module_not_found));
    CHECK(error.reason().find("is a directory") != std::string::npos);
    CHECK(error.reason().find("--module") != std::string::npos);
    CHECK(error.hint().find("library file") != std::string::npos);
    std::string module = dir.file("libsofthsm2.so");
    inputs.module_option.clear();
    inputs.env_lib_path = dir.path.string() + "/";
    error = caught([&] { (void)resolve_module(inputs); });
    CHECK(error.reason().find("PKCS11_LIB_PATH") != std::string::npos);
    CHECK(error.hint().find(module) != std::string::npos);
}

TEST_CASE("a module name is resolved through search paths and the registry") {
    TempDir dir;
    std::string module = dir.file("opensc-pkcs11.so");
    DiscoveryInputs inputs;
    inputs.registry = [module] {
        return std::vector<RegisteredModule>{{"opensc-pkcs11", module, false}};
    };
    inputs.well_known_paths = {};
    inputs.module_option = "opensc";
    ModuleChoice choice = resolve_module(inputs);
    CHECK(choice.path == module);
    CHECK(choice.name == "opensc-pkcs11");
    inputs.module_option = "opensc-pkcs11.so";
    inputs.config_search_paths = {dir.path.string()};
    CHECK(resolve_module(inputs).path == module);
    inputs.module_option = "cackey";
    Error error = caught([&] { (void)resolve_module(inputs); });
    CHECK(error.is(CoreCode::module_not_found));
    CHECK(error.hint().find("opensc-pkcs11") != std::string::npos);
}

TEST_CASE("auto-detection skips trust-policy modules and falls back to well-known paths") {
    TempDir dir;
    std::string trust = dir.file("p11-kit-trust.so");
    std::string card = dir.file("libcackey.so");
    std::string soft = dir.file("libsofthsm2.so");
    DiscoveryInputs inputs;
    inputs.registry = [trust] {
        return std::vector<RegisteredModule>{{"p11-kit-trust", trust, true}};
    };
    inputs.well_known_paths = {(dir.path / "absent.so").string(), card};
    ModuleChoice choice = resolve_module(inputs);
    CHECK(choice.path == card);
    CHECK(choice.source == "well-known path");

    inputs.registry = [trust, soft] {
        return std::vector<RegisteredModule>{{"p11-kit-trust", trust, true},
                                             {"softhsm2", soft, false}};
    };
    CHECK(resolve_module(inputs).source == "p11-kit");
    CHECK(resolve_module(inputs).path == soft);

    inputs.config_search_paths = {dir.path.string()};
    CHECK(resolve_module(inputs).source == "config");

    inputs.config_search_paths.clear();
    inputs.registry = [] { return std::vector<RegisteredModule>{}; };
    inputs.well_known_paths = {};
    CHECK(caught([&] { (void)resolve_module(inputs); }).is(CoreCode::module_not_found));
}

TEST_CASE("all candidate modules are listed once each by real path") {
    TempDir dir;
    std::string trust = dir.file("p11-kit-trust.so");
    std::string soft = dir.file("libsofthsm2.so");
    fs::create_symlink(soft, dir.path / "link.so");
    DiscoveryInputs inputs;
    inputs.registry = [trust, soft] {
        return std::vector<RegisteredModule>{{"p11-kit-trust", trust, true},
                                             {"softhsm2", soft, false},
                                             {"gone", "/nonexistent/gone.so", false}};
    };
    inputs.well_known_paths = {(dir.path / "link.so").string(), soft};
    std::vector<ModuleChoice> all = candidate_modules(inputs);
    REQUIRE(all.size() == 2);
    CHECK(all[0].name == "p11-kit-trust");
    CHECK(all[1].path == soft);
}

TEST_CASE("the well-known path lists cover the middleware on each platform") {
    auto has = [](const std::vector<std::string>& paths, const std::string& path) {
        return std::find(paths.begin(), paths.end(), path) != paths.end();
    };
    CHECK(has(well_known_module_paths_linux(), "/usr/lib64/opensc-pkcs11.so"));
    CHECK(has(well_known_module_paths_linux(), "/usr/local/lib/libcackey.so"));
    CHECK(has(well_known_module_paths_linux(), "/usr/lib/libacpkcs211.so"));
    CHECK(has(well_known_module_paths_macos(), "/Library/OpenSC/lib/opensc-pkcs11.so"));
    CHECK(has(well_known_module_paths_macos(), "/usr/local/lib/pkcs11/libcackey.dylib"));
    CHECK(has(well_known_module_paths_windows(), "C:\\Windows\\System32\\acpkcs211.dll"));
}

// SoftHSM2 as installed by Debian's softhsm2 package, with a token made by its own
// softhsm2-util in a temporary directory.
TEST_CASE("real SoftHSM2 loads by name, reports itself and lists its token") {
    std::optional<RegisteredModule> registered = softhsm();
    if (!registered) {
        MESSAGE("softhsm2 is not registered with p11-kit; install the softhsm2 package");
        return;
    }
    TempDir dir;
    fs::create_directory(dir.path / "tokens");
    std::string conf =
        dir.file("softhsm2.conf", "directories.tokendir = " + (dir.path / "tokens").string() +
                                      "\nobjectstore.backend = file\n");
    setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    std::string init =
        "softhsm2-util --init-token --free --label 'cactool test' --pin 123456 "
        "--so-pin 12345678 >/dev/null";
    REQUIRE(std::system(init.c_str()) == 0);

    Module module = Module::open("softhsm2");
    CHECK(module.path() == registered->path);
    CHECK(module.name() == "softhsm2");
    ModuleInfo info = module.info();
    CHECK(info.manufacturer == "SoftHSM");
    CHECK(info.description == "Implementation of PKCS11");

    // A second load in the same process finds the library already initialised.
    {
        Module again = Module::open(registered->path);
        CHECK_FALSE(again.finalize_on_close());
    }

    std::vector<Slot> slots = list_slots(module.cryptoki(), true);
    const Slot& slot = select_token(slots, {std::nullopt, "cactool test"});
    CHECK(slot.token->model == "SoftHSM v2");
    CHECK(slot.token->user_pin.locked == false);
    CHECK(token_uri(slot.token->raw) ==
          "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=" + slot.token->serial +
              ";token=cactool%20test");
    CHECK(select_token(slots, {std::nullopt, token_uri(slot.token->raw)}).id == slot.id);

    Session session(module.cryptoki(), slot.id);
    Secret wrong("654321");
    Error error = caught([&] { Login login(session, UserType::user, wrong); });
    CHECK(error.is(ErrorDomain::pkcs11, CKR_PIN_INCORRECT));
    Secret right("123456");
    Login login(session, UserType::user, right);
    CHECK(session.info().state == CKS_RO_USER_FUNCTIONS);
    unsetenv("SOFTHSM2_CONF");
}
