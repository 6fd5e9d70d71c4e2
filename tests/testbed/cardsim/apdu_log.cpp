#include "apdu_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <stdexcept>

namespace cardsim {

namespace {

// RFC 3339 in UTC with milliseconds: 2024-05-01T12:34:56.789Z.
std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(ms.count() % 1000));
    return std::string(text, n) + millis;
}

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string text;
    text.reserve(bytes.size() * 2);
    for (const std::uint8_t b : bytes) {
        text.push_back(digits[b >> 4]);
        text.push_back(digits[b & 0x0F]);
    }
    return text;
}

std::string json_line(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApduLog::ApduLog(const std::filesystem::path& file) {
    if (file.empty()) {
        return;
    }
    file_.reset(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!file_.valid()) {
        throw std::runtime_error("cannot open the APDU log " + file.string() + ": " +
                                 errno_text(errno));
    }
}

void ApduLog::add(const std::string& event, nlohmann::json fields) {
    nlohmann::json entry = {{"seq", ++seq_}, {"time", rfc3339_now()}, {"event", event}};
    entry.update(fields);
    if (file_.valid()) {
        // One write() per line: with O_APPEND a reader never sees half an entry, and the
        // line is in the file even if cardsim is killed right after.
        const std::string line = json_line(entry) + "\n";
        if (::write(file_.get(), line.data(), line.size()) < 0) {
            std::fprintf(stderr, "cardsim: cannot write the APDU log: %s\n",
                         errno_text(errno).c_str());
        }
    }
    entries_.push_back(std::move(entry));
}

}  // namespace cardsim
