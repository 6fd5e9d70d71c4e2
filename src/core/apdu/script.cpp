#include "core/apdu/script.hpp"

#include <algorithm>

#include "core/util/error.hpp"

namespace cac {
namespace {

[[noreturn]] void fail(std::size_t line, std::size_t column, const std::string& what) {
    throw Error(
        CoreCode::parse_error, "read the APDU script",
        "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what);
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && (is_space(s.back()) || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

bool is_word(std::string_view s, std::string_view word) {
    return s.size() == word.size() &&
           std::equal(s.begin(), s.end(), word.begin(), [](char a, char b) {
               return (a >= 'A' && a <= 'Z' ? char(a - 'A' + 'a') : a) == b;
           });
}

// One command being collected over continued lines: its hex text, and for each character
// where it came from, so errors point into the file.
struct Pending {
    std::string hex;
    std::vector<std::pair<std::size_t, std::size_t>> origin;  // (line, column) per char
    std::size_t first_line = 0;

    // Where the text ends: just after its last character, or the command's first line.
    std::pair<std::size_t, std::size_t> end() const {
        if (origin.empty())
            return {first_line, 1};
        return {origin.back().first, origin.back().second + 1};
    }

    void add(std::string_view piece, std::size_t line, std::size_t column) {
        if (hex.empty()) {
            // Most commands are one line: one allocation each instead of a few per line.
            hex.reserve(piece.size());
            origin.reserve(piece.size());
        } else {
            hex += ' ';
            origin.emplace_back(line, column);
        }
        for (std::size_t i = 0; i < piece.size(); ++i) {
            hex += piece[i];
            origin.emplace_back(line, column + i);
        }
    }
};

std::vector<SwPattern> parse_expectation(std::string_view text, std::size_t line,
                                         std::size_t column) {
    std::vector<SwPattern> patterns;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t bar = std::min(text.find('|', start), text.size());
        std::string_view token = text.substr(start, bar - start);
        std::size_t lead = 0;
        while (lead < token.size() && is_space(token[lead]))
            ++lead;
        token = trim(token);
        auto pattern = SwPattern::parse(token);
        if (!pattern) {
            fail(line, column + start + lead,
                 "expected a status word like 9000, 90 00 or 61xx after =>, got '" +
                     std::string(token) + "'");
        }
        patterns.push_back(*pattern);
        start = bar + 1;
    }
    return patterns;
}

class ScriptReader {
  public:
    Script run(std::string_view text);

  private:
    void line(std::string_view raw, std::size_t number);
    void command_line(std::string_view raw, std::size_t number);
    void finish_command(std::vector<SwPattern> expect);

    Script script_;
    Pending pending_;
    bool continuing_ = false;
};

Script ScriptReader::run(std::string_view text) {
    std::size_t number = 0;
    std::size_t start = 0;
    while (start < text.size() && !script_.exited) {
        std::size_t end = std::min(text.find('\n', start), text.size());
        line(text.substr(start, end - start), ++number);
        start = end + 1;
    }
    if (continuing_) {
        auto [line, column] = pending_.end();
        fail(line, column, "the script ends inside a command continued with a backslash");
    }
    return std::move(script_);
}

void ScriptReader::line(std::string_view raw, std::size_t number) {
    std::string_view content = trim(raw);
    if (continuing_) {
        if (content.empty() || content.front() == '#')
            fail(number, 1, "a command continued with a backslash needs its next line");
        command_line(raw, number);
        return;
    }
    if (content.empty() || content.front() == '#')
        return;
    if (is_word(content, "exit")) {
        script_.exited = true;
        return;
    }
    if (is_word(content, "reset")) {
        ScriptStep step;
        step.kind = ScriptStep::Kind::reset;
        step.line = number;
        script_.steps.push_back(std::move(step));
        return;
    }
    pending_ = Pending{};
    pending_.first_line = number;
    command_line(raw, number);
}

void ScriptReader::command_line(std::string_view raw, std::size_t number) {
    std::string_view body = raw;
    while (!body.empty() && (is_space(body.back()) || body.back() == '\r'))
        body.remove_suffix(1);
    std::size_t arrow = body.find("=>");
    bool continues = !body.empty() && body.back() == '\\';
    if (continues && arrow != std::string_view::npos)
        fail(number, arrow + 1, "an expectation (=>) goes on the command's last line");
    std::string_view hex = continues ? body.substr(0, body.size() - 1) : body.substr(0, arrow);
    pending_.add(hex, number, 1);
    continuing_ = continues;
    if (continues)
        return;
    std::vector<SwPattern> expect;
    if (arrow != std::string_view::npos)
        expect = parse_expectation(body.substr(arrow + 2), number, arrow + 3);
    finish_command(std::move(expect));
}

void ScriptReader::finish_command(std::vector<SwPattern> expect) {
    if (script_.steps.size() >= kMaxScriptSteps) {
        fail(pending_.first_line, 1,
             "more than " + std::to_string(kMaxScriptSteps) + " steps in one script");
    }
    ScriptStep step;
    step.line = pending_.first_line;
    step.expect = std::move(expect);
    ApduCommand::HexProblem problem;
    std::optional<ApduCommand> command = ApduCommand::parse(pending_.hex, problem);
    if (!command) {
        auto [line, column] = problem.position < pending_.origin.size()
                                  ? pending_.origin[problem.position]
                                  : pending_.end();
        fail(line, column, problem.what);
    }
    step.command = std::move(*command);
    script_.steps.push_back(std::move(step));
}

}  // namespace

bool ScriptStep::accepts(StatusWord sw) const {
    return expect.empty() ||
           std::any_of(expect.begin(), expect.end(),
                       [sw](const SwPattern& pattern) { return pattern.matches(sw); });
}

Script parse_script(std::string_view text) {
    return ScriptReader().run(text);
}

}  // namespace cac
