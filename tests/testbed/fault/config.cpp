// Parsing of the fault module's JSON configuration. Bounded on purpose: the file is
// capped at max_config_bytes, every list and number has a limit, and an unknown key is
// an error, so a typo in a test's configuration fails loudly instead of injecting
// nothing.
#include "config.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>

namespace fault {
namespace {

using nlohmann::json;

constexpr std::size_t max_list_entries = 64;
constexpr unsigned long max_call_number = 1000000000UL;
constexpr unsigned max_delay_ms = 60000;

// PKCS#11 v2.40 section 3.2: the text fields of CK_TOKEN_INFO and CK_SLOT_INFO,
// under the names the standard gives them.
constexpr InfoField token_fields[] = {
    {"label", offsetof(CK_TOKEN_INFO, label), sizeof(CK_TOKEN_INFO::label)},
    {"manufacturerID", offsetof(CK_TOKEN_INFO, manufacturerID),
     sizeof(CK_TOKEN_INFO::manufacturerID)},
    {"model", offsetof(CK_TOKEN_INFO, model), sizeof(CK_TOKEN_INFO::model)},
    {"serialNumber", offsetof(CK_TOKEN_INFO, serialNumber), sizeof(CK_TOKEN_INFO::serialNumber)},
};

constexpr InfoField slot_fields[] = {
    {"slotDescription", offsetof(CK_SLOT_INFO, slotDescription),
     sizeof(CK_SLOT_INFO::slotDescription)},
    {"manufacturerID", offsetof(CK_SLOT_INFO, manufacturerID),
     sizeof(CK_SLOT_INFO::manufacturerID)},
};

[[noreturn]] void fail(const std::string& where, const std::string& reason) {
    throw ConfigError(where + ": " + reason);
}

void check_keys(const json& object, const std::string& where,
                std::initializer_list<const char*> allowed) {
    if (!object.is_object())
        fail(where, "must be an object");
    for (const auto& [key, value] : object.items()) {
        bool known = false;
        for (const char* name : allowed)
            known = known || key == name;
        if (!known)
            fail(where, "unknown key \"" + key + "\"");
    }
}

const json& bounded_list(const json& value, const std::string& where) {
    if (!value.is_array())
        fail(where, "must be a list");
    if (value.size() > max_list_entries)
        fail(where, "more than " + std::to_string(max_list_entries) + " entries");
    return value;
}

unsigned long number(const json& value, const std::string& where, unsigned long low,
                     unsigned long high) {
    if (!value.is_number_unsigned())
        fail(where, "must be a whole number");
    auto n = value.get<unsigned long long>();
    if (n < low || n > high)
        fail(where, "must be from " + std::to_string(low) + " to " + std::to_string(high));
    return static_cast<unsigned long>(n);
}

CK_SLOT_ID slot_id(const json& value, const std::string& where) {
    return number(value, where, 0, ~0UL);
}

std::vector<CK_SLOT_ID> slot_ids(const json& value, const std::string& where) {
    std::vector<CK_SLOT_ID> ids;
    for (const json& id : bounded_list(value, where))
        ids.push_back(slot_id(id, where));
    return ids;
}

// A name ("CKR_DEVICE_ERROR"), a number, or a number in a string ("0x30").
CK_RV return_value(const json& value, const std::string& where) {
    if (value.is_number_unsigned())
        return number(value, where, 0, ~0UL);
    if (!value.is_string())
        fail(where, "must be a CKR_ name or a number");
    const std::string& text = value.get_ref<const std::string&>();
    if (auto rv = rv_by_name(text))
        return *rv;
    std::size_t used = 0;
    try {
        unsigned long rv = std::stoul(text, &used, 0);
        if (used == text.size())
            return rv;
    } catch (const std::exception&) {
    }
    fail(where, "unknown return value \"" + text + "\"");
}

template <typename Lookup>
CK_FLAGS flags(const json& value, const std::string& where, Lookup lookup) {
    if (value.is_number_unsigned())
        return number(value, where, 0, ~0UL);
    CK_FLAGS bits = 0;
    for (const json& name : bounded_list(value, where)) {
        std::optional<CK_FLAGS> bit;
        if (name.is_string())
            bit = lookup(name.get<std::string>());
        if (!bit)
            fail(where, "unknown flag " + name.dump());
        bits |= *bit;
    }
    return bits;
}

// Hex digits, blanks and colons allowed between bytes ("c3 28", "c3:28", "c328").
std::string bytes_from_hex(const std::string& hex, const std::string& where) {
    std::string digits;
    std::copy_if(hex.begin(), hex.end(), std::back_inserter(digits),
                 [](char c) { return c != ' ' && c != ':'; });
    if (digits.size() % 2 != 0)
        fail(where, "odd number of hex digits");
    std::string bytes;
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        unsigned byte = 0;
        const char* end = digits.data() + i + 2;
        auto [stop, error] = std::from_chars(digits.data() + i, end, byte, 16);
        if (error != std::errc() || stop != end)
            fail(where, "not hex: \"" + hex + "\"");
        bytes.push_back(char(byte));
    }
    return bytes;
}

Padding padding(const json& value, const std::string& where) {
    static constexpr std::pair<const char*, Padding> names[] = {{"right", Padding::right},
                                                                {"left", Padding::left},
                                                                {"nul", Padding::nul},
                                                                {"none", Padding::none}};
    for (const auto& [name, kind] : names) {
        if (value == name)
            return kind;
    }
    fail(where, "must be \"right\", \"left\", \"nul\" or \"none\"");
}

TextRewrite text_rewrite(const InfoField& field, const json& value, const std::string& where) {
    TextRewrite rewrite{&field, std::nullopt, Padding::right};
    if (value.is_string()) {
        rewrite.bytes = value.get<std::string>();
    } else {
        check_keys(value, where, {"text", "hex", "padding"});
        if (value.contains("text") && value.contains("hex"))
            fail(where, "give \"text\" or \"hex\", not both");
        if (value.contains("text")) {
            if (!value["text"].is_string())
                fail(where + ".text", "must be a string");
            rewrite.bytes = value["text"].get<std::string>();
        }
        if (value.contains("hex")) {
            if (!value["hex"].is_string())
                fail(where + ".hex", "must be a string");
            rewrite.bytes = bytes_from_hex(value["hex"].get<std::string>(), where + ".hex");
        }
        if (value.contains("padding"))
            rewrite.padding = padding(value["padding"], where + ".padding");
    }
    if (rewrite.bytes && rewrite.bytes->size() > field.size)
        fail(where, "longer than the field's " + std::to_string(field.size) + " bytes");
    bool exact = rewrite.bytes && rewrite.bytes->size() == field.size;
    if (rewrite.padding == Padding::none && !exact)
        fail(where,
             "padding \"none\" needs a text of exactly " + std::to_string(field.size) + " bytes");
    return rewrite;
}

template <std::size_t N, typename Lookup>
InfoRewrite info_rewrite(const json& value, const std::string& where, const InfoField (&fields)[N],
                         Lookup flag_lookup) {
    InfoRewrite rewrite;
    for (const auto& entry : value.items()) {
        // Named, not a structured binding: clang before 16 cannot capture those.
        const std::string& key = entry.key();
        const json& item = entry.value();
        std::string at = where + "." + key;
        if (key == "slot") {
            rewrite.slot = slot_id(item, at);
        } else if (key == "set_flags") {
            rewrite.set_flags = flags(item, at, flag_lookup);
        } else if (key == "clear_flags") {
            rewrite.clear_flags = flags(item, at, flag_lookup);
        } else {
            auto field = std::find_if(std::begin(fields), std::end(fields),
                                      [&](const InfoField& f) { return key == f.name; });
            if (field == std::end(fields))
                fail(where, "unknown key \"" + key + "\"");
            rewrite.texts.push_back(text_rewrite(*field, item, at));
        }
    }
    return rewrite;
}

template <std::size_t N, typename Lookup>
std::vector<InfoRewrite> info_rewrites(const json& value, const std::string& where,
                                       const InfoField (&fields)[N], Lookup flag_lookup) {
    std::vector<InfoRewrite> rewrites;
    std::size_t index = 0;
    for (const json& item : bounded_list(value, where)) {
        std::string at = where + "[" + std::to_string(index++) + "]";
        if (!item.is_object())
            fail(at, "must be an object");
        rewrites.push_back(info_rewrite(item, at, fields, flag_lookup));
    }
    return rewrites;
}

void call_range(FaultRule& rule, const json& value, const std::string& where) {
    int given =
        int(value.contains("call")) + int(value.contains("from")) + int(value.contains("calls"));
    if (given > 1)
        fail(where, "give one of \"call\", \"from\" and \"calls\"");
    if (value.contains("call")) {
        rule.first_call = number(value["call"], where + ".call", 1, max_call_number);
        rule.last_call = rule.first_call;
    } else if (value.contains("from")) {
        rule.first_call = number(value["from"], where + ".from", 1, max_call_number);
    } else if (value.contains("calls")) {
        const json& range = value["calls"];
        if (!range.is_array() || range.size() != 2)
            fail(where + ".calls", "must be [FIRST, LAST]");
        rule.first_call = number(range[0], where + ".calls", 1, max_call_number);
        rule.last_call = number(range[1], where + ".calls", rule.first_call, max_call_number);
    }
}

FaultRule fault_rule(const json& value, const std::string& where) {
    check_keys(value, where,
               {"function", "slot", "call", "from", "calls", "rv", "when", "delay_ms"});
    FaultRule rule;
    if (!value.contains("function") || !value["function"].is_string())
        fail(where, "needs \"function\", a PKCS#11 function name");
    auto function = function_by_name(value["function"].get<std::string>());
    if (!function)
        fail(where + ".function", "unknown function " + value["function"].dump());
    rule.function = *function;
    if (value.contains("slot"))
        rule.slot = slot_id(value["slot"], where + ".slot");
    call_range(rule, value, where);
    if (value.contains("rv"))
        rule.rv = return_value(value["rv"], where + ".rv");
    if (value.contains("when")) {
        if (value["when"] != "before" && value["when"] != "after")
            fail(where + ".when", "must be \"before\" or \"after\"");
        rule.when = value["when"] == "after" ? When::after : When::before;
    }
    if (rule.when == When::after && !rule.rv)
        fail(where, "\"when\" needs \"rv\"");
    if (value.contains("delay_ms"))
        rule.delay_ms = unsigned(number(value["delay_ms"], where + ".delay_ms", 0, max_delay_ms));
    return rule;
}

SlotListRewrite slot_list(const json& value) {
    const std::string where = "slot_list";
    check_keys(value, where, {"hide", "add_empty", "reverse", "grow"});
    SlotListRewrite rewrite;
    if (value.contains("hide"))
        rewrite.hide = slot_ids(value["hide"], where + ".hide");
    if (value.contains("add_empty"))
        rewrite.add_empty = slot_ids(value["add_empty"], where + ".add_empty");
    if (value.contains("reverse")) {
        if (!value["reverse"].is_boolean())
            fail(where + ".reverse", "must be true or false");
        rewrite.reverse = value["reverse"].get<bool>();
    }
    if (value.contains("grow")) {
        const json& grow = value["grow"];
        check_keys(grow, where + ".grow", {"times", "by", "update_count"});
        if (grow.contains("times"))
            rewrite.grow_times = unsigned(number(grow["times"], where + ".grow.times", 0, 1000));
        else
            rewrite.grow_times = 1;
        if (grow.contains("by"))
            rewrite.grow_by = number(grow["by"], where + ".grow.by", 1, max_list_entries);
        if (grow.contains("update_count")) {
            if (!grow["update_count"].is_boolean())
                fail(where + ".grow.update_count", "must be true or false");
            rewrite.grow_updates_count = grow["update_count"].get<bool>();
        }
    }
    return rewrite;
}

// A name from a short table, or a number.
unsigned long named_number(const json& value, const std::string& where,
                           std::initializer_list<std::pair<const char*, unsigned long>> names) {
    if (value.is_number_unsigned())
        return number(value, where, 0, ~0UL);
    for (const auto& [name, known] : names) {
        if (value == name)
            return known;
    }
    fail(where, "unknown name " + value.dump() + " (a number is taken too)");
}

AttributeRewrite attribute_rewrite(const json& value, const std::string& where) {
    check_keys(value, where, {"id", "class", "type", "hex"});
    AttributeRewrite rewrite;
    if (!value.contains("id") || !value["id"].is_string())
        fail(where, "needs \"id\", the objects' CKA_ID in hex");
    rewrite.id = bytes_from_hex(value["id"].get<std::string>(), where + ".id");
    if (value.contains("class")) {
        rewrite.object_class = named_number(value["class"], where + ".class",
                                            {{"CKO_DATA", CKO_DATA},
                                             {"CKO_CERTIFICATE", CKO_CERTIFICATE},
                                             {"CKO_PUBLIC_KEY", CKO_PUBLIC_KEY},
                                             {"CKO_PRIVATE_KEY", CKO_PRIVATE_KEY},
                                             {"CKO_SECRET_KEY", CKO_SECRET_KEY}});
    }
    if (value.contains("type")) {
        rewrite.type = named_number(value["type"], where + ".type",
                                    {{"CKA_VALUE", CKA_VALUE},
                                     {"CKA_LABEL", CKA_LABEL},
                                     {"CKA_SUBJECT", CKA_SUBJECT},
                                     {"CKA_ISSUER", CKA_ISSUER},
                                     {"CKA_SERIAL_NUMBER", CKA_SERIAL_NUMBER}});
    }
    if (rewrite.type == CKA_ID || rewrite.type == CKA_CLASS)
        fail(where + ".type", "CKA_ID and CKA_CLASS choose the objects; they are not rewritten");
    if (!value.contains("hex") || !value["hex"].is_string())
        fail(where, "needs \"hex\", the attribute's new value");
    rewrite.value = bytes_from_hex(value["hex"].get<std::string>(), where + ".hex");
    return rewrite;
}

std::vector<AttributeRewrite> attribute_rewrites(const json& value) {
    std::vector<AttributeRewrite> rewrites;
    std::size_t index = 0;
    for (const json& item : bounded_list(value, "attribute_values"))
        rewrites.push_back(
            attribute_rewrite(item, "attribute_values[" + std::to_string(index++) + "]"));
    return rewrites;
}

std::vector<FaultRule> fault_rules(const json& value) {
    std::vector<FaultRule> rules;
    std::size_t index = 0;
    for (const json& item : bounded_list(value, "faults"))
        rules.push_back(fault_rule(item, "faults[" + std::to_string(index++) + "]"));
    return rules;
}

}  // namespace

Config parse_config(std::string_view text) {
    if (text.size() > max_config_bytes)
        fail("configuration", "larger than " + std::to_string(max_config_bytes) + " bytes");
    json document = json::parse(text, nullptr, false);
    if (document.is_discarded())
        fail("configuration", "not valid JSON");
    check_keys(document, "configuration",
               {"module", "faults", "token_info", "slot_info", "slot_list", "attribute_values"});
    Config config;
    if (!document.contains("module") || !document["module"].is_string() ||
        document["module"].get_ref<const std::string&>().empty())
        fail("module", "needs the path of the real PKCS#11 module");
    config.module = document["module"].get<std::string>();
    if (document.contains("faults"))
        config.faults = fault_rules(document["faults"]);
    if (document.contains("token_info"))
        config.token_info =
            info_rewrites(document["token_info"], "token_info", token_fields, token_flag_by_name);
    if (document.contains("slot_info"))
        config.slot_info =
            info_rewrites(document["slot_info"], "slot_info", slot_fields, slot_flag_by_name);
    if (document.contains("slot_list"))
        config.slot_list = slot_list(document["slot_list"]);
    if (document.contains("attribute_values"))
        config.attribute_values = attribute_rewrites(document["attribute_values"]);
    return config;
}

Config read_config(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw ConfigError("cannot open " + path);
    std::string text(max_config_bytes + 1, '\0');
    file.read(text.data(), std::streamsize(text.size()));
    text.resize(std::size_t(file.gcount()));
    try {
        return parse_config(text);
    } catch (const ConfigError& error) {
        throw ConfigError(path + ": " + error.what());
    }
}

}  // namespace fault
