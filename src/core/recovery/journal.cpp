// The journal's records and their one-line JSON form. The file handling is in
// journal_file.cpp.
//
// Lines are written and read by hand rather than through a general JSON library: the
// record is a flat object of strings, numbers and nulls, errors-report reads a million
// of them in a few seconds, and the reader must reject exactly what the header says
// (wrong types, unknown spellings, duplicate keys, invalid UTF-8) without allocating a
// tree for a line it will throw away.
#include "core/recovery/journal.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cactool_config.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"

namespace cac {
namespace {

// How much of a line each string may take once escaped. The sum stays well under
// max_journal_line_bytes, so a record from a hostile token still makes a readable line.
constexpr std::size_t message_budget = 16 * 1024;
constexpr std::size_t field_budget = 4 * 1024;

// Times a line can carry, in seconds from the Unix epoch: 1900 to 2199. A journal has no
// business outside them, and system_clock counts nanoseconds in 64 bits, which reach only
// from 1677 to 2262.
constexpr std::int64_t first_second = -25567LL * 86400;
constexpr std::int64_t end_second = 84006LL * 86400;

// ---------------------------------------------------------------------------
// Writing

// Appends `text` as a JSON string, invalid UTF-8 replaced, cut at a character boundary
// once its escaped form would pass `budget` bytes.
void put_string(std::string& out, std::string_view text, std::size_t budget) {
    std::string valid = sanitize_utf8(text);
    out += '"';
    std::size_t used = 0;
    char escaped[8];
    for (std::size_t i = 0; i < valid.size();) {
        auto byte = static_cast<unsigned char>(valid[i]);
        std::size_t length = byte < 0x80 ? 1 : byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : 4;
        std::string_view piece(valid.data() + i, length);
        if (byte == '"' || byte == '\\') {
            escaped[0] = '\\';
            escaped[1] = char(byte);
            piece = std::string_view(escaped, 2);
        } else if (byte < 0x20) {
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            piece = std::string_view(escaped, 6);
        }
        if (used + piece.size() > budget)
            break;
        out += piece;
        used += piece.size();
        i += length;
    }
    out += '"';
}

void put_key(std::string& out, std::string_view key) {
    out += out.size() == 1 ? "\"" : ",\"";
    out += key;
    out += "\":";
}

void put_text(std::string& out, std::string_view key, std::string_view text,
              std::size_t budget = field_budget) {
    put_key(out, key);
    put_string(out, text, budget);
}

void put_optional_text(std::string& out, std::string_view key, std::string_view text) {
    put_key(out, key);
    if (text.empty())
        out += "null";
    else
        put_string(out, text, field_budget);
}

template <typename Number>
void put_number(std::string& out, std::string_view key, Number value) {
    put_key(out, key);
    char digits[32];
    auto result = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, result.ptr);
}

// ---------------------------------------------------------------------------
// Reading

template <typename Enum, int count>
std::optional<Enum> enum_named(std::string_view text) {
    for (int i = 0; i < count; ++i) {
        if (to_string(Enum(i)) == text)
            return Enum(i);
    }
    return std::nullopt;
}

struct Value {
    enum Type { text_type, number_type, null_type, other_type } type = other_type;
    std::string text;         // a string's decoded contents
    std::string_view digits;  // a number as written
};

// A strict reader of one JSON text, enough for a flat object whose unknown members may
// hold anything.
class Reader {
  public:
    explicit Reader(std::string_view text) : s_(text) {}

    void skip_blank() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
            ++pos_;
        }
    }
    bool take(char c) {
        skip_blank();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool at_end() {
        skip_blank();
        return pos_ == s_.size();
    }
    bool string(std::string& out);
    bool value(Value& out);

  private:
    bool escape(std::string& out);
    bool hex4(std::uint32_t& unit);
    bool number(std::string_view& out);
    bool literal(std::string_view word);
    bool skip_nested(int depth);

    std::string_view s_;
    std::size_t pos_ = 0;
};

void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xc0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += char(0xe0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    } else {
        out += char(0xf0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3f));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    }
}

bool Reader::hex4(std::uint32_t& unit) {
    if (pos_ + 4 > s_.size())
        return false;
    unit = 0;
    for (int i = 0; i < 4; ++i) {
        char c = s_[pos_++];
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (digit < 0)
            return false;
        unit = unit * 16 + std::uint32_t(digit);
    }
    return true;
}

// After a backslash. A \u escape must name a Unicode scalar value: surrogates only in
// a high-low pair, since a lone one has no UTF-8 form.
bool Reader::escape(std::string& out) {
    if (pos_ >= s_.size())
        return false;
    char c = s_[pos_++];
    constexpr std::string_view from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
    if (std::size_t i = from.find(c); c != 'u' && i != std::string_view::npos) {
        out += to[i];
        return true;
    }
    std::uint32_t unit = 0;
    if (c != 'u' || !hex4(unit) || (unit >= 0xdc00 && unit <= 0xdfff))
        return false;
    if (unit >= 0xd800 && unit <= 0xdbff) {
        std::uint32_t low = 0;
        if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u')
            return false;
        pos_ += 2;
        if (!hex4(low) || low < 0xdc00 || low > 0xdfff)
            return false;
        unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
    }
    put_utf8(out, unit);
    return true;
}

bool Reader::string(std::string& out) {
    out.clear();
    if (!take('"'))
        return false;
    bool high_bytes = false;
    while (pos_ < s_.size()) {
        auto c = static_cast<unsigned char>(s_[pos_++]);
        if (c == '"')
            return !high_bytes || sanitize_utf8(out) == out;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (!escape(out))
                return false;
            continue;
        }
        high_bytes = high_bytes || c >= 0x80;
        out += char(c);
    }
    return false;
}

// RFC 8259's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool Reader::number(std::string_view& out) {
    std::size_t start = pos_;
    auto digits = [this] {
        std::size_t first = pos_;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
            ++pos_;
        return pos_ - first;
    };
    if (pos_ < s_.size() && s_[pos_] == '-')
        ++pos_;
    std::size_t integer_start = pos_;
    std::size_t integer = digits();
    if (integer == 0 || (integer > 1 && s_[integer_start] == '0'))
        return false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
        ++pos_;
        if (digits() == 0)
            return false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
        ++pos_;
        if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-'))
            ++pos_;
        if (digits() == 0)
            return false;
    }
    out = s_.substr(start, pos_ - start);
    // RFC 8259 section 6 lets a reader limit the range of numbers; this one, like most,
    // refuses those past a double's (1e999), wherever they are.
    if (out.find_first_of("eE") != std::string_view::npos || out.size() > 300)
        return std::isfinite(std::strtod(std::string(out).c_str(), nullptr));
    return true;
}

bool Reader::literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word)
        return false;
    pos_ += word.size();
    return true;
}

// An array or object in a member this reader does not know: checked, then dropped.
bool Reader::skip_nested(int depth) {
    if (depth > 32)
        return false;
    char close = s_[pos_++] == '[' ? ']' : '}';
    if (take(close))
        return true;
    std::string ignored;
    Value inner;
    do {
        if (close == '}' && (!string(ignored) || !take(':')))
            return false;
        skip_blank();
        if (pos_ < s_.size() && (s_[pos_] == '[' || s_[pos_] == '{')) {
            if (!skip_nested(depth + 1))
                return false;
        } else if (!value(inner)) {
            return false;
        }
    } while (take(','));
    return take(close);
}

bool Reader::value(Value& out) {
    skip_blank();
    if (pos_ >= s_.size())
        return false;
    char c = s_[pos_];
    if (c == '"') {
        out.type = Value::text_type;
        return string(out.text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        out.type = Value::number_type;
        return number(out.digits);
    }
    out.type = c == 'n' ? Value::null_type : Value::other_type;
    if (c == '[' || c == '{')
        return skip_nested(0);
    return literal("null") || literal("true") || literal("false");
}

// ---------------------------------------------------------------------------
// From members to a record

template <typename Integer>
bool integer_of(const Value& v, Integer& out) {
    if (v.type != Value::number_type || v.digits.find_first_of(".eE") != std::string_view::npos)
        return false;
    const char* end = v.digits.data() + v.digits.size();
    auto result = std::from_chars(v.digits.data(), end, out);
    return result.ec == std::errc() && result.ptr == end;
}

bool time_of(const Value& v, std::chrono::system_clock::time_point& out) {
    std::optional<std::int64_t> seconds;
    if (v.type != Value::text_type || v.text.size() < 20 || !(seconds = parse_rfc3339(v.text)) ||
        *seconds < first_second || *seconds >= end_second) {
        return false;
    }
    // parse_rfc3339 keeps whole seconds; the journal keeps milliseconds.
    int millis = 0;
    if (v.text[19] == '.') {
        for (std::size_t i = 20, scale = 100; i < 23 && v.text[i] >= '0' && v.text[i] <= '9';
             ++i, scale /= 10) {
            millis += int(v.text[i] - '0') * int(scale);
        }
    }
    out =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(*seconds * 1000 + millis));
    return true;
}

bool duration_of(const Value& v, std::optional<double>& out) {
    if (v.type == Value::null_type) {
        out.reset();
        return true;
    }
    double ms = 0;
    if (v.type != Value::number_type)
        return false;
    const char* end = v.digits.data() + v.digits.size();
    auto result = std::from_chars(v.digits.data(), end, ms);
    if (result.ec != std::errc() || result.ptr != end || !std::isfinite(ms) || ms < 0)
        return false;
    out = ms;
    return true;
}

bool text_of(const Value& v, std::string& out) {
    if (v.type != Value::text_type)
        return false;
    out = v.text;
    return true;
}

bool optional_text_of(const Value& v, std::string& out) {
    if (v.type == Value::null_type) {
        out.clear();
        return true;
    }
    return text_of(v, out);
}

template <typename Enum, int count>
bool spelling_of(const Value& v, Enum& out) {
    std::optional<Enum> found;
    if (v.type != Value::text_type || !(found = enum_named<Enum, count>(v.text)))
        return false;
    out = *found;
    return true;
}

using Setter = bool (*)(const Value&, JournalRecord&);

struct Member {
    std::string_view key;
    Setter set;
};

// Every key of the record; each must appear exactly once.
constexpr Member members[] = {
    {"time", [](const Value& v, JournalRecord& r) { return time_of(v, r.time); }},
    {"pid", [](const Value& v, JournalRecord& r) { return integer_of(v, r.pid); }},
    {"version", [](const Value& v, JournalRecord& r) { return text_of(v, r.version); }},
    {"subcommand", [](const Value& v, JournalRecord& r) { return text_of(v, r.subcommand); }},
    {"kind",
     [](const Value& v, JournalRecord& r) { return spelling_of<JournalKind, 2>(v, r.kind); }},
    {"operation", [](const Value& v, JournalRecord& r) { return text_of(v, r.operation); }},
    {"code", [](const Value& v, JournalRecord& r) { return text_of(v, r.code); }},
    {"value", [](const Value& v, JournalRecord& r) { return integer_of(v, r.value); }},
    {"domain",
     [](const Value& v, JournalRecord& r) { return spelling_of<ErrorDomain, 4>(v, r.domain); }},
    {"category",
     [](const Value& v, JournalRecord& r) { return spelling_of<Category, 8>(v, r.category); }},
    {"severity",
     [](const Value& v, JournalRecord& r) { return spelling_of<Severity, 4>(v, r.severity); }},
    {"action",
     [](const Value& v, JournalRecord& r) { return spelling_of<RecoveryAction, 7>(v, r.action); }},
    {"attempt",
     [](const Value& v, JournalRecord& r) { return integer_of(v, r.attempt) && r.attempt >= 0; }},
    {"outcome",
     [](const Value& v, JournalRecord& r) { return spelling_of<Outcome, 4>(v, r.outcome); }},
    {"duration_ms", [](const Value& v, JournalRecord& r) { return duration_of(v, r.duration_ms); }},
    {"reader", [](const Value& v, JournalRecord& r) { return optional_text_of(v, r.reader); }},
    {"slot", [](const Value& v, JournalRecord& r) { return optional_text_of(v, r.slot); }},
    {"token_label",
     [](const Value& v, JournalRecord& r) { return optional_text_of(v, r.token_label); }},
    {"token_serial",
     [](const Value& v, JournalRecord& r) { return optional_text_of(v, r.token_serial); }},
    {"module", [](const Value& v, JournalRecord& r) { return optional_text_of(v, r.module); }},
    {"message", [](const Value& v, JournalRecord& r) { return text_of(v, r.message); }},
};
constexpr std::size_t member_count = sizeof members / sizeof members[0];

// Reads one "key": value pair into `record`; unknown keys are read and ignored.
bool read_member(Reader& reader, JournalRecord& record, std::uint32_t& seen, std::string& key,
                 Value& value) {
    if (!reader.string(key) || !reader.take(':') || !reader.value(value))
        return false;
    for (std::size_t i = 0; i < member_count; ++i) {
        if (members[i].key != key)
            continue;
        if (seen & (1u << i))
            return false;
        seen |= 1u << i;
        return members[i].set(value, record);
    }
    return true;
}

}  // namespace

std::string_view to_string(JournalKind kind) {
    return kind == JournalKind::recovery ? "recovery" : "error";
}

std::string_view to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::failed:
            return "failed";
        case Outcome::recovered:
            return "recovered";
        case Outcome::gave_up:
            return "gave_up";
        case Outcome::not_attempted:
            return "not_attempted";
    }
    return "failed";
}

JournalRecord record_from_error(const Error& error, std::string_view subcommand, JournalKind kind,
                                int attempt, Outcome outcome) {
    const TaxonomyEntry& entry = error.taxonomy();
    const ErrorContext& context = error.context();
    JournalRecord record;
    record.time = std::chrono::system_clock::now();
    record.pid = std::int64_t(getpid());
    record.version = CACTOOL_VERSION;
    record.subcommand = std::string(subcommand);
    record.kind = kind;
    record.operation = error.operation();
    record.code = code_name(error.domain(), error.code());
    record.value = error.code();
    record.domain = error.domain();
    record.category = entry.category;
    record.severity = entry.severity;
    record.action = entry.action;
    record.attempt = attempt;
    record.outcome = outcome;
    // The error a command ends with after recovery attempts: given up on, after that many.
    if (kind == JournalKind::error && error.recovery().attempts > 0) {
        record.attempt = error.recovery().attempts;
        record.outcome = Outcome::gave_up;
    }
    record.reader = context.reader;
    record.slot = context.slot;
    record.token_label = context.token;
    record.module = context.module;
    record.message = error.message();
    return record;
}

std::string to_journal_line(const JournalRecord& r) {
    std::string out = "{";
    out.reserve(512);
    put_text(out, "time", format_rfc3339_ms(r.time));
    put_number(out, "pid", r.pid);
    put_text(out, "version", r.version);
    put_text(out, "subcommand", r.subcommand);
    put_text(out, "kind", to_string(r.kind));
    put_text(out, "operation", r.operation);
    put_text(out, "code", r.code);
    put_number(out, "value", r.value);
    put_text(out, "domain", to_string(r.domain));
    put_text(out, "category", to_string(r.category));
    put_text(out, "severity", to_string(r.severity));
    put_text(out, "action", to_string(r.action));
    put_number(out, "attempt", r.attempt);
    put_text(out, "outcome", to_string(r.outcome));
    if (r.duration_ms && std::isfinite(*r.duration_ms) && *r.duration_ms >= 0) {
        put_number(out, "duration_ms", *r.duration_ms);
    } else {
        put_key(out, "duration_ms");
        out += "null";
    }
    put_optional_text(out, "reader", r.reader);
    put_optional_text(out, "slot", r.slot);
    put_optional_text(out, "token_label", r.token_label);
    put_optional_text(out, "token_serial", r.token_serial);
    put_optional_text(out, "module", r.module);
    put_text(out, "message", r.message, message_budget);
    out += '}';
    return out;
}

std::optional<JournalRecord> parse_journal_line(std::string_view line) {
    if (line.size() > max_journal_line_bytes)
        return std::nullopt;
    Reader reader(line);
    JournalRecord record;
    std::uint32_t seen = 0;
    std::string key;
    Value value;
    if (!reader.take('{'))
        return std::nullopt;
    if (!reader.take('}')) {
        do {
            if (!read_member(reader, record, seen, key, value))
                return std::nullopt;
        } while (reader.take(','));
        if (!reader.take('}'))
            return std::nullopt;
    }
    if (!reader.at_end() || seen != (1u << member_count) - 1)
        return std::nullopt;
    return record;
}

}  // namespace cac
