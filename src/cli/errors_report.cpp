// `cactool errors-report`: what the error journal says happened, as totals, counts by
// code, category, severity, operation, reader and module, recovery attempts and rate,
// recurring patterns and the hints that would have helped most. The counting lives in
// core/recovery/report; this file reads the options, feeds the journal through it and
// writes the result as text or JSON.
//
// The journal is read once for the counts. With --include-context the matching records
// are listed too, by reading the journal a second time and writing each record as it
// comes, so that memory never holds the records, however many match.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/errors_report.hpp"
#include "core/recovery/report.hpp"
#include "core/util/time.hpp"

namespace cac::cli {
namespace {

constexpr std::size_t hint_limit = 5;

struct ReportOptions {
    std::string since;
    std::string until;
    std::vector<std::string> categories;
    std::vector<std::string> codes;
    bool include_context = false;
    bool include_rotated = false;
    bool rotate = false;
    std::string output;
    std::optional<int> pattern_count;
    std::string pattern_window;
};

Error usage(const std::string& option, const std::string& reason) {
    return Error(CoreCode::usage, "read " + option, reason);
}

std::string journal_path(const Context& ctx) {
    if (ctx.options.no_journal)
        throw usage("--no-journal", "errors-report reads the journal; --no-journal leaves none");
    std::string path = ctx.journal_location();
    if (path.empty())
        throw usage("--journal", "no journal location: set HOME or XDG_STATE_HOME, or give one");
    return path;
}

// Each of the values an option was given, read by `parse`; the first it refuses is a
// usage error naming it.
template <class Parse>
auto each_of(const std::vector<std::string>& values, Parse parse, const std::string& option,
             const std::string& problem) {
    std::vector<typename decltype(parse(std::string_view()))::value_type> list;
    for (const std::string& text : values) {
        auto value = parse(text);
        if (!value)
            throw usage(option, "'" + text + "' " + problem);
        list.push_back(*value);
    }
    return list;
}

ReportFilter filter_from(const ReportOptions& options, TimePoint now) {
    ReportFilter filter;
    auto bound = [&](const std::string& option, const std::string& text) {
        auto time = parse_time_bound(text, now);
        if (!time) {
            throw usage(option, "'" + text +
                                    "' is neither an RFC 3339 time nor a duration such as "
                                    "30m, 24h or 7d");
        }
        return time;
    };
    if (!options.since.empty())
        filter.since = bound("--since", options.since);
    if (!options.until.empty())
        filter.until = bound("--until", options.until);
    if (filter.since && filter.until && *filter.since > *filter.until)
        throw usage("--since", "--since is later than --until: no record could match");
    filter.categories = each_of(options.categories, parse_category, "--category",
                                "is not a category; the categories are usage, configuration, "
                                "middleware, communication, card_state, authentication, "
                                "token and internal");
    filter.codes = each_of(options.codes, parse_code_selector, "--code",
                           "is not a code: give a name such as CKR_DEVICE_REMOVED, "
                           "SCARD_W_RESET_CARD or SW 6982, or a number");
    return filter;
}

PatternRule rule_from(const ReportOptions& options, const Config& config) {
    PatternRule rule;
    rule.count = options.pattern_count.value_or(config.errors_report.pattern_count.value_or(3));
    if (rule.count < 2 || rule.count > max_pattern_count) {
        throw usage("--pattern-count",
                    "must be between 2 and " + std::to_string(max_pattern_count));
    }
    if (!options.pattern_window.empty()) {
        auto window = parse_duration(options.pattern_window, ZeroLength::allowed);
        if (!window) {
            throw usage("--pattern-window",
                        "'" + options.pattern_window + "' is not a duration such as 30m, 1h or 7d");
        }
        if (window->count() == 0)
            throw usage("--pattern-window", "a pattern's window must be longer than zero");
        rule.window = *window;
    } else if (config.errors_report.pattern_window_seconds) {
        rule.window = std::chrono::seconds(*config.errors_report.pattern_window_seconds);
    }
    return rule;
}

// The report file: written under a temporary name in the target's folder and renamed over
// the target only once it is complete, so a reader of FILE sees the old report or the
// new one, never half of one. Created before the journal is read (and rotated), so a
// folder that cannot take it stops the command before anything changes.
class AtomicFile {
  public:
    explicit AtomicFile(std::string path) : path_(std::move(path)) {
        // rename(2) would refuse a folder only after the whole report was made.
        struct stat st {};
        if (stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            throw usage("-o", path_ + " is a folder; give the report file's name");
        std::size_t slash = path_.find_last_of('/');
        std::string folder = slash == std::string::npos ? "." : path_.substr(0, slash);
        std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
        temporary_ = folder + "/." + base + ".XXXXXX";
        fd_ = mkstemp(temporary_.data());
        if (fd_ < 0)
            throw failure("create a file in " + folder);
        fchmod(fd_, 0644 & ~current_umask());
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile() {
        if (fd_ >= 0) {
            close(fd_);
            unlink(temporary_.c_str());
        }
    }

    void write(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::write(fd_, data.data(), data.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw failure("write");
            data.remove_prefix(std::size_t(n));
        }
    }

    // Makes the file the one at its path.
    void commit() {
        if (fsync(fd_) != 0)
            throw failure("write");
        int closed = close(fd_);
        fd_ = -1;
        if (closed != 0 || rename(temporary_.c_str(), path_.c_str()) != 0) {
            Error error = failure("write");
            unlink(temporary_.c_str());
            throw error;
        }
    }

  private:
    static mode_t current_umask() {
        mode_t mask = umask(0);
        umask(mask);
        return mask;
    }
    Error failure(const std::string& step) const {
        return Error(CoreCode::io_error, "write the report " + path_,
                     step + ": " + std::strerror(errno));
    }

    std::string path_;
    std::string temporary_;
    int fd_ = -1;
};

// Where the JSON document goes: stdout (--json), the report file (-o), or both.
class JsonSinks {
  public:
    JsonSinks(bool to_stdout, AtomicFile* file) : stdout_(to_stdout), file_(file) {}
    bool any() const { return stdout_ || file_ != nullptr; }

    void put(std::string_view text) {
        if (stdout_)
            std::cout << text;
        if (file_ != nullptr)
            file_->write(text);
    }
    void begin(const Json& head) {
        put("{\n  \"schema_version\": 1");
        for (const auto& [key, value] : head.items())
            put(",\n  " + Json(key).dump() + ": " + indented(value, "  "));
    }
    void begin_list(std::string_view key) {
        put(",\n  " + Json(std::string(key)).dump() + ": [");
        first_ = true;
    }
    void item(const Json& value) {
        put((first_ ? "\n    " : ",\n    ") + indented(value, "    "));
        first_ = false;
    }
    void end_list() { put(first_ ? "]" : "\n  ]"); }
    void end() { put("\n}\n"); }

  private:
    static std::string indented(const Json& value, std::string_view indent) {
        std::string text = value.dump(2, ' ', false, Json::error_handler_t::replace);
        std::string out;
        for (char c : text) {
            out += c;
            if (c == '\n')
                out += indent;
        }
        return out;
    }

    bool stdout_;
    AtomicFile* file_;
    bool first_ = true;
};

Json time_json(const std::optional<TimePoint>& time) {
    return time ? Json(format_rfc3339_ms(*time)) : Json(nullptr);
}

Json name_json(const std::string& name) {
    return name.empty() ? Json(nullptr) : Json(name);
}

Json tally_json(const Tally& t) {
    auto rate = t.recovery_rate();
    return Json{{"count", t.count},
                {"errors", t.errors},
                {"recovery_attempts", t.recovery_attempts},
                {"recovered", t.recovered},
                {"recovery_rate", rate ? Json(*rate) : Json(nullptr)},
                {"first_seen", time_json(t.first_seen)},
                {"last_seen", time_json(t.last_seen)}};
}

Json buckets_json(const std::vector<Bucket>& buckets, const char* key) {
    Json list = Json::array();
    for (const Bucket& bucket : buckets) {
        Json item{{key, name_json(bucket.name)}};
        item.update(tally_json(bucket.tally));
        list.push_back(std::move(item));
    }
    return list;
}

Json codes_json(const ReportAggregator& report) {
    Json list = Json::array();
    for (const CodeBucket& code : report.by_code()) {
        Json item{{"code", code.code},
                  {"value", code.value},
                  {"domain", to_string(code.domain)},
                  {"category", to_string(code.category)},
                  {"severity", to_string(code.severity)},
                  {"action", to_string(code.action)}};
        item.update(tally_json(code.tally));
        list.push_back(std::move(item));
    }
    return list;
}

template <class Pairs>
Json counts_json(const Pairs& pairs) {
    Json object = Json::object();
    for (const auto& [key, tally] : pairs)
        object[std::string(to_string(key))] = tally_json(tally);
    return object;
}

Json patterns_json(const ReportAggregator& report) {
    Json list = Json::array();
    for (const Pattern& p : report.patterns()) {
        list.push_back(Json{{"code", p.code},
                            {"operation", p.operation},
                            {"failures", p.failures},
                            {"bursts", p.bursts},
                            {"failures_in_bursts", p.in_bursts},
                            {"first_burst_at", format_rfc3339_ms(p.first_burst)},
                            {"last_burst_at", format_rfc3339_ms(p.last_burst)}});
    }
    return list;
}

Json hints_json(const ReportAggregator& report) {
    Json list = Json::array();
    for (const HintCount& h : report.hints(hint_limit))
        list.push_back(Json{{"hint", h.hint}, {"failures", h.failures}, {"codes", h.codes}});
    return list;
}

// What the scan found, and where.
struct Source {
    std::string journal;  // the path asked for
    std::string read;     // the file read: the journal, or where --rotate moved it
    bool include_rotated = false;
    bool exists = false;
    std::optional<std::string> rotated_to;
    JournalScan scan;
};

Json report_json(const ReportAggregator& report, const Source& source, TimePoint now) {
    const ReportFilter& filter = report.filter();
    const Tally& t = report.totals();
    Json categories = Json::array();
    for (Category c : filter.categories)
        categories.push_back(to_string(c));
    Json codes = Json::array();
    for (const CodeSelector& code : filter.codes)
        codes.push_back(code.value ? Json(*code.value) : Json(code.name));
    auto rate = t.recovery_rate();
    return Json{
        {"generated_at", format_rfc3339_ms(now)},
        {"journal",
         {{"path", source.journal},
          {"exists", source.exists},
          {"included_rotated", source.include_rotated},
          {"rotated_to", source.rotated_to ? Json(*source.rotated_to) : Json(nullptr)},
          {"records_read", source.scan.records}}},
        {"damaged_lines", source.scan.damaged},
        {"range",
         {{"since", time_json(filter.since)},
          {"until", time_json(filter.until)},
          {"first_seen", time_json(t.first_seen)},
          {"last_seen", time_json(t.last_seen)}}},
        {"filter", {{"categories", categories}, {"codes", codes}}},
        {"totals",
         {{"records", t.count},
          {"errors", t.errors},
          {"recovery_attempts", t.recovery_attempts},
          {"recovered", t.recovered},
          {"recoveries_tried", t.recoveries_tried},
          {"recovery_rate", rate ? Json(*rate) : Json(nullptr)},
          {"failures", t.failures()}}},
        {"by_code", codes_json(report)},
        {"by_category", counts_json(report.by_category())},
        {"by_severity", counts_json(report.by_severity())},
        {"by_operation", buckets_json(report.by_operation(), "operation")},
        {"by_reader", buckets_json(report.by_reader(), "reader")},
        {"by_module", buckets_json(report.by_module(), "module")},
        {"pattern_rule",
         {{"count", report.rule().count}, {"window_seconds", report.rule().window.count()}}},
        {"patterns", patterns_json(report)},
        {"hints", hints_json(report)},
    };
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0;
}

// Reads the matching records again and hands each to `emit`, up to the number the first
// reading counted: records appended since then belong to the next report.
void replay(const Source& source, const ReportFilter& filter, std::uint64_t matched,
            const std::function<void(const JournalRecord&)>& emit) {
    std::uint64_t emitted = 0;
    scan_journal(source.read, source.include_rotated, [&](const JournalRecord& record) {
        if (emitted < matched && filter.takes(record)) {
            ++emitted;
            emit(record);
        }
    });
}

// Finds the journal, moves it aside first with --rotate, and counts what it holds.
Source read_journal(const Context& ctx, const ReportOptions& options, ReportAggregator& report) {
    Source source;
    source.journal = source.read = journal_path(ctx);
    source.include_rotated = options.include_rotated;
    if (options.rotate && rotate_journal(source.journal))
        source.rotated_to = source.read = source.journal + ".1";
    source.exists =
        file_exists(source.read) || (source.include_rotated && file_exists(source.read + ".1"));
    source.scan = scan_journal(source.read, source.include_rotated,
                               [&](const JournalRecord& record) { report.add(record); });
    return source;
}

// The text on stdout, or the JSON document there (--json), and the JSON in `file` (-o).
void write_report(const Context& ctx, const ReportOptions& options, const ReportAggregator& report,
                  const Source& source, TimePoint now, AtomicFile* file) {
    Json document = report_json(report, source, now);
    JsonSinks json(ctx.out.json(), file);
    json.begin(document);
    if (!ctx.out.json())
        print_report(ctx.out, document, options.include_context);
    if (options.include_context) {
        json.begin_list("errors");
        replay(source, report.filter(), report.totals().count, [&](const JournalRecord& r) {
            if (json.any())
                json.item(Json::parse(to_journal_line(r)));
            if (!ctx.out.json())
                std::cout << record_line(r) << '\n';
        });
        json.end_list();
    }
    json.end();
}

int run_errors_report(Context& ctx, const ReportOptions& options) {
    const TimePoint now = std::chrono::system_clock::now();
    ReportAggregator report(filter_from(options, now), rule_from(options, ctx.config));
    if (options.rotate && options.include_rotated) {
        throw usage("--rotate",
                    "--rotate replaces PATH.1, so it cannot be combined with "
                    "--include-rotated");
    }
    // Before the journal is touched: a report that cannot be written rotates nothing.
    std::unique_ptr<AtomicFile> file;
    if (!options.output.empty())
        file = std::make_unique<AtomicFile>(options.output);
    Source source = read_journal(ctx, options, report);
    write_report(ctx, options, report, source, now, file.get());
    if (file) {
        file->commit();
        if (!ctx.out.json() && !ctx.options.quiet)
            std::cerr << "cactool: wrote the JSON report to " << options.output << '\n';
    }
    return exit_ok;
}

}  // namespace

Runner setup_errors_report(CLI::App& app) {
    auto options = std::make_shared<ReportOptions>();
    app.add_option("--since", options->since,
                   "Only records at or after this RFC 3339 time, or this long ago (24h, 7d)")
        ->check(nonempty_value());
    app.add_option("--until", options->until,
                   "Only records at or before this RFC 3339 time, or this long ago")
        ->check(nonempty_value());
    app.add_option("--category", options->categories,
                   "Only these categories (repeat or separate with commas)")
        ->delimiter(',');
    app.add_option("--code", options->codes,
                   "Only these codes: names such as CKR_DEVICE_REMOVED, or numbers")
        ->delimiter(',');
    app.add_flag("--include-context", options->include_context,
                 "List the matching records themselves (JSON: \"errors\")");
    app.add_flag("--include-rotated", options->include_rotated,
                 "Also read the journal's previous file, PATH.1, first");
    app.add_flag("--rotate", options->rotate,
                 "Move the journal to PATH.1 and report on what was moved, so the next "
                 "report starts empty");
    app.add_option("-o,--output", options->output,
                   "Write the JSON report to FILE (replaced whole, never half-written)")
        ->check(nonempty_value());
    app.add_option("--pattern-count", options->pattern_count,
                   "Failures of one code and operation that make a pattern (default 3)");
    app.add_option("--pattern-window", options->pattern_window,
                   "How close together they must be: 30m, 1h, 7d ... (default 1h)")
        ->check(nonempty_value());
    return [options](Context& ctx) { return run_errors_report(ctx, *options); };
}

}  // namespace cac::cli
