// The exchange engine's CardChannel over a PC/SC card handle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/apdu/exchange.hpp"
#include "core/pcsc/card_handle.hpp"

namespace cac::pcsc {

// Carries APDUs over one handle, with the PCI of its active protocol. The handle must
// outlive the channel; after CardHandle::reconnect the channel goes on over the same
// handle.
class PcscChannel : public CardChannel {
  public:
    explicit PcscChannel(const CardHandle& card) : card_(card) {}
    Bytes transmit(std::span<const std::uint8_t> apdu) override { return card_.transmit(apdu); }

  private:
    const CardHandle& card_;
};

// The longest APDU the reader carries, for ExchangeOptions::max_apdu_size: from its
// PC/SC part 10 properties, dwMaxAPDUDataSize 0 meaning short APDUs only; a reader
// without the property is taken to carry extended ones.
[[nodiscard]] std::size_t max_apdu_size(const CardHandle& card);

}  // namespace cac::pcsc
