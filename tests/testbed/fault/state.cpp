#include "state.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace fault {
namespace {

void say(const std::string& message) {
    std::fprintf(stderr, "cactool fault module: %s\n", message.c_str());
}

bool covers(const FaultRule& rule, Function function, std::optional<CK_SLOT_ID> slot,
            unsigned long call) {
    if (rule.function != function)
        return false;
    if (rule.slot && rule.slot != slot)
        return false;
    return call >= rule.first_call && call <= rule.last_call;
}

}  // namespace

State& State::get() {
    static State state;
    return state;
}

CK_RV State::load() {
    {
        // First, so that a configuration that cannot be used is in the log too.
        std::lock_guard lock(mutex_);
        open_log();
    }
    const char* path = std::getenv("CACTOOL_FAULT_CONFIG");
    try {
        if (path == nullptr || *path == '\0')
            throw ConfigError("CACTOOL_FAULT_CONFIG names no configuration file");
        auto config = std::make_shared<const Config>(read_config(path));
        std::lock_guard lock(mutex_);
        load_real(config->module);
        config_ = std::move(config);
        return CKR_OK;
    } catch (const std::exception& error) {
        say(error.what());
        return CKR_GENERAL_ERROR;
    }
}

CK_RV State::load_once() {
    {
        std::lock_guard lock(mutex_);
        if (config_ != nullptr)
            return CKR_OK;
    }
    return load();
}

void State::load_real(const std::string& path) {
    if (real_ != nullptr) {
        if (path != real_path_)
            throw ConfigError("the real module cannot change within a process (loaded " +
                              real_path_ + ", now " + path + ")");
        return;
    }
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
        throw ConfigError("cannot load " + path + ": " + dlerror());
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
    CK_FUNCTION_LIST* list = nullptr;
    if (get_list == nullptr || get_list(&list) != CKR_OK || list == nullptr) {
        dlclose(library);
        throw ConfigError(path + " gives no PKCS#11 function list");
    }
    library_ = library;
    real_path_ = path;
    real_ = list;
}

void State::open_log() {
    if (log_fd_ >= 0)
        close(log_fd_);
    log_fd_ = -1;
    const char* path = std::getenv("CACTOOL_FAULT_LOG");
    if (path == nullptr || *path == '\0')
        return;
    log_fd_ = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log_fd_ < 0)
        say(std::string("cannot open the log ") + path);
}

std::shared_ptr<const Config> State::config() const {
    std::lock_guard lock(mutex_);
    return config_;
}

Decision State::decide(Function function, std::optional<CK_SLOT_ID> slot) {
    std::lock_guard lock(mutex_);
    Decision decision;
    decision.call = ++calls_[std::size_t(function)];
    unsigned long slot_call = slot ? ++slot_calls_[{function, *slot}] : 0;
    if (config_ == nullptr)
        return decision;
    for (const FaultRule& rule : config_->faults) {
        unsigned long call = rule.slot ? slot_call : decision.call;
        if (!covers(rule, function, slot, call))
            continue;
        decision.call = call;
        decision.delay_ms = rule.delay_ms;
        decision.rv = rule.rv;
        decision.when = rule.when;
        break;
    }
    return decision;
}

unsigned long State::next_slot_list_fill() {
    std::lock_guard lock(mutex_);
    return ++slot_list_fills_;
}

void State::record(Function function, unsigned long call, CK_RV rv, const char* how,
                   unsigned delay_ms) const {
    std::lock_guard lock(mutex_);
    if (log_fd_ < 0)
        return;
    char line[256];
    int length = std::snprintf(line, sizeof line, "%ld %s %lu %s %s %u\n", long(getpid()),
                               function_name(function), call, rv_name(rv).c_str(), how, delay_ms);
    if (length <= 0 || std::size_t(length) >= sizeof line)
        return;
    // One write on a descriptor opened with O_APPEND: lines of several processes sharing
    // the log never interleave.
    if (write(log_fd_, line, std::size_t(length)) != length)
        say("could not write the whole log line");
}

}  // namespace fault
