// The report's arithmetic over records built by hand; every expected number is counted
// by hand from the records each test lists.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/recovery/report.hpp"
#include "core/util/time.hpp"

using namespace cac;
using namespace std::chrono_literals;

namespace {

// 2026-12-04T00:00:00Z, from `date -u -d 2026-12-04 +%s`.
const TimePoint day = TimePoint(std::chrono::seconds(1796342400));

JournalRecord failure(std::string code, std::string operation, std::chrono::minutes at) {
    JournalRecord r;
    r.time = day + at;
    r.code = std::move(code);
    r.operation = std::move(operation);
    r.kind = JournalKind::error;
    r.outcome = Outcome::gave_up;
    return r;
}

JournalRecord attempt(std::string code, std::string operation, std::chrono::minutes at, int n,
                      Outcome outcome) {
    JournalRecord r = failure(std::move(code), std::move(operation), at);
    r.kind = JournalKind::recovery;
    r.attempt = n;
    r.outcome = outcome;
    return r;
}

ReportAggregator aggregator(ReportFilter filter = {}, PatternRule rule = {}) {
    return ReportAggregator(std::move(filter), rule);
}

}  // namespace

TEST_CASE("totals: errors, attempts, recovered and the rate over the failures tried") {
    ReportAggregator report = aggregator();
    // Failure A: recovered at the second attempt.
    report.add(attempt("CKR_DEVICE_REMOVED", "C_FindObjects", 1min, 1, Outcome::failed));
    report.add(attempt("CKR_DEVICE_REMOVED", "C_FindObjects", 2min, 2, Outcome::recovered));
    // Failure B: two failed attempts, then given up: the error record.
    report.add(attempt("SCARD_W_RESET_CARD", "SCardTransmit", 3min, 1, Outcome::failed));
    report.add(attempt("SCARD_W_RESET_CARD", "SCardTransmit", 4min, 2, Outcome::failed));
    report.add(failure("SCARD_W_RESET_CARD", "SCardTransmit", 5min));
    // Failure C: never recoverable.
    report.add(failure("CKR_PIN_INCORRECT", "C_Login", 6min));

    const Tally& t = report.totals();
    CHECK(t.count == 6);
    CHECK(t.errors == 2);
    CHECK(t.recovery_attempts == 4);
    CHECK(t.recovered == 1);
    CHECK(t.recoveries_tried == 2);
    CHECK(t.failures() == 3);
    REQUIRE(t.recovery_rate().has_value());
    CHECK(*t.recovery_rate() == doctest::Approx(0.5));
    CHECK(t.first_seen == day + 1min);
    CHECK(t.last_seen == day + 6min);
}

TEST_CASE("no recovery tried: the rate is unknown, not zero") {
    ReportAggregator report = aggregator();
    report.add(failure("CKR_PIN_INCORRECT", "C_Login", 1min));
    CHECK_FALSE(report.totals().recovery_rate().has_value());
    CHECK_FALSE(aggregator().totals().recovery_rate().has_value());
}

TEST_CASE("counts by code, operation, reader, module, category and severity") {
    ReportAggregator report = aggregator();
    JournalRecord a = failure("CKR_DEVICE_REMOVED", "C_GetAttributeValue", 1min);
    a.domain = ErrorDomain::pkcs11;
    a.value = 0x32;
    a.category = Category::card_state;
    a.severity = Severity::warning;
    a.reader = "Virtual PCD 00 00";
    a.module = "/m/opensc-pkcs11.so";
    report.add(a);
    report.add(a);
    JournalRecord b = failure("SCARD_E_NO_SERVICE", "SCardEstablishContext", 2min);
    b.domain = ErrorDomain::pcsc;
    b.value = 0x8010001d;
    b.category = Category::middleware;
    b.severity = Severity::critical;
    report.add(b);

    auto codes = report.by_code();
    REQUIRE(codes.size() == 2);
    CHECK(codes[0].code == "CKR_DEVICE_REMOVED");
    CHECK(codes[0].value == 0x32);
    CHECK(codes[0].tally.count == 2);
    CHECK(codes[1].code == "SCARD_E_NO_SERVICE");
    CHECK(codes[1].tally.first_seen == day + 2min);

    auto readers = report.by_reader();
    REQUIRE(readers.size() == 2);
    CHECK(readers[0].name == "Virtual PCD 00 00");
    CHECK(readers[0].tally.count == 2);
    CHECK(readers[1].name.empty());  // the record with no reader
    CHECK(report.by_module()[0].name == "/m/opensc-pkcs11.so");
    CHECK(report.by_operation().size() == 2);

    auto categories = report.by_category();
    REQUIRE(categories.size() == 8);  // every category, with zeros
    CHECK(categories[0].first == Category::usage);
    CHECK(categories[0].second.count == 0);
    CHECK(categories[2].first == Category::middleware);
    CHECK(categories[2].second.count == 1);
    CHECK(categories[4].first == Category::card_state);
    CHECK(categories[4].second.count == 2);
    auto severities = report.by_severity();
    REQUIRE(severities.size() == 4);
    CHECK(severities[1].second.count == 2);  // warning
    CHECK(severities[3].second.count == 1);  // critical
}

TEST_CASE("a pattern is N failures of one code and operation within the window") {
    ReportAggregator report = aggregator({}, PatternRule{3, 1h});
    for (auto at : {0min, 10min, 20min, 30min})  // holds at 20 and 30: one burst
        report.add(failure("CKR_DEVICE_REMOVED", "C_FindObjects", at));
    for (auto at : {180min, 190min, 200min})  // the first three have left the window
        report.add(failure("CKR_DEVICE_REMOVED", "C_FindObjects", at));
    // Another operation, same code: its own pair, two in the window, so no pattern.
    report.add(failure("CKR_DEVICE_REMOVED", "C_Login", 5min));
    report.add(failure("CKR_DEVICE_REMOVED", "C_Login", 6min));
    // Three spread over more than an hour: never three within one.
    for (auto at : {0min, 40min, 81min})
        report.add(failure("SCARD_W_RESET_CARD", "SCardTransmit", at));

    auto patterns = report.patterns();
    REQUIRE(patterns.size() == 1);
    CHECK(patterns[0].code == "CKR_DEVICE_REMOVED");
    CHECK(patterns[0].operation == "C_FindObjects");
    CHECK(patterns[0].failures == 7);
    CHECK(patterns[0].bursts == 2);
    CHECK(patterns[0].in_bursts == 3);  // at 20, 30 and 200 minutes
    CHECK(patterns[0].first_burst == day + 20min);
    CHECK(patterns[0].last_burst == day + 200min);
}

TEST_CASE("the window is inclusive, and a late line is slotted in by its time") {
    ReportAggregator report = aggregator({}, PatternRule{3, 1h});
    report.add(failure("X", "op", 0min));
    report.add(failure("X", "op", 60min));  // exactly one hour after the first
    report.add(failure("X", "op", 30min));  // written late; three within [0, 60]
    auto patterns = report.patterns();
    REQUIRE(patterns.size() == 1);
    CHECK(patterns[0].in_bursts == 1);
}

TEST_CASE("recovery attempts that failed are not failures of their own for patterns") {
    ReportAggregator report = aggregator({}, PatternRule{2, 1h});
    // One failure recovered at the third attempt: one failure, so no pair of them.
    report.add(attempt("SCARD_W_RESET_CARD", "SCardTransmit", 1min, 1, Outcome::failed));
    report.add(attempt("SCARD_W_RESET_CARD", "SCardTransmit", 1min, 2, Outcome::failed));
    report.add(attempt("SCARD_W_RESET_CARD", "SCardTransmit", 1min, 3, Outcome::recovered));
    CHECK(report.patterns().empty());
    report.add(attempt("SCARD_W_RESET_CARD", "SCardTransmit", 9min, 1, Outcome::recovered));
    CHECK(report.patterns().size() == 1);
}

TEST_CASE("memory per pattern key stays at N-1 times however many records come") {
    ReportAggregator report = aggregator({}, PatternRule{4, 24h});
    for (int i = 0; i < 100000; ++i)
        report.add(failure("X", "op", std::chrono::minutes(i % 60)));
    auto patterns = report.patterns();
    REQUIRE(patterns.size() == 1);
    CHECK(patterns[0].failures == 100000);
    CHECK(patterns[0].in_bursts == 100000 - 3);  // all but the first three
    CHECK(patterns[0].bursts == 1);
}

TEST_CASE("filters: time bounds inclusive, categories, codes by name or number") {
    JournalRecord a = failure("CKR_DEVICE_REMOVED", "C_FindObjects", 10min);
    a.value = 0x32;
    a.category = Category::card_state;
    JournalRecord b = failure("SW 6982", "SELECT", 20min);
    b.value = 0x6982;
    b.category = Category::authentication;

    ReportFilter window;
    window.since = day + 10min;
    window.until = day + 15min;
    CHECK(window.takes(a));
    CHECK_FALSE(window.takes(b));

    ReportFilter category;
    category.categories = {Category::authentication, Category::token};
    CHECK_FALSE(category.takes(a));
    CHECK(category.takes(b));

    ReportFilter by_name;
    by_name.codes = {*parse_code_selector("ckr_device_removed")};
    CHECK(by_name.takes(a));
    CHECK_FALSE(by_name.takes(b));
    ReportFilter by_number;
    by_number.codes = {*parse_code_selector("0x6982"), *parse_code_selector("50")};
    CHECK(by_number.takes(a));  // 50 is 0x32
    CHECK(by_number.takes(b));
    ReportFilter by_status_word;
    by_status_word.codes = {*parse_code_selector("SW6982")};
    CHECK(by_status_word.takes(b));

    ReportAggregator report = aggregator(category);
    CHECK_FALSE(report.add(a));
    CHECK(report.add(b));
    CHECK(report.totals().count == 1);
}

TEST_CASE("what --code accepts") {
    CHECK(parse_code_selector("CKR_VENDOR_DEFINED+0x12")->name == "CKR_VENDOR_DEFINED+0X12");
    CHECK(parse_code_selector("scard_w_reset_card")->name == "SCARD_W_RESET_CARD");
    CHECK(parse_code_selector("CACTOOL_MODULE_NOT_FOUND").has_value());
    CHECK(parse_code_selector("0x80100069")->value == 0x80100069u);
    for (const char* text :
         {"", "reset", "CKR DEVICE", "SW 69", "SW 69822", "0x", "-1", "0x100000000", "CKR_A;B"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_code_selector(text).has_value());
    }
}

TEST_CASE("categories are the taxonomy's eight names") {
    CHECK(parse_category("card_state") == Category::card_state);
    CHECK(parse_category("internal") == Category::internal);
    CHECK_FALSE(parse_category("Card_State").has_value());
    CHECK_FALSE(parse_category("network").has_value());
}

TEST_CASE("time bounds: RFC 3339, or that long before now") {
    TimePoint now = day + 12h;
    CHECK(parse_time_bound("24h", now) == day - 12h);
    CHECK(parse_time_bound("30m", now) == day + 11h + 30min);
    CHECK(parse_time_bound("7d", now) == day + 12h - std::chrono::hours(7 * 24));
    CHECK(parse_time_bound("0h", now) == now);
    CHECK(parse_time_bound("0s", now) == now);
    CHECK(parse_time_bound("2026-12-04T00:00:00Z", now) == day);
    CHECK_FALSE(parse_time_bound("yesterday", now).has_value());
}

TEST_CASE("hints: the taxonomy's, weighted by failures") {
    ReportAggregator report = aggregator();
    JournalRecord removed = failure("CKR_DEVICE_REMOVED", "C_FindObjects", 1min);
    removed.domain = ErrorDomain::pkcs11;
    removed.value = 0x32;
    JournalRecord no_service = failure("SCARD_E_NO_SERVICE", "SCardEstablishContext", 1min);
    no_service.domain = ErrorDomain::pcsc;
    no_service.value = 0x8010001d;
    report.add(removed);
    report.add(no_service);
    report.add(no_service);
    auto hints = report.hints(5);
    std::string removed_hint(lookup_taxonomy(ErrorDomain::pkcs11, 0x32).hint);
    std::string no_service_hint(lookup_taxonomy(ErrorDomain::pcsc, 0x8010001d).hint);
    REQUIRE_FALSE(removed_hint.empty());
    REQUIRE_FALSE(no_service_hint.empty());
    REQUIRE(hints.size() == 2);
    CHECK(hints[0].hint == no_service_hint);
    CHECK(hints[0].failures == 2);
    CHECK(hints[1].hint == removed_hint);
    CHECK(report.hints(1).size() == 1);
}

TEST_CASE("rotation moves the journal to .1, replacing the older one") {
    auto folder = std::filesystem::temp_directory_path() /
                  ("cactool-report-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    std::string path = (folder / "journal.jsonl").string();
    CHECK_FALSE(rotate_journal(path));  // nothing there
    std::ofstream(path + ".1") << "older\n";
    std::ofstream(path) << "current\n";
    CHECK(rotate_journal(path));
    CHECK_FALSE(std::filesystem::exists(path));
    std::ifstream rotated(path + ".1");
    std::string line;
    std::getline(rotated, line);
    CHECK(line == "current");
    std::filesystem::remove_all(folder);
}
