// errors-report's text form, kept apart from the reading and counting.
#pragma once

#include <string>

#include "cli/output.hpp"
#include "core/recovery/journal.hpp"

namespace cac::cli {

// The report document (the JSON form's keys) as sections of text. `listing_records`: a
// heading is printed for the records that follow.
void print_report(const Output& out, const Json& document, bool listing_records);

// One record of --include-context as a line of text.
std::string record_line(const JournalRecord& record);

}  // namespace cac::cli
