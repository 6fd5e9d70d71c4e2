// The error journal: what failed, where, and what was done about it, one JSON object a
// line, so that an operator can see afterwards what a workstation's cards went through.
//
// A record is written for every error a command reports and for every recovery attempt
// (a retry, a reconnect, a new context, a reopened session). Records hold codes, names
// and places only: never a PIN, never the data of a VERIFY, never the contents of a data
// object. The file is shared by every cactool process of a user, so appends are made
// under an advisory lock, each record in one write(2), and the file is renamed to
// "<path>.1" (replacing an older one) when the next record would take it past its size
// cap. A journal that cannot be written must never change a command's result: the
// writer gives one warning and goes quiet.
//
// One line, keys in this order (absent values are null):
//   {"time": "2026-12-04T21:00:00.123Z",   RFC 3339, UTC, milliseconds
//    "pid": 4242, "version": "0.1.0", "subcommand": "certs",
//    "kind": "error" | "recovery",
//    "operation": "C_GetAttributeValue",   what was attempted, as Error::operation()
//    "code": "CKR_DEVICE_REMOVED",         code_name(domain, value)
//    "value": 48,                          the numeric code
//    "domain": "pkcs11" | "pcsc" | "status_word" | "core",
//    "category": "token", "severity": "error", "action": "reopen_session",
//    "attempt": 0,        0 for the error itself, 1, 2, ... for recovery attempts
//    "outcome": "failed" | "recovered" | "gave_up" | "not_attempted",
//    "duration_ms": 12.5, how long the operation (or the attempt) took; null if unknown
//    "reader": null, "slot": "0", "token_label": "PIV_II", "token_serial": "1234",
//    "module": "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
//    "message": "..."}    Error::message(), which never holds secrets
//
// The line is written compactly: no blank between tokens, exactly
//   {"time":"2026-12-04T21:00:00.123Z","pid":4242,"version":"0.1.0",...,"message":"..."}
// Readers take any JSON whitespace, keys in any order, and ignore keys they do not know
// (a newer cactool may add some); a key given twice, a value of the wrong type or an enum
// spelling not listed above makes the line damaged. Strings are valid UTF-8 (invalid bytes
// from a token are written as U+FFFD); a string longer than its share of a line is cut
// at a character boundary, so that no line written exceeds max_journal_line_bytes.
//
// The file's size cap is default_journal_max_bytes unless the config's journal.max_bytes
// sets another. Rotation keeps one older file, so the journal takes at most about twice
// the cap on disk.
//
// Readers skip and count lines that are not such an object (a crash mid-write on another
// system, a hand edit), and never load the whole file: a journal can hold millions of
// records.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/error.hpp"

namespace cac {

// Longest line a reader accepts, newline excluded; longer lines are damaged.
inline constexpr std::size_t max_journal_line_bytes = 64 * 1024;
// The size cap when the config sets none: about 40,000 records of the usual 250 bytes.
inline constexpr std::uint64_t default_journal_max_bytes = 10 * 1024 * 1024;

enum class JournalKind { error, recovery };
enum class Outcome { failed, recovered, gave_up, not_attempted };

std::string_view to_string(JournalKind kind);
std::string_view to_string(Outcome outcome);

struct JournalRecord {
    std::chrono::system_clock::time_point time;
    std::int64_t pid = 0;
    std::string version;
    std::string subcommand;
    JournalKind kind = JournalKind::error;
    std::string operation;
    std::string code;  // symbolic name
    std::uint32_t value = 0;
    ErrorDomain domain = ErrorDomain::core;
    Category category = Category::internal;
    Severity severity = Severity::error;
    RecoveryAction action = RecoveryAction::none;
    int attempt = 0;
    Outcome outcome = Outcome::failed;
    std::optional<double> duration_ms;
    std::string reader;  // empty: null in the line
    std::string slot;
    std::string token_label;
    std::string token_serial;
    std::string module;
    std::string message;

    bool operator==(const JournalRecord&) const = default;
};

// A record for `error` as the command that met it sees it: code, taxonomy and context
// filled in from the error; time now, this process's pid and cactool's version.
JournalRecord record_from_error(const Error& error, std::string_view subcommand,
                                JournalKind kind = JournalKind::error, int attempt = 0,
                                Outcome outcome = Outcome::failed);

// The record as one line of JSON, without the final newline.
std::string to_journal_line(const JournalRecord& record);

// One line read back; nullopt when it is not a journal record (bad JSON, a missing or
// mistyped key, an unknown enum spelling, a line over 64 KiB).
std::optional<JournalRecord> parse_journal_line(std::string_view line);

// Appends records to one journal file.
//
// This is also how other parts of cactool add records: the CLI owns one writer per run
// (none with --no-journal) and hands a pointer to whatever wants to record something,
// such as the recovery policy writing kind=recovery records; a null pointer means no
// journal. One writer is used from one thread at a time.
//
// Each append takes an exclusive flock(2) on the open file, then, under the lock: checks
// that the path still names the file it has open (another process may have rotated it;
// if so it reopens), renames the file to "<path>.1" when the line would take it past the
// cap, and writes the line and its newline with a single write(2). A short write is
// truncated away, so a full disk leaves no half record behind.
class JournalWriter {
  public:
    // `max_bytes` 0: no cap. The folder is created (0700) when missing. Nothing is
    // opened until the first append.
    JournalWriter(std::string path, std::uint64_t max_bytes);
    ~JournalWriter();
    JournalWriter(const JournalWriter&) = delete;
    JournalWriter& operator=(const JournalWriter&) = delete;

    // Appends one record; false when it could not be written. The first failure is
    // passed to `warn` (once per writer), later ones are silent. Never throws.
    bool append(const JournalRecord& record);
    // The same for a line already made by to_journal_line (no newline).
    bool append_line(std::string_view line);

    // `warn` receives one sentence: "cannot write the error journal PATH: REASON".
    void on_warning(std::function<void(const std::string&)> warn);
    const std::string& path() const { return path_; }

  private:
    bool open_file();
    bool lock_current();
    bool rotate();
    bool current_size(std::uint64_t& size) const;
    bool write_locked(std::string_view data);
    bool fail(const std::string& reason);

    std::string path_;
    std::uint64_t max_bytes_;
    int fd_ = -1;
    std::string open_problem_;  // why the path cannot be a journal, beyond errno
    bool warned_ = false;
    std::function<void(const std::string&)> warn_;
    // One append at a time within the process: the run's thread and the --timeout
    // watchdog's may both have a record to write (flock only orders processes).
    std::mutex appending_;
};

// Reads a journal file (and, when asked, its rotated predecessor "<path>.1" first) record
// by record without loading it whole: memory stays at one line's worth whatever the
// file's size. A missing file holds no records; one that cannot be read throws
// Error(CoreCode::io_error).
struct JournalScan {
    std::uint64_t records = 0;
    std::uint64_t damaged = 0;  // lines skipped
};
JournalScan scan_journal(const std::string& path, bool include_rotated,
                         const std::function<void(const JournalRecord&)>& visit);

// Moves the journal at `path` to "<path>.1" (replacing an older one) the way its writer
// rotates it: under the writer's lock on the file, so that no append is lost or split
// and every later append goes to a new file at `path`. False when there was no journal
// at `path`; throws Error(io_error) when it could not be moved or is not a regular file.
bool rotate_journal(const std::string& path);

// The default journal location: $XDG_STATE_HOME/cactool/journal.jsonl, or
// ~/.local/state/cactool/journal.jsonl when XDG_STATE_HOME is unset or empty.
std::string default_journal_path(std::string_view xdg_state_home, std::string_view home);

}  // namespace cac
