// Scripts in the format of pcsc-tools' `scriptor`, plus expected status words.
//
// What scriptor reads, and so what this reads unchanged:
//   - one command APDU per line, hex bytes separated by spaces ("00 A4 04 00 02 3F 00")
//     or written together ("00A40400023F00");
//   - a line ending in a backslash continues on the next line (the pieces are joined);
//   - `reset` on a line of its own resets the card; `exit` ends the script there;
//   - lines starting with `#` are comments; blank lines are skipped.
// (scriptor itself acts on "reset" or "exit" anywhere in a line; here the word must be the
// whole line, so a comment mentioning "exit" does not end the script.)
//
// cactool's addition, an expectation after the command on its last line:
//
//     00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 => 9000
//     00 CB 3F FF 05 5C 03 5F C1 09 00 => 9000 | 6982
//     00 20 00 80 => 63Cx
//
// `=>` then one or more status word patterns separated by `|`: four hex digits, optionally
// a space or colon between the two bytes ("90 00"), `x` for any digit ("61xx", "63Cx").
// The expectation is checked against the final status word, after GET RESPONSE and
// 6Cxx resends. Such a line is not valid for scriptor itself.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/apdu/command.hpp"
#include "core/apdu/status_words.hpp"

namespace cac {

struct ScriptStep {
    enum class Kind { apdu, reset };
    Kind kind = Kind::apdu;
    ApduCommand command;            // for Kind::apdu
    std::vector<SwPattern> expect;  // empty: any status word will do
    std::size_t line = 0;           // 1-based line where the step starts

    // True when no expectation was given or one pattern matches.
    bool accepts(StatusWord sw) const;
};

struct Script {
    std::vector<ScriptStep> steps;
    bool exited = false;  // an `exit` line ended it; what followed was not read
};

// Throws cac::Error (parse_error, category usage) with a reason beginning "line L, column
// C:" (both 1-based) for a malformed command, expectation or continuation.
Script parse_script(std::string_view text);

// Limits that keep a hostile script from exhausting memory.
inline constexpr std::size_t kMaxScriptSteps = 1'000'000;

}  // namespace cac
