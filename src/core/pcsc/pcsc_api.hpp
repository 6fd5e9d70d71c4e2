// The seam over pcsc-lite.
//
// Every PC/SC call cactool makes goes through one method of `PcscApi`. That gives one
// place to trace calls (arguments, result and duration), and lets unit tests hand in a
// table of functions of their own that answers as pcscd has been seen to answer:
// readers appearing between two calls, the service going away mid-wait, an event
// counter that moved while the caller was not looking. The methods return the LONG
// unchanged; what a code means is for the caller to decide, because the same code is
// routine in one place (SCARD_E_TIMEOUT from a wait) and a failure in another.
#pragma once

#include <winscard.h>

#include <cstdint>
#include <span>
#include <string>

namespace cac::pcsc {

// The pcsc-lite functions cactool uses, with their own prototypes.
struct PcscFunctions {
    LONG(*establish_context)
    (DWORD scope, LPCVOID reserved1, LPCVOID reserved2, LPSCARDCONTEXT context);
    LONG (*release_context)(SCARDCONTEXT context);
    LONG (*is_valid_context)(SCARDCONTEXT context);
    LONG (*list_readers)(SCARDCONTEXT context, LPCSTR groups, LPSTR readers, LPDWORD length);
    LONG(*get_status_change)
    (SCARDCONTEXT context, DWORD timeout, SCARD_READERSTATE* states, DWORD count);
    LONG (*cancel)(SCARDCONTEXT context);
    LONG(*connect)
    (SCARDCONTEXT context, LPCSTR reader, DWORD share_mode, DWORD protocols, LPSCARDHANDLE card,
     LPDWORD active_protocol);
    LONG(*reconnect)
    (SCARDHANDLE card, DWORD share_mode, DWORD protocols, DWORD initialization,
     LPDWORD active_protocol);
    LONG (*disconnect)(SCARDHANDLE card, DWORD disposition);
    LONG(*status)
    (SCARDHANDLE card, LPSTR reader_name, LPDWORD reader_length, LPDWORD state, LPDWORD protocol,
     LPBYTE atr, LPDWORD atr_length);
    LONG(*transmit)
    (SCARDHANDLE card, const SCARD_IO_REQUEST* send_pci, LPCBYTE send, DWORD send_length,
     SCARD_IO_REQUEST* recv_pci, LPBYTE recv, LPDWORD recv_length);
    LONG(*control)
    (SCARDHANDLE card, DWORD code, LPCVOID send, DWORD send_length, LPVOID recv, DWORD recv_length,
     LPDWORD returned);
    LONG (*begin_transaction)(SCARDHANDLE card);
    LONG (*end_transaction)(SCARDHANDLE card, DWORD disposition);
    LONG (*get_attrib)(SCARDHANDLE card, DWORD attribute, LPBYTE value, LPDWORD length);
};

// libpcsclite's own functions.
const PcscFunctions& libpcsclite_functions();

// "SCARD_E_NO_SMARTCARD"; "SCARD_0x80100099" for a value pcsc-lite does not define.
std::string scard_name(LONG rv);
// One line saying what the code means: "there is no card in the reader".
std::string scard_meaning(LONG rv);
// "SCARD_STATE_PRESENT|SCARD_STATE_INUSE, events 3" for a dwEventState, for traces.
std::string reader_state_text(DWORD state);

// Throws Error(ErrorDomain::pcsc, rv, operation) unless rv is SCARD_S_SUCCESS.
void check_scard(LONG rv, const char* operation);

// A non-owning view of a function table; copy it freely. Default: libpcsclite's.
class PcscApi {
  public:
    PcscApi() : fn_(&libpcsclite_functions()) {}
    explicit PcscApi(const PcscFunctions* functions) : fn_(functions) {}

    const PcscFunctions& functions() const { return *fn_; }

    LONG establish_context(DWORD scope, SCARDCONTEXT* context) const;
    LONG release_context(SCARDCONTEXT context) const;
    LONG is_valid_context(SCARDCONTEXT context) const;
    LONG list_readers(SCARDCONTEXT context, char* readers, DWORD* length) const;
    LONG get_status_change(SCARDCONTEXT context, DWORD timeout, SCARD_READERSTATE* states,
                           DWORD count) const;
    LONG cancel(SCARDCONTEXT context) const;
    LONG connect(SCARDCONTEXT context, const char* reader, DWORD share_mode, DWORD protocols,
                 SCARDHANDLE* card, DWORD* active_protocol) const;
    LONG reconnect(SCARDHANDLE card, DWORD share_mode, DWORD protocols, DWORD initialization,
                   DWORD* active_protocol) const;
    LONG disconnect(SCARDHANDLE card, DWORD disposition) const;
    LONG status(SCARDHANDLE card, char* reader_name, DWORD* reader_length, DWORD* state,
                DWORD* protocol, BYTE* atr, DWORD* atr_length) const;
    // `send` is traced in full unless it is a VERIFY, CHANGE REFERENCE DATA or RESET RETRY
    // COUNTER command, whose data (PINs, PUKs) is masked.
    LONG transmit(SCARDHANDLE card, const SCARD_IO_REQUEST* send_pci,
                  std::span<const std::uint8_t> send, SCARD_IO_REQUEST* recv_pci, BYTE* recv,
                  DWORD* recv_length) const;
    LONG control(SCARDHANDLE card, DWORD code, std::span<const std::uint8_t> send, BYTE* recv,
                 DWORD recv_capacity, DWORD* returned) const;
    LONG begin_transaction(SCARDHANDLE card) const;
    LONG end_transaction(SCARDHANDLE card, DWORD disposition) const;
    LONG get_attrib(SCARDHANDLE card, DWORD attribute, BYTE* value, DWORD* length) const;

  private:
    const PcscFunctions* fn_;
};

// The hex of a command APDU as traces show it. A command that carries a PIN (VERIFY,
// CHANGE REFERENCE DATA, RESET RETRY COUNTER: INS 20, 24, 2C) shows its header only,
// with everything after it, Lc included, as "<masked>": not even the PIN's length.
std::string apdu_trace_text(std::span<const std::uint8_t> command);

}  // namespace cac::pcsc
