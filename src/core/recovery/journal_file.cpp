// The journal file: appending under a lock with rotation, and reading it back.
//
// Several cactool processes of one user may append at the same moment, and any of them
// may rotate the file. The rules that keep every record whole and in one file:
//
// - Each record is one write(2) of the whole line and its newline on an O_APPEND
//   descriptor, made while holding flock(LOCK_EX) on that descriptor. The lock is what
//   makes the size check and the rotation safe; O_APPEND alone already keeps writes from
//   overlapping on a local file system.
// - Rotation renames the file to "<path>.1" under the lock of the file being renamed.
//   A writer that was waiting for that lock gets it on a file that is no longer at
//   <path>: it notices because the inode it holds differs from the one <path> names,
//   and opens <path> again. So nothing is written to a rotated file after rotation.
//   rotate_journal (errors-report --rotate) moves the file through the same two steps,
//   open_locked and rename_locked, so it is one more writer's rotation to the others.
// - A write that stops short (a full disk) is truncated back to the size the file had
//   before, so the next record does not start in the middle of a line.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "core/recovery/journal.hpp"

namespace cac {
namespace {

// Reads a file line by line with memory bounded by the longest line accepted; a longer
// line is skipped up to its newline and counted as damaged.
class LineScanner {
  public:
    LineScanner(JournalScan& scan, const std::function<void(const JournalRecord&)>& visit)
        : scan_(scan), visit_(visit) {}

    void feed(std::string_view chunk) {
        while (!chunk.empty()) {
            std::size_t newline = chunk.find('\n');
            std::string_view piece = chunk.substr(0, newline);
            if (!too_long_ && line_.size() + piece.size() <= max_journal_line_bytes) {
                line_.append(piece);
            } else {
                too_long_ = true;
                line_.clear();
            }
            if (newline == std::string_view::npos)
                return;
            end_line();
            chunk.remove_prefix(newline + 1);
        }
    }

    // A last line without its newline (a hand edit) still counts.
    void finish() {
        if (too_long_ || !line_.empty())
            end_line();
    }

  private:
    void end_line() {
        std::optional<JournalRecord> record;
        if (!too_long_)
            record = parse_journal_line(line_);
        if (record) {
            ++scan_.records;
            visit_(*record);
        } else {
            ++scan_.damaged;
        }
        line_.clear();
        too_long_ = false;
    }

    JournalScan& scan_;
    const std::function<void(const JournalRecord&)>& visit_;
    std::string line_;
    bool too_long_ = false;
};

void scan_file(const std::string& path, JournalScan& scan,
               const std::function<void(const JournalRecord&)>& visit) {
    // Non-blocking and regular files only: a FIFO or a device such as /dev/zero named as
    // the journal would otherwise hold the report forever.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return;
        throw Error(CoreCode::io_error, "read the error journal " + path, std::strerror(errno));
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        throw Error(CoreCode::io_error, "read the error journal " + path,
                    "it is not a regular file");
    }
    LineScanner scanner(scan, visit);
    std::vector<char> buffer(64 * 1024);
    for (;;) {
        ssize_t got = read(fd, buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            close(fd);
            throw Error(CoreCode::io_error, "read the error journal " + path, std::strerror(saved));
        }
        if (got == 0)
            break;
        try {
            scanner.feed(std::string_view(buffer.data(), std::size_t(got)));
        } catch (...) {
            close(fd);
            throw;
        }
    }
    close(fd);
    scanner.finish();
}

// Creates the missing folders above `path`, each 0700: the journal says which cards and
// readers a user had trouble with, which is nobody else's business. False, with errno
// set, when one cannot be made: that is the reason to give, not open()'s ENOENT.
bool make_parent_folders(const std::string& path) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        std::string folder = path.substr(0, slash);
        if (mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST)
            return false;
    }
    return true;
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

ssize_t write_retrying(int fd, std::string_view data) {
    ssize_t written;
    do {
        written = ::write(fd, data.data(), data.size());
    } while (written < 0 && errno == EINTR);
    return written;
}

int flock_retrying(int fd, int operation) {
    int result;
    do {
        result = flock(fd, operation);
    } while (result != 0 && errno == EINTR);
    return result;
}

void close_keeping_errno(int fd) {
    int saved = errno;
    close(fd);
    errno = saved;
}

// The lock both rotations take, the writer's at its size cap and rotate_journal's: the
// file `open_file` opens (a descriptor, or -1 with errno set), locked with flock(LOCK_EX)
// and checked under the lock to be the file `path` still names. Another process may
// rotate the file between the open and the lock; then it is opened again, eight times at
// most. Returns the locked descriptor, or -1 with errno set (EAGAIN after eight
// rotations in a row).
int open_locked(const std::string& path, const std::function<int()>& open_file) {
    for (int tries = 0; tries < 8; ++tries) {
        int fd = open_file();
        if (fd < 0)
            return -1;
        if (flock_retrying(fd, LOCK_EX) != 0) {
            close_keeping_errno(fd);
            return -1;
        }
        struct stat held {
        }, named{};
        if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 && same_file(held, named))
            return fd;
        close(fd);
    }
    errno = EAGAIN;
    return -1;
}

// Moves the journal at `path` to "<path>.1", replacing an older one; the caller holds the
// lock open_locked took on it, so no writer can be appending to it meanwhile.
bool rename_locked(const std::string& path) {
    return rename(path.c_str(), (path + ".1").c_str()) == 0;
}

}  // namespace

JournalWriter::JournalWriter(std::string path, std::uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

JournalWriter::~JournalWriter() {
    if (fd_ >= 0)
        close(fd_);
}

void JournalWriter::on_warning(std::function<void(const std::string&)> warn) {
    warn_ = std::move(warn);
}

bool JournalWriter::fail(const std::string& reason) {
    if (!warned_ && warn_) {
        warned_ = true;
        try {
            warn_("cannot write the error journal " + path_ + ": " + reason);
        } catch (...) {
            // A warning that cannot be given must not become the command's failure.
        }
    }
    warned_ = true;
    return false;
}

bool JournalWriter::open_file() {
    if (fd_ >= 0)
        close(fd_);
    // Without O_NONBLOCK a FIFO at the path would hold the command until someone reads
    // it; with it the open fails or succeeds at once, and only a regular file is kept.
    const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK;
    fd_ = open(path_.c_str(), flags, 0600);
    if (fd_ < 0 && errno == ENOENT && make_parent_folders(path_))
        fd_ = open(path_.c_str(), flags, 0600);
    struct stat st {};
    if (fd_ >= 0 && (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd_);
        fd_ = -1;
        open_problem_ = "it is not a regular file";
        return false;
    }
    if (fd_ < 0 && errno == ENXIO)
        open_problem_ = "it is not a regular file";
    return fd_ >= 0;
}

// Locks the open file, reopening while another writer has rotated it away meanwhile.
bool JournalWriter::lock_current() {
    fd_ = open_locked(path_, [this] {
        if (fd_ < 0)
            open_file();
        return std::exchange(fd_, -1);
    });
    return fd_ >= 0;
}

// Called holding the lock on the current file; returns holding the lock on the new one.
bool JournalWriter::rotate() {
    if (!rename_locked(path_))
        return false;
    // Closing drops the lock: writers waiting for it find the file renamed and reopen.
    // The new file may meanwhile be created, written, even rotated by another writer;
    // lock_current() copes with all of that.
    close(fd_);
    fd_ = -1;
    return lock_current();
}

bool JournalWriter::current_size(std::uint64_t& size) const {
    struct stat st {};
    if (fstat(fd_, &st) != 0)
        return false;
    size = std::uint64_t(st.st_size);
    return true;
}

bool JournalWriter::write_locked(std::string_view data) {
    std::uint64_t size = 0;
    if (!current_size(size))
        return false;
    if (max_bytes_ != 0 && size != 0 && size + data.size() > max_bytes_) {
        // After rotation the new file is not necessarily empty: another writer may have
        // got its lock first. Its size is what a short write is cut back to.
        if (!rotate() || !current_size(size))
            return false;
    }
    ssize_t written = write_retrying(fd_, data);
    if (written == ssize_t(data.size()))
        return true;
    int saved = written < 0 ? errno : ENOSPC;
    if (written > 0 && ftruncate(fd_, off_t(size)) != 0) {
        // Nothing more to try: the partial line stays, and readers count it as damaged.
    }
    errno = saved;
    return false;
}

bool JournalWriter::append_line(std::string_view line) {
    std::lock_guard lock(appending_);
    try {
        std::string data;
        data.reserve(line.size() + 1);
        data.append(line).append(1, '\n');
        if (!lock_current())
            return fail(open_problem_.empty() ? std::strerror(errno) : open_problem_);
        bool ok = write_locked(data);
        int saved = errno;
        flock_retrying(fd_, LOCK_UN);
        return ok || fail(std::strerror(saved));
    } catch (const std::exception& e) {
        return fail(e.what());
    }
}

bool JournalWriter::append(const JournalRecord& record) {
    try {
        return append_line(to_journal_line(record));
    } catch (const std::exception& e) {
        return fail(e.what());
    }
}

JournalScan scan_journal(const std::string& path, bool include_rotated,
                         const std::function<void(const JournalRecord&)>& visit) {
    JournalScan scan;
    if (include_rotated)
        scan_file(path + ".1", scan, visit);
    scan_file(path, scan, visit);
    return scan;
}

bool rotate_journal(const std::string& path) {
    bool missing = false;
    // Non-blocking and regular files only, as the writer opens it: a FIFO at the path
    // must neither hold the command nor be moved to "<path>.1".
    int fd = open_locked(path, [&] {
        int opened = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        missing = opened < 0 && errno == ENOENT;
        struct stat st {};
        if (opened >= 0 && (fstat(opened, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(opened);
            throw Error(CoreCode::io_error, "rotate the error journal " + path,
                        "it is not a regular file");
        }
        return opened;
    });
    if (fd < 0 && missing)
        return false;
    auto fail = [&](const std::string& step) {
        return Error(CoreCode::io_error, "rotate the error journal " + path,
                     step + ": " + std::strerror(errno));
    };
    if (fd < 0)
        throw fail("open and lock");
    bool moved = rename_locked(path);
    close_keeping_errno(fd);
    if (!moved)
        throw fail("rename");
    return true;
}

std::string default_journal_path(std::string_view xdg_state_home, std::string_view home) {
    std::string base;
    if (xdg_state_home.starts_with('/'))
        base = std::string(xdg_state_home);
    else if (home.starts_with('/'))
        base = std::string(home) + "/.local/state";
    else
        return {};
    while (base.ends_with('/'))
        base.pop_back();
    return base + "/cactool/journal.jsonl";
}

}  // namespace cac
