// Card answers are untrusted: splitting them, naming their status word, and running the
// transport rules over a card that answers with these bytes must stay in bounds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/apdu/exchange.hpp"

namespace {

// Answers taken from the input: each is a length byte and that many bytes.
class ReplayChannel : public cac::CardChannel {
  public:
    explicit ReplayChannel(std::span<const std::uint8_t> input) : input_(input) {}

    cac::Bytes transmit(std::span<const std::uint8_t>) override {
        if (input_.empty())
            throw cac::Error(cac::ErrorDomain::pcsc, 0x80100069, "transmit", "no more answers");
        std::size_t n = std::min<std::size_t>(input_[0], input_.size() - 1);
        cac::Bytes answer(input_.begin() + 1, input_.begin() + 1 + long(n));
        input_ = input_.subspan(1 + n);
        return answer;
    }

  private:
    std::span<const std::uint8_t> input_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);
    try {
        cac::ApduResponse r = cac::ApduResponse::decode(input);
        (void)r.describe();
        (void)cac::meaning(r.sw, cac::SwDialect::cac);
    } catch (const cac::Error&) {
    }
    ReplayChannel channel(input);
    cac::ExchangeOptions options;
    options.max_transmits = 64;
    options.chain = size % 2 == 0;
    cac::ApduExchanger ex(channel, options);
    auto cmd = cac::ApduCommand::make(0x00, 0xCB, 0x3F, 0xFF, cac::Bytes(size % 600, 0x5C), 256);
    cac::ExchangeResult r = ex.exchange(cmd);
    if (r.transmissions.size() > options.max_transmits)
        std::abort();
    if (!r.failure)
        (void)ex.exchange(cac::ApduCommand::parse("00 20 00 80"));
    return 0;
}
