#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/recovery/journal.hpp"
#include "test_support.hpp"

using namespace cac;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::system_clock;

// The time date(1) gives for an RFC 3339 text, plus milliseconds.
Clock::time_point time_from_date(const std::string& text, int millis) {
    std::string seconds = test::run_command("date -u -d '" + text + "' +%s");
    return Clock::time_point(std::chrono::seconds(std::stoll(seconds)) +
                             std::chrono::milliseconds(millis));
}

// The record the header comment shows, field by field.
JournalRecord example_record() {
    JournalRecord r;
    r.time = time_from_date("2026-12-04T21:00:00Z", 123);
    r.pid = 4242;
    r.version = "0.1.0";
    r.subcommand = "certs";
    r.kind = JournalKind::error;
    r.operation = "C_GetAttributeValue";
    r.code = "CKR_DEVICE_REMOVED";
    r.value = 0x32;
    r.domain = ErrorDomain::pkcs11;
    r.category = Category::token;
    r.severity = Severity::error;
    r.action = RecoveryAction::reopen_session;
    r.attempt = 0;
    r.outcome = Outcome::failed;
    r.duration_ms = 12.5;
    r.slot = "0";
    r.token_label = "PIV_II";
    r.token_serial = "1234";
    r.module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
    r.message = "failed to C_GetAttributeValue: the token was removed";
    return r;
}

const std::string example_line =
    R"({"time":"2026-12-04T21:00:00.123Z","pid":4242,"version":"0.1.0","subcommand":"certs",)"
    R"("kind":"error","operation":"C_GetAttributeValue","code":"CKR_DEVICE_REMOVED",)"
    R"("value":50,"domain":"pkcs11","category":"token","severity":"error",)"
    R"("action":"reopen_session","attempt":0,"outcome":"failed","duration_ms":12.5,)"
    R"("reader":null,"slot":"0","token_label":"PIV_II","token_serial":"1234",)"
    R"("module":"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",)"
    R"("message":"failed to C_GetAttributeValue: the token was removed"})";

// example_line with the text of one member replaced: `"key":old` becomes `"key":new`.
std::string with_member(const std::string& key, const std::string& value) {
    std::string line = example_line;
    std::size_t start = line.find("\"" + key + "\":");
    REQUIRE(start != std::string::npos);
    start += key.size() + 3;
    std::size_t end = start;
    if (line[end] == '"') {
        end = line.find('"', end + 1) + 1;
    } else {
        end = line.find_first_of(",}", end);
    }
    return line.substr(0, start) + value + line.substr(end);
}

std::string without_member(const std::string& key) {
    std::string line = example_line;
    std::size_t start = line.find(",\"" + key + "\":");
    REQUIRE(start != std::string::npos);
    std::size_t end = line.find(",\"", start + 1);
    return line.substr(0, start) + line.substr(end);
}

std::vector<std::string> lines_of(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The attempt numbers of the records in a journal file, in order; every line must be a
// record.
std::vector<int> attempts_in(const fs::path& path) {
    std::vector<int> attempts;
    for (const std::string& line : lines_of(path)) {
        auto record = parse_journal_line(line);
        REQUIRE(record);
        attempts.push_back(record->attempt);
    }
    return attempts;
}

JournalRecord numbered(int n) {
    JournalRecord r = example_record();
    r.attempt = n;
    return r;
}

}  // namespace

TEST_CASE("a record is written exactly as the journal's line format shows") {
    CHECK(to_journal_line(example_record()) == example_line);
}

TEST_CASE("empty optional fields and an unknown duration are written as null") {
    JournalRecord r = example_record();
    r.slot.clear();
    r.token_label.clear();
    r.token_serial.clear();
    r.module.clear();
    r.duration_ms.reset();
    std::string line = to_journal_line(r);
    CHECK(line.find(R"("duration_ms":null,"reader":null,"slot":null,"token_label":null,)"
                    R"("token_serial":null,"module":null,)") != std::string::npos);
}

TEST_CASE("the hand-written line reads back as the record it describes") {
    auto parsed = parse_journal_line(example_line);
    REQUIRE(parsed);
    CHECK(*parsed == example_record());
}

TEST_CASE("records survive a round trip through their line") {
    JournalRecord r = example_record();
    r.kind = JournalKind::recovery;
    r.attempt = 3;
    r.outcome = Outcome::recovered;
    r.domain = ErrorDomain::pcsc;
    r.value = 0x80100069;  // SCARD_W_REMOVED_CARD, above INT32_MAX
    r.reader = "Virtual \"PIV\" \\ reader\t1";
    r.token_label = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";
    r.message = std::string("nul \0 and \x1f and \x7f", 17);
    r.duration_ms = 0.1;
    auto parsed = parse_journal_line(to_journal_line(r));
    REQUIRE(parsed);
    CHECK(*parsed == r);

    r.duration_ms.reset();
    r.pid = -1;
    parsed = parse_journal_line(to_journal_line(r));
    REQUIRE(parsed);
    CHECK(*parsed == r);
}

TEST_CASE("control characters are escaped as JSON requires and invalid UTF-8 is replaced") {
    JournalRecord r = example_record();
    r.message = "a\nb\x01\"\\\xff";
    std::string line = to_journal_line(r);
    // RFC 8259 section 7: quote, backslash and C0 controls escaped; U+FFFD for \xff.
    CHECK(line.ends_with(R"("message":"a\u000ab\u0001\"\\)"
                         "\xef\xbf\xbd"
                         R"("})"));
    auto parsed = parse_journal_line(line);
    REQUIRE(parsed);
    CHECK(parsed->message == "a\nb\x01\"\\\xef\xbf\xbd");
}

TEST_CASE("readers accept any JSON spacing, key order, escapes and unknown keys") {
    std::string line =
        " { \"message\" : \"x\\u00e9\\ud83d\\udd11\\/\" , \"module\":null,\"token_serial\":null,"
        "\"token_label\":null,\"slot\":null,\"reader\":\"r\",\"duration_ms\":1.5e1,"
        "\"outcome\":\"gave_up\",\"attempt\":2,\"action\":\"reconnect\",\"severity\":\"warning\","
        "\"category\":\"card_state\",\"domain\":\"pcsc\",\"value\":2148532328,"
        "\"code\":\"SCARD_W_RESET_CARD\",\"operation\":\"SCardTransmit\","
        "\"kind\":\"recovery\",\"subcommand\":\"apdu\",\"version\":\"9.9\",\"pid\":7,"
        "\"future\":{\"a\":[1,true,null,{\"b\":\"c\"}]},"
        "\"time\":\"2026-12-04T22:00:00.5+01:00\" }\r";
    auto parsed = parse_journal_line(line);
    REQUIRE(parsed);
    CHECK(parsed->message == "x\xc3\xa9\xf0\x9f\x94\x91/");
    CHECK(parsed->time == time_from_date("2026-12-04T21:00:00Z", 500));
    CHECK(parsed->duration_ms == 15.0);
    CHECK(parsed->value == 0x80100068u);
    CHECK(parsed->outcome == Outcome::gave_up);
    CHECK(parsed->action == RecoveryAction::reconnect);
    CHECK(parsed->category == Category::card_state);
    CHECK(parsed->reader == "r");
    CHECK(parsed->module.empty());
}

TEST_CASE("damaged lines are rejected") {
    std::string nul_inside = example_line;
    nul_inside[nul_inside.find("certs") + 2] = '\0';
    std::string nul_after = example_line + std::string(1, '\0');
    std::string long_message(max_journal_line_bytes, 'x');

    const std::vector<std::pair<std::string, std::string>> cases = {
        {"empty line", ""},
        {"blank line", "   "},
        {"not JSON", "cactool: error: something"},
        {"cut short", example_line.substr(0, example_line.size() / 2)},
        {"missing brace", example_line.substr(0, example_line.size() - 1)},
        {"trailing garbage", example_line + "x"},
        {"two objects", example_line + example_line},
        {"an array", "[" + example_line + "]"},
        {"empty object", "{}"},
        {"missing key", without_member("severity")},
        {"missing nullable key", without_member("reader")},
        {"duplicate key", example_line.substr(0, example_line.size() - 1) + R"(,"pid":1})"},
        {"pid as text", with_member("pid", "\"4242\"")},
        {"value with a fraction", with_member("value", "50.0")},
        {"value with an exponent", with_member("value", "5e1")},
        {"value negative", with_member("value", "-1")},
        {"value above 32 bits", with_member("value", "4294967296")},
        {"attempt negative", with_member("attempt", "-1")},
        {"attempt as null", with_member("attempt", "null")},
        {"duration as text", with_member("duration_ms", "\"12\"")},
        {"duration negative", with_member("duration_ms", "-2")},
        {"duration out of range", with_member("duration_ms", "1e999")},
        {"reader as number", with_member("reader", "3")},
        {"message as null", with_member("message", "null")},
        {"code as number", with_member("code", "48")},
        {"unknown kind", with_member("kind", "\"warning\"")},
        {"unknown domain", with_member("domain", "\"iso7816\"")},
        {"unknown category", with_member("category", "\"network\"")},
        {"unknown severity", with_member("severity", "\"fatal\"")},
        {"unknown action", with_member("action", "\"reboot\"")},
        {"unknown outcome", with_member("outcome", "\"ok\"")},
        {"spelling in capitals", with_member("kind", "\"ERROR\"")},
        {"time not RFC 3339", with_member("time", "\"04/12/2026 21:00\"")},
        {"time a date only", with_member("time", "\"2026-12-04\"")},
        {"time impossible", with_member("time", "\"2026-02-30T21:00:00.123Z\"")},
        {"time as number", with_member("time", "1796418000")},
        // Before 1900 or after 2199; 1013 is also beyond the clock (1677 to 2262).
        {"time in 1013", with_member("time", "\"1013-12-04T21:00:00.500Z\"")},
        {"time in 2263", with_member("time", "\"2263-01-01T00:00:00.000Z\"")},
        {"leading zero", with_member("pid", "04242")},
        {"bare minus", with_member("pid", "-")},
        {"NUL inside a string", nul_inside},
        {"NUL after the object", nul_after},
        {"raw newline in a string", with_member("message", "\"a\nb\"")},
        {"invalid UTF-8", with_member("message", "\"\xc3\x28\"")},
        {"overlong UTF-8", with_member("message", "\"\xc0\xaf\"")},
        {"lone high surrogate", with_member("message", "\"\\ud83d\"")},
        {"lone low surrogate", with_member("message", "\"\\udd11\"")},
        {"bad escape", with_member("message", "\"\\x41\"")},
        {"short unicode escape", with_member("message", "\"\\u00e\"")},
        {"single quotes", with_member("message", "'text'")},
        {"over 64 KiB", with_member("message", "\"" + long_message + "\"")},
        {"number past a double in an unknown key",
         example_line.substr(0, example_line.size() - 1) + R"(,"x":[1e999]})"},
        {"deep nesting in an unknown key", example_line.substr(0, example_line.size() - 1) +
                                               R"(,"x":)" + std::string(100, '[') +
                                               std::string(100, ']') + "}"},
    };
    for (const auto& [name, line] : cases) {
        CAPTURE(name);
        CHECK_FALSE(parse_journal_line(line));
    }
}

TEST_CASE("times from 1900 to 2199 are read") {
    auto early = parse_journal_line(with_member("time", "\"1900-01-01T00:00:00.000Z\""));
    auto late = parse_journal_line(with_member("time", "\"2199-12-31T23:59:59.999Z\""));
    REQUIRE(early);
    REQUIRE(late);
    CHECK(early->time == time_from_date("1900-01-01T00:00:00Z", 0));
    CHECK(late->time == time_from_date("2199-12-31T23:59:59Z", 999));
    CHECK(to_journal_line(*early).starts_with(R"({"time":"1900-01-01T00:00:00.000Z",)"));
}

TEST_CASE("a line of exactly 64 KiB is read, one byte more is not") {
    std::string base = with_member("message", "\"\"");
    std::size_t room = max_journal_line_bytes - base.size();
    std::string fits = with_member("message", "\"" + std::string(room, 'm') + "\"");
    REQUIRE(fits.size() == max_journal_line_bytes);
    CHECK(parse_journal_line(fits));
    CHECK_FALSE(parse_journal_line(fits + " "));
}

TEST_CASE("a record with huge texts still makes a line readers accept") {
    JournalRecord r = example_record();
    r.message = std::string(200 * 1024, '\x01');  // each byte escapes to six
    r.module = std::string(100 * 1024, 'm');
    r.reader = std::string(100 * 1024, '\xff');
    std::string line = to_journal_line(r);
    CHECK(line.size() <= max_journal_line_bytes);
    auto parsed = parse_journal_line(line);
    REQUIRE(parsed);
    CHECK(!parsed->message.empty());
    CHECK(r.message.starts_with(parsed->message));
    CHECK(r.module.starts_with(parsed->module));
}

TEST_CASE("a record made from an error carries its code, taxonomy and context") {
    Error error(CoreCode::module_not_found, "load module", "no such file");
    error.with_module("/nonexistent/module.so").with_slot("3").with_token("PIV_II");
    JournalRecord r = record_from_error(error, "slots");
    CHECK(r.code == "CACTOOL_MODULE_NOT_FOUND");
    CHECK(r.domain == ErrorDomain::core);
    CHECK(r.category == Category::configuration);
    CHECK(r.action == RecoveryAction::user_action);
    CHECK(r.subcommand == "slots");
    CHECK(r.operation == "load module");
    CHECK(r.module == "/nonexistent/module.so");
    CHECK(r.slot == "3");
    CHECK(r.token_label == "PIV_II");
    CHECK(r.pid == std::int64_t(getpid()));
    CHECK(r.kind == JournalKind::error);
    CHECK(r.attempt == 0);
    CHECK(r.outcome == Outcome::failed);
    CHECK(r.message.find("no such file") != std::string::npos);
    auto age = Clock::now() - r.time;
    CHECK(age >= Clock::duration::zero());
    CHECK(age < std::chrono::minutes(1));
}

TEST_CASE("the writer creates the folders and a private file, one line per record") {
    test::TempFolder dir;
    fs::path path = dir.path() / "state" / "cactool" / "journal.jsonl";
    JournalWriter writer(path.string(), 0);
    CHECK_FALSE(fs::exists(path.parent_path()));  // nothing before the first append
    for (int i = 1; i <= 3; ++i)
        CHECK(writer.append(numbered(i)));
    auto lines = lines_of(path);
    REQUIRE(lines.size() == 3);
    for (int i = 1; i <= 3; ++i)
        CHECK(parse_journal_line(lines[std::size_t(i - 1)]) == numbered(i));
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat(path.parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(stat(path.parent_path().parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("the writer rotates to <path>.1 when the next line would pass the cap") {
    test::TempFolder dir;
    fs::path path = dir.path() / "journal.jsonl";
    std::uint64_t line_bytes = to_journal_line(numbered(1)).size() + 1;
    JournalWriter writer(path.string(), 3 * line_bytes);
    for (int i = 1; i <= 3; ++i)
        REQUIRE(writer.append(numbered(i)));
    CHECK(fs::file_size(path) == 3 * line_bytes);  // exactly at the cap: no rotation yet
    CHECK_FALSE(fs::exists(dir.path() / "journal.jsonl.1"));

    REQUIRE(writer.append(numbered(4)));
    CHECK(attempts_in(dir.path() / "journal.jsonl.1") == std::vector{1, 2, 3});
    CHECK(attempts_in(path) == std::vector{4});

    // Only one older file is kept: the next rotation replaces it.
    for (int i = 5; i <= 7; ++i)
        REQUIRE(writer.append(numbered(i)));
    CHECK(attempts_in(dir.path() / "journal.jsonl.1") == std::vector{4, 5, 6});
    CHECK(attempts_in(path) == std::vector{7});
}

TEST_CASE("a writer whose file another writer rotated away writes to the new file") {
    test::TempFolder dir;
    fs::path path = dir.path() / "journal.jsonl";
    std::uint64_t line_bytes = to_journal_line(numbered(1)).size() + 1;
    JournalWriter first(path.string(), 2 * line_bytes);
    JournalWriter second(path.string(), 2 * line_bytes);
    REQUIRE(first.append(numbered(1)));
    REQUIRE(second.append(numbered(2)));
    REQUIRE(first.append(numbered(3)));   // rotates: the second writer's file is now .1
    REQUIRE(second.append(numbered(4)));  // must not go to .1
    CHECK(attempts_in(dir.path() / "journal.jsonl.1") == std::vector{1, 2});
    CHECK(attempts_in(path) == std::vector{3, 4});

    // The same when the rename comes from outside (a process of another version).
    fs::rename(path, dir.path() / "journal.jsonl.1");
    REQUIRE(first.append(numbered(5)));
    CHECK(attempts_in(path) == std::vector{5});
}

TEST_CASE("a journal that cannot be written gives one warning and false, never a throw") {
    test::TempFolder dir;
    fs::path blocker = dir.path() / "a-file";
    std::ofstream(blocker) << "not a folder\n";
    JournalWriter writer((blocker / "journal.jsonl").string(), 0);
    std::vector<std::string> warnings;
    writer.on_warning([&](const std::string& w) { warnings.push_back(w); });
    CHECK_FALSE(writer.append(numbered(1)));
    CHECK_FALSE(writer.append(numbered(2)));
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == "cannot write the error journal " + (blocker / "journal.jsonl").string() +
                             ": Not a directory");

    JournalWriter throwing((blocker / "journal.jsonl").string(), 0);
    throwing.on_warning([](const std::string&) { throw std::runtime_error("stderr is gone"); });
    CHECK_FALSE(throwing.append(numbered(1)));
}

TEST_CASE("a device that takes no writes named as the journal: one warning, no throw") {
    // /dev/full answers every write with ENOSPC (Linux null(4) man page); a writer may
    // also refuse it before writing for not being a regular file. Either way the append
    // fails, once loudly and then quietly. A full file system is tested on a real tmpfs
    // by test_journal.py.
    if (!fs::exists("/dev/full"))
        return;
    JournalWriter writer("/dev/full", 0);
    std::vector<std::string> warnings;
    writer.on_warning([&](const std::string& w) { warnings.push_back(w); });
    CHECK_FALSE(writer.append(numbered(1)));
    CHECK_FALSE(writer.append(numbered(2)));
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].starts_with("cannot write the error journal /dev/full: "));
}

TEST_CASE("scanning counts records and damaged lines, the rotated file first") {
    test::TempFolder dir;
    fs::path path = dir.path() / "journal.jsonl";
    {
        std::ofstream older(dir.path() / "journal.jsonl.1", std::ios::binary);
        older << to_journal_line(numbered(1)) << "\n"
              << "garbage\n";
        std::ofstream now(path, std::ios::binary);
        now << to_journal_line(numbered(2)) << "\n"
            << "\n"
            << std::string(200 * 1024, '{') << "\n"  // over 64 KiB: skipped to its newline
            << to_journal_line(numbered(3)) << "\n"
            << std::string("{\"a\0", 4) << "\n"
            << to_journal_line(numbered(4));  // no final newline
    }
    std::vector<int> seen;
    auto visit = [&](const JournalRecord& r) { seen.push_back(r.attempt); };
    JournalScan scan = scan_journal(path.string(), true, visit);
    CHECK(scan.records == 4);
    CHECK(scan.damaged == 4);
    CHECK(seen == std::vector<int>{1, 2, 3, 4});

    seen.clear();
    scan = scan_journal(path.string(), false, visit);
    CHECK(scan.records == 3);
    CHECK(scan.damaged == 3);
    CHECK(seen == std::vector<int>{2, 3, 4});
}

TEST_CASE("scanning a journal that does not exist finds nothing") {
    test::TempFolder dir;
    int calls = 0;
    JournalScan scan = scan_journal((dir.path() / "none.jsonl").string(), true,
                                    [&](const JournalRecord&) { ++calls; });
    CHECK(scan.records == 0);
    CHECK(scan.damaged == 0);
    CHECK(calls == 0);
}

TEST_CASE("scanning a folder is an I/O error") {
    test::TempFolder dir;
    CHECK_THROWS_AS(scan_journal(dir.path().string(), false, [](const JournalRecord&) {}), Error);
}

TEST_CASE("the default journal path follows the XDG Base Directory rules") {
    CHECK(default_journal_path("/state", "/home/u") == "/state/cactool/journal.jsonl");
    CHECK(default_journal_path("/state/", "/home/u") == "/state/cactool/journal.jsonl");
    CHECK(default_journal_path("", "/home/u") == "/home/u/.local/state/cactool/journal.jsonl");
    // "If an implementation encounters a relative path in any of these variables it should
    // consider the path invalid and ignore it."
    CHECK(default_journal_path("state", "/home/u") == "/home/u/.local/state/cactool/journal.jsonl");
    CHECK(default_journal_path("", "") == "");
    CHECK(default_journal_path("", "relative") == "");
}
