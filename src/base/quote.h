// Quoting peer or caller bytes inside error messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nethttp {

/// `s` in double quotes with control and non-ASCII bytes escaped (\r, \n, \t,
/// \xNN) and cut to `max_bytes` of input with "..." after it, so a hostile
/// peer cannot put raw bytes or megabytes into a message.
[[nodiscard]] std::string quoted(std::string_view s, std::size_t max_bytes = 80);

}  // namespace nethttp
