// What several unit tests need to ask an independent tool (openssl, date) for the
// expected value.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/util/hex.hpp"

namespace cac::test {

// Runs `command` with /bin/sh and returns what it wrote to stdout. Redirect stderr in
// the command itself (" 2>&1", " 2>/dev/null") as the test needs.
std::string run_command(const std::string& command);

// The path in single quotes, for a command line (test paths hold no quotes).
std::string shell_quoted(const std::filesystem::path& path);

// The bytes of a file under tests/data ("03-piv-cac-objects/..."); empty when it cannot
// be read (the test's own checks then fail).
Bytes testdata_bytes(const std::filesystem::path& relative);

// Bytes written in hex, spaces allowed ("53 08 C1 01 00"); the text must be valid.
Bytes hex_bytes(std::string_view text);

// A new private folder under the system's temporary folder, removed with all it holds
// when the test ends.
class TempFolder {
  public:
    TempFolder();
    ~TempFolder();
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace cac::test
