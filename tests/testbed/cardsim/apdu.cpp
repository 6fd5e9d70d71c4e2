#include "apdu.hpp"

namespace cardsim {

namespace {

std::size_t short_ne(std::uint8_t le) {
    return le == 0 ? 256 : le;
}

std::size_t extended_ne(std::uint8_t hi, std::uint8_t lo) {
    std::size_t le = (std::size_t{hi} << 8) | lo;
    return le == 0 ? 65536 : le;
}

// Body after the header is 00 Lc1 Lc2 ... (clause 5.1: a first byte 00 followed by more
// than one byte marks extended length fields).
std::optional<Command> parse_extended(Command c, std::span<const std::uint8_t> body) {
    c.extended = true;
    if (body.size() == 3) {
        c.le_present = true;
        c.ne = extended_ne(body[1], body[2]);
        return c;
    }
    std::size_t lc = (std::size_t{body[1]} << 8) | body[2];
    if (lc == 0) {
        return std::nullopt;
    }
    if (body.size() == 3 + lc) {
        c.data = body.subspan(3, lc);
        return c;
    }
    if (body.size() == 5 + lc) {
        c.data = body.subspan(3, lc);
        c.le_present = true;
        c.ne = extended_ne(body[3 + lc], body[4 + lc]);
        return c;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Command> parse_command(std::span<const std::uint8_t> apdu) {
    if (apdu.size() < 4) {
        return std::nullopt;
    }
    Command c;
    c.cla = apdu[0], c.ins = apdu[1], c.p1 = apdu[2], c.p2 = apdu[3];
    auto body = apdu.subspan(4);
    if (body.empty()) {
        return c;
    }
    if (body.size() == 1) {
        c.le_present = true;
        c.ne = short_ne(body[0]);
        return c;
    }
    if (body[0] == 0) {
        return body.size() >= 3 ? parse_extended(c, body) : std::nullopt;
    }
    std::size_t lc = body[0];
    if (body.size() == 1 + lc) {
        c.data = body.subspan(1, lc);
        return c;
    }
    if (body.size() == 2 + lc) {
        c.data = body.subspan(1, lc);
        c.le_present = true;
        c.ne = short_ne(body[1 + lc]);
        return c;
    }
    return std::nullopt;
}

}  // namespace cardsim
