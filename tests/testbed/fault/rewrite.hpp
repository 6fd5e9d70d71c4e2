// What the fault module changes in the real module's answers: text fields and flags of
// CK_TOKEN_INFO and CK_SLOT_INFO, and the slot list.
#pragma once

#include <p11-kit/pkcs11.h>

#include <vector>

#include "config.hpp"

namespace fault {

// Apply every rewrite meant for `slot`; true when one applied.
bool rewrite_token_info(const std::vector<InfoRewrite>& rewrites, CK_SLOT_ID slot,
                        CK_TOKEN_INFO& info);
bool rewrite_slot_info(const std::vector<InfoRewrite>& rewrites, CK_SLOT_ID slot,
                       CK_SLOT_INFO& info);

// What C_GetSlotInfo says of a slot that add_empty invented: a removable reader slot
// without a token.
void fill_empty_slot_info(CK_SLOT_INFO& info);

// The real list with hidden slots taken out, empty slots added (only when the caller
// asked for all slots, not just those with a token) and the order reversed if asked.
std::vector<CK_SLOT_ID> rewrite_slot_list(const SlotListRewrite& rewrite,
                                          std::vector<CK_SLOT_ID> slots, bool token_present);

bool is_added_slot(const SlotListRewrite& rewrite, CK_SLOT_ID slot);

}  // namespace fault
