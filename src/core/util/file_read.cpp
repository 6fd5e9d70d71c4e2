#include "core/util/file_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace cac {
namespace {

FileRead failed(FileRead::Problem problem, int error_number = 0) {
    FileRead read;
    read.problem = problem;
    read.error_number = error_number;
    return read;
}

}  // namespace

FileRead read_bounded_file(const std::string& path, std::size_t max_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return failed(FileRead::Problem::cannot_open, errno);
    struct stat info {};
    if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
        ::close(fd);
        return failed(FileRead::Problem::is_directory);
    }
    // Non-blocking was for the open only: a pipe with a writer is waited on as usual.
    int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FileRead read;
    std::array<char, 65536> chunk;
    for (;;) {
        ssize_t got = ::read(fd, chunk.data(), chunk.size());
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int error_number = errno;
            ::close(fd);
            return failed(FileRead::Problem::read_error, error_number);
        }
        if (got == 0)
            break;
        if (read.content.size() + std::size_t(got) > max_bytes) {
            ::close(fd);
            return failed(FileRead::Problem::too_large);
        }
        read.content.append(chunk.data(), std::size_t(got));
    }
    ::close(fd);
    return read;
}

std::string problem_text(const FileRead& read, std::size_t max_bytes) {
    switch (read.problem) {
        case FileRead::Problem::none:
            return {};
        case FileRead::Problem::is_directory:
            return "it is a directory";
        case FileRead::Problem::too_large:
            return "larger than " + std::to_string(max_bytes) + " bytes";
        case FileRead::Problem::cannot_open:
        case FileRead::Problem::read_error:
            break;
    }
    return std::strerror(read.error_number);
}

}  // namespace cac
