// Journal lines as any process, crash or hand edit may have left them: reading must never
// crash, must accept only valid JSON (nlohmann's parser is the independent judge, and
// must find the same texts), and what it accepts must write back to a line that reads
// as the same record. The one allowed difference is a text cut to its share of a line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/recovery/journal.hpp"

namespace {

void require(bool condition) {
    if (!condition)
        std::abort();
}

// The texts of `record` as JSON holds them: null for an empty optional text.
void require_same_texts(const nlohmann::json& json, const cac::JournalRecord& record) {
    auto text = [&](const char* key, const std::string& value, bool nullable) {
        const nlohmann::json& member = json.at(key);
        if (nullable && member.is_null())
            require(value.empty());
        else
            require(member.get<std::string>() == value);
    };
    text("version", record.version, false);
    text("subcommand", record.subcommand, false);
    text("operation", record.operation, false);
    text("code", record.code, false);
    text("message", record.message, false);
    text("reader", record.reader, true);
    text("slot", record.slot, true);
    text("token_label", record.token_label, true);
    text("token_serial", record.token_serial, true);
    text("module", record.module, true);
    require(json.at("value").get<std::uint64_t>() == record.value);
    require(json.at("attempt").get<std::int64_t>() == record.attempt);
}

// A record written back may have lost the end of a text that was longer than its share
// of a line; nothing else may change.
void require_only_cut(const cac::JournalRecord& before, const cac::JournalRecord& after) {
    auto cut = [](const std::string& whole, const std::string& part) {
        return part.size() < whole.size() && whole.compare(0, part.size(), part) == 0;
    };
    cac::JournalRecord restored = after;
    for (auto field : {&cac::JournalRecord::version, &cac::JournalRecord::subcommand,
                       &cac::JournalRecord::operation, &cac::JournalRecord::code,
                       &cac::JournalRecord::reader, &cac::JournalRecord::slot,
                       &cac::JournalRecord::token_label, &cac::JournalRecord::token_serial,
                       &cac::JournalRecord::module, &cac::JournalRecord::message}) {
        if (before.*field != after.*field) {
            require(cut(before.*field, after.*field));
            restored.*field = before.*field;
        }
    }
    require(restored == before);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    auto record = cac::parse_journal_line(line);
    if (!record)
        return 0;
    require(line.size() <= cac::max_journal_line_bytes);
    auto json = nlohmann::json::parse(line, nullptr, false);
    require(!json.is_discarded() && json.is_object());
    require_same_texts(json, *record);

    std::string again = cac::to_journal_line(*record);
    require(again.size() <= cac::max_journal_line_bytes);
    auto reread = cac::parse_journal_line(again);
    require(reread.has_value());
    if (*reread == *record)
        return 0;
    require_only_cut(*record, *reread);
    require(cac::to_journal_line(*reread) == again);
    return 0;
}
