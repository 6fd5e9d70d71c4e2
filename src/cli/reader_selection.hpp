// The global --reader option: which PC/SC reader a subcommand works with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/pcsc/context.hpp"

namespace cac::cli {

// The reader `wanted` names among `names` (pcscd's order, as `readers` numbers them):
// a decimal index, an exact name, or a substring found in exactly one name. An empty
// `wanted` means the first reader. Throws Error(CoreCode::not_found) (exit 3) naming the
// candidates when nothing or more than one reader matches, or when there is no reader.
[[nodiscard]] std::string select_reader(const std::vector<std::string>& names,
                                        std::string_view wanted);

// The same over the readers pcscd lists right now.
[[nodiscard]] std::string select_reader(const pcsc::Context& context, std::string_view wanted);

}  // namespace cac::cli
