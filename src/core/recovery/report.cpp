#include "core/recovery/report.hpp"

#include <algorithm>
#include <charconv>

#include "core/util/time.hpp"

namespace cac {
namespace {

constexpr Category all_categories[] = {
    Category::usage,      Category::configuration,  Category::middleware, Category::communication,
    Category::card_state, Category::authentication, Category::token,      Category::internal,
};
constexpr Severity all_severities[] = {Severity::info, Severity::warning, Severity::error,
                                       Severity::critical};

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z')
            c = char(c - 'a' + 'A');
    }
    return out;
}

std::optional<std::uint32_t> parse_number(std::string_view text) {
    int base = 10;
    if (text.starts_with("0x") || text.starts_with("0X")) {
        text.remove_prefix(2);
        base = 16;
    }
    std::uint32_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+';
}

// "SW6983" and "SW 6983" both name the status word as code_name() spells it.
std::optional<std::string> status_word_name(const std::string& name) {
    std::string_view digits(name);
    digits.remove_prefix(2);
    if (digits.starts_with(' '))
        digits.remove_prefix(1);
    if (digits.size() != 4 || !std::all_of(digits.begin(), digits.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
        })) {
        return std::nullopt;
    }
    return "SW " + std::string(digits);
}

// Every key of `order`, in that order, with its tally or zeros.
template <class Key, std::size_t N>
std::vector<std::pair<Key, Tally>> in_order(const Key (&order)[N],
                                            const std::map<Key, Tally>& map) {
    std::vector<std::pair<Key, Tally>> list;
    for (Key key : order) {
        auto it = map.find(key);
        list.emplace_back(key, it == map.end() ? Tally{} : it->second);
    }
    return list;
}

template <class Key>
void count_in(std::map<Key, Tally>& map, const Key& key, const JournalRecord& record) {
    map[key].add(record);
}

}  // namespace

std::optional<CodeSelector> parse_code_selector(std::string_view text) {
    if (auto value = parse_number(text))
        return CodeSelector{{}, value};
    std::string name = upper(text);
    if (name.starts_with("SW")) {
        auto status = status_word_name(name);
        return status ? std::optional<CodeSelector>(CodeSelector{*status, {}}) : std::nullopt;
    }
    // Some spelling of the taxonomy's own names: CKR_, SCARD_ (E_, W_, F_, S_) and
    // CACTOOL_, then capitals, digits, underscores and the "+0x12" of vendor codes.
    // "0X" is how "CKR_VENDOR_DEFINED+0x12" reads once upper-cased.
    bool known_prefix =
        name.starts_with("CKR_") || name.starts_with("SCARD_") || name.starts_with("CACTOOL_");
    if (!known_prefix || !std::all_of(name.begin(), name.end(), is_name_char))
        return std::nullopt;
    return CodeSelector{name, {}};
}

std::optional<Category> parse_category(std::string_view text) {
    for (Category category : all_categories) {
        if (to_string(category) == text)
            return category;
    }
    return std::nullopt;
}

std::optional<TimePoint> parse_time_bound(std::string_view text, TimePoint now) {
    if (auto seconds = parse_rfc3339(text))
        return TimePoint(std::chrono::seconds(*seconds));
    if (auto length = parse_duration(text, ZeroLength::allowed))
        return now - *length;
    return std::nullopt;
}

bool ReportFilter::takes(const JournalRecord& record) const {
    if ((since && record.time < *since) || (until && record.time > *until))
        return false;
    if (!categories.empty() &&
        std::find(categories.begin(), categories.end(), record.category) == categories.end()) {
        return false;
    }
    if (codes.empty())
        return true;
    return std::any_of(codes.begin(), codes.end(), [&](const CodeSelector& code) {
        return code.value ? record.value == *code.value : upper(record.code) == code.name;
    });
}

void Tally::add(const JournalRecord& record) {
    ++count;
    if (record.kind == JournalKind::error) {
        ++errors;
    } else {
        ++recovery_attempts;
        recovered += record.outcome == Outcome::recovered ? 1 : 0;
        recoveries_tried += record.attempt == 1 ? 1 : 0;
    }
    if (!first_seen || record.time < *first_seen)
        first_seen = record.time;
    if (!last_seen || record.time > *last_seen)
        last_seen = record.time;
}

std::optional<double> Tally::recovery_rate() const {
    // A journal written by hand (or cut by --since in the middle of a failure) may show a
    // recovery without its first attempt; the rate still says no more than "all".
    std::uint64_t tried = std::max(recoveries_tried, recovered);
    if (tried == 0)
        return std::nullopt;
    return double(recovered) / double(tried);
}

ReportAggregator::ReportAggregator(ReportFilter filter, PatternRule rule)
    : filter_(std::move(filter)), rule_(rule) {
    rule_.count = std::clamp(rule_.count, 2, max_pattern_count);
}

bool ReportAggregator::add(const JournalRecord& record) {
    if (!filter_.takes(record))
        return false;
    totals_.add(record);
    auto [code, fresh] = codes_.try_emplace(record.code);
    if (fresh) {
        code->second = CodeBucket{record.code,
                                  record.domain,
                                  record.value,
                                  record.category,
                                  record.severity,
                                  record.action,
                                  {}};
    }
    code->second.tally.add(record);
    count_in(operations_, record.operation, record);
    count_in(readers_, record.reader, record);
    count_in(modules_, record.module, record);
    count_in(categories_, record.category, record);
    count_in(severities_, record.severity, record);
    if (record.kind == JournalKind::error || record.outcome == Outcome::recovered)
        add_failure(record);
    return true;
}

void ReportAggregator::add_failure(const JournalRecord& record) {
    PatternState& state = patterns_[{record.code, record.operation}];
    ++state.failures;
    // Journal lines are in the order they were appended, which concurrent processes can
    // make differ slightly from the order of their times: a late one is slotted in.
    state.recent.insert(std::upper_bound(state.recent.begin(), state.recent.end(), record.time),
                        record.time);
    const TimePoint oldest_kept = state.recent.back() - rule_.window;
    while (state.recent.front() < oldest_kept)
        state.recent.pop_front();
    bool holds = state.recent.size() >= std::size_t(rule_.count);
    while (state.recent.size() >= std::size_t(rule_.count))
        state.recent.pop_front();
    if (!holds) {
        state.holding = false;
        return;
    }
    if (state.in_bursts == 0)
        state.first_burst = record.time;
    if (state.in_bursts == 0 || record.time > state.last_burst)
        state.last_burst = record.time;
    state.bursts += state.holding ? 0 : 1;
    state.holding = true;
    ++state.in_bursts;
}

std::vector<Bucket> ReportAggregator::sorted(const std::map<std::string, Tally>& map) {
    std::vector<Bucket> list;
    list.reserve(map.size());
    for (const auto& [name, tally] : map)
        list.push_back(Bucket{name, tally});
    // The map is in name order already, so a stable sort by count keeps ties by name.
    std::stable_sort(list.begin(), list.end(), [](const Bucket& a, const Bucket& b) {
        return a.tally.count > b.tally.count;
    });
    return list;
}

std::vector<CodeBucket> ReportAggregator::by_code() const {
    std::vector<CodeBucket> list;
    list.reserve(codes_.size());
    for (const auto& [name, bucket] : codes_)
        list.push_back(bucket);
    std::stable_sort(list.begin(), list.end(), [](const CodeBucket& a, const CodeBucket& b) {
        return a.tally.count > b.tally.count;
    });
    return list;
}

std::vector<std::pair<Category, Tally>> ReportAggregator::by_category() const {
    return in_order(all_categories, categories_);
}

std::vector<std::pair<Severity, Tally>> ReportAggregator::by_severity() const {
    return in_order(all_severities, severities_);
}

std::vector<Pattern> ReportAggregator::patterns() const {
    std::vector<Pattern> list;
    for (const auto& [key, state] : patterns_) {
        if (state.in_bursts == 0)
            continue;
        list.push_back(Pattern{key.first, key.second, state.failures, state.bursts, state.in_bursts,
                               state.first_burst, state.last_burst});
    }
    std::stable_sort(list.begin(), list.end(),
                     [](const Pattern& a, const Pattern& b) { return a.in_bursts > b.in_bursts; });
    return list;
}

std::vector<HintCount> ReportAggregator::hints(std::size_t limit) const {
    std::map<std::string, HintCount> by_hint;
    for (const CodeBucket& code : by_code()) {
        // The hint of the code as this cactool's taxonomy has it, which may be newer than
        // the cactool that wrote the record.
        std::string hint(lookup_taxonomy(code.domain, code.value).hint);
        if (hint.empty() || code.tally.failures() == 0)
            continue;
        HintCount& entry = by_hint[hint];
        entry.hint = hint;
        entry.failures += code.tally.failures();
        entry.codes.push_back(code.code);
    }
    std::vector<HintCount> list;
    for (auto& [hint, entry] : by_hint)
        list.push_back(std::move(entry));
    std::stable_sort(list.begin(), list.end(), [](const HintCount& a, const HintCount& b) {
        return a.failures > b.failures;
    });
    if (list.size() > limit)
        list.resize(limit);
    return list;
}

}  // namespace cac
