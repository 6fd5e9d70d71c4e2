// The floor for `cactool apdu --script`: the least work that sends APDUs through pcscd.
//
//   floor_apdu READER COUNT HEX
//
// Connects to READER, sends the command HEX (no spaces) COUNT times with SCardTransmit
// inside one transaction, and prints the last answer. No parsing of scripts, no status
// word meanings, no output per exchange: what cactool spends beyond this is its features.
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::vector<unsigned char> from_hex(const std::string& text) {
    std::vector<unsigned char> bytes;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        bytes.push_back(static_cast<unsigned char>(std::stoi(text.substr(i, 2), nullptr, 16)));
    return bytes;
}

int fail(const char* what, LONG rv) {
    std::fprintf(stderr, "%s failed: 0x%08lx\n", what, static_cast<unsigned long>(rv));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: floor_apdu READER COUNT HEX\n");
        return 2;
    }
    const long count = std::strtol(argv[2], nullptr, 10);
    const std::vector<unsigned char> command = from_hex(argv[3]);
    SCARDCONTEXT context = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardEstablishContext", rv);
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    rv = SCardConnect(context, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                      &card, &protocol);
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardConnect", rv);
    const SCARD_IO_REQUEST* pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    SCardBeginTransaction(card);
    unsigned char answer[258];
    DWORD length = 0;
    for (long i = 0; i < count; ++i) {
        length = sizeof answer;
        rv = SCardTransmit(card, pci, command.data(), static_cast<DWORD>(command.size()), nullptr,
                           answer, &length);
        if (rv != SCARD_S_SUCCESS)
            return fail("SCardTransmit", rv);
    }
    SCardEndTransaction(card, SCARD_LEAVE_CARD);
    for (DWORD i = 0; i < length; ++i)
        std::printf("%02x", answer[i]);
    std::printf("\n");
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(context);
    return 0;
}
