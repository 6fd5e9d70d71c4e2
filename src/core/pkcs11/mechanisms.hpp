// Mechanisms a token supports, with their names and capabilities.
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>
#include <string>
#include <vector>

#include "core/pkcs11/cryptoki.hpp"
#include "core/util/error.hpp"

namespace cac {

// "CKM_SHA256_RSA_PKCS", or "0x%08lx" for a mechanism without a name here.
std::string mechanism_name(CK_MECHANISM_TYPE type);

// CK_MECHANISM_INFO flags as lowercase names without CKF_: "sign", "verify", "hw",
// "generate_key_pair", "ec_namedcurve"...; unknown bits as "0x%08lx".
std::vector<std::string> mechanism_flag_names(CK_FLAGS flags);

struct Mechanism {
    CK_MECHANISM_TYPE type = 0;
    std::string name;
    // From C_GetMechanismInfo; empty with `error` set when that call failed.
    std::optional<CK_MECHANISM_INFO> info;
    std::vector<std::string> flag_names;
    std::optional<Error> error;
};

// C_GetMechanismList (two-call idiom) and C_GetMechanismInfo for each entry. A failing
// C_GetMechanismInfo is recorded on that mechanism and does not hide the others.
[[nodiscard]] std::vector<Mechanism> list_mechanisms(const Cryptoki& cryptoki, CK_SLOT_ID slot);

}  // namespace cac
