// The comma-separated list syntax of field values (RFC 9110 §5.6.1).
#pragma once

#include <string_view>

#include "base/ascii.h"

namespace nethttp::codec {

/// Calls `on_member` with each non-empty member of a comma-separated list,
/// whitespace trimmed; empty members are skipped as §5.6.1 asks.
template <class F>
void for_each_list_member(std::string_view list, F&& on_member) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view member = ascii::trim_ows(list.substr(0, comma));
    if (!member.empty()) on_member(member);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

/// Whether the list holds `token`, compared case-insensitively.
[[nodiscard]] inline bool list_has_token(std::string_view list, std::string_view token) {
  bool found = false;
  for_each_list_member(list,
                       [&](std::string_view member) { found = found || ascii::iequals(member, token); });
  return found;
}

}  // namespace nethttp::codec
