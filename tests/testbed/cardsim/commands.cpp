// The control socket's commands (../README.md, "Control socket protocol").
//
// Every command that changes the card answers with the card's status after the change, so
// a test sees the effect in the same round trip. `reset` here resets the card as a power
// cycle would, without the reader knowing: a card cannot reset itself over vpcd, so a
// reset that other PC/SC clients see (SCARD_W_RESET_CARD) is done by `cardctl reset`
// through pcscd instead.
#include <charconv>
#include <sstream>

#include "simulator.hpp"

namespace cardsim {

namespace {

constexpr unsigned long kMaxMs = 3'600'000;
constexpr unsigned long kMaxCount = 1'000'000;

nlohmann::json failure(const std::string& error) {
    return {{"ok", false}, {"error", error}};
}

std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string word; in >> word;) {
        words.push_back(word);
    }
    return words;
}

// A whole non-negative decimal number no larger than `max`.
std::optional<unsigned long> parse_number(const std::string& text, unsigned long max) {
    unsigned long value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value > max) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> expect_words(const std::vector<std::string>& words, std::size_t min,
                                        std::size_t max, const char* usage) {
    if (words.size() < min || words.size() > max) {
        return std::string("usage: ") + usage;
    }
    return std::nullopt;
}

}  // namespace

nlohmann::json Simulator::status() const {
    const CardStatus card = card_->status();
    nlohmann::json faults = {
        {"delay_ms", delay_ms_},
        {"delay_count", delay_left_ ? nlohmann::json(*delay_left_) : nlohmann::json()},
        {"garbage", garbage_left_},
        {"drop", drop_armed_},
        {"reinsert_after_ms",
         reinsert_after_ms_ ? nlohmann::json(*reinsert_after_ms_) : nlohmann::json()}};
    return {{"ok", true},
            {"present", present_},
            {"connected", link_.state() == VpcdLink::State::connected},
            {"powered", powered_},
            {"atr_requested", atr_requested_},
            {"atr_requests", atr_requests_},
            {"pin_tries", card.pin_tries},
            {"puk_tries", card.puk_tries},
            {"verified", card.pin_verified},
            {"application_selected", card.application_selected},
            {"apdus", apdus_},
            {"profile",
             profile_source_.empty() ? nlohmann::json() : nlohmann::json(profile_source_.string())},
            {"faults", std::move(faults)}};
}

void Simulator::handle_command(const std::string& line, const ControlServer::Reply& reply) {
    const std::vector<std::string> words = split_words(line);
    if (words.empty()) {
        reply(failure("empty command"));
        return;
    }
    // The rest of the line after the command word, so that a profile path may hold spaces.
    const std::size_t at = line.find(words[0]) + words[0].size();
    const std::size_t from = line.find_first_not_of(" \t", at);
    const std::string rest = from == std::string::npos ? "" : line.substr(from);
    if (const auto error = run_command(words, rest, reply)) {
        reply(failure(*error));
    }
}

// Returns the error for the client, or nothing once `reply` has been called or handed on.
std::optional<std::string> Simulator::run_command(const std::vector<std::string>& words,
                                                  const std::string& rest,
                                                  const ControlServer::Reply& reply) {
    const std::string& name = words[0];
    if (name == "status" || name == "remove" || name == "reset" || name == "quit" ||
        name == "restore" || name == "insert") {
        if (words.size() != 1) {
            return name + " takes no arguments";
        }
    }
    if (name == "status") {
        reply(status());
    } else if (name == "remove") {
        remove_card("remove", nlohmann::json::object());
        reply(status());
    } else if (name == "insert") {
        insert_card();
        await_reader(reply);
    } else if (name == "reset") {
        card_->reset();
        log_.add("card_reset");
        reply(status());
    } else if (name == "delay" || name == "garbage" || name == "drop") {
        auto error = name == "delay"     ? command_delay(words)
                     : name == "garbage" ? command_garbage(words)
                                         : command_drop(words);
        if (error) {
            return error;
        }
        reply(status());
    } else if (name == "log") {
        return command_log(words, reply);
    } else if (name == "profile") {
        if (rest.empty()) {
            return std::string("usage: profile FILE");
        }
        // Relative to cardsim's own folder; cardctl sends absolute paths.
        return command_profile(std::filesystem::absolute(rest), reply);
    } else if (name == "restore") {
        return command_profile(profile_source_, reply);
    } else if (name == "quit") {
        quit_ = true;
        reply({{"ok", true}});
    } else {
        return "unknown command: " + name;
    }
    return std::nullopt;
}

std::optional<std::string> Simulator::command_delay(const std::vector<std::string>& words) {
    if (auto usage = expect_words(words, 2, 3, "delay MS [COUNT]")) {
        return usage;
    }
    const auto ms = parse_number(words[1], kMaxMs);
    if (!ms) {
        return "delay: MS must be a whole number from 0 to " + std::to_string(kMaxMs);
    }
    std::optional<unsigned long> count;
    if (words.size() == 3) {
        count = parse_number(words[2], kMaxCount);
        if (!count || *count == 0) {
            return "delay: COUNT must be a whole number from 1 to " + std::to_string(kMaxCount);
        }
    }
    delay_ms_ = *ms;
    delay_left_ = *ms == 0 ? std::nullopt : count;
    return std::nullopt;
}

std::optional<std::string> Simulator::command_garbage(const std::vector<std::string>& words) {
    if (auto usage = expect_words(words, 1, 2, "garbage [COUNT]")) {
        return usage;
    }
    const auto count = words.size() == 2 ? parse_number(words[1], kMaxCount) : 1;
    if (!count || *count == 0) {
        return "garbage: COUNT must be a whole number from 1 to " + std::to_string(kMaxCount);
    }
    garbage_left_ = *count;
    return std::nullopt;
}

std::optional<std::string> Simulator::command_drop(const std::vector<std::string>& words) {
    if (words.size() == 1) {
        drop_armed_ = true;
        reinsert_after_ms_.reset();
        return std::nullopt;
    }
    const auto ms = words.size() == 3 && words[1] == "--reinsert-after"
                        ? parse_number(words[2], kMaxMs)
                        : std::nullopt;
    if (!ms) {
        return "usage: drop [--reinsert-after MS] (MS from 0 to " + std::to_string(kMaxMs) + ")";
    }
    drop_armed_ = true;
    reinsert_after_ms_ = *ms;
    return std::nullopt;
}

std::optional<std::string> Simulator::command_log(const std::vector<std::string>& words,
                                                  const ControlServer::Reply& reply) {
    const bool clear = words.size() == 2 && words[1] == "--clear";
    if (words.size() > 2 || (words.size() == 2 && !clear)) {
        return std::string("usage: log [--clear]");
    }
    reply({{"ok", true}, {"entries", log_.entries()}});
    if (clear) {
        log_.clear();
    }
    return std::nullopt;
}

// Loads first, so a profile that fails leaves the card as it was.
std::optional<std::string> Simulator::command_profile(const std::filesystem::path& file,
                                                      const ControlServer::Reply& reply) {
    LoadedProfile loaded;
    try {
        loaded = load_profile(file, settings_.export_dir);
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
    switch_card(std::move(loaded), reply);
    return std::nullopt;
}

}  // namespace cardsim
