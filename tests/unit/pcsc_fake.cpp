#include "pcsc_fake.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace cac::test {
namespace {

FakePcsc* active = nullptr;

std::string multi_string(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names)
        text += name + '\0';
    return text + '\0';
}

LONG establish(DWORD, LPCVOID, LPCVOID, LPSCARDCONTEXT context) {
    FakePcsc& fake = FakePcsc::current();
    LONG rv = SCARD_S_SUCCESS;
    if (!fake.establish_results.empty()) {
        rv = fake.establish_results.front();
        fake.establish_results.pop_front();
    }
    if (rv == SCARD_S_SUCCESS)
        *context = ++fake.established;
    return rv;
}

LONG release(SCARDCONTEXT) {
    ++FakePcsc::current().released;
    return SCARD_S_SUCCESS;
}

LONG is_valid(SCARDCONTEXT) {
    return SCARD_S_SUCCESS;
}

LONG answer_list(FakePcsc& fake, LPSTR buffer, LPDWORD length) {
    if (fake.readers.empty())
        return SCARD_E_NO_READERS_AVAILABLE;
    std::string text = multi_string(fake.readers);
    if (buffer == nullptr) {
        *length = DWORD(text.size());
        return SCARD_S_SUCCESS;
    }
    if (*length < text.size()) {
        *length = DWORD(text.size());
        return SCARD_E_INSUFFICIENT_BUFFER;
    }
    std::memcpy(buffer, text.data(), text.size());
    *length = DWORD(text.size());
    return SCARD_S_SUCCESS;
}

LONG list_readers(SCARDCONTEXT, LPCSTR, LPSTR buffer, LPDWORD length) {
    FakePcsc& fake = FakePcsc::current();
    LONG rv = answer_list(fake, buffer, length);
    int call = fake.list_calls++;
    if (fake.after_list)
        fake.after_list(call);
    return rv;
}

void answer_entry(FakePcsc& fake, const StatusStep& step, SCARD_READERSTATE& entry) {
    std::string name = entry.szReader;
    auto event = step.events.find(name);
    auto atr = step.atrs.find(name);
    entry.cbAtr = 0;
    if (atr != step.atrs.end()) {
        std::memcpy(entry.rgbAtr, atr->second.data(), atr->second.size());
        entry.cbAtr = DWORD(atr->second.size());
    }
    if (event != step.events.end()) {
        entry.dwEventState = event->second;
    } else if (name == pnp_notification) {
        entry.dwEventState = 0;
    } else if (std::find(fake.readers.begin(), fake.readers.end(), name) == fake.readers.end()) {
        entry.dwEventState = SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE | SCARD_STATE_CHANGED;
    } else {
        entry.dwEventState = entry.dwCurrentState & ~DWORD(SCARD_STATE_CHANGED);
    }
}

LONG get_status_change(SCARDCONTEXT, DWORD timeout, SCARD_READERSTATE* states, DWORD count) {
    FakePcsc& fake = FakePcsc::current();
    std::vector<std::pair<std::string, DWORD>> current;
    for (DWORD i = 0; i < count; ++i)
        current.emplace_back(states[i].szReader, states[i].dwCurrentState);
    fake.waits.push_back(current);
    fake.wait_timeouts.push_back(timeout);
    if (fake.steps.empty())
        return SCARD_E_TIMEOUT;
    StatusStep step = fake.steps.front();
    fake.steps.pop_front();
    if (step.before)
        step.before();
    if (step.rv != SCARD_S_SUCCESS)
        return step.rv;
    for (DWORD i = 0; i < count; ++i)
        answer_entry(fake, step, states[i]);
    return SCARD_S_SUCCESS;
}

LONG cancel(SCARDCONTEXT) {
    ++FakePcsc::current().cancels;
    return SCARD_S_SUCCESS;
}

// The next result of a queue, or success when it is empty.
LONG next_result(std::deque<LONG>& results) {
    if (results.empty())
        return SCARD_S_SUCCESS;
    LONG rv = results.front();
    results.pop_front();
    return rv;
}

LONG connect(SCARDCONTEXT, LPCSTR, DWORD, DWORD, LPSCARDHANDLE card, LPDWORD protocol) {
    FakePcsc& fake = FakePcsc::current();
    LONG rv = next_result(fake.connect_results);
    if (rv == SCARD_S_SUCCESS)
        rv = fake.connect_rv;
    if (rv != SCARD_S_SUCCESS)
        return rv;
    ++fake.connects;
    *card = 7;
    *protocol = fake.active_protocol;
    return SCARD_S_SUCCESS;
}

LONG reconnect(SCARDHANDLE, DWORD, DWORD, DWORD initialization, LPDWORD protocol) {
    FakePcsc& fake = FakePcsc::current();
    fake.reconnects.push_back(initialization);
    if (LONG rv = next_result(fake.reconnect_results); rv != SCARD_S_SUCCESS)
        return rv;
    *protocol = fake.active_protocol;
    return SCARD_S_SUCCESS;
}

LONG disconnect(SCARDHANDLE, DWORD disposition) {
    FakePcsc::current().dispositions.push_back(disposition);
    return SCARD_S_SUCCESS;
}

LONG status(SCARDHANDLE, LPSTR name, LPDWORD name_length, LPDWORD state, LPDWORD protocol,
            LPBYTE atr, LPDWORD atr_length) {
    FakePcsc& fake = FakePcsc::current();
    std::string text = multi_string({fake.status_reader});
    if (*name_length < text.size() || *atr_length < fake.atr.size())
        return SCARD_E_INSUFFICIENT_BUFFER;
    std::memcpy(name, text.data(), text.size());
    *name_length = DWORD(text.size());
    *state = fake.card_state;
    *protocol = fake.active_protocol;
    std::memcpy(atr, fake.atr.data(), fake.atr.size());
    *atr_length = DWORD(fake.atr.size());
    return SCARD_S_SUCCESS;
}

LONG transmit(SCARDHANDLE, const SCARD_IO_REQUEST* pci, LPCBYTE send, DWORD send_length,
              SCARD_IO_REQUEST*, LPBYTE recv, LPDWORD recv_length) {
    FakePcsc& fake = FakePcsc::current();
    fake.send_pcis.push_back(pci);
    fake.sent.emplace_back(send, send + send_length);
    if (LONG rv = next_result(fake.transmit_results); rv != SCARD_S_SUCCESS)
        return rv;
    if (*recv_length < fake.response.size())
        return SCARD_E_INSUFFICIENT_BUFFER;
    std::memcpy(recv, fake.response.data(), fake.response.size());
    *recv_length = DWORD(fake.response.size());
    return SCARD_S_SUCCESS;
}

LONG control(SCARDHANDLE, DWORD code, LPCVOID, DWORD, LPVOID recv, DWORD recv_length,
             LPDWORD returned) {
    FakePcsc& fake = FakePcsc::current();
    auto found = fake.controls.find(code);
    if (found == fake.controls.end())
        return SCARD_E_UNSUPPORTED_FEATURE;
    const auto& [rv, answer] = found->second;
    if (rv != SCARD_S_SUCCESS)
        return rv;
    if (recv_length < answer.size())
        return SCARD_E_INSUFFICIENT_BUFFER;
    std::memcpy(recv, answer.data(), answer.size());
    *returned = DWORD(answer.size());
    return SCARD_S_SUCCESS;
}

LONG begin_transaction(SCARDHANDLE) {
    FakePcsc& fake = FakePcsc::current();
    if (LONG rv = next_result(fake.begin_results); rv != SCARD_S_SUCCESS)
        return rv;
    ++fake.transactions_begun;
    return SCARD_S_SUCCESS;
}

LONG end_transaction(SCARDHANDLE, DWORD disposition) {
    FakePcsc::current().transaction_ends.push_back(disposition);
    return SCARD_S_SUCCESS;
}

LONG get_attrib(SCARDHANDLE, DWORD, LPBYTE, LPDWORD) {
    return SCARD_E_UNSUPPORTED_FEATURE;
}

}  // namespace

FakePcsc::FakePcsc() {
    assert(active == nullptr);
    active = this;
    functions = {establish, release, is_valid,          list_readers,    get_status_change,
                 cancel,    connect, reconnect,         disconnect,      status,
                 transmit,  control, begin_transaction, end_transaction, get_attrib};
}

FakePcsc::~FakePcsc() {
    active = nullptr;
}

FakePcsc& FakePcsc::current() {
    assert(active != nullptr);
    return *active;
}

}  // namespace cac::test
