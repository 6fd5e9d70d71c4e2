#include "core/piv/containers.hpp"

#include "core/piv/application.hpp"
#include "core/piv/flat_tlv.hpp"
#include "core/util/error.hpp"

namespace cac::piv {
namespace {

const char* kOperation = "read the certificate container";

// CertInfo (SP 800-73-4 part 1 appendix A, note to tables 10 to 15): bit 0 says the
// certificate is compressed with gzip. Cards made to earlier drafts wrote 80 instead.
constexpr std::uint8_t kCompressedBit = 0x01;
constexpr std::uint8_t kLegacyCompressed = 0x80;

bool looks_gzip(const Bytes& data) {
    return data.size() >= 3 && data[0] == 0x1F && data[1] == 0x8B && data[2] == 0x08;
}

Error parse_error(std::string reason) {
    return Error(CoreCode::parse_error, kOperation, std::move(reason));
}

// The fields, whether or not the 53 wrapper was left on.
detail::FlatTlv container_fields(std::span<const std::uint8_t> object) {
    if (!object.empty() && object[0] == 0x53) {
        std::optional<Bytes> value = detail::value_of_wrapper(object, 0x53, true);
        if (!value)
            throw parse_error("the 53 wrapper does not hold together: " +
                              detail::read_flat(object).error.value_or("bad length"));
        return detail::read_flat(*value);
    }
    return detail::read_flat(object);
}

void read_cert_info(const detail::FlatTlv& fields, CertificateContainer& out) {
    const TlvNode* info = fields.find(0x71);
    if (!info) {
        out.warnings.push_back("no CertInfo (71): read as uncompressed");
        return;
    }
    if (info->value.size() != 1)
        throw parse_error("CertInfo (71) has " + std::to_string(info->value.size()) +
                          " bytes, not 1");
    out.cert_info = info->value[0];
    out.compressed = (out.cert_info & kCompressedBit) || out.cert_info == kLegacyCompressed;
    if (out.cert_info == kLegacyCompressed)
        out.warnings.push_back("CertInfo 80, the value of early drafts, read as compressed");
    else if (out.cert_info & ~kCompressedBit)
        out.warnings.push_back("CertInfo " + tag_hex(out.cert_info) +
                               " has bits set that "
                               "SP 800-73-4 reserves");
}

void read_certificate(const TlvNode& cert, CertificateContainer& out) {
    if (cert.value.empty())
        throw parse_error("the certificate (70) is empty");
    if (!out.compressed && looks_gzip(cert.value)) {
        out.warnings.push_back(
            "CertInfo says uncompressed but the certificate is gzip data: "
            "inflated");
        out.compressed = true;
    }
    out.certificate =
        out.compressed ? inflate_bounded(cert.value, kMaxCertificateBytes) : cert.value;
    if (out.certificate.empty() || out.certificate[0] != 0x30)
        out.warnings.push_back("the certificate does not start as a DER SEQUENCE (30)");
}

}  // namespace

CertificateContainer parse_certificate_container(std::span<const std::uint8_t> object) {
    if (object.size() > kMaxObjectBytes) {
        throw parse_error("the container has " + std::to_string(object.size()) +
                          " bytes, over the limit of " + std::to_string(kMaxObjectBytes));
    }
    detail::FlatTlv fields = container_fields(object);
    CertificateContainer out;
    const TlvNode* cert = fields.find(0x70);
    if (!cert) {
        throw parse_error(fields.error ? "no certificate (70) before " + *fields.error
                                       : "the container holds no certificate (70)");
    }
    if (fields.error)
        out.warnings.push_back("the container is damaged after the certificate: " + *fields.error);
    if (!fields.find(0xFE))
        out.warnings.push_back("no error detection code (FE)");
    read_cert_info(fields, out);
    read_certificate(*cert, out);
    return out;
}

}  // namespace cac::piv
