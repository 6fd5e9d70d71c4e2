#include "core/x509/chain.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/util/error.hpp"
#include "core/util/file_read.hpp"
#include "core/util/log.hpp"
#include "core/x509/bundle.hpp"
#include "core/x509/openssl.hpp"

namespace cac {
namespace {

// A directory with more entries than this is not a CA directory someone meant to give.
constexpr std::size_t kMaxDirectoryEntries = 100000;

constexpr const char* kOperation = "load trust anchors";

Error anchor_error(CoreCode code, const std::filesystem::path& path, std::string reason) {
    return Error(code, kOperation, "'" + path.string() + "': " + std::move(reason));
}

Bytes read_file(const std::filesystem::path& file) {
    FileRead read = read_bounded_file(file.string(), kMaxBundleSize);
    if (read.problem == FileRead::Problem::too_large)
        throw anchor_error(CoreCode::config_invalid, file, problem_text(read, kMaxBundleSize));
    if (read.problem != FileRead::Problem::none)
        throw anchor_error(CoreCode::io_error, file, problem_text(read, kMaxBundleSize));
    return Bytes(read.content.begin(), read.content.end());
}

std::string lower(std::string text) {
    for (char& c : text) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return text;
}

// "1a2b3c4d.0": the name c_rehash and `openssl rehash` give a certificate.
bool is_hashed_name(const std::string& name) {
    if (name.size() < 10 || name[8] != '.') {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (i != 8 && !(i < 8 ? hex : (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

bool is_certificate_file_name(const std::filesystem::path& path) {
    static const std::set<std::string> kExtensions = {".pem", ".crt", ".cer",
                                                      ".der", ".p7b", ".p7c"};
    const std::string name = lower(path.filename().string());
    return kExtensions.count(lower(path.extension().string())) > 0 || is_hashed_name(name);
}

ossl::X509Ptr parse_or_null(const Bytes& der) {
    ossl::X509Ptr cert = ossl::parse_der(der);
    ERR_clear_error();
    return cert;
}

ossl::StorePtr make_store(const TrustAnchors& anchors) {
    ossl::StorePtr store(X509_STORE_new());
    if (!store) {
        throw std::bad_alloc();
    }
    for (const Bytes& der : anchors.certificates()) {
        ossl::X509Ptr cert = parse_or_null(der);
        if (cert && X509_STORE_add_cert(store.get(), cert.get()) != 1) {
            ERR_clear_error();
        }
    }
    return store;
}

ossl::X509StackPtr make_untrusted(std::span<const Bytes> intermediates) {
    ossl::X509StackPtr stack = ossl::new_x509_stack();
    for (std::size_t i = 0; i < intermediates.size(); ++i) {
        ossl::X509Ptr cert = parse_or_null(intermediates[i]);
        if (!cert) {
            log::warning("x509", "intermediate certificate " + std::to_string(i + 1) +
                                     " does not parse; left out of the chain");
            continue;
        }
        if (sk_X509_push(stack.get(), cert.get()) <= 0) {
            throw std::bad_alloc();
        }
        cert.release();  // the stack owns it now
    }
    return stack;
}

std::vector<std::string> chain_subjects(X509_STORE_CTX* context) {
    std::vector<std::string> subjects;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
    const int count = chain ? sk_X509_num(chain) : 0;
    for (int i = 0; i < count; ++i) {
        subjects.push_back(ossl::name_text(X509_get_subject_name(sk_X509_value(chain, i))));
    }
    return subjects;
}

}  // namespace

void TrustAnchors::add_unique(Bytes der) {
    if (seen_.insert(der).second) {
        certificates_.push_back(std::move(der));
    }
}

void TrustAnchors::add_certificate(std::span<const std::uint8_t> der) {
    // Parsing through the summary gives the same checks and errors as any certificate.
    summarize_certificate(der, 0);
    add_unique(Bytes(der.begin(), der.end()));
}

void TrustAnchors::add_file_contents(const std::filesystem::path& file) {
    const Bytes data = read_file(file);
    std::vector<Bytes> found;
    try {
        found = decode_certificates(data);
    } catch (const Error& error) {
        throw anchor_error(CoreCode::config_invalid, file, error.reason()).with_cause(error);
    }
    for (Bytes& der : found) {
        add_unique(std::move(der));
    }
}

void TrustAnchors::add_file(const std::filesystem::path& file) {
    std::error_code failure;
    if (std::filesystem::is_directory(file, failure)) {
        throw anchor_error(CoreCode::config_invalid, file, "is a directory, not a CA file");
    }
    add_file_contents(file);
}

void TrustAnchors::add_directory(const std::filesystem::path& directory) {
    std::error_code failure;
    std::filesystem::directory_iterator entries(directory, failure);
    if (failure) {
        throw anchor_error(CoreCode::io_error, directory, failure.message());
    }
    // Sorted, so that anchors and any error come out the same on every run.
    std::set<std::filesystem::path> files;
    for (const auto& entry : entries) {
        if (files.size() >= kMaxDirectoryEntries) {
            throw anchor_error(CoreCode::config_invalid, directory, "too many files");
        }
        if (entry.is_regular_file(failure) && is_certificate_file_name(entry.path())) {
            files.insert(entry.path());
        }
    }
    for (const auto& file : files) {
        add_file_contents(file);
    }
    log::debug("x509", "read " + std::to_string(files.size()) + " CA files from '" +
                           directory.string() + "'");
}

struct ChainValidator::Parsed {
    ossl::StorePtr store;
    ossl::X509StackPtr untrusted;
};

ChainValidator::ChainValidator(const TrustAnchors& anchors, std::span<const Bytes> intermediates)
    : parsed_(std::make_unique<Parsed>()) {
    parsed_->store = make_store(anchors);
    parsed_->untrusted = make_untrusted(intermediates);
}

ChainValidator::~ChainValidator() = default;
ChainValidator::ChainValidator(ChainValidator&&) noexcept = default;
ChainValidator& ChainValidator::operator=(ChainValidator&&) noexcept = default;

std::size_t ChainValidator::intermediate_count() const {
    return static_cast<std::size_t>(sk_X509_num(parsed_->untrusted.get()));
}

// The store and the untrusted stack are only read: X509_STORE_CTX_init copies the store's
// parameters into the context, where the time and flags below are set, and the verifier
// builds each path on its own copy of the untrusted stack.
ChainResult ChainValidator::validate(const CertificateSummary& leaf,
                                     std::optional<std::time_t> at) const {
    ERR_clear_error();
    ossl::X509Ptr cert = ossl::parse_der(leaf.der);
    if (!cert) {
        throw Error(CoreCode::certificate_invalid, "validate chain",
                    ossl::take_error("the leaf certificate does not parse"));
    }
    ossl::StoreCtxPtr context(X509_STORE_CTX_new());
    if (!context || X509_STORE_CTX_init(context.get(), parsed_->store.get(), cert.get(),
                                        parsed_->untrusted.get()) != 1) {
        throw Error(CoreCode::internal, "validate chain", ossl::take_error("no verify context"));
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
    X509_VERIFY_PARAM_set_time(param, at.value_or(std::time(nullptr)));
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);

    ChainResult result;
    result.ok = X509_verify_cert(context.get()) == 1;
    result.error = X509_STORE_CTX_get_error(context.get());
    result.error_text = X509_verify_cert_error_string(result.error);
    result.error_depth = result.ok ? -1 : X509_STORE_CTX_get_error_depth(context.get());
    result.chain = chain_subjects(context.get());
    ERR_clear_error();
    return result;
}

ChainResult validate_chain(const CertificateSummary& leaf, std::span<const Bytes> intermediates,
                           const TrustAnchors& anchors, std::optional<std::time_t> at) {
    return ChainValidator(anchors, intermediates).validate(leaf, at);
}

}  // namespace cac
