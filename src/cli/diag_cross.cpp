// diag's cross-check of the two views of one card: the certificates its PIV containers
// hold, read over PC/SC as `certs --pcsc` reads them, against the certificates the
// module shows for the card's token. A module that leaves a certificate out, or shows
// other bytes for it (a stale cache, a bad parse of a compressed container), makes every
// program using the module see the wrong card; nothing else in the report would show it.
#include <ctime>

#include "cli/diag.hpp"
#include "core/piv/application.hpp"
#include "core/pkcs11/session.hpp"
#include "core/recovery/pcsc_recovery.hpp"
#include "core/x509/piv_slot.hpp"

namespace cac::cli {
namespace {

// "9A (PIV Authentication)": what a line of this check is about.
std::string slot_subject(const piv::CertificateSlot& slot) {
    return std::string(slot.key_ref) + " (" + std::string(slot.name) + ")";
}

// The token's certificates, each with the PIV key its CKA_ID or label names.
std::vector<ModuleView> module_certificates(DiagState& state, const Slot& slot) {
    const Cryptoki& cryptoki = state.module->module.cryptoki();
    PivModule scheme = piv_module_from_manufacturer(state.module->module.info().manufacturer);
    Session session(cryptoki, slot.id);
    std::vector<ModuleView> found;
    for (Listed& l : read_token_certificates(cryptoki, session.handle())) {
        std::span<const std::uint8_t> id;
        if (l.object.id)
            id = *l.object.id;
        auto reference = piv_key_reference(id, l.object.label.value_or(""), scheme);
        found.push_back(ModuleView{l.object.value.value_or(Bytes{}), reference});
    }
    return found;
}

// The card in one reader, over PC/SC and through its token.
void check_reader(DiagState& state, const pcsc::Reader& reader, const Slot& slot) {
    std::vector<PivCertificate> card_certificates;
    try {
        PcscRecoverer card(pcsc::Context(), reader.name);
        card_certificates = read_piv_certificates(state.ctx, card, std::time(nullptr));
    } catch (const Error& e) {
        if (piv::is_no_piv_application(e)) {
            state.report("certificate_views", CheckStatus::skip,
                         "the card has no PIV application: its containers cannot be read to "
                         "compare",
                         {}, reader.name);
        } else {
            state.report("certificate_views", CheckStatus::fail,
                         "the card's certificates cannot be read over PC/SC: " + e.message(),
                         e.hint(), reader.name);
        }
        return;
    }
    std::vector<ModuleView> module;
    try {
        module = module_certificates(state, slot);
    } catch (const Error& e) {
        state.report("certificate_views", CheckStatus::skip,
                     "the token's certificates could not be read (see certificates)", {},
                     reader.name);
        return;
    }
    bool any = false;
    for (const PivCertificate& certificate : card_certificates) {
        if (!certificate.listed.object.value) {
            state.report(
                "certificate_views", CheckStatus::skip,
                "the container cannot be read: " + certificate.listed.error.value_or("unknown"), {},
                slot_subject(certificate.slot));
            continue;
        }
        any = true;
        report(state, judge_certificate_view(certificate.slot, *certificate.listed.object.value,
                                             module, slot.token->label));
    }
    if (!any && card_certificates.empty()) {
        state.report("certificate_views", CheckStatus::skip,
                     "the card holds no certificate in 9A, 9C, 9D or 9E", {}, reader.name);
    }
}

}  // namespace

void check_certificate_views(DiagState& state) {
    if (!state.readers || !state.slots_read) {
        state.report(
            "certificate_views", CheckStatus::skip,
            state.readers ? "no token could be read" : "the readers could not be read over PC/SC");
        return;
    }
    bool any = false;
    for (const pcsc::Reader& reader : *state.readers) {
        if (reader.atr.empty() || reader.state == pcsc::ReaderState::mute)
            continue;
        const Slot* slot = slot_of_reader(state.slots, reader.name);
        if (slot == nullptr || !token_initialised(*slot))
            continue;  // card_token and token say why
        any = true;
        check_reader(state, reader, *slot);
    }
    if (!any) {
        state.report("certificate_views", CheckStatus::skip,
                     "no card is a token of the module (see card_token)");
    }
}

}  // namespace cac::cli
