#include "core/apdu/command.hpp"

#include <cstdio>
#include <vector>

#include "core/apdu/hex_digit.hpp"
#include "core/util/error.hpp"

namespace cac {
namespace {

[[noreturn]] void fail_at(const char* unit, std::size_t position, const std::string& what) {
    throw Error(CoreCode::parse_error, "parse the command APDU",
                std::string("at ") + unit + " " + std::to_string(position) + ": " + what);
}

std::string hex2(unsigned value) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02X", value);
    return buf;
}

bool is_separator(char c) {
    return c == ' ' || c == ':' || c == '\t';
}

// The bytes of `text` and the position of each byte's first digit.
struct HexText {
    Bytes bytes;
    std::vector<std::size_t> positions;
};

// The problem with the length fields or the text, at a byte offset or a character
// position depending on what was read.
struct Problem {
    std::size_t offset;
    std::string what;
};

std::string quoted(char c) {
    return "'" + std::string(1, c) + "' is not a hex digit";
}

std::optional<Problem> read_hex(std::string_view text, HexText& out) {
    std::size_t i = 0;
    while (i < text.size()) {
        if (is_separator(text[i])) {
            ++i;
            continue;
        }
        int high = apdu_text::hex_digit(text[i]);
        if (high < 0)
            return Problem{i, quoted(text[i])};
        if (out.bytes.size() == kMaxApduSize)
            return Problem{i, "the command is longer than 65544 bytes"};
        if (i + 1 >= text.size() || is_separator(text[i + 1]))
            return Problem{i, "a byte with one hex digit (odd number of digits)"};
        int low = apdu_text::hex_digit(text[i + 1]);
        if (low < 0)
            return Problem{i + 1, quoted(text[i + 1])};
        out.bytes.push_back(std::uint8_t(high << 4 | low));
        out.positions.push_back(i);
        i += 2;
    }
    return std::nullopt;
}

std::size_t be16(std::span<const std::uint8_t> b, std::size_t at) {
    return std::size_t(b[at]) << 8 | b[at + 1];
}

std::optional<Problem> decode_body(std::span<const std::uint8_t> apdu, ApduCommand& cmd) {
    std::size_t n = apdu.size() - 4;  // bytes after the header
    auto body = apdu.subspan(4);
    if (n == 0)
        return std::nullopt;
    if (n == 1) {
        cmd.ne = body[0] == 0 ? 256 : body[0];
        return std::nullopt;
    }
    if (body[0] != 0) {
        std::size_t lc = body[0];
        if (n != 1 + lc && n != 2 + lc) {
            return Problem{4, "Lc is " + hex2(body[0]) + " (" + std::to_string(lc) +
                                  " bytes) but " + std::to_string(n - 1) +
                                  " bytes follow it (expected " + std::to_string(lc) + " or " +
                                  std::to_string(lc + 1) + ")"};
        }
        cmd.data.assign(body.begin() + 1, body.begin() + 1 + long(lc));
        if (n == 2 + lc)
            cmd.ne = body[n - 1] == 0 ? 256 : body[n - 1];
        return std::nullopt;
    }
    cmd.extended = true;
    if (n == 3) {
        std::size_t le = be16(body, 1);
        cmd.ne = le == 0 ? kMaxExtendedNe : le;
        return std::nullopt;
    }
    if (n < 3)
        return Problem{4, "an extended length field (00 then two bytes) is cut short"};
    std::size_t lc = be16(body, 1);
    if (lc == 0)
        return Problem{5, "extended Lc is 0000; a command without data has no Lc"};
    if (n != 3 + lc && n != 5 + lc) {
        return Problem{5, "extended Lc is " + std::to_string(lc) + " but " + std::to_string(n - 3) +
                              " bytes follow it (expected " + std::to_string(lc) + " or " +
                              std::to_string(lc + 2) + ")"};
    }
    cmd.data.assign(body.begin() + 3, body.begin() + 3 + long(lc));
    if (n == 5 + lc) {
        std::size_t le = be16(body, n - 2);
        cmd.ne = le == 0 ? kMaxExtendedNe : le;
    }
    return std::nullopt;
}

ApduCommand decode_or_problem(std::span<const std::uint8_t> apdu, std::optional<Problem>& out) {
    ApduCommand cmd;
    if (apdu.size() < 4) {
        out = Problem{apdu.size(), "a command needs at least the 4 header bytes, got " +
                                       std::to_string(apdu.size())};
        return cmd;
    }
    if (apdu.size() > kMaxApduSize) {
        out = Problem{kMaxApduSize, "the command is longer than 65544 bytes"};
        return cmd;
    }
    cmd.cla = apdu[0], cmd.ins = apdu[1], cmd.p1 = apdu[2], cmd.p2 = apdu[3];
    out = decode_body(apdu, cmd);
    return cmd;
}

[[noreturn]] void invalid(const std::string& what) {
    throw Error(CoreCode::usage, "build the command APDU", what);
}

}  // namespace

ApduCommand ApduCommand::make(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                              Bytes data, std::optional<std::size_t> ne, LengthForm form) {
    ApduCommand cmd{cla, ins, p1, p2, std::move(data), ne, false};
    bool needs_extended = cmd.data.size() > kMaxShortData || (ne.has_value() && *ne > kMaxShortNe);
    cmd.extended =
        form == LengthForm::extended || (form == LengthForm::automatic && needs_extended);
    // An extended case 1 does not exist: it is the same four bytes.
    if (cmd.apdu_case() == ApduCase::case1)
        cmd.extended = false;
    cmd.validate();
    return cmd;
}

std::optional<ApduCommand> ApduCommand::parse(std::string_view text, HexProblem& problem) {
    HexText hex;
    if (std::optional<Problem> bad = read_hex(text, hex)) {
        problem = {bad->offset, bad->what};
        return std::nullopt;
    }
    std::optional<Problem> bad;
    ApduCommand cmd = decode_or_problem(hex.bytes, bad);
    if (bad) {
        std::size_t at =
            bad->offset < hex.positions.size() ? hex.positions[bad->offset] : text.size();
        problem = {at, bad->what};
        return std::nullopt;
    }
    return cmd;
}

ApduCommand ApduCommand::parse(std::string_view text) {
    HexProblem problem;
    std::optional<ApduCommand> cmd = parse(text, problem);
    if (!cmd)
        fail_at("position", problem.position, problem.what);
    return *cmd;
}

ApduCommand ApduCommand::decode(std::span<const std::uint8_t> bytes) {
    std::optional<Problem> problem;
    ApduCommand cmd = decode_or_problem(bytes, problem);
    if (problem)
        fail_at("byte", problem->offset, problem->what);
    return cmd;
}

ApduCase ApduCommand::apdu_case() const {
    if (data.empty())
        return ne ? ApduCase::case2 : ApduCase::case1;
    return ne ? ApduCase::case4 : ApduCase::case3;
}

void ApduCommand::validate() const {
    std::size_t max_data = extended ? kMaxExtendedData : kMaxShortData;
    std::size_t max_ne = extended ? kMaxExtendedNe : kMaxShortNe;
    const char* form = extended ? "extended" : "short";
    if (data.size() > max_data) {
        invalid(std::to_string(data.size()) + " data bytes do not fit a " + form + " Lc (at most " +
                std::to_string(max_data) + ")");
    }
    if (ne && (*ne < 1 || *ne > max_ne)) {
        invalid("Le " + std::to_string(*ne) + " is out of range for a " + form + " command (1.." +
                std::to_string(max_ne) + ")");
    }
    if (extended && apdu_case() == ApduCase::case1)
        invalid("a command without data or Le has no extended form");
}

Bytes ApduCommand::encode() const {
    validate();
    Bytes out{cla, ins, p1, p2};
    if (extended) {
        out.push_back(0x00);
        if (!data.empty()) {
            out.push_back(std::uint8_t(data.size() >> 8));
            out.push_back(std::uint8_t(data.size()));
            out.insert(out.end(), data.begin(), data.end());
        }
        if (ne) {
            std::size_t le = *ne == kMaxExtendedNe ? 0 : *ne;
            out.push_back(std::uint8_t(le >> 8));
            out.push_back(std::uint8_t(le));
        }
        return out;
    }
    if (!data.empty()) {
        out.push_back(std::uint8_t(data.size()));
        out.insert(out.end(), data.begin(), data.end());
    }
    if (ne)
        out.push_back(std::uint8_t(*ne == kMaxShortNe ? 0 : *ne));
    return out;
}

std::string ApduCommand::describe() const {
    std::string text = "case " + std::to_string(int(apdu_case()) + 1);
    if (apdu_case() != ApduCase::case1)
        text += extended ? " extended" : " short";
    text += ": CLA " + hex2(cla) + " INS " + hex2(ins) + " P1 " + hex2(p1) + " P2 " + hex2(p2);
    if (!data.empty())
        text += " Lc " + std::to_string(data.size());
    if (ne)
        text += " Le " + std::to_string(*ne);
    return text;
}

}  // namespace cac
