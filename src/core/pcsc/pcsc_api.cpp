#include "core/pcsc/pcsc_api.hpp"

#include <array>
#include <cstdio>

#include "core/apdu/command.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"
#include "core/util/log.hpp"
#include "core/util/traced_call.hpp"

namespace cac::pcsc {
namespace {

const PcscFunctions libpcsclite = {
    SCardEstablishContext, SCardReleaseContext, SCardIsValidContext, SCardListReaders,
    SCardGetStatusChange,  SCardCancel,         SCardConnect,        SCardReconnect,
    SCardDisconnect,       SCardStatus,         SCardTransmit,       SCardControl,
    SCardBeginTransaction, SCardEndTransaction, SCardGetAttrib,
};

struct NamedBit {
    DWORD bit;
    const char* name;
};

constexpr std::array state_bits = {
    NamedBit{SCARD_STATE_IGNORE, "IGNORE"},       NamedBit{SCARD_STATE_CHANGED, "CHANGED"},
    NamedBit{SCARD_STATE_UNKNOWN, "UNKNOWN"},     NamedBit{SCARD_STATE_UNAVAILABLE, "UNAVAILABLE"},
    NamedBit{SCARD_STATE_EMPTY, "EMPTY"},         NamedBit{SCARD_STATE_PRESENT, "PRESENT"},
    NamedBit{SCARD_STATE_ATRMATCH, "ATRMATCH"},   NamedBit{SCARD_STATE_EXCLUSIVE, "EXCLUSIVE"},
    NamedBit{SCARD_STATE_INUSE, "INUSE"},         NamedBit{SCARD_STATE_MUTE, "MUTE"},
    NamedBit{SCARD_STATE_UNPOWERED, "UNPOWERED"},
};

std::string hex_text(unsigned long value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%lx", value);
    return text;
}

std::string out_text(const DWORD* value) {
    return value == nullptr ? std::string("NULL") : std::to_string(*value);
}

std::string protocol_text(DWORD protocol) {
    switch (protocol) {
        case SCARD_PROTOCOL_T0:
            return "T0";
        case SCARD_PROTOCOL_T1:
            return "T1";
        case SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1:
            return "T0|T1";
        case SCARD_PROTOCOL_RAW:
            return "RAW";
        default:
            return hex_text(protocol);
    }
}

// A call traced under "pcsc", its result spelled by scard_name().
class Traced {
  public:
    explicit Traced(const char* name) : call_("pcsc", name) {}

    template <typename Describe>
    LONG done(LONG rv, Describe&& describe) const {
        return call_.done(
            rv, [](auto code) { return scard_name(code); }, describe);
    }

  private:
    log::TracedCall call_;
};

bool carries_pin(std::span<const std::uint8_t> command) {
    if (command.size() <= 5)
        return false;  // no data field: cases 1 and 2 carry no PIN
    return carries_secret(command[1]);
}

}  // namespace

const PcscFunctions& libpcsclite_functions() {
    return libpcsclite;
}

std::string scard_name(LONG rv) {
    return code_name(ErrorDomain::pcsc, std::uint32_t(rv));
}

std::string scard_meaning(LONG rv) {
    return std::string(lookup_taxonomy(ErrorDomain::pcsc, std::uint32_t(rv)).meaning);
}

std::string reader_state_text(DWORD state) {
    std::string text;
    for (const auto& entry : state_bits) {
        if ((state & entry.bit) == 0)
            continue;
        text += text.empty() ? "" : "|";
        text += entry.name;
    }
    if (text.empty())
        text = "UNAWARE";
    return text + ", events " + std::to_string((state >> 16) & 0xffff);
}

void check_scard(LONG rv, const char* operation) {
    if (rv != SCARD_S_SUCCESS)
        throw Error(ErrorDomain::pcsc, std::uint32_t(rv), operation);
}

std::string apdu_trace_text(std::span<const std::uint8_t> command) {
    if (!carries_pin(command))
        return to_hex(command);
    return to_hex(command.first(4)) + " <masked>";
}

LONG PcscApi::establish_context(DWORD scope, SCARDCONTEXT* context) const {
    Traced call("SCardEstablishContext");
    LONG rv = fn_->establish_context(scope, nullptr, nullptr, context);
    return call.done(rv, [&] {
        return "scope=" + std::to_string(scope) +
               ", context=" + (rv == SCARD_S_SUCCESS ? hex_text(*context) : "-");
    });
}

LONG PcscApi::release_context(SCARDCONTEXT context) const {
    Traced call("SCardReleaseContext");
    LONG rv = fn_->release_context(context);
    return call.done(rv, [&] { return hex_text(context); });
}

LONG PcscApi::is_valid_context(SCARDCONTEXT context) const {
    Traced call("SCardIsValidContext");
    LONG rv = fn_->is_valid_context(context);
    return call.done(rv, [&] { return hex_text(context); });
}

LONG PcscApi::list_readers(SCARDCONTEXT context, char* readers, DWORD* length) const {
    Traced call("SCardListReaders");
    LONG rv = fn_->list_readers(context, nullptr, readers, length);
    return call.done(rv, [&] {
        return hex_text(context) + ", readers=" + (readers == nullptr ? "NULL" : "buffer") +
               ", length=" + out_text(length);
    });
}

LONG PcscApi::get_status_change(SCARDCONTEXT context, DWORD timeout, SCARD_READERSTATE* states,
                                DWORD count) const {
    Traced call("SCardGetStatusChange");
    LONG rv = fn_->get_status_change(context, timeout, states, count);
    return call.done(rv, [&] {
        std::string text = hex_text(context) + ", timeout=" +
                           (timeout == INFINITE ? "INFINITE" : std::to_string(timeout));
        for (DWORD i = 0; i < count; ++i) {
            text += ", [\"" + std::string(states[i].szReader) +
                    "\" current=" + reader_state_text(states[i].dwCurrentState);
            if (rv == SCARD_S_SUCCESS)
                text += " event=" + reader_state_text(states[i].dwEventState);
            text += "]";
        }
        return text;
    });
}

LONG PcscApi::cancel(SCARDCONTEXT context) const {
    Traced call("SCardCancel");
    LONG rv = fn_->cancel(context);
    return call.done(rv, [&] { return hex_text(context); });
}

LONG PcscApi::connect(SCARDCONTEXT context, const char* reader, DWORD share_mode, DWORD protocols,
                      SCARDHANDLE* card, DWORD* active_protocol) const {
    Traced call("SCardConnect");
    LONG rv = fn_->connect(context, reader, share_mode, protocols, card, active_protocol);
    return call.done(rv, [&] {
        std::string text = hex_text(context) + ", \"" + reader +
                           "\", share=" + std::to_string(share_mode) +
                           ", protocols=" + protocol_text(protocols);
        if (rv == SCARD_S_SUCCESS)
            text += ", card=" + hex_text(*card) + ", active=" + protocol_text(*active_protocol);
        return text;
    });
}

LONG PcscApi::reconnect(SCARDHANDLE card, DWORD share_mode, DWORD protocols, DWORD initialization,
                        DWORD* active_protocol) const {
    Traced call("SCardReconnect");
    LONG rv = fn_->reconnect(card, share_mode, protocols, initialization, active_protocol);
    return call.done(rv, [&] {
        std::string text = hex_text(card) + ", share=" + std::to_string(share_mode) +
                           ", protocols=" + protocol_text(protocols) +
                           ", initialization=" + std::to_string(initialization);
        if (rv == SCARD_S_SUCCESS)
            text += ", active=" + protocol_text(*active_protocol);
        return text;
    });
}

LONG PcscApi::disconnect(SCARDHANDLE card, DWORD disposition) const {
    Traced call("SCardDisconnect");
    LONG rv = fn_->disconnect(card, disposition);
    return call.done(
        rv, [&] { return hex_text(card) + ", disposition=" + std::to_string(disposition); });
}

LONG PcscApi::status(SCARDHANDLE card, char* reader_name, DWORD* reader_length, DWORD* state,
                     DWORD* protocol, BYTE* atr, DWORD* atr_length) const {
    Traced call("SCardStatus");
    LONG rv = fn_->status(card, reader_name, reader_length, state, protocol, atr, atr_length);
    return call.done(rv, [&] {
        std::string text = hex_text(card);
        if (rv == SCARD_S_SUCCESS && state != nullptr && protocol != nullptr)
            text += ", state=" + hex_text(*state) + ", protocol=" + protocol_text(*protocol);
        if (rv == SCARD_S_SUCCESS && atr != nullptr && atr_length != nullptr)
            text += ", atr=" + to_hex({atr, std::min<std::size_t>(*atr_length, MAX_ATR_SIZE)});
        return text;
    });
}

LONG PcscApi::transmit(SCARDHANDLE card, const SCARD_IO_REQUEST* send_pci,
                       std::span<const std::uint8_t> send, SCARD_IO_REQUEST* recv_pci, BYTE* recv,
                       DWORD* recv_length) const {
    Traced call("SCardTransmit");
    DWORD capacity = *recv_length;
    LONG rv =
        fn_->transmit(card, send_pci, send.data(), DWORD(send.size()), recv_pci, recv, recv_length);
    return call.done(rv, [&] {
        std::string text = hex_text(card) + ", send=" + apdu_trace_text(send);
        if (rv == SCARD_S_SUCCESS)
            text += ", recv=" + to_hex({recv, std::min(*recv_length, capacity)});
        return text;
    });
}

LONG PcscApi::control(SCARDHANDLE card, DWORD code, std::span<const std::uint8_t> send, BYTE* recv,
                      DWORD recv_capacity, DWORD* returned) const {
    Traced call("SCardControl");
    LONG rv =
        fn_->control(card, code, send.data(), DWORD(send.size()), recv, recv_capacity, returned);
    return call.done(rv, [&] {
        std::string text = hex_text(card) + ", code=" + hex_text(code) + ", send=" + to_hex(send);
        if (rv == SCARD_S_SUCCESS)
            text += ", recv=" + to_hex({recv, std::min(*returned, recv_capacity)});
        return text;
    });
}

LONG PcscApi::begin_transaction(SCARDHANDLE card) const {
    Traced call("SCardBeginTransaction");
    LONG rv = fn_->begin_transaction(card);
    return call.done(rv, [&] { return hex_text(card); });
}

LONG PcscApi::end_transaction(SCARDHANDLE card, DWORD disposition) const {
    Traced call("SCardEndTransaction");
    LONG rv = fn_->end_transaction(card, disposition);
    return call.done(
        rv, [&] { return hex_text(card) + ", disposition=" + std::to_string(disposition); });
}

LONG PcscApi::get_attrib(SCARDHANDLE card, DWORD attribute, BYTE* value, DWORD* length) const {
    Traced call("SCardGetAttrib");
    DWORD capacity = *length;
    LONG rv = fn_->get_attrib(card, attribute, value, length);
    return call.done(rv, [&] {
        std::string text = hex_text(card) + ", attribute=" + hex_text(attribute);
        if (rv == SCARD_S_SUCCESS && value != nullptr)
            text += ", value=" + to_hex({value, std::min(*length, capacity)});
        return text;
    });
}

}  // namespace cac::pcsc
