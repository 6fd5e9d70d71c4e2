// diag's PC/SC checks: is pcscd there, which readers it has, and the card in each.
#include <pcsclite.h>

#include "cli/diag.hpp"
#include "cli/reader_selection.hpp"
#include "core/card/atr_identify.hpp"
#include "core/pcsc/card_handle.hpp"
#include "core/util/hex.hpp"

namespace cac::cli {
namespace {

constexpr const char* kNoPcscd = "pcscd is not reachable (see the pcscd check)";

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

// A shared connection is what every PKCS#11 module asks for; the reader refusing it
// means another process holds the card exclusively.
void check_card_access(DiagState& state, const pcsc::Reader& reader, const std::string& about) {
    try {
        pcsc::CardHandle handle(*state.pcsc, reader.name, pcsc::ShareMode::shared);
        state.report("card_access", CheckStatus::pass, "the card accepts a shared connection", {},
                     reader.name);
    } catch (const Error& e) {
        if (e.is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_SHARING_VIOLATION))) {
            state.report("card_access", CheckStatus::fail,
                         "another process holds the card exclusively (" + about + ")",
                         "close the program holding the card (a browser, a PIV tool, another "
                         "middleware), or unplug and re-insert the card",
                         reader.name);
        } else {
            state.report("card_access", CheckStatus::fail, e.message(), e.hint(), reader.name);
        }
    }
}

}  // namespace

void check_pcscd(DiagState& state) {
    try {
        state.pcsc.emplace();
        state.report("pcscd", CheckStatus::pass, "pcscd answers");
    } catch (const Error& e) {
        if (e.is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_NO_SERVICE))) {
            state.report("pcscd", CheckStatus::fail, "pcscd is not running or not reachable",
                         "start pcscd ('systemctl start pcscd.socket', or 'pcscd' as root); if "
                         "PCSCLITE_CSOCK_NAME is set, check it names pcscd's socket");
        } else {
            state.report("pcscd", CheckStatus::fail, e.message(), e.hint());
        }
    }
}

void check_readers(DiagState& state) {
    if (!state.pcsc) {
        state.report("readers", CheckStatus::skip, kNoPcscd);
        return;
    }
    try {
        state.readers = pcsc::read_readers(*state.pcsc);
    } catch (const Error& e) {
        state.report("readers", CheckStatus::fail, e.message(), e.hint());
        return;
    }
    if (state.readers->empty()) {
        state.report("readers", CheckStatus::fail, "pcscd sees no reader",
                     "connect a reader; if it is connected, check that its driver is installed "
                     "(libccid for most USB readers) and look at pcscd's log");
        return;
    }
    std::vector<std::string> names;
    for (const pcsc::Reader& reader : *state.readers)
        names.push_back(reader.name);
    const std::string& wanted = state.ctx.options.reader;
    if (wanted.empty()) {
        state.report("readers", CheckStatus::pass,
                     std::to_string(names.size()) + " reader" + (names.size() == 1 ? "" : "s") +
                         ": " + joined(names));
        return;
    }
    // --reader narrows every later check to the one reader, as it does for the other
    // subcommands; naming none is what is wrong with this workstation, so a failed check.
    try {
        std::string chosen = select_reader(names, wanted);
        std::erase_if(*state.readers, [&](const pcsc::Reader& r) { return r.name != chosen; });
        state.report("readers", CheckStatus::pass,
                     "reader " + chosen + " (--reader; pcscd lists " +
                         std::to_string(names.size()) + ": " + joined(names) + ")");
    } catch (const Error& e) {
        state.readers->clear();
        state.report("readers", CheckStatus::fail, e.message(),
                     "--reader takes a reader's index, its name, or a part of the name found in "
                     "one name only; 'cactool readers' lists them");
    }
}

void check_cards(DiagState& state) {
    if (!state.readers || state.readers->empty()) {
        state.report("card", CheckStatus::skip, state.pcsc ? "no reader to hold a card" : kNoPcscd);
        return;
    }
    AtrIdentifier identifier;
    bool any = false;
    for (const pcsc::Reader& reader : *state.readers) {
        if (reader.atr.empty() && reader.state != pcsc::ReaderState::mute)
            continue;
        any = true;
        if (reader.state == pcsc::ReaderState::mute) {
            state.report("card", CheckStatus::fail, "the card does not answer (mute)",
                         "take the card out and put it back the right way round; clean its "
                         "contacts; try another reader",
                         reader.name);
            continue;
        }
        CardIdentity identity = identifier.identify(reader.atr);
        std::string about = "ATR " + to_hex(reader.atr) + ", " + identity.type;
        if (!identity.identified_as.empty())
            about += ": " + identity.identified_as.front();
        state.report("card", CheckStatus::pass, about, {}, reader.name);
        check_card_access(state, reader, std::string(pcsc::to_string(reader.state)));
    }
    if (!any) {
        state.report("card", CheckStatus::fail, "no card in any reader",
                     "insert the card (chip first, contacts up) and check that the reader's "
                     "light shows it");
    }
}

}  // namespace cac::cli
