#include "test_support.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace cac::test {

std::string run_command(const std::string& command) {
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        output.append(buffer, n);
    pclose(pipe);
    return output;
}

std::string shell_quoted(const std::filesystem::path& path) {
    return "'" + path.string() + "'";
}

TempFolder::TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cactool-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
}

TempFolder::~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

Bytes testdata_bytes(const std::filesystem::path& relative) {
    std::ifstream in(std::filesystem::path(CACTOOL_TESTDATA) / relative, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes hex_bytes(std::string_view text) {
    std::optional<Bytes> bytes = parse_hex(text);
    REQUIRE(bytes);
    return *bytes;
}

}  // namespace cac::test
