#include "rewrite.hpp"

#include <algorithm>
#include <cstring>

namespace fault {
namespace {

// The field's text without the blanks and NULs that pad it on the right.
std::string current_text(const unsigned char* field, std::size_t size) {
    std::size_t length = size;
    while (length > 0 && (field[length - 1] == ' ' || field[length - 1] == '\0'))
        --length;
    return std::string(reinterpret_cast<const char*>(field), length);
}

void apply_text(unsigned char* base, const TextRewrite& rewrite) {
    unsigned char* field = base + rewrite.field->offset;
    const std::size_t size = rewrite.field->size;
    std::string text = rewrite.bytes ? *rewrite.bytes : current_text(field, size);
    // The configuration allows no text longer than the field; a kept text never is.
    const std::size_t length = std::min(text.size(), size);
    const std::size_t pad = size - length;
    switch (rewrite.padding) {
        case Padding::left:
            std::memset(field, ' ', pad);
            std::memcpy(field + pad, text.data(), length);
            break;
        case Padding::nul:
            std::memcpy(field, text.data(), length);
            std::memset(field + length, 0, pad);
            break;
        case Padding::right:
        case Padding::none:
            std::memcpy(field, text.data(), length);
            std::memset(field + length, ' ', pad);
            break;
    }
}

template <typename Info>
bool apply_all(const std::vector<InfoRewrite>& rewrites, CK_SLOT_ID slot, Info& info) {
    bool applied = false;
    for (const InfoRewrite& rewrite : rewrites) {
        if (rewrite.slot && *rewrite.slot != slot)
            continue;
        for (const TextRewrite& text : rewrite.texts)
            apply_text(reinterpret_cast<unsigned char*>(&info), text);
        info.flags = (info.flags | rewrite.set_flags) & ~rewrite.clear_flags;
        applied = true;
    }
    return applied;
}

bool contains(const std::vector<CK_SLOT_ID>& slots, CK_SLOT_ID slot) {
    return std::find(slots.begin(), slots.end(), slot) != slots.end();
}

}  // namespace

bool rewrite_token_info(const std::vector<InfoRewrite>& rewrites, CK_SLOT_ID slot,
                        CK_TOKEN_INFO& info) {
    return apply_all(rewrites, slot, info);
}

bool rewrite_slot_info(const std::vector<InfoRewrite>& rewrites, CK_SLOT_ID slot,
                       CK_SLOT_INFO& info) {
    return apply_all(rewrites, slot, info);
}

void fill_empty_slot_info(CK_SLOT_INFO& info) {
    static constexpr char description[] = "cactool fault module empty slot";
    static constexpr char manufacturer[] = "cactool tests";
    std::memset(&info, 0, sizeof info);
    std::memset(info.slotDescription, ' ', sizeof info.slotDescription);
    std::memcpy(info.slotDescription, description, sizeof description - 1);
    std::memset(info.manufacturerID, ' ', sizeof info.manufacturerID);
    std::memcpy(info.manufacturerID, manufacturer, sizeof manufacturer - 1);
    info.flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
}

std::vector<CK_SLOT_ID> rewrite_slot_list(const SlotListRewrite& rewrite,
                                          std::vector<CK_SLOT_ID> slots, bool token_present) {
    std::erase_if(slots, [&](CK_SLOT_ID slot) { return contains(rewrite.hide, slot); });
    if (!token_present)
        slots.insert(slots.end(), rewrite.add_empty.begin(), rewrite.add_empty.end());
    if (rewrite.reverse)
        std::reverse(slots.begin(), slots.end());
    return slots;
}

bool is_added_slot(const SlotListRewrite& rewrite, CK_SLOT_ID slot) {
    return contains(rewrite.add_empty, slot);
}

}  // namespace fault
