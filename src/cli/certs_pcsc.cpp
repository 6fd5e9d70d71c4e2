// `cactool certs --pcsc`: the certificates of a PIV card read from its containers over
// PC/SC, without any PKCS#11 module: SELECT the PIV application, GET DATA the CHUID and
// the containers of the four keys (9A, 9C, 9D, 9E), gzip-compressed ones inflated.
//
// Each read is repeatable, so each runs under the recovery policy: a card reset by
// another application is reconnected and the application selected again; a card pulled
// out is waited for (within --timeout) and must come back with the same ATR and the same
// CHUID, or the listing ends rather than mix two cards. Every container is read before
// anything is printed, so a recovery never shows a certificate twice.
//
// What PKCS#11 knows and the containers do not is null in the entries: the CKA_ID, the
// pkcs11: URI, whether the private key is there. Each entry says "source": "pcsc" and
// names the container it came from ("object": "5fc105").
#include <cctype>
#include <cstdio>
#include <iostream>

#include "cli/certs.hpp"
#include "cli/commands.hpp"
#include "cli/reader_selection.hpp"
#include "cli/recovery.hpp"
#include "core/pcsc/channel.hpp"
#include "core/piv/piv.hpp"
#include "core/recovery/pcsc_recovery.hpp"
#include "core/util/log.hpp"

namespace cac::cli {
namespace {

// SP 800-73-4 part 1 table 3: the Card Holder Unique Identifier.
constexpr std::uint32_t chuid_tag = 0x5FC102;

// "9a", as the PKCS#11 listing writes a PIV slot.
std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string tag_hex(std::uint32_t tag) {
    char text[16];
    std::snprintf(text, sizeof text, "%06x", unsigned(tag));
    return text;
}

// One container, as read: the certificate, or why it could not be had.
PivCertificate from_container(const piv::CertificateSlot& slot, const Bytes& object,
                              std::time_t now) {
    PivCertificate entry{{}, slot, false};
    entry.listed.object.label = std::string(slot.name);
    entry.listed.loaded = true;
    try {
        piv::CertificateContainer container = piv::parse_certificate_container(object);
        entry.compressed = container.compressed;
        for (const std::string& warning : container.warnings)
            log::warning("piv", "container " + tag_hex(slot.tag) + ": " + warning);
        entry.listed.object.value = std::move(container.certificate);
    } catch (const Error& e) {
        entry.listed.error = e.reason().empty() ? e.message() : e.reason();
        log::warning("piv", "container " + tag_hex(slot.tag) + ": " + *entry.listed.error);
        return entry;
    }
    summarize(entry.listed, now);
    return entry;
}

Json entry_json(const PivCertificate& entry) {
    const Listed& l = entry.listed;
    Json json{{"label", std::string(entry.slot.name)}, {"id", nullptr}};
    add_certificate_fields(json, l);
    json["has_private_key"] = nullptr;
    json["piv_slot"] = lower(entry.slot.key_ref);
    json["uri"] = nullptr;
    json["validation"] = validation_json(l.validation);
    json["exported_to"] = l.exported_to.empty() ? Json() : Json(l.exported_to);
    json["error"] = l.error ? Json(*l.error) : Json();
    json["source"] = "pcsc";
    json["object"] = tag_hex(entry.slot.tag);
    json["compressed"] = entry.compressed;
    return json;
}

}  // namespace

std::vector<PivCertificate> read_piv_certificates(const Context& ctx, PcscRecoverer& card,
                                                  std::time_t now) {
    PivOverPcsc piv_card(card);
    ApduExchanger& exchanger = piv_card.exchanger();
    // No PC/SC transaction is held around the reads: pcsc-lite lets another program that
    // waits for one in only at its 100 ms polls, so back-to-back transactions would starve
    // it, and a reset or removal between two reads is recovered anyway.
    RunRecovery recovery(ctx);
    RecoveryPolicy& policy = recovery.policy();
    policy.run(Repeatable::yes, card, [&] { (void)piv::select(exchanger); });
    auto chuid_of_card = [&] { return piv::get_data(exchanger, chuid_tag).value_or(Bytes{}); };
    Bytes chuid = policy.run(Repeatable::yes, card, chuid_of_card);
    card.set_identity(chuid_of_card, chuid);

    std::vector<PivCertificate> entries;
    for (const piv::CertificateSlot& slot : piv::certificate_slots()) {
        std::optional<Bytes> object =
            policy.run(Repeatable::yes, card, [&] { return piv::get_data(exchanger, slot.tag); });
        if (object)
            entries.push_back(from_container(slot, *object, now));
    }
    card.set_identity({}, {});
    return entries;
}

int run_certs_pcsc(Context& ctx, CertsOptions& options) {
    std::time_t now = std::time(nullptr);
    std::time_t at = verification_time(options);
    std::optional<TrustAnchors> anchors;
    if (options.validate)
        anchors = load_anchors(ctx, options);

    pcsc::Context pcsc_context;
    std::string reader = select_reader(pcsc_context, ctx.options.reader);
    PcscRecoverer card(std::move(pcsc_context), reader);
    std::vector<PivCertificate> entries = read_piv_certificates(ctx, card, now);

    std::vector<Listed> listed;
    for (PivCertificate& entry : entries)
        listed.push_back(std::move(entry.listed));
    if (anchors)
        validate_all(listed, *anchors, at);
    if (!options.export_to.empty())
        export_all(listed, options);
    for (std::size_t i = 0; i < entries.size(); ++i)
        entries[i].listed = std::move(listed[i]);

    bool chain_failed = false;
    if (ctx.out.json()) {
        ctx.out.begin_list(
            Json{{"reader", reader}, {"atr", to_hex(card.atr())}, {"source", "pcsc"}},
            "certificates");
    } else if (options.export_to != "-") {
        ctx.out.text("reader " + terminal_safe(reader) +
                     " (PIV over PC/SC): " + std::to_string(entries.size()) + " certificate" +
                     (entries.size() == 1 ? "" : "s") + "\n");
    }
    for (const PivCertificate& entry : entries) {
        const Listed& l = entry.listed;
        chain_failed = chain_failed || (l.validation && !l.validation->ok);
        show_certificate(ctx, options, entry_json(entry));
    }
    if (ctx.out.json())
        ctx.out.end_list();
    return chain_failed ? exit_failed : exit_ok;
}

}  // namespace cac::cli
