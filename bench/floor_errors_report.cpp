// The least a report over the error journal can cost: read the file in large blocks,
// split it into lines, and count the lines per value of the "code" key, found by a plain
// byte search. No JSON parsing, no checks, no other key, no output beyond the counts.
//
//   floor_errors_report JOURNAL
//
// Prints the number of lines, then "COUNT CODE" per code.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

std::unordered_map<std::string, unsigned long> counts;
unsigned long lines = 0;

void count_line(std::string_view line) {
    ++lines;
    constexpr std::string_view key = "\"code\":\"";
    std::size_t at = line.find(key);
    if (at == std::string_view::npos)
        return;
    line.remove_prefix(at + key.size());
    ++counts[std::string(line.substr(0, line.find('"')))];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: floor_errors_report JOURNAL\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::perror(argv[1]);
        return 1;
    }
    std::vector<char> block(1 << 16);
    std::string partial;
    ssize_t got;
    while ((got = read(fd, block.data(), block.size())) > 0) {
        std::string_view data(block.data(), std::size_t(got));
        for (std::size_t newline; (newline = data.find('\n')) != std::string_view::npos;) {
            if (partial.empty()) {
                count_line(data.substr(0, newline));
            } else {
                partial.append(data.substr(0, newline));
                count_line(partial);
                partial.clear();
            }
            data.remove_prefix(newline + 1);
        }
        partial.append(data);
    }
    close(fd);
    if (!partial.empty())
        count_line(partial);
    std::printf("%lu\n", lines);
    for (const auto& [code, n] : counts)
        std::printf("%lu %s\n", n, code.c_str());
    return got < 0 ? 1 : 0;
}
