// diag's cross-check of the two views of one card: the certificates its PIV containers
// hold, read over PC/SC as `certs --pcsc` reads them, against the certificates the
// module shows for the card's token. A module that leaves a certificate out, or shows
// other bytes for it (a stale cache, a bad parse of a compressed container), makes every
// program using the module see the wrong card; nothing else in the report would show it.
#include <algorithm>
#include <ctime>

#include "cli/diag.hpp"
#include "core/pkcs11/session.hpp"
#include "core/recovery/pcsc_recovery.hpp"
#include "core/x509/piv_slot.hpp"

namespace cac::cli {
namespace {

constexpr const char* kNotExposedHint =
    "the module does not read this certificate: update the module (OpenSC for PIV), check "
    "its configuration, and compare with 'cactool certs --pcsc'";
constexpr const char* kDifferentHint =
    "the module shows a stale or wrong certificate: clear its cache (OpenSC: "
    "~/.cache/opensc, or use_file_caching = no in opensc.conf), take the card out and put it "
    "back; 'cactool certs --pcsc' shows what the card holds";

// "9A (PIV Authentication)": what a line of this check is about.
std::string slot_subject(const piv::CertificateSlot& slot) {
    return std::string(slot.key_ref) + " (" + std::string(slot.name) + ")";
}

std::string fingerprint(const Listed& l) {
    if (l.summary)
        return l.summary->sha256;
    return l.object.value ? sha256_hex(*l.object.value) : std::string("(no value)");
}

// The PIV key reference ("9A" as 0x9A) of a container's slot.
std::uint8_t key_reference(const piv::CertificateSlot& slot) {
    return std::uint8_t(std::stoul(std::string(slot.key_ref), nullptr, 16));
}

struct ModuleCertificate {
    Listed listed;
    std::optional<std::uint8_t> key_reference;
};

std::vector<ModuleCertificate> module_certificates(DiagState& state, const Slot& slot) {
    const Cryptoki& cryptoki = state.module->module.cryptoki();
    PivModule scheme = piv_module_from_manufacturer(state.module->module.info().manufacturer);
    Session session(cryptoki, slot.id);
    std::vector<ModuleCertificate> found;
    for (Listed& l : read_token_certificates(cryptoki, session.handle())) {
        std::span<const std::uint8_t> id;
        if (l.object.id)
            id = *l.object.id;
        auto reference = piv_key_reference(id, l.object.label.value_or(""), scheme);
        found.push_back(ModuleCertificate{std::move(l), reference});
    }
    return found;
}

// One certificate of the card against the module's: the same bytes anywhere on the token
// pass (a module may label its objects its own way); else the module's certificate for
// the same PIV key is the card's, read wrong.
void compare(DiagState& state, const PivCertificate& card,
             const std::vector<ModuleCertificate>& module, const std::string& token) {
    std::string subject = slot_subject(card.slot);
    const Bytes& bytes = *card.listed.object.value;
    auto same = std::find_if(module.begin(), module.end(), [&](const ModuleCertificate& m) {
        return m.listed.object.value == bytes;
    });
    if (same != module.end()) {
        state.report("certificate_views", CheckStatus::pass,
                     "token \"" + token + "\" shows the card's certificate (SHA-256 " +
                         fingerprint(card.listed) + ")",
                     {}, subject);
        return;
    }
    std::uint8_t reference = key_reference(card.slot);
    auto other = std::find_if(module.begin(), module.end(), [&](const ModuleCertificate& m) {
        return m.key_reference == reference;
    });
    if (other == module.end()) {
        state.report("certificate_views", CheckStatus::fail,
                     "the card holds this certificate (SHA-256 " + fingerprint(card.listed) +
                         ") but the module does not expose it on token \"" + token + "\"",
                     kNotExposedHint, subject);
        return;
    }
    state.report("certificate_views", CheckStatus::fail,
                 "the module's certificate differs from the card's: card SHA-256 " +
                     fingerprint(card.listed) + ", module (token \"" + token + "\") SHA-256 " +
                     fingerprint(other->listed),
                 kDifferentHint, subject);
}

// The card in one reader, over PC/SC and through its token.
void check_reader(DiagState& state, const pcsc::Reader& reader, const Slot& slot) {
    std::vector<PivCertificate> card_certificates;
    try {
        PcscRecoverer card(pcsc::Context(), reader.name);
        card_certificates = read_piv_certificates(state.ctx, card, std::time(nullptr));
    } catch (const Error& e) {
        if (e.is(ErrorDomain::status_word, 0x6A82)) {
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
    std::vector<ModuleCertificate> module;
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
        compare(state, certificate, module, slot.token->label);
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
