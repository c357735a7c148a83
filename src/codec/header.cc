#include "nethttp/header.h"

#include <algorithm>

#include "base/ascii.h"

namespace nethttp {

void Header::add(std::string_view name, std::string_view value) {
  fields_.push_back(HeaderField{std::string(name), std::string(value)});
}

void Header::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

std::size_t Header::remove(std::string_view name) {
  return std::erase_if(fields_, [&](const HeaderField& f) { return ascii::iequals(f.name, name); });
}

std::optional<std::string_view> Header::get(std::string_view name) const {
  for (const HeaderField& f : fields_)
    if (ascii::iequals(f.name, name)) return f.value;
  return std::nullopt;
}

std::vector<std::string_view> Header::values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const HeaderField& f : fields_)
    if (ascii::iequals(f.name, name)) out.emplace_back(f.value);
  return out;
}

bool Header::has(std::string_view name) const {
  return get(name).has_value();
}

}  // namespace nethttp
