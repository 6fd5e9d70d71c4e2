// The record of everything the card saw: exchanges and events, one JSON object each.
//
// Each entry goes to the --apdu-log file as one line the moment it happens (so a test or a
// person reading the file while the bed runs sees it, and a crash loses nothing), and is
// kept in memory for the control socket's `log`. Sequence numbers keep counting across
// `log --clear`, so entries from the socket can be matched with lines of the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loop.hpp"

namespace cardsim {

std::string to_hex(std::span<const std::uint8_t> bytes);

class ApduLog {
  public:
    // Opens `file` for appending; an empty path keeps the log in memory only. Throws
    // std::runtime_error naming the file when it cannot be opened.
    explicit ApduLog(const std::filesystem::path& file);

    // Appends {"seq", "time", "event"} plus `fields` (e.g. "command", "response").
    void add(const std::string& event, nlohmann::json fields = nlohmann::json::object());

    const std::vector<nlohmann::json>& entries() const { return entries_; }
    void clear() { entries_.clear(); }

  private:
    UniqueFd file_;
    std::vector<nlohmann::json> entries_;
    std::uint64_t seq_ = 0;
};

// Dumps JSON as one line; bytes that are not UTF-8 (from a control client) become U+FFFD
// rather than an exception.
std::string json_line(const nlohmann::json& value);

}  // namespace cardsim
