#include "core/util/error.hpp"

#include <cstdio>
#include <utility>

namespace cac {

std::string_view to_string(ErrorDomain domain) {
    switch (domain) {
        case ErrorDomain::core:
            return "core";
        case ErrorDomain::pkcs11:
            return "pkcs11";
        case ErrorDomain::pcsc:
            return "pcsc";
        case ErrorDomain::status_word:
            return "status_word";
    }
    return "core";
}

std::string_view to_string(Category category) {
    switch (category) {
        case Category::usage:
            return "usage";
        case Category::configuration:
            return "configuration";
        case Category::middleware:
            return "middleware";
        case Category::communication:
            return "communication";
        case Category::card_state:
            return "card_state";
        case Category::authentication:
            return "authentication";
        case Category::token:
            return "token";
        case Category::internal:
            return "internal";
    }
    return "internal";
}

std::string_view to_string(Severity severity) {
    switch (severity) {
        case Severity::info:
            return "info";
        case Severity::warning:
            return "warning";
        case Severity::error:
            return "error";
        case Severity::critical:
            return "critical";
    }
    return "error";
}

std::string_view to_string(RecoveryAction action) {
    switch (action) {
        case RecoveryAction::none:
            return "none";
        case RecoveryAction::retry:
            return "retry";
        case RecoveryAction::reconnect:
            return "reconnect";
        case RecoveryAction::reestablish_context:
            return "reestablish_context";
        case RecoveryAction::reinitialize_module:
            return "reinitialize_module";
        case RecoveryAction::reopen_session:
            return "reopen_session";
        case RecoveryAction::user_action:
            return "user_action";
    }
    return "none";
}

Error::Error(ErrorDomain domain, std::uint32_t code, std::string operation, std::string reason)
    : domain_(domain),
      code_(code),
      entry_(lookup_taxonomy(domain, code)),
      operation_(std::move(operation)),
      reason_(std::move(reason)) {
    refresh();
}

Error::Error(CoreCode code, std::string operation, std::string reason)
    : Error(ErrorDomain::core, std::uint32_t(code), std::move(operation), std::move(reason)) {}

std::string Error::code_text() const {
    std::string name = code_name(domain_, code_);
    if (domain_ == ErrorDomain::core || domain_ == ErrorDomain::status_word) {
        return name;
    }
    char hex[24];
    std::snprintf(hex, sizeof hex, " (0x%x)", unsigned(code_));
    return name + hex;
}

std::string Error::message() const {
    std::string text = "failed to " + operation_ + ": ";
    text += reason_.empty() ? std::string(entry_.meaning) : reason_;
    if (domain_ != ErrorDomain::core) {
        text += ": " + code_text();
    }
    std::string where;
    auto add = [&where](std::string_view label, const std::string& value) {
        if (value.empty()) {
            return;
        }
        where += where.empty() ? "" : ", ";
        where += std::string(label) + value;
    };
    add("module ", context_.module);
    add("reader ", context_.reader);
    add("slot ", context_.slot);
    add("token ", context_.token.empty() ? "" : "\"" + context_.token + "\"");
    add("object ", context_.object);
    if (!where.empty()) {
        text += " (" + where + ")";
    }
    if (cause_) {
        text += "; caused by: " + cause_->message();
    }
    return text;
}

std::string Error::hint() const {
    return hint_.empty() ? std::string(entry_.hint) : hint_;
}

Error& Error::with_hint(std::string hint) {
    hint_ = std::move(hint);
    return *this;
}

Error& Error::with_context(ErrorContext context) {
    context_ = std::move(context);
    refresh();
    return *this;
}

Error& Error::with_module(std::string module) {
    context_.module = std::move(module);
    refresh();
    return *this;
}

Error& Error::with_slot(std::string slot) {
    context_.slot = std::move(slot);
    refresh();
    return *this;
}

Error& Error::with_token(std::string token) {
    context_.token = std::move(token);
    refresh();
    return *this;
}

Error& Error::with_cause(const Error& cause) {
    cause_ = std::make_shared<const Error>(cause);
    refresh();
    return *this;
}

Error& Error::with_recovery(RecoveryNote note) {
    recovery_ = note;
    return *this;
}

void Error::refresh() {
    what_ = message();
}

}  // namespace cac
