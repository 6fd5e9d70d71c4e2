#include "core/piv/pin.hpp"

#include <algorithm>
#include <string>

#include "core/util/error.hpp"
#include "core/util/in_flight.hpp"

namespace cac::piv {
namespace {

constexpr std::uint8_t kVerify = 0x20;
constexpr std::uint16_t kSuccess = 0x9000;
constexpr std::uint16_t kCountNotGiven = 0x6300;
constexpr std::uint16_t kBlocked = 0x6983;
constexpr std::uint16_t kReferenceNotFound = 0x6A88;
constexpr std::size_t kPaddedPin = 8;
constexpr std::size_t kShortestPin = 6;

std::string reference_name(PinReference reference) {
    return reference == PinReference::global ? "the Global PIN" : "the PIV application PIN";
}

PinCounter with_tries(int tries, bool nonstandard, std::uint16_t sw) {
    PinCounter counter;
    counter.sw = sw;
    counter.nonstandard = nonstandard;
    if (tries == 0) {
        counter.state = PinCounter::State::blocked;
        return counter;
    }
    counter.state = PinCounter::State::tries_left;
    counter.tries = tries;
    return counter;
}

}  // namespace

PinReference pin_to_verify(const std::optional<DiscoveryObject>& discovery) {
    if (discovery && discovery->policy && discovery->policy->global_pin_primary())
        return PinReference::global;
    return PinReference::application;
}

PinCounter counter_from_status(std::uint16_t sw, PinReference reference) {
    PinCounter counter;
    counter.sw = sw;
    if (sw == kSuccess) {
        counter.state = PinCounter::State::verified;
        return counter;
    }
    if (sw == kBlocked) {
        counter.state = PinCounter::State::blocked;
        return counter;
    }
    if (sw == kCountNotGiven)
        return counter;  // count_unknown: 6300 is never "no try left"
    if ((sw & 0xFFF0) == 0x63C0)
        return with_tries(sw & 0x0F, false, sw);
    if ((sw & 0xFFF0) == 0x6300)
        return with_tries(sw & 0x0F, true, sw);
    const std::string operation = "verify " + reference_name(reference);
    if (sw == kReferenceNotFound)
        throw Error(ErrorDomain::status_word, sw, operation, "the card has no such PIN");
    throw Error(ErrorDomain::status_word, sw, operation);
}

PinCounter read_pin_counter(ApduExchanger& exchanger, PinReference reference) {
    ApduCommand command = ApduCommand::make(0x00, kVerify, 0x00, std::uint8_t(reference));
    ExchangeResult result = exchanger.exchange(command);
    if (result.failure)
        throw *result.failure;
    return counter_from_status(result.response.sw.value(), reference);
}

void check_pin_format(const Secret& pin) {
    bool digits = true;
    for (std::size_t i = 0; i < pin.size(); ++i)
        digits = digits && pin.data()[i] >= '0' && pin.data()[i] <= '9';
    if (!digits || pin.size() < kShortestPin || pin.size() > kPaddedPin) {
        throw Error(CoreCode::usage, "read the PIN",
                    "a PIV PIN is 6 to 8 digits; this one is not, so it was not sent");
    }
}

VerifyOutcome verify_pin(ApduExchanger& exchanger, PinReference reference, const Secret& pin) {
    check_pin_format(pin);
    ApduCommand command =
        ApduCommand::make(0x00, kVerify, 0x00, std::uint8_t(reference), Bytes(kPaddedPin, 0xFF));
    WipedData wiped(command);
    std::copy(pin.data(), pin.data() + pin.size(), command.data.begin());
    ExchangeResult result;
    {
        in_flight::MustFinish counted_by_the_card;
        result = exchanger.exchange(command);
    }
    if (result.failure)
        throw *result.failure;
    std::uint16_t sw = result.response.sw.value();
    VerifyOutcome outcome;
    outcome.counter = counter_from_status(sw, reference);
    if (outcome.counter.state == PinCounter::State::verified)
        outcome.result = VerifyResult::correct;
    else if (outcome.counter.state == PinCounter::State::blocked)
        outcome.result = VerifyResult::blocked;
    return outcome;
}

}  // namespace cac::piv
