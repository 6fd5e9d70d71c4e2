#include "core/card/atr_identify.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include "core/card/atr.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"

namespace cac {
namespace {

// "3B 7D 96": the form smartcard_list.txt patterns are written against.
std::string atr_text(std::span<const std::uint8_t> atr) {
    std::string text = to_hex_colon(atr);
    std::replace(text.begin(), text.end(), ':', ' ');
    return text;
}

char upper(char c) {
    return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
}

// Patterns use '.', "[...]" (single characters and ranges) and '*' after an atom; the
// rest of regular-expression syntax does not occur, and a pattern using it is skipped
// rather than guessed at. Each star multiplies the work of a failing match by the length
// of the ATR text, so patterns with more than two (the list has at most one) are skipped.
constexpr std::array<bool, 256> unsupported_syntax = [] {
    std::array<bool, 256> table{};
    for (char c : std::string_view("()|+?{}\\^$"))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool pattern_supported(std::string_view pattern) {
    int stars = 0;
    bool in_class = false;
    for (char c : pattern) {
        if (unsupported_syntax[static_cast<unsigned char>(c)])
            return false;
        if ((c == '[' && in_class) || (c == ']' && !in_class))
            return false;
        in_class = c == '[' || (in_class && c != ']');
        stars += c == '*' ? 1 : 0;
    }
    return !in_class && stars <= 2 && pattern.front() != '*';
}

// The atom at the start of `pattern` (a character, '.' or a class): its length, and
// whether it matches `c`.
std::size_t atom(std::string_view pattern, char c, bool& matches) {
    c = upper(c);
    if (pattern[0] == '.') {
        matches = true;
        return 1;
    }
    if (pattern[0] != '[') {
        matches = upper(pattern[0]) == c;
        return 1;
    }
    std::size_t end = pattern.find(']', 1);
    matches = false;
    for (std::size_t i = 1; i < end; ++i) {
        char low = upper(pattern[i]);
        char high = low;
        if (i + 2 < end && pattern[i + 1] == '-') {
            high = upper(pattern[i + 2]);
            i += 2;
        }
        matches = matches || (c >= low && c <= high);
    }
    return end + 1;
}

// Whole-text match, as pcsc-tools anchors its patterns at both ends.
bool match(std::string_view pattern, std::string_view text) {
    while (!pattern.empty()) {
        bool matches = false;
        std::size_t size = atom(pattern, text.empty() ? '\n' : text[0], matches);
        if (size < pattern.size() && pattern[size] == '*') {
            std::string_view rest = pattern.substr(size + 1);
            for (std::size_t i = 0;; ++i) {
                if (match(rest, text.substr(i)))
                    return true;
                if (i == text.size())
                    return false;
                atom(pattern, text[i], matches);
                if (!matches)
                    return false;
            }
        }
        if (text.empty() || !matches)
            return false;
        pattern.remove_prefix(size);
        text.remove_prefix(1);
    }
    return text.empty();
}

const KnownCard* find_known(const std::string& text) {
    for (const KnownCard& card : known_cards()) {
        if (card.atr == text)
            return &card;
    }
    return nullptr;
}

// The PIV application identifier (SP 800-73-4 part 1, 2.2) in a compact-TLV application
// identifier object (tag F) of the historical bytes.
bool announces_piv(std::span<const std::uint8_t> atr) {
    static constexpr std::uint8_t piv_rid[] = {0xa0, 0x00, 0x00, 0x03, 0x08};
    try {
        Atr parsed = parse_atr(atr);
        for (const CompactTlv& object : parsed.historical.objects) {
            if (object.tag == 0xf && object.value.size() >= sizeof piv_rid &&
                std::equal(std::begin(piv_rid), std::end(piv_rid), object.value.begin())) {
                return true;
            }
        }
    } catch (const Error&) {
        // Not a readable ATR: it announces nothing.
    }
    return false;
}

}  // namespace

SmartcardList SmartcardList::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    std::string text;
    if (in) {
        text.resize(std::size_t(in.tellg()));
        in.seekg(0);
        in.read(text.data(), std::streamsize(text.size()));
    }
    if (!in)
        throw Error(CoreCode::io_error, "read ATR list", "cannot read " + path.string());
    return SmartcardList(std::move(text));
}

SmartcardList::SmartcardList(std::string text) : text_(std::move(text)) {
    index();
}

// One pass over the lines: a pattern line opens an entry, tab lines extend its
// descriptions, anything else closes it. Descriptions with no pattern before them are
// skipped, as pcsc-tools skips them.
void SmartcardList::index() {
    std::optional<Entry> open;
    std::size_t pos = 0;
    while (pos < text_.size()) {
        std::size_t end = text_.find('\n', pos);
        end = end == std::string::npos ? text_.size() : end;
        std::string_view line(text_.data() + pos, end - pos);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.remove_suffix(1);
        if (!line.empty() && line[0] == '\t') {
            if (open)
                open->descriptions_end = end;
        } else {
            if (open)
                entries_.push_back(*open);
            open.reset();
            if (!line.empty() && line[0] != '#') {
                bool supported = pattern_supported(line);
                unsupported_ += supported ? 0 : 1;
                open = Entry{pos, line.size(), end, end, supported};
            }
        }
        pos = end + 1;
    }
    if (open)
        entries_.push_back(*open);
}

void SmartcardList::descriptions_of(const Entry& entry, std::vector<std::string>& out) const {
    std::string_view block(text_.data() + entry.descriptions_begin,
                           entry.descriptions_end - entry.descriptions_begin);
    while (!block.empty()) {
        std::size_t end = std::min(block.find('\n'), block.size());
        std::string_view line = block.substr(0, end);
        block.remove_prefix(std::min(end + 1, block.size()));
        while (!line.empty() && (line.front() == '\t' || line.front() == '\n'))
            line.remove_prefix(1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.remove_suffix(1);
        if (!line.empty())
            out.emplace_back(line);
    }
}

std::vector<std::string> SmartcardList::lookup(std::span<const std::uint8_t> atr) const {
    std::string text = atr_text(atr);
    std::vector<std::string> found;
    for (const Entry& entry : entries_) {
        std::string_view pattern(text_.data() + entry.pattern_begin, entry.pattern_size);
        if (entry.supported && match(pattern, text))
            descriptions_of(entry, found);
    }
    return found;
}

AtrIdentifier::AtrIdentifier(std::filesystem::path smartcard_list)
    : path_(std::move(smartcard_list)) {}

const SmartcardList* AtrIdentifier::list() {
    if (!tried_) {
        tried_ = true;
        try {
            list_ = SmartcardList::load(path_);
        } catch (const Error& e) {
            list_problem_ = e.message();
        }
    }
    return list_ ? &*list_ : nullptr;
}

CardIdentity AtrIdentifier::identify(std::span<const std::uint8_t> atr) {
    CardIdentity identity;
    if (const KnownCard* known = find_known(atr_text(atr))) {
        identity.type = known->type;
        identity.identified_as.emplace_back(known->name);
        identity.source = "builtin";
        return identity;
    }
    bool piv = announces_piv(atr);
    if (const SmartcardList* descriptions = list()) {
        identity.identified_as = descriptions->lookup(atr);
        if (!identity.identified_as.empty()) {
            identity.type = piv ? "piv" : "other";
            identity.source = "smartcard_list";
            return identity;
        }
    }
    if (piv) {
        identity.type = "piv";
        identity.identified_as.emplace_back("card announcing the PIV application in its ATR");
        identity.source = "historical_bytes";
    }
    return identity;
}

}  // namespace cac
