// Reading a named file, bounded: what the kernel gives for each kind of path (POSIX open(2)
// and read(2) on directories, devices and FIFOs), never a wait on a FIFO nobody writes to.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/util/file_read.hpp"

using namespace cac;
namespace fs = std::filesystem;

namespace {

struct Folder {
    fs::path path;
    Folder() {
        char name[] = "/tmp/cactool-file-read-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~Folder() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("a regular file is read whole, up to the limit and not past it") {
    Folder folder;
    fs::path file = folder.path / "config.json";
    std::ofstream(file) << "{\"timeout_seconds\": 5}\n";
    FileRead read = read_bounded_file(file.string(), 1024);
    CHECK(read.problem == FileRead::Problem::none);
    CHECK(read.content == "{\"timeout_seconds\": 5}\n");
    CHECK(read_bounded_file(file.string(), 23).problem == FileRead::Problem::none);
    FileRead small = read_bounded_file(file.string(), 22);
    CHECK(small.problem == FileRead::Problem::too_large);
    CHECK(problem_text(small, 22) == "larger than 22 bytes");
}

TEST_CASE("a directory, a missing file and an endless device are named, not read") {
    Folder folder;
    FileRead dir = read_bounded_file(folder.path.string(), 1024);
    CHECK(dir.problem == FileRead::Problem::is_directory);
    CHECK(problem_text(dir, 1024) == "it is a directory");
    FileRead missing = read_bounded_file((folder.path / "nothing").string(), 1024);
    CHECK(missing.problem == FileRead::Problem::cannot_open);
    CHECK(missing.error_number == ENOENT);
    CHECK(read_bounded_file("/dev/zero", 1 << 20).problem == FileRead::Problem::too_large);
    FileRead null = read_bounded_file("/dev/null", 1024);
    CHECK(null.problem == FileRead::Problem::none);
    CHECK(null.content.empty());
}

TEST_CASE("a named pipe nobody writes to reads as empty; one with a writer is read") {
    Folder folder;
    fs::path fifo = folder.path / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // No writer: a blocking open would wait here for ever.
    FileRead lonely = read_bounded_file(fifo.string(), 1024);
    CHECK(lonely.problem == FileRead::Problem::none);
    CHECK(lonely.content.empty());

    // A writer (opened read-write, which Linux lets a FIFO do without waiting for a
    // reader) writes in two pieces, the second after a pause: the read waits for it and
    // for the writer's close.
    int fd = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string first = "00A4040009A0000003080000100000\n";
    std::string second = "00CB3FFF055C035FC10200\n";
    REQUIRE(::write(fd, first.data(), first.size()) == ssize_t(first.size()));
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        (void)::write(fd, second.data(), second.size());
        ::close(fd);
    });
    FileRead read = read_bounded_file(fifo.string(), 1024);
    writer.join();
    CHECK(read.problem == FileRead::Problem::none);
    CHECK(read.content == "00A4040009A0000003080000100000\n00CB3FFF055C035FC10200\n");
}
