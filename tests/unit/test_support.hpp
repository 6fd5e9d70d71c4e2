// What several unit tests need to ask an independent tool (openssl, date) for the
// expected value.
#pragma once

#include <filesystem>
#include <string>

namespace cac::test {

// Runs `command` with /bin/sh and returns what it wrote to stdout. Redirect stderr in
// the command itself (" 2>&1", " 2>/dev/null") as the test needs.
std::string run_command(const std::string& command);

// The path in single quotes, for a command line (test paths hold no quotes).
std::string shell_quoted(const std::filesystem::path& path);

}  // namespace cac::test
