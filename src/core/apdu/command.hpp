// Command APDUs as ISO/IEC 7816-4:2013 clause 5.1 lays them out.
//
// A command is a four-byte header (CLA INS P1 P2), an optional data field announced by
// Lc, and an optional Le giving the most bytes expected back (Ne). Four cases follow:
// 1 (header only), 2 (Le), 3 (Lc and data), 4 (Lc, data and Le). Short fields are one
// byte: Lc 1..255, Le 1..256 with 00 meaning 256. Extended fields announce themselves
// with a 00 byte: case 2E is 00 Le1 Le2, case 3E is 00 Lc1 Lc2 data, case 4E is
// 00 Lc1 Lc2 data Le1 Le2 (no second 00 before Le); Lc 1..65535, Le 1..65536 with 0000
// meaning 65536. The longest command is 4 + 3 + 65535 + 2 = 65544 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/util/hex.hpp"
#include "core/util/secret.hpp"

namespace cac {

enum class ApduCase { case1, case2, case3, case4 };

// How a command's length fields are written.
enum class LengthForm {
    automatic,  // short when the data and Ne fit, else extended
    short_form,
    extended
};

inline constexpr std::size_t kMaxShortData = 255;
inline constexpr std::size_t kMaxShortNe = 256;
inline constexpr std::size_t kMaxExtendedData = 65535;
inline constexpr std::size_t kMaxExtendedNe = 65536;
inline constexpr std::size_t kMaxApduSize = 65544;

struct ApduCommand {
    std::uint8_t cla = 0;
    std::uint8_t ins = 0;
    std::uint8_t p1 = 0;
    std::uint8_t p2 = 0;
    Bytes data;
    std::optional<std::size_t> ne;  // Le as a byte count (256 for a short 00); none: no Le
    bool extended = false;          // length fields written in the extended form

    // Builds a command; `form` automatic picks extended only when the data exceeds 255
    // bytes or Ne exceeds 256. Throws cac::Error (usage) when the sizes do not fit the form.
    static ApduCommand make(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                            Bytes data = {}, std::optional<std::size_t> ne = std::nullopt,
                            LengthForm form = LengthForm::automatic);

    // Reads hex text ("00 A4 04 00 02 3F 00", "00:a4:...", "00A40400023F00"). Throws
    // cac::Error (parse_error, category usage) whose reason starts "at position N:" with
    // the 0-based character position of the problem: a character that is not hex, a byte
    // with one digit, a command over 65544 bytes, or length fields that do not fit.
    static ApduCommand parse(std::string_view text);
    // The same without throwing: nullopt and the problem's position and text.
    struct HexProblem {
        std::size_t position = 0;
        std::string what;
    };
    static std::optional<ApduCommand> parse(std::string_view text, HexProblem& problem);

    // Reads encoded bytes; errors name the byte offset ("at byte N:").
    static ApduCommand decode(std::span<const std::uint8_t> bytes);

    ApduCase apdu_case() const;
    // Throws cac::Error (usage) when Lc or Le is out of range for the chosen form.
    void validate() const;
    Bytes encode() const;
    // "case 4 short: CLA 00 INS A4 P1 04 P2 00 Lc 9 Le 256"
    std::string describe() const;
};

// VERIFY (20), CHANGE REFERENCE DATA (24) and RESET RETRY COUNTER (2C): the commands
// whose data is a PIN or a PUK (ISO/IEC 7816-4 11.5.6, 11.5.7, 11.5.10). Traces, output
// and the exchanger's records of them keep the header and Lc, never the data.
[[nodiscard]] constexpr bool carries_secret(std::uint8_t ins) {
    return ins == 0x20 || ins == 0x24 || ins == 0x2C;
}

// Wipes a command's data when it goes out of scope, if `when`: a copy of a command that
// carries a PIN must not leave it in freed memory.
class WipedData {
  public:
    explicit WipedData(ApduCommand& command, bool when = true) : command_(command), when_(when) {}
    ~WipedData() {
        if (when_)
            wipe(command_.data.data(), command_.data.size());
    }
    WipedData(const WipedData&) = delete;
    WipedData& operator=(const WipedData&) = delete;

  private:
    ApduCommand& command_;
    bool when_;
};

}  // namespace cac
