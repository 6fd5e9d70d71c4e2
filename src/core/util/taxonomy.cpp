// The error taxonomy as data: one row per code, saying what kind of failure it is,
// how bad, what recovery fits it, and what an operator should do about it.
#include <p11-kit/pkcs11.h>
#include <winscard.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <string_view>

#include "core/util/error.hpp"

namespace cac {
namespace {

using C = Category;
using S = Severity;
using A = RecoveryAction;
constexpr auto P11 = ErrorDomain::pkcs11;
constexpr auto CORE = ErrorDomain::core;
constexpr auto PCSC = ErrorDomain::pcsc;

#define CKR(code, cat, sev, act, meaning, hint)        \
    TaxonomyEntry {                                    \
        P11, code, #code, cat, sev, act, meaning, hint \
    }
#define SCARD(code, cat, sev, act, meaning, hint)                      \
    TaxonomyEntry {                                                    \
        PCSC, std::uint32_t(code), #code, cat, sev, act, meaning, hint \
    }
#define OWN(code, name, cat, sev, act, meaning, hint)                           \
    TaxonomyEntry {                                                             \
        CORE, std::uint32_t(CoreCode::code), name, cat, sev, act, meaning, hint \
    }

// PKCS#11 return values (PKCS#11 v3.1 section 5.1, as defined by p11-kit's pkcs11.h).
const std::array pkcs11_rows = {
    CKR(CKR_OK, C::internal, S::info, A::none, "success", ""),
    CKR(CKR_CANCEL, C::usage, S::info, A::none, "the operation was cancelled", ""),
    CKR(CKR_HOST_MEMORY, C::internal, S::critical, A::none, "the module ran out of memory", ""),
    CKR(CKR_SLOT_ID_INVALID, C::usage, S::error, A::none, "no such slot",
        "list the slots with 'cactool slots' and pick one of them"),
    CKR(CKR_GENERAL_ERROR, C::middleware, S::critical, A::reinitialize_module,
        "the module failed in a way it could not recover from",
        "run with --trace and check the module's own log"),
    CKR(CKR_FUNCTION_FAILED, C::middleware, S::error, A::retry,
        "the module could not complete the function", "run with --trace for the failing call"),
    CKR(CKR_ARGUMENTS_BAD, C::internal, S::error, A::none, "the module rejected the arguments",
        "this is a bug in cactool or the module; run with --trace and report it"),
    CKR(CKR_NO_EVENT, C::middleware, S::info, A::none, "no slot event is pending", ""),
    CKR(CKR_NEED_TO_CREATE_THREADS, C::middleware, S::error, A::none,
        "the module needs to create threads", ""),
    CKR(CKR_CANT_LOCK, C::middleware, S::warning, A::none,
        "the module cannot use the locking it was asked for", ""),
    CKR(CKR_ATTRIBUTE_READ_ONLY, C::token, S::error, A::none, "the attribute is read-only", ""),
    CKR(CKR_ATTRIBUTE_SENSITIVE, C::token, S::info, A::none,
        "the attribute is sensitive and cannot be revealed", ""),
    CKR(CKR_ATTRIBUTE_TYPE_INVALID, C::token, S::info, A::none, "the object has no such attribute",
        ""),
    CKR(CKR_ATTRIBUTE_VALUE_INVALID, C::token, S::error, A::none, "an attribute value is invalid",
        ""),
    CKR(CKR_ACTION_PROHIBITED, C::token, S::error, A::none, "the token prohibits the action", ""),
    CKR(CKR_DATA_INVALID, C::usage, S::error, A::none, "the input data is invalid", ""),
    CKR(CKR_DATA_LEN_RANGE, C::usage, S::error, A::none, "the input data has the wrong length", ""),
    CKR(CKR_DEVICE_ERROR, C::communication, S::error, A::reconnect,
        "the token or reader reported a device error",
        "reinsert the card; if it persists, try another reader"),
    CKR(CKR_DEVICE_MEMORY, C::token, S::error, A::none, "the token is out of memory", ""),
    CKR(CKR_DEVICE_REMOVED, C::card_state, S::error, A::reopen_session,
        "the token was removed during the operation", "insert the card and try again"),
    CKR(CKR_ENCRYPTED_DATA_INVALID, C::usage, S::error, A::none, "the encrypted data is invalid",
        ""),
    CKR(CKR_ENCRYPTED_DATA_LEN_RANGE, C::usage, S::error, A::none,
        "the encrypted data has the wrong length", ""),
    CKR(CKR_FUNCTION_CANCELED, C::middleware, S::info, A::none, "the function was cancelled", ""),
    CKR(CKR_FUNCTION_NOT_PARALLEL, C::middleware, S::error, A::none,
        "no function is executing in parallel", ""),
    CKR(CKR_FUNCTION_NOT_SUPPORTED, C::middleware, S::warning, A::none,
        "the module does not support this function", ""),
    CKR(CKR_KEY_HANDLE_INVALID, C::token, S::error, A::none, "the key handle is invalid", ""),
    CKR(CKR_KEY_SIZE_RANGE, C::token, S::error, A::none, "the key size is out of range", ""),
    CKR(CKR_KEY_TYPE_INCONSISTENT, C::token, S::error, A::none,
        "the key type does not fit the mechanism", ""),
    CKR(CKR_KEY_NOT_NEEDED, C::usage, S::error, A::none, "a key was given but is not needed", ""),
    CKR(CKR_KEY_CHANGED, C::token, S::error, A::none, "the key has changed", ""),
    CKR(CKR_KEY_NEEDED, C::usage, S::error, A::none, "a key is needed", ""),
    CKR(CKR_KEY_INDIGESTIBLE, C::token, S::error, A::none, "the key cannot be digested", ""),
    CKR(CKR_KEY_FUNCTION_NOT_PERMITTED, C::token, S::error, A::none,
        "the key's attributes do not permit this use", ""),
    CKR(CKR_KEY_NOT_WRAPPABLE, C::token, S::error, A::none, "the key cannot be wrapped", ""),
    CKR(CKR_KEY_UNEXTRACTABLE, C::token, S::error, A::none, "the key cannot be extracted", ""),
    CKR(CKR_MECHANISM_INVALID, C::token, S::error, A::none,
        "the token does not support the mechanism",
        "list the supported mechanisms with 'cactool slots --mechanisms'"),
    CKR(CKR_MECHANISM_PARAM_INVALID, C::usage, S::error, A::none,
        "the mechanism parameters are invalid", ""),
    CKR(CKR_OBJECT_HANDLE_INVALID, C::token, S::error, A::none, "the object handle is invalid", ""),
    CKR(CKR_OPERATION_ACTIVE, C::middleware, S::error, A::reopen_session,
        "another operation is already active in the session", ""),
    CKR(CKR_OPERATION_NOT_INITIALIZED, C::internal, S::error, A::none,
        "the operation was not initialised", ""),
    CKR(CKR_PIN_INCORRECT, C::authentication, S::error, A::user_action, "the PIN is wrong",
        "check the PIN; 'cactool login --check' shows the tries left"),
    CKR(CKR_PIN_INVALID, C::authentication, S::error, A::user_action,
        "the PIN contains characters the token does not accept", ""),
    CKR(CKR_PIN_LEN_RANGE, C::authentication, S::error, A::user_action,
        "the PIN is too long or too short", "PIV PINs are 6 to 8 digits"),
    CKR(CKR_PIN_EXPIRED, C::authentication, S::error, A::user_action, "the PIN has expired",
        "change the PIN with the card issuer's tool"),
    CKR(CKR_PIN_LOCKED, C::authentication, S::critical, A::user_action, "the PIN is blocked",
        "the card needs its PIN reset with the PUK or by the issuing office"),
    CKR(CKR_SESSION_CLOSED, C::middleware, S::error, A::reopen_session,
        "the session was closed during the function", ""),
    CKR(CKR_SESSION_COUNT, C::middleware, S::error, A::retry, "the token cannot open more sessions",
        "close other applications using the card"),
    CKR(CKR_SESSION_HANDLE_INVALID, C::middleware, S::error, A::reopen_session,
        "the session handle is no longer valid", ""),
    CKR(CKR_SESSION_PARALLEL_NOT_SUPPORTED, C::middleware, S::error, A::none,
        "the module does not support parallel sessions", ""),
    CKR(CKR_SESSION_READ_ONLY, C::token, S::error, A::none, "the session is read-only", ""),
    CKR(CKR_SESSION_EXISTS, C::middleware, S::error, A::none, "a session already exists", ""),
    CKR(CKR_SESSION_READ_ONLY_EXISTS, C::middleware, S::error, A::none,
        "a read-only session exists, so the SO cannot log in", ""),
    CKR(CKR_SESSION_READ_WRITE_SO_EXISTS, C::middleware, S::error, A::none,
        "a read-write SO session exists", ""),
    CKR(CKR_SIGNATURE_INVALID, C::token, S::error, A::none, "the signature is invalid", ""),
    CKR(CKR_SIGNATURE_LEN_RANGE, C::token, S::error, A::none, "the signature has the wrong length",
        ""),
    CKR(CKR_TEMPLATE_INCOMPLETE, C::usage, S::error, A::none, "the template is incomplete", ""),
    CKR(CKR_TEMPLATE_INCONSISTENT, C::usage, S::error, A::none, "the template is inconsistent", ""),
    CKR(CKR_TOKEN_NOT_PRESENT, C::card_state, S::error, A::reopen_session,
        "no token is present in the slot", "insert the card"),
    CKR(CKR_TOKEN_NOT_RECOGNIZED, C::card_state, S::error, A::user_action,
        "the module does not recognise the card",
        "the card may not be supported by this module; try another module with --module"),
    CKR(CKR_TOKEN_WRITE_PROTECTED, C::token, S::error, A::none, "the token is write-protected", ""),
    CKR(CKR_UNWRAPPING_KEY_HANDLE_INVALID, C::token, S::error, A::none,
        "the unwrapping key handle is invalid", ""),
    CKR(CKR_UNWRAPPING_KEY_SIZE_RANGE, C::token, S::error, A::none,
        "the unwrapping key size is out of range", ""),
    CKR(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, C::token, S::error, A::none,
        "the unwrapping key type is inconsistent", ""),
    CKR(CKR_USER_ALREADY_LOGGED_IN, C::authentication, S::info, A::none,
        "the user is already logged in", ""),
    CKR(CKR_USER_NOT_LOGGED_IN, C::authentication, S::error, A::user_action,
        "the operation needs a login", "add --login"),
    CKR(CKR_USER_PIN_NOT_INITIALIZED, C::token, S::error, A::user_action,
        "the user PIN has not been initialised", "initialise the token's user PIN first"),
    CKR(CKR_USER_TYPE_INVALID, C::usage, S::error, A::none, "the user type is invalid", ""),
    CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, C::authentication, S::error, A::none,
        "another user is already logged in", ""),
    CKR(CKR_USER_TOO_MANY_TYPES, C::authentication, S::error, A::none,
        "too many users are logged in", ""),
    CKR(CKR_WRAPPED_KEY_INVALID, C::token, S::error, A::none, "the wrapped key is invalid", ""),
    CKR(CKR_WRAPPED_KEY_LEN_RANGE, C::token, S::error, A::none,
        "the wrapped key has the wrong length", ""),
    CKR(CKR_WRAPPING_KEY_HANDLE_INVALID, C::token, S::error, A::none,
        "the wrapping key handle is invalid", ""),
    CKR(CKR_WRAPPING_KEY_SIZE_RANGE, C::token, S::error, A::none,
        "the wrapping key size is out of range", ""),
    CKR(CKR_WRAPPING_KEY_TYPE_INCONSISTENT, C::token, S::error, A::none,
        "the wrapping key type is inconsistent", ""),
    CKR(CKR_RANDOM_SEED_NOT_SUPPORTED, C::token, S::warning, A::none, "the token cannot be seeded",
        ""),
    CKR(CKR_RANDOM_NO_RNG, C::token, S::error, A::none, "the token has no random generator", ""),
    CKR(CKR_DOMAIN_PARAMS_INVALID, C::usage, S::error, A::none, "the domain parameters are invalid",
        ""),
    CKR(CKR_CURVE_NOT_SUPPORTED, C::token, S::error, A::none,
        "the token does not support the curve", ""),
    // The size-then-fill protocol already asks again when this comes back; when it still
    // reaches a caller, the module's answer kept changing, and more of the same will not do.
    CKR(CKR_BUFFER_TOO_SMALL, C::middleware, S::error, A::none,
        "the module's answer kept outgrowing the space it asked for",
        "the module's list kept changing while it was read; try again"),
    CKR(CKR_SAVED_STATE_INVALID, C::middleware, S::error, A::none, "the saved state is invalid",
        ""),
    CKR(CKR_INFORMATION_SENSITIVE, C::token, S::info, A::none, "the information is sensitive", ""),
    CKR(CKR_STATE_UNSAVEABLE, C::middleware, S::error, A::none, "the state cannot be saved", ""),
    CKR(CKR_CRYPTOKI_NOT_INITIALIZED, C::middleware, S::error, A::reinitialize_module,
        "the module has not been initialised", ""),
    CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED, C::middleware, S::info, A::none,
        "the module was already initialised", ""),
    CKR(CKR_MUTEX_BAD, C::internal, S::error, A::none, "a bad mutex was passed", ""),
    CKR(CKR_MUTEX_NOT_LOCKED, C::internal, S::error, A::none, "the mutex was not locked", ""),
    CKR(CKR_NEW_PIN_MODE, C::authentication, S::info, A::user_action, "the token wants a new PIN",
        ""),
    CKR(CKR_NEXT_OTP, C::authentication, S::info, A::user_action,
        "the token wants the next one-time password", ""),
    CKR(CKR_EXCEEDED_MAX_ITERATIONS, C::token, S::error, A::none,
        "the token exceeded its iteration limit", ""),
    CKR(CKR_FIPS_SELF_TEST_FAILED, C::token, S::critical, A::none,
        "the token's FIPS self-test failed", "the token may be damaged"),
    CKR(CKR_LIBRARY_LOAD_FAILED, C::middleware, S::error, A::none,
        "the module could not load a library it needs", "check the module's installation"),
    CKR(CKR_PIN_TOO_WEAK, C::authentication, S::error, A::user_action, "the PIN is too weak", ""),
    CKR(CKR_PUBLIC_KEY_INVALID, C::token, S::error, A::none, "the public key is invalid", ""),
    CKR(CKR_FUNCTION_REJECTED, C::middleware, S::error, A::user_action,
        "the function was rejected, for example by the user", ""),
};

// PC/SC return values: every code pcsc-lite 1.9.9 defines in pcsclite.h. pcsc-lite gives
// 0x8010001F two names; it returns that value when a reader or card lacks a feature, so
// the row carries that name (Windows calls the value SCARD_E_UNEXPECTED).
const std::array pcsc_rows = {
    SCARD(SCARD_S_SUCCESS, C::internal, S::info, A::none, "success", ""),
    SCARD(SCARD_F_INTERNAL_ERROR, C::middleware, S::critical, A::reestablish_context,
          "an internal consistency check of pcscd failed", "check pcscd's log"),
    SCARD(SCARD_E_CANCELLED, C::middleware, S::info, A::none,
          "the wait was cancelled by SCardCancel", ""),
    SCARD(SCARD_E_INVALID_HANDLE, C::middleware, S::error, A::reestablish_context,
          "the context or card handle is no longer valid", ""),
    SCARD(SCARD_E_INVALID_PARAMETER, C::internal, S::error, A::none,
          "pcscd could not interpret a parameter", "this is a bug in cactool; please report it"),
    SCARD(SCARD_E_INVALID_TARGET, C::configuration, S::error, A::none,
          "registry start-up information is missing or invalid", ""),
    SCARD(SCARD_E_NO_MEMORY, C::middleware, S::critical, A::none, "pcscd ran out of memory", ""),
    SCARD(SCARD_F_WAITED_TOO_LONG, C::middleware, S::error, A::retry,
          "an internal timer of pcscd expired", ""),
    SCARD(SCARD_E_INSUFFICIENT_BUFFER, C::internal, S::info, A::retry,
          "the buffer for the answer is too small", ""),
    SCARD(SCARD_E_UNKNOWN_READER, C::usage, S::error, A::none, "no reader has that name",
          "list the readers with 'cactool readers'"),
    SCARD(SCARD_E_TIMEOUT, C::card_state, S::info, A::none, "the wait timed out", ""),
    SCARD(SCARD_E_SHARING_VIOLATION, C::card_state, S::error, A::retry,
          "another application holds the card exclusively",
          "close the other application using the card"),
    // At the start of a command an empty reader is simply "not found" (exit 3); during
    // one, a card that went away is waited for, within the timeout, as a removed one is.
    SCARD(SCARD_E_NO_SMARTCARD, C::card_state, S::error, A::reconnect,
          "there is no card in the reader", "insert the card"),
    SCARD(SCARD_E_UNKNOWN_CARD, C::card_state, S::error, A::none, "the card name is not recognised",
          ""),
    SCARD(SCARD_E_CANT_DISPOSE, C::communication, S::error, A::none,
          "the card could not be disposed of as asked", ""),
    SCARD(SCARD_E_PROTO_MISMATCH, C::communication, S::error, A::reconnect,
          "the requested protocols do not fit the card's current protocol", ""),
    SCARD(SCARD_E_NOT_READY, C::communication, S::error, A::retry,
          "the reader or card is not ready", "wait a moment and try again"),
    SCARD(SCARD_E_INVALID_VALUE, C::internal, S::error, A::none,
          "pcscd could not interpret a parameter value",
          "this is a bug in cactool; please report it"),
    SCARD(SCARD_E_SYSTEM_CANCELLED, C::middleware, S::error, A::none,
          "the system cancelled the action (log-off or shutdown)", ""),
    SCARD(SCARD_F_COMM_ERROR, C::middleware, S::error, A::reestablish_context,
          "the connection to pcscd broke", "check that pcscd is still running"),
    SCARD(SCARD_F_UNKNOWN_ERROR, C::middleware, S::error, A::none,
          "pcscd failed for an unknown reason", "check pcscd's log"),
    SCARD(SCARD_E_INVALID_ATR, C::card_state, S::error, A::none, "the ATR is not valid", ""),
    // pcsc-lite also answers SCardTransmit with it when the reader driver could not carry
    // the command (IFDTransmit failed): a card pulled out mid-exchange, as seen on the test
    // bed. Whether the card is still there is for the reconnect to find out.
    SCARD(SCARD_E_NOT_TRANSACTED, C::communication, S::error, A::reconnect,
          "there is no transaction to end, or the reader could not carry the command", ""),
    SCARD(SCARD_E_READER_UNAVAILABLE, C::communication, S::error, A::user_action,
          "the reader is not available", "reconnect the reader"),
    SCARD(SCARD_P_SHUTDOWN, C::middleware, S::error, A::reestablish_context,
          "pcscd is shutting down", ""),
    SCARD(SCARD_E_PCI_TOO_SMALL, C::internal, S::error, A::none,
          "the protocol control information buffer is too small", ""),
    SCARD(SCARD_E_READER_UNSUPPORTED, C::configuration, S::error, A::none,
          "the reader driver does not meet minimal requirements", ""),
    SCARD(SCARD_E_DUPLICATE_READER, C::configuration, S::error, A::none,
          "the reader driver did not produce a unique reader name", ""),
    SCARD(SCARD_E_CARD_UNSUPPORTED, C::card_state, S::error, A::none,
          "the card does not meet minimal requirements", ""),
    SCARD(SCARD_E_NO_SERVICE, C::middleware, S::error, A::reestablish_context,
          "pcscd is not running",
          "start pcscd ('systemctl start pcscd.socket', or 'pcscd' as root)"),
    SCARD(SCARD_E_SERVICE_STOPPED, C::middleware, S::error, A::reestablish_context,
          "pcscd has stopped", "start pcscd again"),
    SCARD(SCARD_E_UNSUPPORTED_FEATURE, C::communication, S::warning, A::none,
          "the reader or card does not support the requested feature", ""),
    SCARD(SCARD_E_ICC_INSTALLATION, C::configuration, S::error, A::none,
          "no primary provider can be found for the card", ""),
    SCARD(SCARD_E_ICC_CREATEORDER, C::configuration, S::error, A::none,
          "the requested order of object creation is not supported", ""),
    SCARD(SCARD_E_DIR_NOT_FOUND, C::token, S::error, A::none,
          "the directory does not exist on the card", ""),
    SCARD(SCARD_E_FILE_NOT_FOUND, C::token, S::error, A::none,
          "the file does not exist on the card", ""),
    SCARD(SCARD_E_NO_DIR, C::token, S::error, A::none, "the path is not a directory", ""),
    SCARD(SCARD_E_NO_FILE, C::token, S::error, A::none, "the path is not a file", ""),
    SCARD(SCARD_E_NO_ACCESS, C::authentication, S::error, A::none, "access to the file is denied",
          ""),
    SCARD(SCARD_E_WRITE_TOO_MANY, C::token, S::error, A::none, "the card has no room for the data",
          ""),
    SCARD(SCARD_E_BAD_SEEK, C::token, S::error, A::none, "the file position could not be set", ""),
    SCARD(SCARD_E_INVALID_CHV, C::authentication, S::error, A::user_action, "the PIN is wrong", ""),
    SCARD(SCARD_E_UNKNOWN_RES_MNG, C::middleware, S::error, A::none,
          "a layered component returned an unrecognised code", ""),
    SCARD(SCARD_E_NO_SUCH_CERTIFICATE, C::token, S::error, A::none,
          "the certificate does not exist", ""),
    SCARD(SCARD_E_CERTIFICATE_UNAVAILABLE, C::token, S::error, A::none,
          "the certificate could not be obtained", ""),
    SCARD(SCARD_E_NO_READERS_AVAILABLE, C::configuration, S::error, A::user_action,
          "no reader is connected", "connect a smart card reader"),
    SCARD(SCARD_E_COMM_DATA_LOST, C::communication, S::error, A::retry,
          "data was lost on the way to or from the card", "try again"),
    SCARD(SCARD_E_NO_KEY_CONTAINER, C::token, S::error, A::none,
          "the key container does not exist on the card", ""),
    SCARD(SCARD_E_SERVER_TOO_BUSY, C::middleware, S::error, A::retry,
          "pcscd is too busy to complete the operation", "try again"),
    SCARD(SCARD_W_UNSUPPORTED_CARD, C::card_state, S::error, A::none,
          "the reader cannot talk to the card because of its ATR", ""),
    SCARD(SCARD_W_UNRESPONSIVE_CARD, C::card_state, S::error, A::user_action,
          "the card does not answer a reset", "reinsert the card"),
    SCARD(SCARD_W_UNPOWERED_CARD, C::card_state, S::error, A::reconnect, "the card has no power",
          ""),
    SCARD(SCARD_W_RESET_CARD, C::card_state, S::warning, A::reconnect,
          "the card was reset, so its state (selected application, login) is lost", ""),
    // Reconnecting waits, within the timeout, for the card to be put back.
    SCARD(SCARD_W_REMOVED_CARD, C::card_state, S::error, A::reconnect, "the card was removed",
          "insert the card and try again"),
    SCARD(SCARD_W_SECURITY_VIOLATION, C::authentication, S::error, A::none,
          "access was denied because of a security violation", ""),
    SCARD(SCARD_W_WRONG_CHV, C::authentication, S::error, A::user_action,
          "the card refused a wrong PIN", ""),
    SCARD(SCARD_W_CHV_BLOCKED, C::authentication, S::critical, A::user_action, "the PIN is blocked",
          "the PIN needs a reset with the PUK"),
    SCARD(SCARD_W_EOF, C::token, S::error, A::none, "the end of the card file was reached", ""),
    SCARD(SCARD_W_CANCELLED_BY_USER, C::usage, S::info, A::none,
          "the user cancelled the card selection", ""),
    SCARD(SCARD_W_CARD_NOT_AUTHENTICATED, C::authentication, S::error, A::user_action,
          "no PIN was presented to the card", ""),
};

// cactool's own codes.
const std::array core_rows = {
    OWN(usage, "CACTOOL_USAGE", C::usage, S::error, A::user_action, "the command line is not valid",
        "see 'cactool --help'"),
    OWN(not_found, "CACTOOL_NOT_FOUND", C::usage, S::error, A::user_action,
        "nothing matched the selection",
        "list what is there with 'cactool slots' or 'cactool readers'"),
    OWN(module_not_found, "CACTOOL_MODULE_NOT_FOUND", C::configuration, S::error, A::user_action,
        "no PKCS#11 module was found",
        "install the middleware (OpenSC: 'apt-get install opensc-pkcs11') or give --module"),
    OWN(module_load_failed, "CACTOOL_MODULE_LOAD_FAILED", C::configuration, S::error,
        A::user_action, "the PKCS#11 module could not be loaded",
        "check that the file exists and that its dependencies are installed (ldd MODULE)"),
    OWN(not_a_pkcs11_module, "CACTOOL_NOT_A_PKCS11_MODULE", C::configuration, S::error,
        A::user_action, "the library is not a PKCS#11 module",
        "the file has no C_GetFunctionList; give the path of the module itself"),
    OWN(module_init_failed, "CACTOOL_MODULE_INIT_FAILED", C::middleware, S::error, A::user_action,
        "the PKCS#11 module could not be initialised",
        "check the module's configuration file and that pcscd is running"),
    OWN(config_invalid, "CACTOOL_CONFIG_INVALID", C::configuration, S::error, A::user_action,
        "the configuration file is not valid", "fix the file or point --config elsewhere"),
    OWN(parse_error, "CACTOOL_PARSE_ERROR", C::usage, S::error, A::none,
        "the data could not be parsed", ""),
    OWN(lockout_guard, "CACTOOL_LOCKOUT_GUARD", C::authentication, S::warning, A::user_action,
        "refused: one more wrong PIN could block the card",
        "make sure of the PIN, then repeat with --force"),
    OWN(pin_unavailable, "CACTOOL_PIN_UNAVAILABLE", C::usage, S::error, A::user_action,
        "no PIN could be read",
        "give the PIN with --pin-stdin, --pin-env VAR or --pin-file PATH, or run on a "
        "terminal"),
    OWN(io_error, "CACTOOL_IO_ERROR", C::configuration, S::error, A::user_action,
        "a file could not be read or written", ""),
    OWN(certificate_invalid, "CACTOOL_CERTIFICATE_INVALID", C::token, S::warning, A::none,
        "the certificate could not be parsed", ""),
    OWN(chain_invalid, "CACTOOL_CHAIN_INVALID", C::token, S::warning, A::user_action,
        "the certificate chain does not verify",
        "check the trust anchors given with --ca-file or --ca-dir"),
    OWN(internal, "CACTOOL_INTERNAL", C::internal, S::critical, A::none,
        "an internal error occurred", "this is a bug in cactool; please report it"),
    // Reading on would mix two cards' data in one answer.
    OWN(card_changed, "CACTOOL_CARD_CHANGED", C::card_state, S::error, A::user_action,
        "another card is in the reader now, not the one that was being read",
        "put back the card that was in the reader, and run the command again"),
    // Repeating would only wait as long again: whatever did not answer has to be seen to.
    OWN(timed_out, "CACTOOL_TIMEOUT", C::communication, S::error, A::none,
        "a card or module operation did not finish within the time bound",
        "the card, reader or middleware stopped answering: reinsert the card or restart "
        "pcscd; a slow card may need a longer --timeout"),
};

// Status words (ISO/IEC 7816-4:2013 5.6; NIST SP 800-73-4 part 2 table 6 for PIV; the
// GSC-IS 2.1 applets of DoD CAC cards answer the same way where they overlap). A row is a
// pattern whose 'x' digits match any value; the most specific matching row wins, and the
// SW1 rows stand for whole processing classes. The meanings say what the answer means to
// an operator; core/apdu/status_words.hpp keeps the finer per-pattern texts for APDU
// output.
struct SwRow {
    std::uint16_t value;
    std::uint16_t mask;
    TaxonomyEntry entry;
};

constexpr std::uint16_t pattern_value(std::string_view pattern, bool mask) {
    std::uint16_t out = 0;
    for (char c : pattern) {
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        out = std::uint16_t(out << 4 | (mask ? (digit < 0 ? 0 : 0xF) : (digit < 0 ? 0 : digit)));
    }
    return out;
}

constexpr auto SWD = ErrorDomain::status_word;
#define SW(pattern, cat, sev, act, meaning, hint)                                     \
    SwRow {                                                                           \
        pattern_value(pattern, false), pattern_value(pattern, true), TaxonomyEntry {  \
            SWD, pattern_value(pattern, false), pattern, cat, sev, act, meaning, hint \
        }                                                                             \
    }

const std::array status_word_rows = {
    SW("9000", C::internal, S::info, A::none, "success", ""),
    SW("61xx", C::internal, S::info, A::none, "success; more data waits for GET RESPONSE", ""),
    SW("62xx", C::card_state, S::warning, A::none, "a warning; the card's state is unchanged", ""),
    SW("6281", C::token, S::warning, A::retry, "part of the returned data may be corrupted",
       "read it again; if it keeps happening the card may be failing"),
    SW("6282", C::token, S::warning, A::none,
       "the object ended before the length that was asked for", ""),
    SW("63xx", C::card_state, S::warning, A::none, "a warning; the card's state changed", ""),
    // After VERIFY: SP 800-73-4 gives 63Cx; 6300 carries no count, which is not zero.
    SW("6300", C::authentication, S::error, A::user_action,
       "the verification failed and the card did not say how many tries are left",
       "make sure of the PIN before another try: the card may be close to blocking it"),
    SW("63Cx", C::authentication, S::error, A::user_action,
       "the verification failed; the last digit is the number of tries left",
       "check the PIN; 'cactool login --check' shows the tries left"),
    SW("64xx", C::card_state, S::error, A::none, "the card failed; its state is unchanged", ""),
    SW("65xx", C::token, S::error, A::none, "the card failed and its state changed", ""),
    SW("6581", C::token, S::critical, A::none, "the card's memory failed",
       "the card may be failing; have it replaced"),
    SW("66xx", C::communication, S::error, A::none, "a security-related error on the card", ""),
    SW("6700", C::usage, S::error, A::none, "wrong length (Lc or Le)",
       "check the command's length bytes"),
    SW("67xx", C::usage, S::error, A::none, "wrong length", ""),
    SW("68xx", C::usage, S::error, A::none, "the class byte asks for something not supported", ""),
    SW("6881", C::usage, S::error, A::none, "logical channels are not supported", ""),
    SW("6882", C::usage, S::error, A::none, "secure messaging is not supported", ""),
    SW("69xx", C::card_state, S::error, A::none, "the command is not allowed now", ""),
    SW("6982", C::authentication, S::error, A::user_action,
       "the security status is not satisfied: a PIN or key authentication is needed first",
       "log in first ('cactool login', or a VERIFY earlier in the script)"),
    SW("6983", C::authentication, S::critical, A::user_action,
       "the authentication method is blocked: the PIN (or key) has no tries left",
       "the card needs its PIN reset with the PUK or by the issuing office"),
    SW("6984", C::token, S::error, A::none, "the referenced data is not usable", ""),
    SW("6985", C::card_state, S::error, A::none, "the conditions of use are not satisfied", ""),
    SW("6986", C::usage, S::error, A::none, "the command is not allowed (no current file)", ""),
    SW("6987", C::communication, S::error, A::none, "secure messaging data objects are missing",
       ""),
    SW("6988", C::communication, S::error, A::none, "secure messaging data objects are incorrect",
       ""),
    SW("6Axx", C::usage, S::error, A::none, "wrong parameters", ""),
    SW("6A80", C::usage, S::error, A::none, "the data field of the command is not valid", ""),
    SW("6A81", C::token, S::error, A::none, "the card does not support the function", ""),
    // An empty PIV container, or a card without the application selected.
    SW("6A82", C::token, S::warning, A::none, "no such object or application on the card",
       "the card does not hold it (an empty PIV slot answers this)"),
    SW("6A84", C::token, S::error, A::none, "not enough memory on the card", ""),
    SW("6A86", C::usage, S::error, A::none, "wrong parameters P1-P2", ""),
    SW("6A88", C::token, S::error, A::none, "the referenced key or data is not on the card",
       "the key reference does not exist on this card"),
    SW("6B00", C::usage, S::error, A::none, "wrong parameters P1-P2", ""),
    SW("6Cxx", C::usage, S::info, A::none, "wrong Le; the second byte is the right one", ""),
    // Cards answer GET DATA this way before SELECT: the application is not selected, which
    // does not mean the card has none.
    SW("6D00", C::card_state, S::error, A::none, "the instruction is not supported now",
       "select the application first; on a PIV card: SELECT A0 00 00 03 08"),
    SW("6E00", C::usage, S::error, A::none, "the class byte is not supported", ""),
    SW("6F00", C::token, S::error, A::none, "the card failed without saying why",
       "reinsert the card and try again; if it keeps happening the card may be failing"),
};

#undef SW

#undef CKR
#undef SCARD
#undef OWN

template <typename Rows>
const TaxonomyEntry* find_row(const Rows& rows, std::uint32_t code) {
    auto it = std::find_if(rows.begin(), rows.end(),
                           [code](const TaxonomyEntry& row) { return row.code == code; });
    return it == rows.end() ? nullptr : &*it;
}

}  // namespace

TaxonomyEntry lookup_taxonomy(ErrorDomain domain, std::uint32_t code) {
    const TaxonomyEntry* row = nullptr;
    if (domain == ErrorDomain::pkcs11) {
        row = find_row(pkcs11_rows, code);
    } else if (domain == ErrorDomain::pcsc) {
        row = find_row(pcsc_rows, code);
    } else if (domain == ErrorDomain::core) {
        row = find_row(core_rows, code);
    } else if (domain == ErrorDomain::status_word) {
        const SwRow* best = nullptr;
        for (const SwRow& sw : status_word_rows) {
            if ((code & 0xffff & sw.mask) == sw.value &&
                (best == nullptr || std::popcount(sw.mask) > std::popcount(best->mask)))
                best = &sw;
        }
        if (best != nullptr) {
            // The row stands for a pattern: the entry carries the status word itself.
            TaxonomyEntry entry = best->entry;
            entry.code = code;
            return entry;
        }
    }
    if (row != nullptr) {
        return *row;
    }
    // Codes without a row of their own: vendor-defined CKR values, PC/SC values pcsc-lite
    // does not define, and application-specific status words (9xxx other than 9000).
    switch (domain) {
        case ErrorDomain::pkcs11:
            return {domain,
                    code,
                    "",
                    C::middleware,
                    S::error,
                    A::none,
                    "the module returned an unknown code",
                    ""};
        case ErrorDomain::pcsc:
            return {domain, code, "", C::communication, S::error, A::none, "PC/SC failure", ""};
        case ErrorDomain::status_word:
            return {domain,
                    code,
                    "",
                    C::card_state,
                    S::error,
                    A::none,
                    "an application-specific status the standards do not define",
                    ""};
        case ErrorDomain::core:
            break;
    }
    return *find_row(core_rows, std::uint32_t(CoreCode::internal));
}

std::string code_name(ErrorDomain domain, std::uint32_t code) {
    char buf[48];
    // A status word's row is named by its pattern ("63Cx"); the word is named by itself.
    if (domain == ErrorDomain::status_word) {
        std::snprintf(buf, sizeof buf, "SW %04X", unsigned(code & 0xffff));
        return buf;
    }
    TaxonomyEntry entry = lookup_taxonomy(domain, code);
    if (!entry.name.empty() && entry.code == code) {
        return std::string(entry.name);
    }
    switch (domain) {
        case ErrorDomain::pkcs11:
            if (code >= CKR_VENDOR_DEFINED) {
                std::snprintf(buf, sizeof buf, "CKR_VENDOR_DEFINED+0x%x",
                              unsigned(code - CKR_VENDOR_DEFINED));
            } else {
                std::snprintf(buf, sizeof buf, "CKR_0x%x", unsigned(code));
            }
            return buf;
        case ErrorDomain::pcsc:
            std::snprintf(buf, sizeof buf, "SCARD_0x%08x", unsigned(code));
            return buf;
        case ErrorDomain::status_word:  // named above
        case ErrorDomain::core:
            break;
    }
    return "CACTOOL_INTERNAL";
}

}  // namespace cac
