// Which card an ATR belongs to.
//
// cactool knows the ATRs of CAC and PIV cards it was built with; for everything else it
// asks pcsc-tools' smartcard_list.txt, a community list of some four thousand ATR
// patterns. That file is read only when the built-in table has no answer, and reading it
// is one pass that notes where each entry starts: patterns are matched when asked.
//
// smartcard_list.txt format: comment lines start with '#'; an entry is one line with an
// ATR written as a regular expression over upper-case hex bytes separated by single
// spaces ("3B 8F 80 01 .. 0[13] .*"), then description lines starting with a tab, then
// an empty line. pcsc-tools matches the whole ATR text against the pattern ignoring
// case, and reports every entry that matches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cac {

// Where Debian's pcsc-tools installs the list.
inline constexpr std::string_view default_smartcard_list = "/usr/share/pcsc/smartcard_list.txt";

// What an ATR says the card is.
struct CardIdentity {
    // "piv", "cac", "piv+cac" (the applications the card is known to answer), "other"
    // (smartcard_list.txt knows it, but not as a PIV or CAC card), "unknown".
    std::string type = "unknown";
    std::vector<std::string> identified_as;
    // "builtin", "smartcard_list", "historical_bytes" (the PIV application identifier is
    // in the ATR) or "none".
    std::string source = "none";
};

// One row of the built-in table: a CAC or PIV card by its exact ATR.
struct KnownCard {
    std::string_view atr;  // hex, bytes separated by spaces
    std::string_view type;
    std::string_view name;
};

std::span<const KnownCard> known_cards();

class SmartcardList {
  public:
    // Reads the file; throws Error(CoreCode::io_error) when it cannot be read.
    static SmartcardList load(const std::filesystem::path& path);
    explicit SmartcardList(std::string text);

    // The description lines of every entry whose pattern matches `atr`, in file order.
    [[nodiscard]] std::vector<std::string> lookup(std::span<const std::uint8_t> atr) const;

    std::size_t entries() const { return entries_.size(); }
    // Patterns with regular-expression syntax beyond '.', "[...]" and '*': never matched.
    std::size_t unsupported() const { return unsupported_; }

  private:
    struct Entry {
        std::size_t pattern_begin;
        std::size_t pattern_size;
        std::size_t descriptions_begin;
        std::size_t descriptions_end;
        bool supported;
    };

    void index();
    void descriptions_of(const Entry& entry, std::vector<std::string>& out) const;

    std::string text_;
    std::vector<Entry> entries_;
    std::size_t unsupported_ = 0;
};

// The built-in table first, then smartcard_list.txt (loaded on first need; a missing
// file only means less to go on), then the PIV application identifier in the historical
// bytes.
class AtrIdentifier {
  public:
    explicit AtrIdentifier(
        std::filesystem::path smartcard_list = std::filesystem::path(default_smartcard_list));

    [[nodiscard]] CardIdentity identify(std::span<const std::uint8_t> atr);

    // Why smartcard_list.txt could not be used, once a lookup has tried it.
    const std::string& list_problem() const { return list_problem_; }

  private:
    const SmartcardList* list();

    std::filesystem::path path_;
    std::optional<SmartcardList> list_;
    bool tried_ = false;
    std::string list_problem_;
};

}  // namespace cac
