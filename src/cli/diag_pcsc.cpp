// diag's PC/SC checks: is pcscd there, which readers it has, and the card in each.
#include "cli/diag.hpp"
#include "cli/reader_selection.hpp"
#include "core/card/atr_identify.hpp"
#include "core/pcsc/card_handle.hpp"
#include "core/util/hex.hpp"

namespace cac::cli {
namespace {

constexpr const char* kNoPcscd = "pcscd is not reachable (see the pcscd check)";

// The card in `reader` takes a shared connection, as every PKCS#11 module asks for one.
void check_card_access(DiagState& state, const pcsc::Reader& reader, const std::string& about) {
    try {
        pcsc::CardHandle handle(*state.pcsc, reader.name, pcsc::ShareMode::shared);
        report(state, judge_card_access(nullptr, reader.name, about));
    } catch (const Error& e) {
        report(state, judge_card_access(&e, reader.name, about));
    }
}

}  // namespace

void check_pcscd(DiagState& state) {
    try {
        state.pcsc.emplace();
        report(state, judge_pcscd(nullptr));
    } catch (const Error& e) {
        report(state, judge_pcscd(&e));
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
    std::vector<std::string> names;
    for (const pcsc::Reader& reader : *state.readers)
        names.push_back(reader.name);
    const std::string& wanted = state.ctx.options.reader;
    if (names.empty() || wanted.empty()) {
        report(state, judge_readers(names));
        return;
    }
    // --reader narrows every later check to the one reader, as it does for the other
    // subcommands; naming none is what is wrong with this workstation, so a failed check.
    try {
        std::string chosen = select_reader(names, wanted);
        std::erase_if(*state.readers, [&](const pcsc::Reader& r) { return r.name != chosen; });
        state.report(
            "readers", CheckStatus::pass,
            "reader " + chosen + " (--reader; pcscd lists " + judge_readers(names).message + ")");
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
