#include "cli/reader_selection.hpp"

#include <charconv>

#include "core/util/error.hpp"

namespace cac::cli {
namespace {

std::string quoted_list(const std::vector<std::string>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i)
        text += (i == 0 ? "" : ", ") + std::to_string(i) + ": \"" + names[i] + "\"";
    return text;
}

Error no_such_reader(std::string reason) {
    Error error(CoreCode::not_found, "select reader", std::move(reason));
    error.with_hint("run `cactool readers` to see the readers and their indexes");
    return error;
}

}  // namespace

std::string select_reader(const std::vector<std::string>& names, std::string_view wanted) {
    if (names.empty())
        throw no_such_reader("pcscd lists no reader");
    if (wanted.empty())
        return names.front();

    std::size_t index = 0;
    const char* end = wanted.data() + wanted.size();
    auto [ptr, ec] = std::from_chars(wanted.data(), end, index);
    if (ec == std::errc() && ptr == end) {
        if (index < names.size())
            return names[index];
        throw no_such_reader("no reader has index " + std::string(wanted) + "; readers are " +
                             quoted_list(names));
    }

    std::vector<std::string> matching;
    for (const std::string& name : names) {
        if (name == wanted)
            return name;
        if (name.find(wanted) != std::string::npos)
            matching.push_back(name);
    }
    if (matching.size() == 1)
        return matching.front();
    if (matching.empty()) {
        throw no_such_reader("no reader matches \"" + std::string(wanted) + "\"; readers are " +
                             quoted_list(names));
    }
    std::string candidates;
    for (const std::string& name : matching)
        candidates += (candidates.empty() ? "\"" : ", \"") + name + "\"";
    throw no_such_reader("\"" + std::string(wanted) + "\" matches several readers: " + candidates +
                         "; give more of the name or an index");
}

std::string select_reader(const pcsc::Context& context, std::string_view wanted) {
    return select_reader(context.list_readers(), wanted);
}

}  // namespace cac::cli
