// The least an append to a journal shared by several processes can cost: for each
// record, open the file with O_APPEND, take an exclusive flock(2), write the line and its
// newline with one write(2), and close the file, which drops the lock. No formatting, no
// size check, no rotation, no check that the file was rotated away.
//
//   floor_journal PATH LINE_FILE COUNT
//
// LINE_FILE holds the line to write (its first line). Prints each append's duration in
// nanoseconds, one a line.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: floor_journal PATH LINE_FILE COUNT\n");
        return 2;
    }
    std::string line;
    std::getline(std::ifstream(argv[2]), line);
    line += '\n';
    long count = std::strtol(argv[3], nullptr, 10);
    std::vector<long long> times;
    times.reserve(std::size_t(count));
    for (long i = 0; i < count; ++i) {
        auto start = std::chrono::steady_clock::now();
        int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) != 0 ||
            write(fd, line.data(), line.size()) != ssize_t(line.size())) {
            std::perror(argv[1]);
            return 1;
        }
        close(fd);
        auto took = std::chrono::steady_clock::now() - start;
        times.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
    }
    for (long long ns : times)
        std::printf("%lld\n", ns);
    return 0;
}
