// errors-report for a person: the same document the JSON form holds, as a few aligned
// sections, with what the journal's records say made safe for a terminal.
#include <cstdio>

#include "cli/errors_report.hpp"
#include "core/util/time.hpp"

namespace cac::cli {
namespace {

std::string number(const Json& value) {
    return std::to_string(value.get<std::uint64_t>());
}

std::string text_of(const Json& value, std::string_view none = "-") {
    return value.is_string() ? terminal_safe(value.get<std::string>()) : std::string(none);
}

std::string percent(double share) {
    char text[16];
    std::snprintf(text, sizeof text, "%.1f%%", share * 100);
    return text;
}

std::string window_text(std::int64_t seconds) {
    constexpr std::pair<std::int64_t, char> units[] = {
        {7 * 86400, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}};
    for (auto [size, unit] : units) {
        if (seconds % size == 0)
            return std::to_string(seconds / size) + unit;
    }
    return std::to_string(seconds) + "s";
}

void print_heading(const Output& out, const Json& doc) {
    const Json& journal = doc["journal"];
    std::string path = terminal_safe(journal["path"].get<std::string>());
    if (!journal["exists"].get<bool>()) {
        out.text("no journal at " + path);
        return;
    }
    std::string line = "journal " + path + ": " + number(journal["records_read"]) + " records";
    if (journal["rotated_to"].is_string())
        line += ", now moved to " + text_of(journal["rotated_to"]);
    out.text(line);
    if (std::uint64_t damaged = doc["damaged_lines"].get<std::uint64_t>(); damaged > 0) {
        out.text("note: " + std::to_string(damaged) +
                 (damaged == 1 ? " damaged line was" : " damaged lines were") +
                 " skipped (not a journal record)");
    }
}

void print_totals(const Output& out, const Json& doc) {
    const Json& t = doc["totals"];
    const Json& range = doc["range"];
    if (t["records"].get<std::uint64_t>() == 0) {
        out.text("no records match");
        return;
    }
    out.text(number(t["records"]) + " records from " + text_of(range["first_seen"]) + " to " +
             text_of(range["last_seen"]));
    std::string line = "errors " + number(t["errors"]) + ", recovery attempts " +
                       number(t["recovery_attempts"]) + ", recovered " + number(t["recovered"]);
    if (t["recovery_rate"].is_number()) {
        line += " of " + number(t["recoveries_tried"]) + " failures tried (" +
                percent(t["recovery_rate"].get<double>()) + ")";
    }
    out.text(line);
}

void print_codes(const Output& out, const Json& codes) {
    std::vector<std::vector<std::string>> rows{{"CODE", "COUNT", "ERRORS", "ATTEMPTS", "RECOVERED",
                                                "CATEGORY", "FIRST SEEN", "LAST SEEN"}};
    for (const Json& c : codes) {
        rows.push_back({text_of(c["code"]), number(c["count"]), number(c["errors"]),
                        number(c["recovery_attempts"]), number(c["recovered"]),
                        c["category"].get<std::string>(), text_of(c["first_seen"]),
                        text_of(c["last_seen"])});
    }
    out.text("");
    std::string table = format_table(rows, "  ");
    table.pop_back();
    out.text(table);
}

// "categories: token 12, card_state 4": the fixed names, those with records only.
void print_counts(const Output& out, std::string_view title, const Json& counts) {
    std::string line;
    for (const auto& [name, tally] : counts.items()) {
        if (tally["count"].get<std::uint64_t>() == 0)
            continue;
        line += (line.empty() ? "" : ", ") + name + " " + number(tally["count"]);
    }
    out.text(std::string(title) + ": " + line);
}

void print_buckets(const Output& out, std::string_view title, const Json& list, const char* key) {
    std::vector<std::vector<std::string>> rows;
    for (const Json& item : list)
        rows.push_back({text_of(item[key], "(none)"), number(item["count"])});
    out.text(std::string(title) + ":");
    std::string table = format_table(rows, "  ");
    table.pop_back();
    out.text(table);
}

void print_patterns(const Output& out, const Json& doc) {
    const Json& rule = doc["pattern_rule"];
    std::string heading = "recurring patterns (" + std::to_string(rule["count"].get<int>()) +
                          " or more failures of one code and operation within " +
                          window_text(rule["window_seconds"].get<std::int64_t>()) + ")";
    if (doc["patterns"].empty()) {
        out.text(heading + ": none");
        return;
    }
    out.text(heading + ":");
    for (const Json& p : doc["patterns"]) {
        std::uint64_t bursts = p["bursts"].get<std::uint64_t>();
        out.text("  " + text_of(p["code"]) + " in " + text_of(p["operation"]) + ": " +
                 number(p["failures"]) + " failures, " + std::to_string(bursts) +
                 (bursts == 1 ? " burst" : " bursts") + ", first at " +
                 text_of(p["first_burst_at"]) + ", last at " + text_of(p["last_burst_at"]));
    }
}

void print_hints(const Output& out, const Json& hints) {
    if (hints.empty())
        return;
    out.text("most frequent hints:");
    for (const Json& h : hints) {
        std::string codes;
        for (const Json& code : h["codes"])
            codes += (codes.empty() ? "" : ", ") + text_of(code);
        out.text("  " + number(h["failures"]) + " failures (" + codes + "): " + text_of(h["hint"]));
    }
}

}  // namespace

void print_report(const Output& out, const Json& doc, bool listing_records) {
    print_heading(out, doc);
    if (!doc["journal"]["exists"].get<bool>())
        return;
    print_totals(out, doc);
    if (doc["totals"]["records"].get<std::uint64_t>() == 0)
        return;
    print_codes(out, doc["by_code"]);
    out.text("");
    print_counts(out, "categories", doc["by_category"]);
    print_counts(out, "severities", doc["by_severity"]);
    print_buckets(out, "operations", doc["by_operation"], "operation");
    print_buckets(out, "readers", doc["by_reader"], "reader");
    print_buckets(out, "modules", doc["by_module"], "module");
    out.text("");
    print_patterns(out, doc);
    print_hints(out, doc["hints"]);
    if (listing_records) {
        out.text("");
        out.text("records:");
    }
}

std::string record_line(const JournalRecord& r) {
    std::string line = "  " + format_rfc3339_ms(r.time) + "  " + std::string(to_string(r.kind));
    if (r.kind == JournalKind::recovery) {
        line += " " + std::to_string(r.attempt) + " " + std::string(to_string(r.outcome));
    }
    line += "  " + terminal_safe(r.code) + " in " + terminal_safe(r.operation);
    if (!r.reader.empty())
        line += " (reader \"" + terminal_safe(r.reader) + "\")";
    if (!r.message.empty())
        line += ": " + terminal_safe(r.message);
    return line;
}

}  // namespace cac::cli
