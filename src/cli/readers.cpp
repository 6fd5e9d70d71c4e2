// `cactool readers`: the PC/SC readers, the state of each, its card's ATR and what the
// ATR identifies, and the reader's PC/SC part 10 features; with --probe, which card
// applications the card answers (see readers_probe.cpp).
#include <memory>

#include "cli/commands.hpp"
#include "cli/reader_selection.hpp"
#include "cli/readers_probe.hpp"
#include "core/card/atr_identify.hpp"
#include "core/pcsc/features.hpp"
#include "core/pcsc/reader.hpp"

namespace cac::cli {
namespace {

// Asking the reader needs a direct connection, which a reader held exclusively by
// another program may refuse; its features are then unknown (null), not "none".
Json features_json(const pcsc::Context& context, const std::string& reader) {
    try {
        pcsc::CardHandle direct(context, reader, pcsc::ShareMode::direct, pcsc::protocols::none);
        Json names = Json::array();
        for (const pcsc::Feature& feature : pcsc::read_features(direct).features)
            names.push_back(pcsc::feature_name(feature.tag));
        return names;
    } catch (const Error&) {
        return nullptr;
    }
}

Json reader_json(std::size_t index, const pcsc::Reader& reader, const pcsc::Context& context,
                 AtrIdentifier& identifier) {
    Json entry{{"index", index}, {"name", reader.name}, {"state", pcsc::to_string(reader.state)}};
    if (reader.atr.empty()) {
        entry["atr"] = nullptr;
        entry["card"] = nullptr;
    } else {
        CardIdentity identity = identifier.identify(reader.atr);
        entry["atr"] = to_hex(reader.atr);
        entry["card"] = Json{{"type", identity.type}, {"identified_as", identity.identified_as}};
    }
    entry["features"] = features_json(context, reader.name);
    return entry;
}

// On stderr as a failure of the run reads, though the listing goes on.
void report_probe_failure(const Error& error) {
    std::string text = "cactool: error: " + terminal_safe(error.message()) + "\n";
    if (!error.hint().empty())
        text += "hint: " + terminal_safe(error.hint()) + "\n";
    std::fputs(text.c_str(), stderr);
}

// The probe of each reader with a card, null for the others; the first failure decides
// the exit code, and every reader is still listed.
int add_probes(const Context& ctx, Json& readers) {
    int code = exit_ok;
    for (Json& reader : readers) {
        reader["probe"] = nullptr;
        reader["probe_error"] = nullptr;  // absent values are null, not missing
        if (!reader["atr"].is_string())
            continue;
        ProbeResult result = probe_reader(ctx, reader["name"].get<std::string>());
        reader["probe"] = std::move(result.probe);
        if (result.error) {
            reader["probe_error"] = error_json(*result.error);
            ctx.out.note_failure(*result.error);
            report_probe_failure(*result.error);
            if (code == exit_ok)
                code = exit_code_for(*result.error);
        }
    }
    return code;
}

void print_readers(const Output& out, const Json& readers) {
    std::vector<std::vector<std::string>> rows{{"#", "READER", "STATE", "ATR", "CARD"}};
    for (const Json& reader : readers) {
        std::string card;
        if (reader["card"].is_object()) {
            card = reader["card"]["type"].get<std::string>();
            if (!reader["card"]["identified_as"].empty())
                card += ": " + terminal_safe(reader["card"]["identified_as"][0].get<std::string>());
        }
        rows.push_back({std::to_string(reader["index"].get<std::size_t>()),
                        terminal_safe(reader["name"].get<std::string>()),
                        reader["state"].get<std::string>(),
                        reader["atr"].is_string() ? reader["atr"].get<std::string>() : "-", card});
    }
    std::string table = format_table(rows);
    table.pop_back();  // out.text ends the line
    out.text(table);
    for (const Json& reader : readers) {
        if (!reader["features"].is_array() || reader["features"].empty())
            continue;
        std::string line = "reader " + std::to_string(reader["index"].get<std::size_t>()) + ":";
        for (const Json& feature : reader["features"])
            line += " " + feature.get<std::string>();
        out.text(line);
    }
    for (const Json& reader : readers) {
        if (reader.contains("probe") && reader["probe"].is_object())
            print_probe(out, reader["index"].get<std::size_t>(), reader["probe"]);
    }
}

int run_readers(Context& ctx, bool probe) {
    pcsc::Context context;
    std::vector<pcsc::Reader> readers = pcsc::read_readers(context);

    // With --reader, only the one it selects; the index stays the one pcscd's order gives.
    std::string selected;
    if (!ctx.options.reader.empty()) {
        std::vector<std::string> names;
        for (const pcsc::Reader& reader : readers)
            names.push_back(reader.name);
        selected = select_reader(names, ctx.options.reader);
    }

    AtrIdentifier identifier;
    Json list = Json::array();
    for (std::size_t i = 0; i < readers.size(); ++i) {
        if (selected.empty() || readers[i].name == selected)
            list.push_back(reader_json(i, readers[i], context, identifier));
    }

    // No reader at all is a valid listing, but scripts asking "is there a reader?" need
    // to tell it apart: the empty list with exit 3 ("not found").
    int code = list.empty() ? exit_not_found : exit_ok;
    if (probe && code == exit_ok)
        code = add_probes(ctx, list);
    if (ctx.out.json()) {
        ctx.out.document(Json{{"readers", list}});
    } else if (list.empty()) {
        if (!ctx.options.quiet)
            std::fputs("no PC/SC reader is connected\n", stderr);
    } else {
        print_readers(ctx.out, list);
    }
    return code;
}

}  // namespace

Runner setup_readers(CLI::App& app) {
    auto probe = std::make_shared<bool>(false);
    app.add_flag("--probe", *probe,
                 "Select the PIV and CAC applications on each card and read the PIV objects "
                 "free to read (CHUID, CCC, discovery, key history)");
    return [probe](Context& ctx) { return run_readers(ctx, *probe); };
}

}  // namespace cac::cli
