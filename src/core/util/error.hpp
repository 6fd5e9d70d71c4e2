// One error type for the whole core.
//
// Every failure a card, reader, module, file or user can cause is an `Error`: the code
// that reported it (a CKR_* value, an SCARD_* value, a status word, or one of cactool's
// own codes), the operation that was attempted, the context it happened in, and the
// taxonomy entry that says what kind of failure it is and what an operator can do.
// Errors are thrown as exceptions from the core and turned into text, JSON and exit
// codes in exactly one place in the CLI.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace cac {

// Who defined the numeric code.
enum class ErrorDomain { core, pkcs11, pcsc, status_word };

enum class Category {
    usage,
    configuration,
    middleware,
    communication,
    card_state,
    authentication,
    token,
    internal
};

enum class Severity { info, warning, error, critical };

enum class RecoveryAction {
    none,
    retry,
    reconnect,
    reestablish_context,
    reinitialize_module,
    reopen_session,
    user_action
};

// cactool's own failure codes (ErrorDomain::core).
enum class CoreCode : std::uint32_t {
    usage = 1,
    not_found,
    module_not_found,
    module_load_failed,
    not_a_pkcs11_module,
    module_init_failed,
    config_invalid,
    parse_error,
    lockout_guard,
    pin_unavailable,
    io_error,
    certificate_invalid,
    chain_invalid,
    internal,
    // New codes go last: their values are in journals already written.
    card_changed,
    timed_out,
};

std::string_view to_string(ErrorDomain domain);
std::string_view to_string(Category category);
std::string_view to_string(Severity severity);
std::string_view to_string(RecoveryAction action);

// What kind of failure a code is: one row of the taxonomy table.
struct TaxonomyEntry {
    ErrorDomain domain;
    std::uint32_t code;
    std::string_view name;
    Category category;
    Severity severity;
    RecoveryAction action;
    std::string_view meaning;
    std::string_view hint;
};

// The entry for a code. A code with no row (a vendor-defined CKR, say) gets a
// generic entry of its domain whose name spells the value.
TaxonomyEntry lookup_taxonomy(ErrorDomain domain, std::uint32_t code);

// "CKR_PIN_INCORRECT", "SCARD_E_NO_SMARTCARD", "SW 6983", "CKR_VENDOR_DEFINED+0x12".
std::string code_name(ErrorDomain domain, std::uint32_t code);

// What recovery did before this error was given up on: the attempts made, and whether
// any recovery action itself worked (a reconnect, say) although the operation then
// failed again.
struct RecoveryNote {
    int attempts = 0;
    bool action_worked = false;
};

// Where the failure happened; empty fields are unknown.
struct ErrorContext {
    std::string module;
    std::string reader;
    std::string slot;
    std::string token;
    std::string object;
};

class Error : public std::exception {
  public:
    // `operation` reads as what was attempted: "load module", "C_Login".
    Error(ErrorDomain domain, std::uint32_t code, std::string operation, std::string reason = {});
    Error(CoreCode code, std::string operation, std::string reason = {});

    ErrorDomain domain() const { return domain_; }
    std::uint32_t code() const { return code_; }
    const TaxonomyEntry& taxonomy() const { return entry_; }
    const std::string& operation() const { return operation_; }
    const std::string& reason() const { return reason_; }
    const ErrorContext& context() const { return context_; }
    const Error* cause() const { return cause_.get(); }
    const RecoveryNote& recovery() const { return recovery_; }

    bool is(ErrorDomain domain, std::uint32_t code) const {
        return domain_ == domain && code_ == code;
    }
    bool is(CoreCode code) const { return is(ErrorDomain::core, std::uint32_t(code)); }

    // The code with its symbolic name and value: "CKR_PIN_INCORRECT (0xa0)".
    std::string code_text() const;
    // "failed to C_Login: the PIN is wrong: CKR_PIN_INCORRECT (0xa0) (slot 0, token "PIV_II")"
    std::string message() const;
    // The operator hint: an explicit one, or the taxonomy's.
    std::string hint() const;

    Error& with_hint(std::string hint);
    Error& with_context(ErrorContext context);
    Error& with_module(std::string module);
    Error& with_slot(std::string slot);
    Error& with_token(std::string token);
    Error& with_cause(const Error& cause);
    Error& with_recovery(RecoveryNote note);

    const char* what() const noexcept override { return what_.c_str(); }

  private:
    void refresh();

    ErrorDomain domain_;
    std::uint32_t code_;
    TaxonomyEntry entry_;
    std::string operation_;
    std::string reason_;
    std::string hint_;
    ErrorContext context_;
    std::shared_ptr<const Error> cause_;
    RecoveryNote recovery_;
    std::string what_;
};

}  // namespace cac
