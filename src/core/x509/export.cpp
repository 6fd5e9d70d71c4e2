#include "core/x509/export.hpp"

#include <openssl/pem.h>

#include <climits>
#include <new>

#include "core/util/error.hpp"
#include "core/x509/openssl.hpp"

namespace cac {
namespace {

bool keeps(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

std::string label_stem(std::string_view label) {
    std::string stem;
    for (char c : label) {
        if (keeps(c)) {
            stem += c;
        } else if (stem.empty() || stem.back() != '_') {
            stem += '_';
        }
    }
    stem.erase(0, stem.find_first_not_of(".-_"));
    if (stem.size() > kMaxLabelStem) {
        stem.resize(kMaxLabelStem);
    }
    while (!stem.empty() && (stem.back() == '.' || stem.back() == '_')) {
        stem.pop_back();
    }
    return stem;
}

std::string lower(std::string text) {
    for (char& c : text) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return text;
}

}  // namespace

std::string_view file_extension(ExportFormat format) {
    return format == ExportFormat::pem ? ".pem" : ".der";
}

std::string to_pem(std::span<const std::uint8_t> der) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) {
        throw std::bad_alloc();
    }
    if (der.size() > static_cast<std::size_t>(LONG_MAX) ||
        PEM_write_bio(bio.get(), PEM_STRING_X509, "", der.data(), static_cast<long>(der.size())) <=
            0) {
        throw Error(CoreCode::internal, "encode PEM", ossl::take_error("PEM encoding failed"));
    }
    return ossl::bio_text(bio.get());
}

Bytes encode_certificate(std::span<const std::uint8_t> der, ExportFormat format) {
    if (format == ExportFormat::der) {
        return Bytes(der.begin(), der.end());
    }
    const std::string text = to_pem(der);
    return Bytes(text.begin(), text.end());
}

std::string export_file_stem(std::string_view label, std::span<const std::uint8_t> id) {
    std::string stem = label_stem(label);
    if (!id.empty()) {
        std::string hex = to_hex(id);
        if (hex.size() > kMaxIdHexDigits) {
            hex.resize(kMaxIdHexDigits);
        }
        stem += (stem.empty() ? "" : "_") + hex;
    }
    return stem.empty() ? "certificate" : stem;
}

std::string ExportNames::next(std::string_view label, std::span<const std::uint8_t> id) {
    const std::string stem = export_file_stem(label, id);
    const std::string_view extension = file_extension(format_);
    std::string name = stem + std::string(extension);
    for (int copy = 2; !used_.insert(lower(name)).second; ++copy) {
        name = stem + "-" + std::to_string(copy) + std::string(extension);
    }
    return name;
}

}  // namespace cac
