// Appends records to an error journal through cactool's own JournalWriter, so that tests
// can run many writers at once and the benchmark can time one append.
//
//   journal-append PATH MARKER COUNT [--max-bytes N] [--fresh] [--times]
//   journal-append --line
//
// Each record looks like a real one (a CKR_DEVICE_REMOVED met while reading a
// certificate), with MARKER as its subcommand, this process's pid, and the sequence
// number 1..COUNT as its attempt, so a test can check that every (pid, sequence) arrived
// once. --fresh makes a new writer for every record, as separate cactool runs would;
// --times prints, on stdout, each append's duration in nanoseconds, one a line. --line
// prints one such record's line, for the benchmark's floor to write the same bytes.
// Exit 0 when every append succeeded, 1 otherwise (the writer's warning is on stderr).
#include <p11-kit/pkcs11.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/recovery/journal.hpp"

namespace {

cac::JournalRecord sample_record(std::string_view marker) {
    cac::Error error(cac::ErrorDomain::pkcs11, CKR_DEVICE_REMOVED, "C_GetAttributeValue",
                     "the token was removed");
    error.with_module("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so")
        .with_slot("0")
        .with_token("PIV_II");
    cac::JournalRecord record = cac::record_from_error(error, marker);
    record.duration_ms = 12.5;
    record.token_serial = "1234567890abcdef";
    return record;
}

struct Options {
    std::string path;
    std::string marker;
    long count = 0;
    std::uint64_t max_bytes = 0;
    bool fresh = false;
    bool times = false;
};

bool parse(int argc, char** argv, Options& options) {
    if (argc < 4)
        return false;
    options.path = argv[1];
    options.marker = argv[2];
    options.count = std::strtol(argv[3], nullptr, 10);
    for (int i = 4; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--fresh") {
            options.fresh = true;
        } else if (arg == "--times") {
            options.times = true;
        } else if (arg == "--max-bytes" && i + 1 < argc) {
            options.max_bytes = std::strtoull(argv[++i], nullptr, 10);
        } else {
            return false;
        }
    }
    return options.count > 0;
}

std::unique_ptr<cac::JournalWriter> make_writer(const Options& options) {
    auto writer = std::make_unique<cac::JournalWriter>(options.path, options.max_bytes);
    writer->on_warning([](const std::string& warning) { std::cerr << warning << '\n'; });
    return writer;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::string_view(argv[1]) == "--line") {
        std::cout << cac::to_journal_line(sample_record("bench")) << '\n';
        return 0;
    }
    Options options;
    if (!parse(argc, argv, options)) {
        std::cerr << "usage: journal-append PATH MARKER COUNT [--max-bytes N] [--fresh] "
                     "[--times]\n       journal-append --line\n";
        return 2;
    }
    cac::JournalRecord record = sample_record(options.marker);
    std::vector<std::int64_t> times;
    times.reserve(options.times ? std::size_t(options.count) : 0);
    auto writer = make_writer(options);
    bool all_written = true;
    for (long sequence = 1; sequence <= options.count; ++sequence) {
        record.attempt = int(sequence);
        if (options.fresh)
            writer = make_writer(options);
        auto start = std::chrono::steady_clock::now();
        all_written = writer->append(record) && all_written;
        auto took = std::chrono::steady_clock::now() - start;
        if (options.times)
            times.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
    }
    for (std::int64_t ns : times)
        std::printf("%lld\n", static_cast<long long>(ns));
    return all_written ? 0 : 1;
}
