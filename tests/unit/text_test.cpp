#include <doctest/doctest.h>

#include <cstring>

#include "core/util/text.hpp"

using namespace cac;

namespace {

// A 32-byte CK_TOKEN_INFO label filled the way a given module fills it.
struct Label {
    unsigned char bytes[32];
    explicit Label(const char* content, char pad, bool left = false) {
        std::memset(bytes, pad, sizeof bytes);
        std::size_t n = std::strlen(content);
        std::memcpy(bytes + (left ? sizeof bytes - n : 0), content, n);
    }
};

}  // namespace

TEST_CASE("padded token labels read the same however a module pads them") {
    CHECK(fixed_field_text(Label("PIV_II", ' ').bytes) == "PIV_II");
    CHECK(fixed_field_text(Label("PIV_II", ' ', true).bytes) == "PIV_II");
    CHECK(fixed_field_text(Label("PIV_II", '\0').bytes) == "PIV_II");
}

TEST_CASE("a field that uses every byte is read without running past it") {
    struct {
        unsigned char label[16];
        unsigned char after[4] = {'X', 'X', 'X', 'X'};
    } info;
    std::memcpy(info.label, "ABCDEFGHIJKLMNOP", 16);
    CHECK(fixed_field_text(info.label) == "ABCDEFGHIJKLMNOP");
}

TEST_CASE("invalid UTF-8 is replaced, valid UTF-8 is kept") {
    CHECK(sanitize_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(sanitize_utf8("a\xff"
                        "b") ==
          "a\xef\xbf\xbd"
          "b");
    CHECK(sanitize_utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '/'
    CHECK(sanitize_utf8("\xed\xa0\x80").find("\xef\xbf\xbd") == 0);  // surrogate
    CHECK(sanitize_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");  // truncated
}

TEST_CASE("a field of blanks is empty") {
    CHECK(fixed_field_text(Label("", ' ').bytes).empty());
}

TEST_CASE("printable text escapes what could steer a terminal") {
    CHECK(printable_text("PIV_II") == "PIV_II");
    CHECK(printable_text("a\x1b[31mb") == "a\\x1b[31mb");
    CHECK(printable_text("one\ntwo\tthree\x7f") == "one\\x0atwo\\x09three\\x7f");
    CHECK(printable_text("\xc2\x9b"
                         "2J") == "\\x9b2J");  // C1 CSI, as UTF-8
    CHECK(printable_text("J\xc3\xb6rg") == "J\xc3\xb6rg");
    CHECK(printable_text("\xff") == "\xef\xbf\xbd");
}
