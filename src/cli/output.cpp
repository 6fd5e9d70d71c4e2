#include "cli/output.hpp"

#include <p11-kit/pkcs11.h>
#include <unistd.h>
#include <winscard.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "core/util/text.hpp"

namespace cac::cli {
namespace {

struct ExitRule {
    ErrorDomain domain;
    std::uint32_t code;
    int exit_code;
};

constexpr auto core = ErrorDomain::core;
constexpr auto p11 = ErrorDomain::pkcs11;
constexpr auto scard = ErrorDomain::pcsc;

constexpr std::uint32_t own(CoreCode code) {
    return std::uint32_t(code);
}

// Codes whose exit status is not simply that of their category.
constexpr ExitRule exit_rules[] = {
    {core, own(CoreCode::usage), exit_usage},
    {core, own(CoreCode::parse_error), exit_usage},
    {core, own(CoreCode::config_invalid), exit_usage},
    {core, own(CoreCode::pin_unavailable), exit_usage},
    {core, own(CoreCode::not_found), exit_not_found},
    {core, own(CoreCode::module_not_found), exit_middleware},
    {core, own(CoreCode::module_load_failed), exit_middleware},
    {core, own(CoreCode::not_a_pkcs11_module), exit_middleware},
    {core, own(CoreCode::module_init_failed), exit_middleware},
    {core, own(CoreCode::lockout_guard), exit_pin_locked},
    {p11, CKR_PIN_INCORRECT, exit_auth_failed},
    {p11, CKR_PIN_INVALID, exit_auth_failed},
    {p11, CKR_PIN_LEN_RANGE, exit_auth_failed},
    {p11, CKR_PIN_LOCKED, exit_pin_locked},
    {p11, CKR_SLOT_ID_INVALID, exit_not_found},
    {p11, CKR_TOKEN_NOT_PRESENT, exit_not_found},
    {p11, CKR_TOKEN_NOT_RECOGNIZED, exit_not_found},
    {p11, CKR_CRYPTOKI_NOT_INITIALIZED, exit_middleware},
    {p11, CKR_LIBRARY_LOAD_FAILED, exit_middleware},
    {p11, CKR_DEVICE_ERROR, exit_communication},
    {p11, CKR_DEVICE_REMOVED, exit_communication},
    {scard, std::uint32_t(SCARD_E_NO_SERVICE), exit_middleware},
    {scard, std::uint32_t(SCARD_E_SERVICE_STOPPED), exit_middleware},
    {scard, std::uint32_t(SCARD_E_NO_READERS_AVAILABLE), exit_not_found},
    {scard, std::uint32_t(SCARD_E_UNKNOWN_READER), exit_not_found},
    {scard, std::uint32_t(SCARD_E_NO_SMARTCARD), exit_not_found},
};

int exit_code_for_category(Category category) {
    switch (category) {
        case Category::usage:
            return exit_usage;
        case Category::communication:
            return exit_communication;
        default:
            return exit_failed;
    }
}

bool wants_color(std::string_view mode) {
    if (mode == "always")
        return true;
    if (mode == "never")
        return false;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0')
        return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::string_view(term) == "dumb")
        return false;
    return isatty(STDOUT_FILENO) != 0;
}

// Columns are measured in what the terminal shows: escape sequences take no room and a
// UTF-8 character takes one column however many bytes it has.
std::size_t visible_width(std::string_view s) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\x1b') {
            while (i < s.size() && s[i] != 'm')
                ++i;
            continue;
        }
        if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80)
            ++width;
    }
    return width;
}

}  // namespace

int exit_code_for(const Error& error) {
    // Whatever the code, a failure that recovery tried to mend and could not is the
    // "failed after recovery attempts" of the exit codes: the card or token came and went.
    if (error.recovery().attempts > 0)
        return exit_communication;
    for (const ExitRule& rule : exit_rules) {
        if (error.is(rule.domain, rule.code))
            return rule.exit_code;
    }
    return exit_code_for_category(error.taxonomy().category);
}

Json error_json(const Error& error) {
    const TaxonomyEntry& entry = error.taxonomy();
    Json hint = error.hint().empty() ? Json(nullptr) : Json(error.hint());
    return Json{
        {"code", error.code()},
        {"name", code_name(error.domain(), error.code())},
        {"category", to_string(entry.category)},
        {"severity", to_string(entry.severity)},
        {"message", error.message()},
        {"hint", hint},
        {"recovery",
         {{"action", to_string(entry.action)},
          {"attempted", error.recovery().attempts > 0},
          {"succeeded", error.recovery().action_worked}}},
    };
}

void Output::configure(bool json, std::string_view color_mode) {
    json_ = json;
    color_ = !json && wants_color(color_mode);
}

void Output::document(Json body) const {
    std::lock_guard lock(writing_);
    // Moved, not copied: a listing of a few hundred certificates is most of the memory
    // this tool uses.
    Json doc{{"schema_version", 1}};
    for (auto& [key, value] : body.items())
        doc[key] = std::move(value);
    body = nullptr;
    std::cout << doc.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
    std::cout.flush();
    complete_ = true;
}

namespace {

// `value` as dump(2) writes it, every line after the first indented by `indent`.
std::string indented_json(const Json& value, std::string_view indent) {
    std::string text = value.dump(2, ' ', false, Json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        out += c;
        if (c == '\n')
            out += indent;
    }
    return out;
}

}  // namespace

void Output::begin_list(Json head, std::string_view list_key) const {
    std::lock_guard lock(writing_);
    std::cout << "{\n  \"schema_version\": 1";
    for (auto& [key, value] : head.items())
        std::cout << ",\n  " << Json(key).dump() << ": " << indented_json(value, "  ");
    std::cout << ",\n  " << Json(std::string(list_key)).dump() << ": [";
    first_item_ = true;
    list_open_ = true;
}

void Output::list_item(const Json& item) const {
    std::lock_guard lock(writing_);
    std::cout << (first_item_ ? "\n    " : ",\n    ") << indented_json(item, "    ");
    first_item_ = false;
}

void Output::end_list() const {
    std::lock_guard lock(writing_);
    std::cout << (first_item_ ? "]\n}\n" : "\n  ]\n}\n");
    std::cout.flush();
    list_open_ = false;
    complete_ = true;
}

void Output::text(std::string_view line) const {
    if (json_)
        return;
    std::cout << line << '\n';
}

void Output::text_result(std::string_view text) const {
    if (json_)
        return;
    std::lock_guard lock(writing_);
    std::cout << text;
    std::cout.flush();
    complete_ = true;
}

int Output::failure(const Error& error) const {
    std::lock_guard lock(writing_);
    std::string hint = error.hint();
    // Messages quote labels and names from tokens, which may hold control characters.
    std::cerr << "cactool: " << (color_ ? bad("error") : "error") << ": "
              << terminal_safe(error.message()) << '\n';
    if (!hint.empty())
        std::cerr << "hint: " << terminal_safe(hint) << '\n';
    if (json_ && list_open_) {
        // A listing already under way stays one JSON document: the entries written so far,
        // then the error that cut it short.
        std::cout << (first_item_ ? "]" : "\n  ]")
                  << ",\n  \"error\": " << indented_json(error_json(error), "  ") << "\n}\n";
        std::cout.flush();
        list_open_ = false;
    } else if (json_) {
        document(Json{{"error", error_json(error)}});
    }
    note_failure(error);
    complete_ = true;
    return exit_code_for(error);
}

std::optional<int> Output::cut_short(const Error& error) const {
    writing_.lock();
    if (complete_) {
        writing_.unlock();
        return std::nullopt;
    }
    // Kept locked for good: the run's thread, stuck or not, writes nothing after this.
    return failure(error);
}

void Output::note_failure(const Error& error) const {
    if (failure_hook_)
        failure_hook_(error);
}

int Output::usage_failure(std::string_view message) const {
    return failure(Error(CoreCode::usage, "parse the command line", std::string(message)));
}

std::string Output::paint(std::string_view code, std::string_view s) const {
    if (!color_)
        return std::string(s);
    return "\x1b[" + std::string(code) + "m" + std::string(s) + "\x1b[0m";
}

std::string terminal_safe(std::string_view text) {
    return printable_text(text);
}

int finish_output(int code) {
    errno = 0;
    std::cout.flush();
    bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || std::cout.fail();
    if (!failed)
        return code;
    int error = errno;
    // A reader that went away (`cactool certs | head -1`) needs no message.
    if (error != EPIPE) {
        std::cerr << "cactool: error: failed to write the output: "
                  << (error != 0 ? std::strerror(error) : "write error") << '\n';
    }
    return code == exit_ok ? exit_failed : code;
}

std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         std::string_view indent) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (std::size_t i = 0; i < row.size(); ++i) {
            widths[i] = std::max(widths[i], visible_width(row[i]));
        }
    }
    std::string text;
    for (const auto& row : rows) {
        std::string line(indent);
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line.append(widths[i] - visible_width(row[i]) + 2, ' ');
        }
        line.erase(line.find_last_not_of(' ') + 1);
        text += line + '\n';
    }
    return text;
}

}  // namespace cac::cli
