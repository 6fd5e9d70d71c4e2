#include "core/pcsc/card_handle.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace cac::pcsc {
namespace {

const SCARD_IO_REQUEST* pci_for(DWORD protocol) {
    switch (protocol) {
        case SCARD_PROTOCOL_T0:
            return SCARD_PCI_T0;
        case SCARD_PROTOCOL_T1:
            return SCARD_PCI_T1;
        case SCARD_PROTOCOL_RAW:
            return SCARD_PCI_RAW;
        default:
            return nullptr;
    }
}

// The first name of the multi-string SCardStatus answers with.
std::string first_name(const std::vector<char>& names, DWORD length) {
    auto list = parse_multi_string({names.data(), std::min<std::size_t>(length, names.size())});
    return list.empty() ? std::string() : list.front();
}

}  // namespace

std::string protocol_name(DWORD protocol) {
    switch (protocol) {
        case SCARD_PROTOCOL_T0:
            return "T=0";
        case SCARD_PROTOCOL_T1:
            return "T=1";
        case SCARD_PROTOCOL_RAW:
            return "raw";
        case SCARD_PROTOCOL_UNDEFINED:
            return "none";
        default:
            return "unknown";
    }
}

CardHandle::CardHandle(const Context& context, std::string reader, ShareMode share, DWORD preferred,
                       Disposition on_close)
    : api_(context.api()), reader_(std::move(reader)), on_close_(on_close) {
    LONG rv = api_.connect(context.handle(), reader_.c_str(), DWORD(share), preferred, &handle_,
                           &protocol_);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "connect to the card");
    owned_ = true;
}

CardHandle::~CardHandle() {
    disconnect();
}

CardHandle::CardHandle(CardHandle&& other) noexcept
    : api_(other.api_),
      reader_(std::move(other.reader_)),
      handle_(other.handle_),
      protocol_(other.protocol_),
      on_close_(other.on_close_),
      owned_(std::exchange(other.owned_, false)) {}

CardHandle& CardHandle::operator=(CardHandle&& other) noexcept {
    if (this != &other) {
        disconnect();
        api_ = other.api_;
        reader_ = std::move(other.reader_);
        handle_ = other.handle_;
        protocol_ = other.protocol_;
        on_close_ = other.on_close_;
        owned_ = std::exchange(other.owned_, false);
    }
    return *this;
}

void CardHandle::disconnect() noexcept {
    if (!owned_)
        return;
    owned_ = false;
    LONG rv = api_.disconnect(handle_, DWORD(on_close_));
    if (rv != SCARD_S_SUCCESS)
        log::debug("pcsc",
                   "failed to disconnect from the card in \"" + reader_ + "\": " + scard_name(rv));
}

Error CardHandle::failure(LONG rv, std::string operation) const {
    Error error(ErrorDomain::pcsc, std::uint32_t(rv), std::move(operation));
    ErrorContext where;
    where.reader = reader_;
    error.with_context(where);
    return error;
}

void CardHandle::reconnect(ShareMode share, DWORD preferred, Disposition initialization) {
    LONG rv = api_.reconnect(handle_, DWORD(share), preferred, DWORD(initialization), &protocol_);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "reconnect to the card");
}

CardStatus CardHandle::status() const {
    std::vector<char> names(MAX_READERNAME + 2);
    DWORD names_length = DWORD(names.size());
    BYTE atr[MAX_ATR_SIZE];
    DWORD atr_length = sizeof atr;
    CardStatus status;
    LONG rv = api_.status(handle_, names.data(), &names_length, &status.state, &status.protocol,
                          atr, &atr_length);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "read the card's status");
    status.reader = first_name(names, names_length);
    status.atr.assign(atr, atr + std::min<DWORD>(atr_length, sizeof atr));
    status.absent = status.state & SCARD_ABSENT;
    status.present = status.state & SCARD_PRESENT;
    status.swallowed = status.state & SCARD_SWALLOWED;
    status.powered = status.state & SCARD_POWERED;
    status.negotiable = status.state & SCARD_NEGOTIABLE;
    status.specific = status.state & SCARD_SPECIFIC;
    return status;
}

Bytes CardHandle::transmit(std::span<const std::uint8_t> command) const {
    const SCARD_IO_REQUEST* pci = pci_for(protocol_);
    if (pci == nullptr)
        throw failure(SCARD_E_PROTO_MISMATCH, "transmit to the card");
    // Room for the longest answer, left uninitialised: zeroing 64 KiB for every APDU cost
    // more than the rest of an exchange put together, and only `length` bytes are read.
    constexpr std::size_t capacity = MAX_BUFFER_SIZE_EXTENDED;
    auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
    DWORD length = DWORD(capacity);
    LONG rv = api_.transmit(handle_, pci, command, nullptr, buffer.get(), &length);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "transmit to the card");
    return Bytes(buffer.get(), buffer.get() + std::min<std::size_t>(length, capacity));
}

Bytes CardHandle::control(DWORD code, std::span<const std::uint8_t> input,
                          std::size_t max_answer) const {
    Bytes answer(max_answer);
    DWORD returned = 0;
    LONG rv = api_.control(handle_, code, input, answer.data(), DWORD(answer.size()), &returned);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "send a control code to the reader");
    answer.resize(std::min<std::size_t>(returned, answer.size()));
    return answer;
}

Bytes CardHandle::get_attrib(DWORD attribute) const {
    DWORD length = 0;
    LONG rv = api_.get_attrib(handle_, attribute, nullptr, &length);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "read a reader attribute");
    Bytes value(length);
    rv = api_.get_attrib(handle_, attribute, value.data(), &length);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "read a reader attribute");
    value.resize(std::min<std::size_t>(length, value.size()));
    return value;
}

Transaction CardHandle::begin_transaction() const {
    LONG rv = api_.begin_transaction(handle_);
    if (rv != SCARD_S_SUCCESS)
        throw failure(rv, "begin a transaction");
    return Transaction(api_, handle_);
}

Transaction::Transaction(Transaction&& other) noexcept
    : api_(other.api_), handle_(other.handle_), active_(std::exchange(other.active_, false)) {}

Transaction::~Transaction() {
    if (!active_)
        return;
    LONG rv = api_.end_transaction(handle_, SCARD_LEAVE_CARD);
    // A removed or reset card has ended the transaction already.
    if (rv != SCARD_S_SUCCESS)
        log::debug("pcsc", "failed to end the transaction: " + scard_name(rv));
}

void Transaction::end(Disposition disposition) {
    if (!active_)
        return;
    active_ = false;
    check_scard(api_.end_transaction(handle_, DWORD(disposition)), "end a transaction");
}

}  // namespace cac::pcsc
