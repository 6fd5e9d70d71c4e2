// `cactool readers --probe`: which applications the card in a reader answers (PIV and
// the CAC applets), and, on a PIV card, what its free-to-read objects say.
#pragma once

#include <optional>
#include <string>

#include "cli/context.hpp"
#include "cli/output.hpp"

namespace cac::cli {

struct ProbeResult {
    Json probe;                  // null when the card could not be probed
    std::optional<Error> error;  // why not
};

// Probes the card in `reader` under the run's recovery policy. A card that does not
// answer PIV is no error (its objects are null); a card that goes away and does not come
// back within the policy's limits is, as is a reader held exclusively by another program.
ProbeResult probe_reader(const Context& ctx, const std::string& reader);

// The probe of reader `index` as text lines.
void print_probe(const Output& out, std::size_t index, const Json& probe);

}  // namespace cac::cli
