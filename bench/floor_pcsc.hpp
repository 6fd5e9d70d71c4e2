// What the PC/SC floor programs (floor_readers.cpp, floor_watch.cpp) share: a failure
// message and the reader list. Header-only, as each floor is compiled on its own.
#pragma once

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <cstdio>
#include <string>
#include <vector>

namespace floor_pcsc {

inline int fail(const char* what, LONG rv) {
    std::fprintf(stderr, "%s failed: 0x%08lx\n", what, static_cast<unsigned long>(rv));
    return 1;
}

// The readers pcscd knows (size, then fill); empty when there are none or the call fails.
inline std::vector<std::string> list_readers(SCARDCONTEXT context) {
    std::vector<std::string> names;
    DWORD length = 0;
    if (SCardListReaders(context, nullptr, nullptr, &length) != SCARD_S_SUCCESS)
        return names;
    std::vector<char> buffer(length);
    if (SCardListReaders(context, nullptr, buffer.data(), &length) != SCARD_S_SUCCESS)
        return names;
    for (const char* name = buffer.data(); *name != '\0'; name += names.back().size() + 1)
        names.emplace_back(name);
    return names;
}

}  // namespace floor_pcsc
