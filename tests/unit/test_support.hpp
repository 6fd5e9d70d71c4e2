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
