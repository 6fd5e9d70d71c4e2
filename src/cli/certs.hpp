// What the two ways of listing certificates share: through a PKCS#11 module (certs.cpp)
// and over PC/SC from the PIV containers (certs_pcsc.cpp). Both make the same entries,
// so validation, export and the text and JSON output are one code for both.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.hpp"
#include "cli/pin_input.hpp"
#include "core/piv/slots.hpp"
#include "core/pkcs11/objects.hpp"
#include "core/x509/certificate.hpp"
#include "core/x509/chain.hpp"

namespace CLI {
class Option;
}

namespace cac {
class PcscRecoverer;
}

namespace cac::cli {

struct CertsOptions {
    bool login = false;
    bool force = false;
    bool overwrite = false;
    PinOptions pin;
    std::string export_to;
    std::string format = "pem";
    bool validate = false;
    std::string ca_file;
    std::string ca_dir;
    std::string at;
    bool pcsc = false;
    CLI::Option* format_option = nullptr;
};

// One certificate as read from the token or the card, with what could be made of it.
// Over PC/SC `object` has no handle and no id: its label names the PIV slot.
struct Listed {
    CertificateObject object;
    std::optional<CertificateSummary> summary;
    std::optional<std::string> error;
    std::optional<ChainResult> validation;
    std::string exported_to;
    bool loaded = false;  // `object` holds more than its handle
};

// --at as a time, or now; a malformed --at is a usage error.
std::time_t verification_time(const CertsOptions& options);
// Parses the object's value into `listed.summary`, or says in `listed.error` why not.
void summarize(Listed& listed, std::time_t now);
// --ca-file / --ca-dir, or the config's; none at all is a usage error.
TrustAnchors load_anchors(const Context& ctx, const CertsOptions& options);
// Each certificate's chain, with every other one listed as a possible intermediate.
void validate_all(std::vector<Listed>& listed, const TrustAnchors& anchors, std::time_t at);
// --export: every certificate with a summary, to DIR (nothing written if a name is
// taken, unless --overwrite) or to stdout.
void export_all(std::vector<Listed>& listed, const CertsOptions& options);

Json validation_json(const std::optional<ChainResult>& result);
// subject, issuer, serial, validity, key, usages and sha256 of one entry (null without
// a summary).
void add_certificate_fields(Json& entry, const Listed& l);
void print_certificate(const Output& out, const Json& c);
// One entry of the listing: a JSON list item, or text unless --export - owns stdout.
void show_certificate(const Context& ctx, const CertsOptions& options, const Json& entry);

// One certificate read from a PIV container over PC/SC.
struct PivCertificate {
    Listed listed;
    piv::CertificateSlot slot;
    bool compressed = false;
};

// The card in `card`'s reader, its PIV application selected and its CHUID noted, so a
// card put back can be recognised; then the containers of 9A, 9C, 9D and 9E that the
// card holds, each read under the recovery policy and summarized at `now`.
std::vector<PivCertificate> read_piv_certificates(const Context& ctx, PcscRecoverer& card,
                                                  std::time_t now);

// `certs --pcsc`, after the options were checked.
int run_certs_pcsc(Context& ctx, CertsOptions& options);

}  // namespace cac::cli
