#include "core/pcsc/context.hpp"

#include <algorithm>
#include <utility>

#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace cac::pcsc {
namespace {

// The list can change between the call that sizes it and the call that fills it (a
// reader plugged in meanwhile): pcscd then answers SCARD_E_INSUFFICIENT_BUFFER and the
// two calls are repeated, a few times at most.
constexpr int list_attempts = 5;

// One size-then-fill round. Returns false when the list grew in between.
bool try_list(const Context& context, std::vector<std::string>& names) {
    DWORD length = 0;
    LONG rv = context.api().list_readers(context.handle(), nullptr, &length);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) {
        names.clear();
        return true;
    }
    check_scard(rv, "list readers");
    std::vector<char> buffer(std::max<DWORD>(length, 1));
    DWORD filled = DWORD(buffer.size());
    rv = context.api().list_readers(context.handle(), buffer.data(), &filled);
    if (rv == SCARD_E_INSUFFICIENT_BUFFER)
        return false;
    if (rv == SCARD_E_NO_READERS_AVAILABLE) {
        names.clear();
        return true;
    }
    check_scard(rv, "list readers");
    std::size_t used = std::min<std::size_t>(filled, buffer.size());
    names = parse_multi_string({buffer.data(), used});
    return true;
}

}  // namespace

Context::Context(PcscApi api, DWORD scope) : api_(api) {
    check_scard(api_.establish_context(scope, &handle_), "establish a PC/SC context");
    owned_ = true;
}

Context::~Context() {
    release();
}

Context::Context(Context&& other) noexcept
    : api_(other.api_), handle_(other.handle_), owned_(std::exchange(other.owned_, false)) {}

Context& Context::operator=(Context&& other) noexcept {
    if (this != &other) {
        release();
        api_ = other.api_;
        handle_ = other.handle_;
        owned_ = std::exchange(other.owned_, false);
    }
    return *this;
}

void Context::release() noexcept {
    if (!owned_)
        return;
    owned_ = false;
    LONG rv = api_.release_context(handle_);
    // After pcscd went away the context is already gone on its side; nothing to report.
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_INVALID_HANDLE && rv != SCARD_E_NO_SERVICE)
        log::debug("pcsc", "failed to release the PC/SC context: " + scard_name(rv));
}

std::vector<std::string> Context::list_readers() const {
    std::vector<std::string> names;
    for (int attempt = 0; attempt < list_attempts; ++attempt) {
        if (try_list(*this, names))
            return names;
    }
    throw Error(ErrorDomain::pcsc, std::uint32_t(SCARD_E_INSUFFICIENT_BUFFER), "list readers",
                "the reader list changed on each of " + std::to_string(list_attempts) +
                    " attempts to read it");
}

bool Context::is_valid() const {
    return owned_ && api_.is_valid_context(handle_) == SCARD_S_SUCCESS;
}

void Context::cancel() const {
    if (owned_)
        (void)api_.cancel(handle_);
}

std::vector<std::string> parse_multi_string(std::span<const char> buffer) {
    std::vector<std::string> names;
    auto at = buffer.begin();
    while (at != buffer.end() && *at != '\0') {
        auto end = std::find(at, buffer.end(), '\0');
        names.emplace_back(at, end);
        at = end == buffer.end() ? end : end + 1;
    }
    return names;
}

}  // namespace cac::pcsc
