#include "core/pkcs11/objects.hpp"

#include <cstring>

#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace cac {
namespace {

// Put in ulValueLen before a length query: a module that leaves it there did not answer
// for that attribute. No real length comes near it, and the size limit refuses it anyway.
constexpr CK_ULONG not_answered = CK_UNAVAILABLE_INFORMATION - 1;

// How often one attribute is re-read when its value grows between the length and the
// value call.
constexpr int attribute_attempts = 3;

constexpr std::size_t signature_limit = 64 * 1024;

[[noreturn]] void fail(CK_RV rv, const char* operation, std::string reason = {}) {
    throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), operation, std::move(reason));
}

// Failures that are about the session, object or device rather than one attribute:
// asking again attribute by attribute would only fail again.
bool fatal_for_object(CK_RV rv) {
    switch (rv) {
        case CKR_SESSION_HANDLE_INVALID:
        case CKR_SESSION_CLOSED:
        case CKR_OBJECT_HANDLE_INVALID:
        case CKR_DEVICE_REMOVED:
        case CKR_DEVICE_ERROR:
        case CKR_DEVICE_MEMORY:
        case CKR_TOKEN_NOT_PRESENT:
        case CKR_CRYPTOKI_NOT_INITIALIZED:
        case CKR_HOST_MEMORY:
            return true;
        default:
            return false;
    }
}

std::optional<AttributeState> state_for(CK_RV rv) {
    if (rv == CKR_ATTRIBUTE_SENSITIVE)
        return AttributeState::sensitive;
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID)
        return AttributeState::absent;
    return std::nullopt;
}

CK_RV get(const Cryptoki& cryptoki, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
          std::vector<CK_ATTRIBUTE>& templ) {
    return cryptoki.get_attribute_value(session, object, templ.data(), CK_ULONG(templ.size()));
}

// One attribute on its own: its length, then its value.
Attribute read_one(const Cryptoki& cryptoki, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                   CK_ATTRIBUTE_TYPE type, std::size_t limit) {
    Attribute result;
    result.type = type;
    for (int attempt = 0; attempt < attribute_attempts; ++attempt) {
        std::vector<CK_ATTRIBUTE> templ = {{type, nullptr, not_answered}};
        CK_RV rv = get(cryptoki, session, object, templ);
        if (auto state = state_for(rv)) {
            result.state = *state;
            return result;
        }
        if (rv != CKR_OK)
            fail(rv, "C_GetAttributeValue", "reading " + cka_name(type));
        CK_ULONG length = templ[0].ulValueLen;
        if (length == CK_UNAVAILABLE_INFORMATION || length == not_answered) {
            result.state = AttributeState::unavailable;
            return result;
        }
        if (length > limit) {
            result.state = AttributeState::too_large;
            result.reported_length = length;
            return result;
        }
        result.value.assign(length, 0);
        templ[0].pValue = result.value.data();
        rv = length == 0 ? CKR_OK : get(cryptoki, session, object, templ);
        if (rv == CKR_OK && templ[0].ulValueLen <= length) {
            result.value.resize(templ[0].ulValueLen);
            result.state = AttributeState::present;
            return result;
        }
        if (auto state = state_for(rv)) {
            result.state = *state;
            result.value.clear();
            return result;
        }
        if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
            fail(rv, "C_GetAttributeValue", "reading " + cka_name(type));
    }
    fail(CKR_BUFFER_TOO_SMALL, "C_GetAttributeValue",
         cka_name(type) + " kept changing size between calls");
}

// What the batched length query says about each attribute. Entries left `pending` are
// read one by one afterwards; `lengths` holds the size to fetch for the others.
struct LengthAnswer {
    std::vector<bool> pending;
    std::vector<bool> fetch;
    std::vector<CK_ULONG> lengths;

    explicit LengthAnswer(std::size_t size, bool all_pending = false)
        : pending(size, all_pending), fetch(size, false), lengths(size, 0) {}
};

LengthAnswer interpret_lengths(const std::vector<CK_ATTRIBUTE>& templ, CK_RV rv,
                               std::vector<Attribute>& result, std::size_t limit) {
    LengthAnswer answer(templ.size());
    std::size_t unavailable = 0;
    for (const auto& entry : templ)
        unavailable += entry.ulValueLen == CK_UNAVAILABLE_INFORMATION ? 1 : 0;
    for (std::size_t i = 0; i < templ.size(); ++i) {
        CK_ULONG length = templ[i].ulValueLen;
        if (length == not_answered) {
            answer.pending[i] = true;
        } else if (length == CK_UNAVAILABLE_INFORMATION) {
            // The batch's code says why only when a single attribute is in question.
            if (rv == CKR_OK)
                result[i].state = AttributeState::unavailable;
            else if (auto state = state_for(rv); state && unavailable == 1)
                result[i].state = *state;
            else
                answer.pending[i] = true;
        } else if (length > limit) {
            result[i].state = AttributeState::too_large;
            result[i].reported_length = length;
        } else {
            answer.fetch[i] = true;
            answer.lengths[i] = length;
        }
    }
    return answer;
}

// Fetches the values whose lengths are known, in one call. Returns false when that call
// did not give every value cleanly; the caller then reads them one by one.
bool fetch_values(const Cryptoki& cryptoki, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                  std::vector<Attribute>& result, LengthAnswer& answer) {
    std::vector<CK_ATTRIBUTE> templ;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < result.size(); ++i) {
        if (!answer.fetch[i])
            continue;
        result[i].value.assign(answer.lengths[i], 0);
        result[i].state = AttributeState::present;
        if (answer.lengths[i] == 0)
            continue;
        templ.push_back({result[i].type, result[i].value.data(), answer.lengths[i]});
        index.push_back(i);
    }
    if (templ.empty())
        return true;
    CK_RV rv = get(cryptoki, session, object, templ);
    if (fatal_for_object(rv))
        fail(rv, "C_GetAttributeValue");
    bool clean = rv == CKR_OK;
    for (std::size_t k = 0; k < templ.size() && clean; ++k)
        clean = templ[k].ulValueLen <= answer.lengths[index[k]];
    if (!clean) {
        for (std::size_t i : index)
            answer.pending[i] = true;
        return false;
    }
    for (std::size_t k = 0; k < templ.size(); ++k)
        result[index[k]].value.resize(templ[k].ulValueLen);
    return true;
}

}  // namespace

AttributeMatch ulong_match(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
    Bytes bytes(sizeof value);
    std::memcpy(bytes.data(), &value, sizeof value);
    return {type, std::move(bytes)};
}

ObjectSearch::ObjectSearch(const Cryptoki& cryptoki, CK_SESSION_HANDLE session,
                           const std::vector<AttributeMatch>& templ)
    : cryptoki_(cryptoki), session_(session) {
    std::vector<CK_ATTRIBUTE> attributes;
    for (const auto& match : templ) {
        attributes.push_back({match.type, const_cast<std::uint8_t*>(match.value.data()),
                              CK_ULONG(match.value.size())});
    }
    CK_RV rv =
        cryptoki_.find_objects_init(session_, attributes.data(), CK_ULONG(attributes.size()));
    if (rv != CKR_OK)
        fail(rv, "C_FindObjectsInit");
    active_ = true;
}

ObjectSearch::~ObjectSearch() {
    if (!active_)
        return;
    CK_RV rv = cryptoki_.find_objects_final(session_);
    if (rv != CKR_OK)
        log::warning("pkcs11", "C_FindObjectsFinal failed: " + ckr_name(rv));
}

std::vector<CK_OBJECT_HANDLE> ObjectSearch::next(CK_ULONG batch) {
    std::vector<CK_OBJECT_HANDLE> handles(batch == 0 ? 1 : batch);
    CK_ULONG found = 0;
    CK_RV rv = cryptoki_.find_objects(session_, handles.data(), CK_ULONG(handles.size()), &found);
    if (rv != CKR_OK)
        fail(rv, "C_FindObjects");
    handles.resize(std::min<std::size_t>(found, handles.size()));
    return handles;
}

std::vector<CK_OBJECT_HANDLE> find_objects(const Cryptoki& cryptoki, CK_SESSION_HANDLE session,
                                           const std::vector<AttributeMatch>& templ,
                                           std::size_t limit) {
    ObjectSearch search(cryptoki, session, templ);
    std::vector<CK_OBJECT_HANDLE> all;
    while (all.size() < limit) {
        std::vector<CK_OBJECT_HANDLE> batch = search.next();
        if (batch.empty())
            break;
        all.insert(all.end(), batch.begin(), batch.end());
    }
    if (all.size() > limit)
        all.resize(limit);
    return all;
}

std::string_view to_string(AttributeState state) {
    switch (state) {
        case AttributeState::present:
            return "present";
        case AttributeState::absent:
            return "absent";
        case AttributeState::sensitive:
            return "sensitive";
        case AttributeState::unavailable:
            return "unavailable";
        case AttributeState::too_large:
            return "too_large";
    }
    return "unavailable";
}

std::optional<CK_ULONG> Attribute::as_ulong() const {
    if (!present() || value.size() != sizeof(CK_ULONG))
        return std::nullopt;
    CK_ULONG result = 0;
    std::memcpy(&result, value.data(), sizeof result);
    return result;
}

std::optional<std::string> Attribute::as_text() const {
    if (!present())
        return std::nullopt;
    return std::string(value.begin(), value.end());
}

std::vector<Attribute> read_attributes(const Cryptoki& cryptoki, CK_SESSION_HANDLE session,
                                       CK_OBJECT_HANDLE object,
                                       std::span<const CK_ATTRIBUTE_TYPE> types,
                                       std::size_t limit) {
    std::vector<Attribute> result(types.size());
    std::vector<CK_ATTRIBUTE> templ;
    for (std::size_t i = 0; i < types.size(); ++i) {
        result[i].type = types[i];
        templ.push_back({types[i], nullptr, not_answered});
    }
    if (templ.empty())
        return result;
    CK_RV rv = get(cryptoki, session, object, templ);
    if (fatal_for_object(rv))
        fail(rv, "C_GetAttributeValue");
    // A module that cannot take the batch at all gets every attribute on its own.
    LengthAnswer answer = rv == CKR_OK || state_for(rv)
                              ? interpret_lengths(templ, rv, result, limit)
                              : LengthAnswer(types.size(), true);
    fetch_values(cryptoki, session, object, result, answer);
    for (std::size_t i = 0; i < types.size(); ++i) {
        if (answer.pending[i])
            result[i] = read_one(cryptoki, session, object, types[i], limit);
    }
    return result;
}

std::vector<CK_OBJECT_HANDLE> certificate_handles(const Cryptoki& cryptoki,
                                                  CK_SESSION_HANDLE session) {
    return find_objects(cryptoki, session, {ulong_match(CKA_CLASS, CKO_CERTIFICATE)});
}

CertificateObject read_certificate(const Cryptoki& cryptoki, CK_SESSION_HANDLE session,
                                   CK_OBJECT_HANDLE handle) {
    static constexpr CK_ATTRIBUTE_TYPE wanted[] = {CKA_LABEL, CKA_ID, CKA_VALUE,
                                                   CKA_CERTIFICATE_TYPE};
    std::vector<Attribute> attributes = read_attributes(cryptoki, session, handle, wanted);
    CertificateObject certificate;
    certificate.handle = handle;
    certificate.label = attributes[0].as_text();
    if (attributes[1].present())
        certificate.id = attributes[1].value;
    if (attributes[2].present())
        certificate.value = attributes[2].value;
    certificate.certificate_type = attributes[3].as_ulong();
    return certificate;
}

std::vector<Bytes> private_key_ids(const Cryptoki& cryptoki, CK_SESSION_HANDLE session) {
    static constexpr CK_ATTRIBUTE_TYPE wanted[] = {CKA_ID};
    std::vector<Bytes> ids;
    for (CK_OBJECT_HANDLE handle :
         find_objects(cryptoki, session, {ulong_match(CKA_CLASS, CKO_PRIVATE_KEY)})) {
        std::vector<Attribute> attributes = read_attributes(cryptoki, session, handle, wanted);
        if (attributes[0].present() && !attributes[0].value.empty())
            ids.push_back(attributes[0].value);
    }
    return ids;
}

}  // namespace cac
