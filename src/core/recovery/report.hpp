// What errors-report counts, as data the CLI turns into words.
//
// The journal can hold millions of records, so the report is built in one pass, one
// record at a time, keeping per distinct key (a code, an operation, a reader, a module,
// a code and operation pair) a few counters and times, never the records themselves.
//
// Counting rules, which the man page repeats for operators:
// - every record the filter takes counts once in `count` of each bucket it falls in;
//   error records in `errors`, recovery records in `recovery_attempts`, recovery records
//   whose outcome is `recovered` in `recovered`;
// - a failure is one error record, or one recovery attempt that recovered: the recovery
//   policy writes attempts 1, 2, ... for one failure, ending in `recovered` or in the
//   error record of the failure it gave up on, so failures = errors + recovered counts
//   each failure once however many attempts it took;
// - the recovery rate is the share of the failures recovery was tried on that it
//   recovered: recovered / (recovery records with attempt 1);
// - a recurring pattern is a code and operation with at least `count` failures within
//   `window` of each other. Per pair, the times of the latest count-1 failures within the
//   window are all that is kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/recovery/journal.hpp"
#include "core/util/error.hpp"

namespace cac {

using TimePoint = std::chrono::system_clock::time_point;

// A --code value: a symbolic name ("CKR_DEVICE_REMOVED", "SW 6983") or a number, which
// matches that value in any domain.
struct CodeSelector {
    std::string name;
    std::optional<std::uint32_t> value;
};

// "CKR_DEVICE_REMOVED", "scard_w_reset_card", "SW6983", "0x32", "48". nullopt for text
// that is neither a number nor shaped like a code name of the taxonomy.
std::optional<CodeSelector> parse_code_selector(std::string_view text);

// The category named `text` ("token", "card_state"), as to_string(Category) spells it.
std::optional<Category> parse_category(std::string_view text);

// A --since or --until value: RFC 3339, or a duration ("30m", "24h", "7d") meaning that
// long before `now`; "0h" or "0s" is `now` itself.
std::optional<TimePoint> parse_time_bound(std::string_view text, TimePoint now);

// Which records a report covers. Empty lists take every category or code; both bounds
// are inclusive.
struct ReportFilter {
    std::optional<TimePoint> since;
    std::optional<TimePoint> until;
    std::vector<Category> categories;
    std::vector<CodeSelector> codes;

    bool takes(const JournalRecord& record) const;
};

// The same code and operation at least `count` times within `window`.
struct PatternRule {
    int count = 3;
    std::chrono::seconds window{3600};
};
inline constexpr int max_pattern_count = 10000;

struct Tally {
    std::uint64_t count = 0;
    std::uint64_t errors = 0;
    std::uint64_t recovery_attempts = 0;
    std::uint64_t recovered = 0;
    std::uint64_t recoveries_tried = 0;  // recovery records with attempt 1
    std::optional<TimePoint> first_seen;
    std::optional<TimePoint> last_seen;

    void add(const JournalRecord& record);
    std::uint64_t failures() const { return errors + recovered; }
    // nullopt when recovery was never tried.
    std::optional<double> recovery_rate() const;
};

// One key of a by_* listing: a code, an operation, a reader or a module. An empty
// name stands for records without one (no reader, say).
struct Bucket {
    std::string name;
    Tally tally;
};

struct CodeBucket {
    std::string code;
    ErrorDomain domain = ErrorDomain::core;
    std::uint32_t value = 0;
    Category category = Category::internal;
    Severity severity = Severity::error;
    RecoveryAction action = RecoveryAction::none;
    Tally tally;
};

struct Pattern {
    std::string code;
    std::string operation;
    std::uint64_t failures = 0;   // of this code and operation, in the whole report
    std::uint64_t bursts = 0;     // runs of failures during which the rule held at each one
    std::uint64_t in_bursts = 0;  // failures at which the rule held
    TimePoint first_burst;        // the failure at which the rule first held
    TimePoint last_burst;         // the last failure at which it held
};

struct HintCount {
    std::string hint;
    std::uint64_t failures = 0;
    std::vector<std::string> codes;  // the codes giving this hint, most failures first
};

class ReportAggregator {
  public:
    ReportAggregator(ReportFilter filter, PatternRule rule);

    // Counts `record` when the filter takes it; returns whether it did.
    bool add(const JournalRecord& record);

    const ReportFilter& filter() const { return filter_; }
    const PatternRule& rule() const { return rule_; }
    const Tally& totals() const { return totals_; }

    // Most records first, then by name.
    std::vector<CodeBucket> by_code() const;
    std::vector<Bucket> by_operation() const { return sorted(operations_); }
    std::vector<Bucket> by_reader() const { return sorted(readers_); }
    std::vector<Bucket> by_module() const { return sorted(modules_); }
    // Every category (severity) in the taxonomy's order, with zeros.
    std::vector<std::pair<Category, Tally>> by_category() const;
    std::vector<std::pair<Severity, Tally>> by_severity() const;
    // The pairs for which the rule held at least once; most failures in bursts first.
    std::vector<Pattern> patterns() const;
    // The taxonomy's hints for the codes seen, weighted by failures; at most `limit`.
    std::vector<HintCount> hints(std::size_t limit) const;

  private:
    struct PatternState {
        std::deque<TimePoint> recent;  // sorted; at most rule.count - 1 failures
        std::uint64_t failures = 0;
        std::uint64_t bursts = 0;
        std::uint64_t in_bursts = 0;
        bool holding = false;
        TimePoint first_burst;
        TimePoint last_burst;
    };

    void add_failure(const JournalRecord& record);
    static std::vector<Bucket> sorted(const std::map<std::string, Tally>& map);

    ReportFilter filter_;
    PatternRule rule_;
    Tally totals_;
    std::map<std::string, CodeBucket> codes_;
    std::map<std::string, Tally> operations_;
    std::map<std::string, Tally> readers_;
    std::map<std::string, Tally> modules_;
    std::map<Category, Tally> categories_;
    std::map<Severity, Tally> severities_;
    std::map<std::pair<std::string, std::string>, PatternState> patterns_;
};

}  // namespace cac
