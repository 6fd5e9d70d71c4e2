#include "core/piv/probe.hpp"

#include <vector>

#include "core/piv/application.hpp"

namespace cac::piv {

std::span<const CardApplication> probed_applications() {
    // The CAC AIDs: RID A0 00 00 00 79 of DISA for the PKI, ACA and data model applets,
    // RID A0 00 00 01 16 of GSC-IS for the CCC applet.
    static const std::vector<CardApplication> applications{
        {"PIV", Bytes(kPivAid.begin(), kPivAid.end()), true},
        {"CAC PKI identity", {0xA0, 0x00, 0x00, 0x00, 0x79, 0x01, 0x00}},
        {"CAC PKI signature", {0xA0, 0x00, 0x00, 0x00, 0x79, 0x01, 0x01}},
        {"CAC PKI encryption", {0xA0, 0x00, 0x00, 0x00, 0x79, 0x01, 0x02}},
        {"CAC CCC", {0xA0, 0x00, 0x00, 0x01, 0x16, 0xDB, 0x00}},
        {"CAC ACA", {0xA0, 0x00, 0x00, 0x00, 0x79, 0x03, 0x00}},
        {"CAC person instance", {0xA0, 0x00, 0x00, 0x00, 0x79, 0x02, 0x00}},
        {"CAC personnel", {0xA0, 0x00, 0x00, 0x00, 0x79, 0x02, 0x01}},
    };
    return applications;
}

SelectAnswer select_application(ApduExchanger& exchanger, const CardApplication& application) {
    // GSC-IS selects its applets without Le (case 3); the PIV SELECT asks for the
    // application property template (part 2 section 3.1.1).
    std::optional<std::size_t> ne;
    if (application.expects_answer_data)
        ne = 256;
    ApduCommand command = ApduCommand::make(0x00, 0xA4, 0x04, 0x00, application.aid, ne);
    ApduResponse response = detail::exchange_checked(
        exchanger, command, "select the " + std::string(application.name) + " application");
    std::uint16_t sw = response.sw.value();
    return SelectAnswer{sw, sw == 0x9000 || response.sw.sw1 == 0x62};
}

}  // namespace cac::piv
