// Reading a whole file someone named (a config file, trust anchors, an APDU script),
// bounded in size.
//
// A path on the command line can name anything: a directory, a device that never ends
// (/dev/zero), a named pipe nobody writes to. So the file is opened without blocking (a
// named pipe without a writer then reads as empty, rather than waiting forever for one;
// a pipe with one, as `<(cat file)` gives, reads as usual), and reading stops once it is
// past the caller's limit. What is read is waited for like any input: a terminal, or a
// writer that never closes its end, is waited on, as `cat` would. Each caller turns a
// problem into its own error.
#pragma once

#include <cstddef>
#include <string>

namespace cac {

struct FileRead {
    enum class Problem { none, cannot_open, is_directory, too_large, read_error };
    Problem problem = Problem::none;
    int error_number = 0;  // errno for cannot_open and read_error
    std::string content;   // the whole file when problem is none
};

FileRead read_bounded_file(const std::string& path, std::size_t max_bytes);

// "it is a directory", "larger than 1048576 bytes", or the system's reason.
std::string problem_text(const FileRead& read, std::size_t max_bytes);

}  // namespace cac
