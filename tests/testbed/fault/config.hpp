// The fault module's configuration: which calls fail or wait, and what the module's
// answers are rewritten to. README.md in the folder above describes the file format;
// this header is its data.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "names.hpp"

namespace fault {

// A configuration that cannot be used; what() names the key and the reason.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class When { before, after };

// One knob of the "faults" list. Calls are counted per function from the library's
// load (per function and slot when `slot` is given), starting at 1.
struct FaultRule {
    Function function = Function::C_Initialize;
    std::optional<CK_SLOT_ID> slot;
    unsigned long first_call = 1;
    unsigned long last_call = ~0UL;
    std::optional<CK_RV> rv;
    When when = When::before;
    unsigned delay_ms = 0;
};

// A blank-padded text field of CK_TOKEN_INFO or CK_SLOT_INFO: where it is and its size.
struct InfoField {
    const char* name;
    std::size_t offset;
    std::size_t size;
};

enum class Padding { right, left, nul, none };

struct TextRewrite {
    const InfoField* field = nullptr;
    std::optional<std::string> bytes;  // without it the module's own text is re-padded
    Padding padding = Padding::right;
};

// Rewrites of one C_GetTokenInfo or C_GetSlotInfo answer (of every slot without `slot`).
struct InfoRewrite {
    std::optional<CK_SLOT_ID> slot;
    std::vector<TextRewrite> texts;
    CK_FLAGS set_flags = 0;
    CK_FLAGS clear_flags = 0;
};

struct SlotListRewrite {
    std::vector<CK_SLOT_ID> hide;
    std::vector<CK_SLOT_ID> add_empty;
    bool reverse = false;
    // The first `grow_times` calls that fill a buffer answer CKR_BUFFER_TOO_SMALL, as if
    // `grow_by` slots had appeared since the call that asked for the count.
    unsigned grow_times = 0;
    CK_ULONG grow_by = 1;
    bool grow_updates_count = true;
};

// A rewrite of one attribute of every object whose CKA_ID (and CKA_CLASS, when given)
// match: C_GetAttributeValue answers `value` for it instead of the real module's bytes.
struct AttributeRewrite {
    std::string id;
    std::optional<CK_OBJECT_CLASS> object_class;
    CK_ATTRIBUTE_TYPE type = CKA_VALUE;
    std::string value;
};

struct Config {
    std::string module;
    std::vector<FaultRule> faults;
    std::vector<InfoRewrite> token_info;
    std::vector<InfoRewrite> slot_info;
    SlotListRewrite slot_list;
    std::vector<AttributeRewrite> attribute_values;
};

inline constexpr std::size_t max_config_bytes = 64 * 1024;

// Parse a configuration document; throws ConfigError.
Config parse_config(std::string_view text);

// Read and parse the file; throws ConfigError, also for a file over max_config_bytes.
Config read_config(const std::string& path);

}  // namespace fault
