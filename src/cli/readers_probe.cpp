// `cactool readers --probe`: SELECT of the PIV application and the CAC applets, each
// reported by its status word; then, when PIV answered, GET DATA of the objects a PIV
// card shows without a PIN (SP 800-73-4 part 1 table 2): the CHUID, the CCC, the
// Discovery Object, the Key History, and the Printed Information, whose access rule is the
// PIN: a probe never verifies one, so on a card that keeps to the rule it is null with
// the note "needs the PIN".
//
// Every command runs under the recovery policy, as certs --pcsc does: a card reset by
// another program is reconnected and the PIV application selected again; a card pulled
// out and put back is read again once it proves the same card (its ATR, then its CHUID
// once that was read). Every object a card lacks, refuses or garbles is null with a note
// saying which it was.
#include "cli/readers_probe.hpp"

#include <array>

#include "cli/recovery.hpp"
#include "core/pcsc/channel.hpp"
#include "core/piv/piv.hpp"
#include "core/recovery/pcsc_recovery.hpp"

namespace cac::cli {
namespace {

constexpr std::uint16_t kSecurityStatus = 0x6982;  // ISO/IEC 7816-4: needs the PIN
constexpr std::uint32_t kChuidTag = 0x5FC102;

Json hex_or_null(std::span<const std::uint8_t> bytes) {
    return bytes.empty() ? Json() : Json(to_hex(bytes));
}

Json byte_or_null(std::optional<std::uint8_t> byte) {
    return byte ? Json(to_hex(std::span(&*byte, 1))) : Json();
}

template <typename T>
Json value_or_null(const std::optional<T>& value) {
    return value ? Json(*value) : Json();
}

std::string sw_hex(std::uint16_t sw) {
    std::array<std::uint8_t, 2> bytes{std::uint8_t(sw >> 8), std::uint8_t(sw)};
    return to_hex(bytes);
}

Json fascn_json(const piv::Fascn& f) {
    return Json{{"agency_code", f.agency_code},
                {"system_code", f.system_code},
                {"credential_number", f.credential_number},
                {"cs", f.credential_series},
                {"ici", f.individual_credential_issue},
                {"pi", f.person_identifier},
                {"oc", f.organizational_category},
                {"oi", f.organizational_identifier},
                {"poa", f.person_association}};
}

Json chuid_json(const Bytes& object) {
    piv::Chuid chuid = piv::parse_chuid(object);
    return Json{
        {"fascn", chuid.fascn ? fascn_json(*chuid.fascn) : Json()},
        {"fascn_hex", hex_or_null(chuid.fascn_bytes)},
        {"guid", hex_or_null(chuid.guid)},
        {"expiration", value_or_null(chuid.expiration_date)},
        {"expiration_as_written", chuid.expiration.empty() ? Json() : Json(chuid.expiration)},
        {"cardholder_uuid", hex_or_null(chuid.cardholder_uuid)},
        {"signature_present", chuid.signature_present},
        {"warnings", chuid.warnings}};
}

Json discovery_json(const Bytes& object) {
    piv::DiscoveryObject discovery = piv::parse_discovery(object);
    Json json{{"aid", hex_or_null(discovery.aid)}};
    const std::optional<piv::PinUsagePolicy>& p = discovery.policy;
    std::array<std::uint8_t, 2> policy{p ? p->first : std::uint8_t(0),
                                       p ? p->second : std::uint8_t(0)};
    json["pin_usage_policy"] = p ? Json(to_hex(policy)) : Json();
    json["application_pin"] = p ? Json(p->application_pin()) : Json();
    json["global_pin"] = p ? Json(p->global_pin()) : Json();
    json["on_card_comparison"] = p ? Json(p->on_card_comparison()) : Json();
    json["virtual_contact_interface"] = p ? Json(p->virtual_contact_interface()) : Json();
    json["global_pin_primary"] = p ? Json(p->global_pin_primary()) : Json();
    json["warnings"] = discovery.warnings;
    return json;
}

Json ccc_json(const Bytes& object) {
    piv::CardCapabilityContainer ccc = piv::parse_ccc(object);
    const std::optional<piv::CardIdentifier>& id = ccc.identifier;
    return Json{
        {"card_identifier", hex_or_null(ccc.card_identifier)},
        {"gsc_rid", id ? Json(to_hex(id->gsc_rid)) : Json()},
        {"manufacturer_id", byte_or_null(id ? std::optional(id->manufacturer_id) : std::nullopt)},
        {"card_type", byte_or_null(id ? std::optional(id->card_type) : std::nullopt)},
        {"card_id", id ? Json(to_hex(id->card_id)) : Json()},
        {"container_version", byte_or_null(ccc.container_version)},
        {"grammar_version", byte_or_null(ccc.grammar_version)},
        {"applications_url", hex_or_null(ccc.applications_url)},
        {"pkcs15", byte_or_null(ccc.pkcs15)},
        {"data_model_number", byte_or_null(ccc.data_model)},
        {"access_control_rule_table", hex_or_null(ccc.access_control_rule_table)},
        {"extended_application_url", hex_or_null(ccc.extended_application_url)},
        {"security_object_buffer", hex_or_null(ccc.security_object_buffer)},
        {"warnings", ccc.warnings}};
}

Json printed_json(const Bytes& object) {
    piv::PrintedInformation p = piv::parse_printed_information(object);
    return Json{{"name", value_or_null(p.name)},
                {"employee_affiliation", value_or_null(p.employee_affiliation)},
                {"employee_affiliation_line2", value_or_null(p.employee_affiliation_line2)},
                {"expiration", value_or_null(p.expiration_date)},
                {"expiration_as_written", value_or_null(p.expiration)},
                {"agency_card_serial", value_or_null(p.agency_card_serial)},
                {"issuer", value_or_null(p.issuer)},
                {"organization_affiliation", value_or_null(p.organization_affiliation1)},
                {"organization_affiliation_line2", value_or_null(p.organization_affiliation2)},
                {"warnings", p.warnings}};
}

Json key_history_json(const Bytes& object) {
    piv::KeyHistory history = piv::parse_key_history(object);
    return Json{{"keys_with_on_card_certs", value_or_null(history.keys_with_on_card_certs)},
                {"keys_with_off_card_certs", value_or_null(history.keys_with_off_card_certs)},
                {"off_card_cert_url", value_or_null(history.off_card_cert_url)},
                {"warnings", history.warnings}};
}

// The objects a probe reads after the CHUID: those free to read, then the one most cards
// refuse without the PIN.
struct ProbedObject {
    const char* key;
    std::uint32_t tag;
    Json (*to_json)(const Bytes&);
};
constexpr std::array<ProbedObject, 4> kObjects{{
    {"ccc", 0x5FC107, ccc_json},
    {"discovery", 0x7E, discovery_json},
    {"key_history", 0x5FC10C, key_history_json},
    {"printed_information", 0x5FC109, printed_json},
}};

// One object as GET DATA gave it, or the status word of the card's refusal.
struct ObjectRead {
    std::optional<Bytes> bytes;
    std::uint16_t refusal = 0;
};

ExchangeOptions exchange_options(PcscRecoverer& card) {
    ExchangeOptions options;
    options.max_apdu_size = pcsc::max_apdu_size(card.card());
    return options;
}

// The card in the reader, its exchanger and the run's recovery policy.
class Probe {
  public:
    Probe(const Context& ctx, const std::string& reader)
        : card_(pcsc::Context(), reader),
          exchanger_(card_.channel(), exchange_options(card_)),
          recovery_(ctx) {}

    Json run();

  private:
    Json applications();
    void enter_piv();
    ObjectRead read(std::uint32_t tag);
    Json object_json(const char* key, const ObjectRead& read, Json (*to_json)(const Bytes&));

    PcscRecoverer card_;
    ApduExchanger exchanger_;
    RunRecovery recovery_;
    Json notes_ = Json::object();
    bool piv_answered_ = false;
};

Json Probe::applications() {
    Json list = Json::array();
    for (const piv::CardApplication& app : piv::probed_applications()) {
        piv::SelectAnswer answer = recovery_.policy().run(
            Repeatable::yes, card_, [&] { return piv::select_application(exchanger_, app); });
        if (app.name == "PIV")
            piv_answered_ = answer.answered;
        list.push_back(Json{{"name", app.name},
                            {"aid", to_hex(app.aid)},
                            {"answered", answer.answered},
                            {"sw", sw_hex(answer.sw)}});
    }
    return list;
}

// The CAC selects left another applet selected: PIV again, and again after every
// reconnection; its CHUID then tells this card from another put in its place.
void Probe::enter_piv() {
    card_.set_reenter([this] {
        exchanger_.forget_pending();
        (void)piv::select(exchanger_);
    });
    recovery_.policy().run(Repeatable::yes, card_, [&] { (void)piv::select(exchanger_); });
}

// A refusal leaves the policy as the error it is, once the policy has made sure it was no
// other program's reset (PcscRecoverer), and becomes the object's note.
ObjectRead Probe::read(std::uint32_t tag) {
    try {
        return ObjectRead{recovery_.policy().run(Repeatable::yes, card_,
                                                 [&] { return piv::get_data(exchanger_, tag); }),
                          0};
    } catch (const Error& e) {
        if (e.domain() != ErrorDomain::status_word)
            throw;
        return ObjectRead{std::nullopt, std::uint16_t(e.code())};
    }
}

Json Probe::object_json(const char* key, const ObjectRead& read, Json (*to_json)(const Bytes&)) {
    if (read.refusal == kSecurityStatus) {
        notes_[key] = "needs the PIN";
        return nullptr;
    }
    if (read.refusal != 0) {
        notes_[key] = "the card refused it: SW " + StatusWord::of(read.refusal).hex() + " (" +
                      meaning(StatusWord::of(read.refusal)).text + ")";
        return nullptr;
    }
    if (!read.bytes) {
        notes_[key] = "not on the card";
        return nullptr;
    }
    try {
        return to_json(*read.bytes);
    } catch (const Error& e) {
        notes_[key] = "does not decode: " + (e.reason().empty() ? e.message() : e.reason());
        return nullptr;
    }
}

Json Probe::run() {
    Json probe{{"applications", applications()}};
    probe["chuid"] = nullptr;
    for (const ProbedObject& object : kObjects)
        probe[object.key] = nullptr;
    if (piv_answered_) {
        enter_piv();
        ObjectRead chuid = read(kChuidTag);
        card_.set_identity(
            [this] { return piv::get_data(exchanger_, kChuidTag).value_or(Bytes{}); },
            chuid.bytes.value_or(Bytes{}));
        probe["chuid"] = object_json("chuid", chuid, chuid_json);
        for (const ProbedObject& object : kObjects)
            probe[object.key] = object_json(object.key, read(object.tag), object.to_json);
    }
    probe["notes"] = notes_;
    card_.set_reenter({});
    card_.set_identity({}, {});
    return probe;
}

// "9999-9999-999999-0-1 0000000000 1-9999-1": the fields in the FASC-N's own order, the
// credential's joined as the card's number, the person's and organisation's apart.
std::string fascn_text(const Json& f) {
    auto field = [&](const char* key) { return f[key].get<std::string>(); };
    return field("agency_code") + "-" + field("system_code") + "-" + field("credential_number") +
           "-" + field("cs") + "-" + field("ici") + " " + field("pi") + " " + field("oc") + "-" +
           field("oi") + "-" + field("poa");
}

std::string text_of(const Json& value) {
    return value.is_string() ? terminal_safe(value.get<std::string>()) : "-";
}

// The date when the card wrote one, else what it wrote.
std::string expiry_text(const Json& object) {
    const Json& date = object["expiration"];
    return date.is_string() ? text_of(date) : text_of(object["expiration_as_written"]);
}

std::string chuid_line(const Json& chuid) {
    std::string line = "FASC-N " + (chuid["fascn"].is_object() ? fascn_text(chuid["fascn"])
                                                               : text_of(chuid["fascn_hex"]));
    line += ", GUID " + text_of(chuid["guid"]) + ", expires " + expiry_text(chuid);
    line += chuid["signature_present"].get<bool>() ? ", signed" : ", not signed";
    return line;
}

std::string discovery_line(const Json& discovery) {
    if (!discovery["pin_usage_policy"].is_string())
        return "no PIN usage policy";
    std::string line = "PIN usage policy " + discovery["pin_usage_policy"].get<std::string>();
    return line + (discovery["global_pin_primary"].get<bool>() ? " (Global PIN primary)"
                                                               : " (PIV PIN primary)");
}

std::string ccc_line(const Json& ccc) {
    return "card identifier " + text_of(ccc["card_identifier"]) + ", data model " +
           text_of(ccc["data_model_number"]);
}

std::string printed_line(const Json& printed) {
    return text_of(printed["name"]) + ", " + text_of(printed["employee_affiliation"]) +
           ", expires " + expiry_text(printed) + ", issuer " + text_of(printed["issuer"]);
}

std::string key_history_line(const Json& history) {
    auto count = [](const Json& n) { return n.is_number() ? std::to_string(n.get<int>()) : "-"; };
    return count(history["keys_with_on_card_certs"]) +
           " retired keys with certificates on the card, " +
           count(history["keys_with_off_card_certs"]) + " off it";
}

struct ObjectText {
    const char* key;
    const char* label;
    std::string (*line)(const Json&);
};
constexpr std::array<ObjectText, 5> kObjectText{{
    {"chuid", "CHUID", chuid_line},
    {"ccc", "CCC", ccc_line},
    {"discovery", "discovery", discovery_line},
    {"key_history", "key history", key_history_line},
    {"printed_information", "printed information", printed_line},
}};

}  // namespace

ProbeResult probe_reader(const Context& ctx, const std::string& reader) {
    try {
        Probe probe(ctx, reader);
        return ProbeResult{probe.run(), std::nullopt};
    } catch (const Error& e) {
        Error located = e;
        ErrorContext where;
        where.reader = reader;
        located.with_context(where);
        return ProbeResult{nullptr, located};
    }
}

void print_probe(const Output& out, std::size_t index, const Json& probe) {
    out.text("reader " + std::to_string(index) + " probe:");
    std::vector<std::vector<std::string>> rows{{"APPLICATION", "AID", "ANSWERED", "SW"}};
    for (const Json& app : probe["applications"]) {
        rows.push_back({app["name"].get<std::string>(), app["aid"].get<std::string>(),
                        app["answered"].get<bool>() ? "yes" : "no", app["sw"].get<std::string>()});
    }
    std::string table = format_table(rows, "  ");
    table.pop_back();
    out.text(table);
    if (!probe["applications"][0]["answered"].get<bool>()) {
        out.text("  PIV objects: none read, the card has no PIV application");
        return;
    }
    for (const ObjectText& object : kObjectText) {
        const Json& value = probe[object.key];
        std::string line = std::string("  ") + object.label + ": ";
        if (value.is_object())
            line += object.line(value);
        else
            line += probe["notes"].contains(object.key)
                        ? probe["notes"][object.key].get<std::string>()
                        : "-";
        out.text(line);
        if (value.is_object()) {
            for (const Json& warning : value["warnings"])
                out.text(std::string("    warning: ") + terminal_safe(warning.get<std::string>()));
        }
    }
}

}  // namespace cac::cli
