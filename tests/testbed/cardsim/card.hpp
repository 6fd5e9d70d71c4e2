// The virtual PIV card's behaviour, without any transport: bytes in, bytes out.
//
// The vpcd connection, the control socket and the fault injection (cardsim.cpp) sit on top
// of this; the unit tests drive it directly. Everything here follows NIST SP 800-73-4 and
// ISO/IEC 7816-4, with the deviations a profile asks for (see ../README.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace cardsim {

using Bytes = std::vector<std::uint8_t>;

// A profile as read from its JSON file, with every generated key and certificate already
// made. Loading throws std::runtime_error naming the file, the key and the problem.
struct Profile;

struct LoadedProfile {
    std::shared_ptr<const Profile> profile;
    std::filesystem::path source;  // empty for the default card
};

// Reads `file` (or builds the default card when `file` is empty), generates what the
// profile asks to generate, and writes what the card holds into `export_dir`: card.json,
// one PEM certificate per slot and the test CA's certificate (format: ../README.md).
// Generated keys are written too (`<slot>.key.pem`) so that `restore` keeps the same keys.
LoadedProfile load_profile(const std::filesystem::path& file,
                           const std::filesystem::path& export_dir);

// What the control channel reports as the card's state.
struct CardStatus {
    int pin_tries = 0;
    int puk_tries = 0;
    bool pin_verified = false;
    bool application_selected = false;
};

class Card {
  public:
    explicit Card(std::shared_ptr<const Profile> profile);
    ~Card();
    Card(const Card&) = delete;
    Card& operator=(const Card&) = delete;
    Card(Card&&) noexcept;
    Card& operator=(Card&&) noexcept;

    const Bytes& atr() const;

    // Power on, power off and reset all end the selection, the verified state and any
    // response still waiting for GET RESPONSE; retry counters persist, as on a card.
    void power_on();
    void power_off();
    void reset();

    // One command APDU in, the response (data, then SW1 SW2) out. Never throws for
    // anything the reader could send: malformed commands get the status word a card gives.
    Bytes transmit(std::span<const std::uint8_t> command);

    CardStatus status() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace cardsim
