// A PC/SC context (SCARDCONTEXT) owned by an object, and the reader list.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/pcsc/pcsc_api.hpp"

namespace cac::pcsc {

class Context {
  public:
    // Establishes a context; throws Error(pcsc) when pcscd is unreachable
    // (SCARD_E_NO_SERVICE) or refuses.
    explicit Context(PcscApi api = PcscApi(), DWORD scope = SCARD_SCOPE_SYSTEM);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    Context(Context&& other) noexcept;
    Context& operator=(Context&& other) noexcept;

    SCARDCONTEXT handle() const { return handle_; }
    const PcscApi& api() const { return api_; }

    // The readers' names, in pcscd's order. Empty when there are none
    // (SCARD_E_NO_READERS_AVAILABLE); throws Error(pcsc) for any other failure.
    [[nodiscard]] std::vector<std::string> list_readers() const;
    // SCardIsValidContext: false once pcscd has gone away or the context was released.
    [[nodiscard]] bool is_valid() const;
    // Makes a blocking SCardGetStatusChange on this context return SCARD_E_CANCELLED.
    // Callable from another thread (not from a signal handler: pcsc-lite takes locks).
    void cancel() const;

  private:
    void release() noexcept;

    PcscApi api_;
    SCARDCONTEXT handle_ = 0;
    bool owned_ = false;
};

// The names in a PC/SC multi-string ("a\0b\0\0"), reading no further than `buffer`:
// a list without its final NULs, or cut short, still gives the names it holds.
std::vector<std::string> parse_multi_string(std::span<const char> buffer);

}  // namespace cac::pcsc
