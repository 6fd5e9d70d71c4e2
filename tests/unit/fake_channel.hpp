// A card channel for unit tests: replays scripted answers in order and records every
// APDU it was sent. Once the answers run out it throws as a card pulled out would
// (SCARD_W_REMOVED_CARD).
#pragma once

#include <deque>
#include <span>
#include <vector>

#include "core/apdu/exchange.hpp"

namespace cac::test {

class FakeChannel : public CardChannel {
  public:
    explicit FakeChannel(std::deque<Bytes> answers) : answers_(std::move(answers)) {}

    Bytes transmit(std::span<const std::uint8_t> apdu) override {
        sent.emplace_back(apdu.begin(), apdu.end());
        if (answers_.empty())
            throw Error(ErrorDomain::pcsc, 0x80100069 /* SCARD_W_REMOVED_CARD */, "SCardTransmit",
                        "card removed");
        Bytes answer = answers_.front();
        answers_.pop_front();
        return answer;
    }

    std::vector<Bytes> sent;

  private:
    std::deque<Bytes> answers_;
};

}  // namespace cac::test
