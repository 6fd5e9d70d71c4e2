// `cactool certs`: the certificates on a token, what they are for, whether their keys
// are there, their chain, and export.
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include "cli/certs.hpp"
#include "cli/commands.hpp"
#include "cli/pin_input.hpp"
#include "cli/recovery.hpp"
#include "cli/token_selection.hpp"
#include "core/card/pin_policy.hpp"
#include "core/pkcs11/objects.hpp"
#include "core/pkcs11/session.hpp"
#include "core/pkcs11/uri.hpp"
#include "core/recovery/token_recovery.hpp"
#include "core/util/log.hpp"
#include "core/util/time.hpp"
#include "core/x509/certificate.hpp"
#include "core/x509/chain.hpp"
#include "core/x509/export.hpp"
#include "core/x509/piv_slot.hpp"

namespace cac::cli {

std::time_t verification_time(const CertsOptions& options) {
    if (options.at.empty())
        return std::time(nullptr);
    std::optional<std::int64_t> at = parse_rfc3339(options.at);
    if (!at) {
        throw Error(CoreCode::usage, "read --at",
                    "'" + options.at + "' is not an RFC 3339 time such as 2026-12-04T12:00:00Z");
    }
    return std::time_t(*at);
}

// Parses the object's value into `listed.summary`, or says in `listed.error` why not.
void summarize(Listed& listed, std::time_t now) {
    if (listed.summary || listed.error)
        return;
    const CertificateObject& o = listed.object;
    if (o.certificate_type && *o.certificate_type != CKC_X_509) {
        listed.error = "not an X.509 certificate (CKA_CERTIFICATE_TYPE " +
                       std::to_string(*o.certificate_type) + ")";
    } else if (!o.value || o.value->empty()) {
        listed.error = "the token gave no CKA_VALUE";
    } else {
        try {
            listed.summary = summarize_certificate(*o.value, now);
        } catch (const Error& e) {
            listed.error = e.reason().empty() ? e.message() : e.reason();
        }
    }
    if (listed.error) {
        log::warning("x509", "certificate \"" + o.label.value_or("") + "\": " + *listed.error);
    }
}

TrustAnchors load_anchors(const Context& ctx, const CertsOptions& options) {
    std::string file = options.ca_file, dir = options.ca_dir;
    if (file.empty() && dir.empty()) {
        file = ctx.config.ca_file.value_or("");
        dir = ctx.config.ca_dir.value_or("");
    }
    if (file.empty() && dir.empty()) {
        throw Error(CoreCode::usage, "validate certificates", "no trust anchors were given")
            .with_hint("give --ca-file or --ca-dir, or trust_anchors in the config file");
    }
    TrustAnchors anchors;
    try {
        if (!file.empty())
            anchors.add_file(file);
        if (!dir.empty())
            anchors.add_directory(dir);
    } catch (const Error& e) {
        // Anchors the operator named that cannot be used are a bad option value.
        throw Error(CoreCode::usage, "load trust anchors", e.reason())
            .with_hint(
                "check the file given with --ca-file or --ca-dir (or trust_anchors in "
                "the config file)");
    }
    return anchors;
}

// Every other certificate on the token may be an intermediate of this one. They are
// parsed once for all leaves: parsing them again for each made a token of a few thousand
// certificates take many minutes.
void validate_all(std::vector<Listed>& listed, const TrustAnchors& anchors, std::time_t at) {
    std::vector<Bytes> on_token;
    for (const Listed& l : listed) {
        if (l.summary)
            on_token.push_back(l.summary->der);
    }
    const ChainValidator validator(anchors, on_token);
    for (Listed& l : listed) {
        if (l.summary)
            l.validation = validator.validate(*l.summary, at);
    }
}

namespace {

ExportFormat export_format(const std::string& format) {
    return format == "der" ? ExportFormat::der : ExportFormat::pem;
}

// Written beside the target and renamed over it, so an interrupted export never leaves
// a half-written certificate behind.
void write_file_atomically(const std::filesystem::path& path, const Bytes& bytes) {
    std::filesystem::path partial = path;
    partial += ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw Error(CoreCode::io_error, "export certificate", "cannot write " + path.string());
        }
    }
    std::filesystem::rename(partial, path);
}

}  // namespace

void export_all(std::vector<Listed>& listed, const CertsOptions& options) {
    ExportFormat format = export_format(options.format);
    if (options.export_to == "-") {
        for (const Listed& l : listed) {
            if (!l.summary)
                continue;
            Bytes bytes = encode_certificate(l.summary->der, format);
            std::cout.write(reinterpret_cast<const char*>(bytes.data()),
                            std::streamsize(bytes.size()));
        }
        std::cout.flush();
        return;
    }
    std::filesystem::path dir(options.export_to);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!std::filesystem::is_directory(dir, ec)) {
        throw Error(CoreCode::io_error, "export certificates",
                    options.export_to + " is not a directory and cannot be created");
    }
    // Every name is chosen, and checked against what the directory already holds, before
    // anything is written: a refused export writes nothing.
    ExportNames names(format);
    std::vector<std::pair<Listed*, std::filesystem::path>> plan;
    for (Listed& l : listed) {
        if (!l.summary)
            continue;
        Bytes id = l.object.id.value_or(Bytes{});
        std::filesystem::path path = dir / names.next(l.object.label.value_or(""), id);
        if (!options.overwrite && std::filesystem::symlink_status(path, ec).type() !=
                                      std::filesystem::file_type::not_found) {
            throw Error(CoreCode::io_error, "export certificates",
                        path.string() + " already exists; nothing was written")
                .with_hint("export into an empty directory, or add --overwrite");
        }
        plan.emplace_back(&l, path);
    }
    for (auto& [l, path] : plan) {
        write_file_atomically(path, encode_certificate(l->summary->der, format));
        l->exported_to = path.string();
    }
}

namespace {

// true or false when the answer is known; null when the token hides its private
// objects until login and no key was seen.
Json private_key_json(const Listed& l, const std::vector<Bytes>& key_ids, bool keys_visible) {
    if (!l.object.id || l.object.id->empty())
        return keys_visible ? Json(false) : Json();
    bool found = std::find(key_ids.begin(), key_ids.end(), *l.object.id) != key_ids.end();
    if (found)
        return true;
    return keys_visible ? Json(false) : Json();
}

}  // namespace

Json validation_json(const std::optional<ChainResult>& result) {
    if (!result)
        return nullptr;
    return Json{{"ok", result->ok},
                {"error", result->ok ? Json() : Json(result->error_text)},
                {"error_depth", result->ok ? Json() : Json(result->error_depth)},
                {"chain", result->chain}};
}

void add_certificate_fields(Json& entry, const Listed& l) {
    const CertificateSummary* s = l.summary ? &*l.summary : nullptr;
    auto field = [s](auto member) { return s ? Json(s->*member) : Json(); };
    entry["subject"] = field(&CertificateSummary::subject);
    entry["issuer"] = field(&CertificateSummary::issuer);
    entry["serial"] = field(&CertificateSummary::serial);
    entry["not_before"] = field(&CertificateSummary::not_before_text);
    entry["not_after"] = field(&CertificateSummary::not_after_text);
    entry["days_left"] = field(&CertificateSummary::days_left);
    entry["validity"] = s ? Json(to_string(s->validity)) : Json();
    entry["key_type"] = field(&CertificateSummary::key_type);
    entry["key_bits"] = s && s->key_bits ? Json(*s->key_bits) : Json();
    entry["curve"] = s && !s->curve.empty() ? Json(s->curve) : Json();
    entry["key_usage"] = field(&CertificateSummary::key_usage);
    entry["extended_key_usage"] = field(&CertificateSummary::extended_key_usage);
    entry["sha256"] = field(&CertificateSummary::sha256);
}

namespace {

struct TokenView {
    const TokenInfo& token;
    PivModule piv_module;
    std::vector<Bytes> key_ids;
    bool keys_visible;
};

Json certificate_json(const Listed& l, const TokenView& view) {
    const CertificateObject& o = l.object;
    Bytes id = o.id.value_or(Bytes{});
    std::string label = o.label.value_or("");
    // Only a PIV module's CKA_ID says anything about PIV slots; elsewhere (SoftHSM, say)
    // an id of 01 is just an id, and only a PIV label can tell.
    std::span<const std::uint8_t> piv_id;
    if (view.piv_module != PivModule::unknown)
        piv_id = id;
    std::optional<std::uint8_t> piv = piv_key_reference(piv_id, label, view.piv_module);
    Json entry{{"label", o.label ? Json(*o.label) : Json()},
               {"id", o.id ? Json(to_hex(*o.id)) : Json()}};
    add_certificate_fields(entry, l);
    entry["has_private_key"] = private_key_json(l, view.key_ids, view.keys_visible);
    entry["piv_slot"] = piv ? Json(piv_slot_name(*piv)) : Json();
    entry["uri"] = object_uri(view.token.raw, id, label, ObjectType::certificate);
    entry["validation"] = validation_json(l.validation);
    entry["exported_to"] = l.exported_to.empty() ? Json() : Json(l.exported_to);
    entry["error"] = l.error ? Json(*l.error) : Json();
    return entry;
}

std::string yes_no_unknown(const Json& value, bool over_pcsc) {
    if (value.is_null() && over_pcsc)
        return "unknown (not seen over PC/SC)";
    if (value.is_null())
        return "unknown (log in to see private keys)";
    return value.get<bool>() ? "yes" : "no";
}

std::string list_text(const Json& list) {
    std::string text;
    for (const Json& item : list)
        text += (text.empty() ? "" : ", ") + item.get<std::string>();
    return text.empty() ? "-" : text;
}

}  // namespace

void print_certificate(const Output& out, const Json& c) {
    std::string title =
        c["label"].is_string() ? terminal_safe(c["label"].get<std::string>()) : "(no label)";
    out.text(out.bold(title) + (c["piv_slot"].is_string()
                                    ? "  (PIV slot " + c["piv_slot"].get<std::string>() + ")"
                                    : ""));
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"id", c["id"].is_string() ? c["id"].get<std::string>() : "-"});
    if (c["error"].is_string()) {
        rows.push_back({"error", out.bad(terminal_safe(c["error"].get<std::string>()))});
        out.text(format_table(rows, "  "));
        return;
    }
    long days = c["days_left"].get<long>();
    std::string validity = c["validity"].get<std::string>();
    std::string left = validity == "valid"           ? std::to_string(days) + " days left"
                       : validity == "not_yet_valid" ? "not yet valid"
                                                     : validity;
    if (validity != "valid")
        left = out.bad(left);
    else if (days < 30)
        left = out.warn(left);
    std::string key = c["key_type"].get<std::string>();
    if (c["key_bits"].is_number())
        key += " " + std::to_string(c["key_bits"].get<int>());
    if (c["curve"].is_string())
        key += " (" + c["curve"].get<std::string>() + ")";
    rows.push_back({"subject", terminal_safe(c["subject"].get<std::string>())});
    rows.push_back({"issuer", terminal_safe(c["issuer"].get<std::string>())});
    rows.push_back({"serial", c["serial"].get<std::string>()});
    rows.push_back({"valid", c["not_before"].get<std::string>() + " to " +
                                 c["not_after"].get<std::string>() + ", " + left});
    rows.push_back({"key", key});
    rows.push_back({"key usage", list_text(c["key_usage"])});
    rows.push_back({"extended", list_text(c["extended_key_usage"])});
    bool over_pcsc = c.value("source", "") == "pcsc";
    rows.push_back({"private key", yes_no_unknown(c["has_private_key"], over_pcsc)});
    rows.push_back({"sha256", c["sha256"].get<std::string>()});
    if (c["uri"].is_string())
        rows.push_back({"uri", c["uri"].get<std::string>()});
    if (c.contains("object") && c["object"].is_string())
        rows.push_back({"object", c["object"].get<std::string>() + " (read over PC/SC)"});
    if (c["validation"].is_object()) {
        const Json& v = c["validation"];
        rows.push_back({"chain", v["ok"].get<bool>() ? out.good("ok")
                                                     : out.bad(v["error"].get<std::string>())});
    }
    if (c["exported_to"].is_string()) {
        rows.push_back({"exported", c["exported_to"].get<std::string>()});
    }
    out.text(format_table(rows, "  "));
}

void show_certificate(const Context& ctx, const CertsOptions& options, const Json& entry) {
    if (ctx.out.json())
        ctx.out.list_item(entry);
    else if (options.export_to != "-")
        print_certificate(ctx.out, entry);
}

namespace {

// The same guard as `login`: logging in to list keys is not worth a blocked card.
void refuse_risky_login(const Context& ctx, const TokenInfo& token, bool force) {
    std::optional<int> left = retries_left(token.user_pin);
    if (force || !login_could_lock(left, ctx.config.lockout_threshold))
        return;
    if (left == 0) {
        throw Error(ErrorDomain::pkcs11, CKR_PIN_LOCKED, "log in", "the user PIN is blocked")
            .with_token(token.label);
    }
    throw Error(CoreCode::lockout_guard, "log in").with_token(token.label);
}

void check_options(const Context& ctx, CertsOptions& options) {
    check_pin_options(options.pin);
    if (!options.login && options.pin.any_source()) {
        throw Error(CoreCode::usage, "read the options", "a PIN source needs --login");
    }
    auto needs = [](bool given, const char* option, const char* needed) {
        if (given) {
            throw Error(CoreCode::usage, "read the options",
                        std::string(option) + " has no effect without " + needed);
        }
    };
    needs(options.format_option->count() > 0 && options.export_to.empty(), "--format", "--export");
    needs(options.overwrite && options.export_to.empty(), "--overwrite", "--export");
    needs(!options.validate && !options.ca_file.empty(), "--ca-file", "--validate");
    needs(!options.validate && !options.ca_dir.empty(), "--ca-dir", "--validate");
    needs(!options.validate && !options.at.empty(), "--at", "--validate");
    needs(options.force && !options.login, "--force", "--login");
    if (options.pcsc && (!ctx.options.slot.empty() || !ctx.options.token.empty())) {
        throw Error(CoreCode::usage, "read the options",
                    "--slot and --token choose a PKCS#11 token; with --pcsc the card is the "
                    "one in the reader --reader chooses");
    }
    if (options.pcsc && options.login) {
        throw Error(CoreCode::usage, "read the options",
                    "--login has no effect with --pcsc: the certificate containers are read "
                    "without a PIN, and no key is looked for");
    }
    if (options.export_to == "-" && ctx.out.json()) {
        throw Error(CoreCode::usage, "read the options",
                    "--export - writes certificates to stdout, where --json writes its "
                    "document; export to a directory instead");
    }
}

int run_certs(Context& ctx, CertsOptions& options) {
    check_options(ctx, options);
    if (options.pcsc)
        return run_certs_pcsc(ctx, options);
    std::time_t now = std::time(nullptr);
    std::time_t at = verification_time(options);
    std::optional<TrustAnchors> anchors;
    if (options.validate)
        anchors = load_anchors(ctx, options);

    TokenInModule found = open_selected_token(ctx);
    // The token may go away while it is read (a card pulled and put back); the reading
    // then starts again in a new session, and what was printed is not printed again.
    TokenRecoverer token(found.module, found.slot->id, found.token());
    std::optional<Login> login;
    if (options.login && (found.token().flags & CKF_LOGIN_REQUIRED) == 0) {
        log::info("pkcs11", "the token needs no login: all its objects are visible already");
    } else if (options.login) {
        require_pin_initialized(found.token(), false);
        refuse_risky_login(ctx, found.token(), options.force);
        bool pin_pad = (found.token().flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
        std::optional<Secret> pin = read_pin(options.pin, pin_pad, "user PIN");
        if (pin) {
            login.emplace(token.session(), UserType::user, *pin);
        } else {
            login.emplace(token.session(), UserType::user);
        }
        token.logged_in();
    }

    const Cryptoki& cryptoki = found.module.cryptoki();
    // Without a login, a token that requires one may be hiding its private keys.
    bool keys_visible = login.has_value() || (found.token().flags & CKF_LOGIN_REQUIRED) == 0;
    bool chain_failed = false;
    bool begun = false;
    std::set<std::string> printed;  // id, label and fingerprint of each certificate shown
    RunRecovery recovery(ctx);
    recovery.policy().run(Repeatable::yes, token, [&] {
        CK_SESSION_HANDLE session = token.session().handle();
        // Validation and export need every certificate at once; a plain listing reads and
        // parses each one only when it is written, and lets it go after.
        std::vector<Listed> listed;
        for (CK_OBJECT_HANDLE handle : certificate_handles(cryptoki, session))
            listed.push_back(Listed{CertificateObject{handle, {}, {}, {}, {}}, {}, {}, {}, {}});
        auto load = [&](Listed& l) {
            if (!l.loaded) {
                l.object = read_certificate(cryptoki, session, l.object.handle);
                l.loaded = true;
            }
            summarize(l, now);
        };
        if (anchors || !options.export_to.empty()) {
            for (Listed& l : listed)
                load(l);
        }
        if (anchors)
            validate_all(listed, *anchors, at);
        if (!options.export_to.empty() && !begun)
            export_all(listed, options);

        TokenView view{found.token(), piv_module_from_manufacturer(found.info.manufacturer),
                       private_key_ids(cryptoki, session), keys_visible};
        chain_failed = std::any_of(listed.begin(), listed.end(), [](const Listed& l) {
            return l.validation && !l.validation->ok;
        });
        // Each certificate is written as soon as its entry is made and then let go, so a
        // token with hundreds of certificates costs little more memory than one with a few.
        if (!begun && ctx.out.json()) {
            ctx.out.begin_list(Json{{"token", token_reference_json(found.token())}},
                               "certificates");
        } else if (!begun && options.export_to != "-") {
            ctx.out.text("token " + terminal_safe(found.token().label) + ": " +
                         std::to_string(listed.size()) + " certificate" +
                         (listed.size() == 1 ? "" : "s") + "\n");
        }
        begun = true;
        for (Listed& l : listed) {
            load(l);
            Json entry = certificate_json(l, view);
            l = Listed{};
            std::string key = entry["id"].dump() + entry["label"].dump() + entry["sha256"].dump();
            if (!printed.insert(key).second)
                continue;
            show_certificate(ctx, options, entry);
        }
    });
    if (ctx.out.json())
        ctx.out.end_list();
    return chain_failed ? exit_failed : exit_ok;
}

}  // namespace

Runner setup_certs(CLI::App& app) {
    auto options = std::make_shared<CertsOptions>();
    app.add_flag("--login", options->login,
                 "Log in first, so that private keys count for has_private_key");
    app.add_flag("--force", options->force,
                 "With --login: log in even when one more wrong PIN could block the card");
    add_pin_options(app, options->pin);
    app.add_option("--export", options->export_to,
                   "Write each certificate to a file in DIR, or all to stdout with -")
        ->check(nonempty_value());
    app.add_flag("--overwrite", options->overwrite,
                 "With --export DIR: replace files that already exist there");
    options->format_option =
        app.add_option("--format", options->format, "Export format: pem or der")
            ->check(CLI::IsMember({"pem", "der"}));
    app.add_flag("--validate", options->validate,
                 "Build and check each chain against the trust anchors");
    app.add_option("--ca-file", options->ca_file, "Trust anchors: a PEM, DER or PKCS#7 file")
        ->check(nonempty_value());
    app.add_option("--ca-dir", options->ca_dir, "Trust anchors: a directory of certificates")
        ->check(nonempty_value());
    app.add_option("--at", options->at, "Validate as of this RFC 3339 time instead of now")
        ->check(nonempty_value());
    app.add_flag("--pcsc", options->pcsc,
                 "Read the PIV certificate containers over PC/SC (the reader of --reader) "
                 "instead of through a PKCS#11 module");
    return [options](Context& ctx) { return run_certs(ctx, *options); };
}

}  // namespace cac::cli
