// ATRs of the CAC and PIV cards cactool recognises without smartcard_list.txt.
//
// Gathered from pcsc-tools' smartcard_list.txt (entries naming CAC, DoD, PIV, FIPS 201 or
// carrying the PIV application identifier A0 00 00 03 08 in their historical bytes) and
// from ATRs quoted in public OpenSC and pcsc-tools reports. The names are cactool's own
// short descriptions.
//
// The type says which applications the card answers:
//   cac      a DoD Common Access Card of the generations before FIPS 201, with the
//            GSC-IS (CAC) applets only;
//   piv+cac  a CAC that also carries the PIV application (DoD cards since the
//            "PIV transitional" Oberthur and Gemalto generations: OpenSC, for one, finds
//            PIV on them), or a card its users describe as both;
//   piv      PIV and PIV-I cards and tokens with a PIV applet (YubiKey, PIVKey, ...).
#include "core/card/atr_identify.hpp"

namespace cac {
namespace {

constexpr KnownCard table[] = {
    // DoD Common Access Cards and other US department cards.
    {"3B 07 55 4E 4B 4E 4F 57 4E", "cac", "US DoD smart card"},
    {"3B 0F FF FF FF FF FF FF FF FF FF FF FF FF FF FF 80", "piv+cac",
     "CAC, Oberthur ID-One 128 v5.5a Dual"},
    {"3B 3B 02 6F 33 3B DB 96 00 80 1F 03 00 31 C0", "cac", "US Government CAC"},
    {"3B 65 00 00 9C 02 02 07 02", "cac", "DoD test CAC, Schlumberger/Axalto Cyberflex Access"},
    {"3B 6B 00 00 80 65 B0 83 01 04 74 83 00 90 00", "cac", "DoD CAC, Gemplus GXP3 64V2N"},
    {"3B 75 12 00 00 29 05 01 04 01", "cac", "DoD CAC, Axalto Cyberflex Access 64K V1"},
    {"3B 7D 11 00 00 00 31 80 71 8E 64 86 D6 01 00 81 90 00", "cac", "DoD CAC"},
    {"3B 7D 11 00 00 00 31 80 71 8E 64 86 D6 02 00 82 90 00", "cac",
     "DoD pilot CAC, Oberthur Galactic v1 32K"},
    {"3B 7D 96 00 00 80 31 80 65 B0 75 49 17 0F 83 00 90 00", "piv+cac",
     "DoD CAC, Gemalto TOP DL V2.1 144K"},
    {"3B 7D 96 00 00 80 31 80 65 B0 83 11 11 AC 83 00 90 00", "piv",
     "DHS TSA card, Gemalto GX4 72K"},
    {"3B 7D 96 00 00 80 31 80 65 B0 83 11 13 AC 83 00 90 00", "piv+cac",
     "DoD CAC, Gemalto GCX4 72K DI"},
    {"3B 7D 96 00 00 80 31 80 65 B0 83 11 17 D6 83 00 90 00", "piv+cac",
     "DoD CAC, Gemalto TOP DL GX4 144K"},
    {"3B 7F 11 00 00 00 31 C0 53 CA C4 01 64 52 D9 04 00 82 90 00", "cac",
     "DoD CAC, Oberthur CosmopolIC 32K V4"},
    {"3B 8F 80 01 80 91 E1 31 80 65 B0 83 11 11 AC 83 00 90 00 A6", "piv",
     "DHS TSA card, Gemalto GX4 72K (contactless)"},
    {"3B D6 96 00 81 B1 FE 45 1F 07 80 31 C1 52 11 18 F8", "piv", "NASA PIV card (2019)"},
    {"3B D6 96 00 81 B1 FE 45 1F 87 80 31 C1 52 21 19 49", "piv+cac", "DHS CAC card"},
    {"3B D6 97 00 81 B1 FE 45 1F 07 80 31 C1 52 11 18 F9", "piv",
     "NASA PIV card, IDEMIA Cosmo V8.0"},
    {"3B D6 97 00 81 B1 FE 45 1F 87 80 31 C1 52 21 19 48", "piv", "Department of State PIV card"},
    {"3B D8 18 00 80 1F 07 80 31 C1 64 08 06 92 0F DF", "piv+cac", "DoD CAC, IDEMIA Cosmo V8"},
    {"3B DB 96 00 80 1F 03 00 31 C0 64 77 E3 03 00 82 90 00 C1", "piv+cac",
     "DoD CAC, Oberthur ID-One Cosmo v5.2D (PIV transitional)"},
    {"3B DB 96 00 80 1F 03 00 31 C0 64 B0 F3 10 00 07 90 00 80", "piv+cac",
     "DoD CAC, Oberthur ID-One 128 v5.5 Dual"},
    {"3B DB 96 00 80 1F 03 00 31 C0 64 B0 F3 10 00 0F 90 00 88", "piv",
     "Department of Veterans Affairs PIV card"},
    {"3B DF 97 00 81 B1 FE 45 1F 83 80 73 CC 91 CB F9 A0 00 00 03 08 00 00 10 00 78", "piv",
     "NASA PIV card"},
    {"3B F9 96 00 00 80 31 FE 45 53 43 45 37 20 0F 00 20 46 4E", "piv",
     "DoD alternate token, G+D Sm@rtCafe Expert 7.0 (PIV only)"},
    {"3B FF 96 00 00 81 31 FE 45 80 F9 A0 00 00 03 08 00 00 10 00 53 45 4E 54 AC", "piv+cac",
     "CAC with PIV application"},

    // PIV and PIV-I cards.
    {"3B 7A 18 00 00 73 66 74 65 20 63 64 31 34 34", "piv+cac",
     "G+D Sm@rtCafe Expert v3.2 (PIV endpoint; CAC in PIV mode)"},
    {"3B 7D 96 00 00 80 31 80 65 B0 83 11 17 E5 83 00 90 00", "piv",
     "Gemalto IDPrime PIV Card 2.0"},
    {"3B 86 80 01 80 31 C1 52 11 18 2C", "piv", "IDEMIA Cosmo V8.0 PIV (contactless)"},
    {"3B 86 80 01 80 31 C1 52 41 1A 7E", "piv", "IDEMIA Cosmo V8.1 PIV (contactless)"},
    {"3B 88 80 01 00 00 00 11 77 81 83 00 6D", "piv", "Taglio PIVKey C980 (contactless)"},
    {"3B 89 80 01 53 50 49 56 4B 45 59 37 30 44", "piv", "Taglio PIVKey C980"},
    {"3B 8B 80 01 80 F9 A0 00 00 03 08 00 00 10 00 C8", "piv",
     "NXP JCOP3 SecID P60 PIV (contactless)"},
    {"3B 8C 80 01 90 67 46 4A 00 64 16 06 F2 72 7E 00 7C", "piv", "PIVKey C910"},
    {"3B 8F 80 01 80 73 CC 91 CB F9 A0 00 00 03 08 00 00 10 00 29", "piv", "NIST demo PIV card"},
    {"3B 8F 80 01 80 91 E1 31 80 65 B0 83 11 17 E5 83 00 90 00 E9", "piv",
     "Gemalto IDPrime PIV Card 2.0 (contactless)"},
    {"3B 94 18 81 B1 80 7D 1F 03 19 C8 00 50 DC", "piv", "GoldKey PIV token"},
    {"3B D6 97 00 81 B1 FE 45 1F 87 80 31 C1 52 21 1A 4B", "piv", "IDEMIA ID-One PIV 2.4"},
    {"3B D6 97 00 81 B1 FE 45 1F 87 80 31 C1 52 41 1A 2B", "piv",
     "IDEMIA ID-One PIV/CIV, Cosmo V8.1"},
    {"3B D9 18 FF 81 91 FE 1F C3 54 41 47 4C 49 4F 50 49 56 5B", "piv", "Taglio PIV C2190"},
    {"3B DB 96 00 80 B1 FE 45 1F 83 00 31 C0 64 B0 FC 10 00 0F 90 00 0D", "piv", "ID-One PIV"},
    {"3B DB 96 00 81 B1 FE 45 1F 03 80 F9 A0 00 00 03 08 00 00 10 00 18", "piv",
     "Oberthur PIV End Point v1.08"},
    {"3B DB 96 00 81 B1 FE 45 1F 83 80 F9 A0 00 00 03 08 00 00 10 00 98", "piv",
     "Oberthur Cosmo v7 128K PIV"},
    {"3B DD 18 FF 81 91 FE 1F C3 FF 4F 70 65 6E 50 68 79 73 69 63 61 6C F6", "piv",
     "Open Physical PIV-compatible card"},
    {"3B DF 96 00 81 B1 FE 45 1F 83 80 73 CC 91 CB F9 A0 00 00 03 08 00 00 10 00 79", "piv",
     "NIST test PIV card"},
    {"3B DF 96 FF 81 31 FE 45 80 59 01 80 50 49 56 43 4C 41 53 73 00 01 1B DE", "piv",
     "HID Global pivCLASS"},
    {"3B F8 13 00 00 81 31 FE 45 50 49 56 4B 45 59 37 30 FF", "piv", "PIVKey CP70"},
    {"3B F9 13 00 00 81 31 FE 45 53 50 49 56 4B 45 59 37 30 AD", "piv", "PIVKey T840"},
    {"3B F9 18 00 00 00 53 43 45 37 20 03 00 20 46", "piv", "G+D FIPS 201 SCE 7.0"},
    {"3B F9 96 00 00 81 31 FE 45 53 50 49 56 4B 45 59 37 30 28", "piv", "Taglio PIVKey C980"},
    {"3B FA 18 00 00 91 01 31 FE 45 4A 33 52 33 31 30 2D 33 35 35 FF", "piv",
     "NXP JCOP J3R310 with a PIV applet"},
    {"3B FC 18 00 00 81 31 80 45 90 67 46 4A 00 64 16 06 F2 72 7E 00 E0", "piv", "PIVKey C910"},
    {"3B FC 18 00 00 81 31 80 45 90 67 46 4A 00 64 2D 70 C1 72 FE E0 FE", "piv", "PIVKey token"},
    {"3B 8F 80 01 54 4B 00 50 49 56 04 02 38 38 38 38 38 38 38 60", "piv",
     "Token2 PIN+ key with a PIV applet"},

    // Tokens with a PIV applet.
    {"3B 8C 80 01 59 75 62 69 6B 65 79 4E 45 4F 72 33 58", "piv", "YubiKey NEO"},
    {"3B 8C 80 01 59 75 62 69 6B 65 79 4E 45 4F 72 FF 94", "piv", "YubiKey NEO (NFC)"},
    {"3B 8D 80 01 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 F9", "piv", "YubiKey 5 NFC (NFC)"},
    {"3B 8D 80 01 80 73 C0 21 C0 57 59 75 62 69 4B 65 FF 7F", "piv", "YubiKey 5 NFC (NFC)"},
    {"3B F8 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 34 D4", "piv", "YubiKey 4"},
    {"3B F9 18 00 FF 81 31 FE 45 50 56 5F 4A 33 41 30 34 30 40", "piv", "YubiKey NEO"},
    {"3B FA 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 4E 45 4F A6", "piv", "YubiKey NEO"},
    {"3B FC 13 00 00 81 31 FE 15 59 75 62 69 6B 65 79 4E 45 4F 72 33 E1", "piv", "YubiKey NEO"},
    {"3B FC 13 00 00 81 31 FE 45 59 75 62 69 6B 65 79 4E 45 4F 72 33 B1", "piv", "YubiKey NEO"},
    {"3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 40", "piv",
     "YubiKey 5 NFC"},
    {"3B FD 13 00 00 81 31 FE 45 41 37 30 30 36 43 47 20 32 34 32 52 31 D6", "piv", "YubiKey NEO"},
};

}  // namespace

std::span<const KnownCard> known_cards() {
    return table;
}

}  // namespace cac
