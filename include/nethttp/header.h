// HTTP header fields: an ordered list of (name, value) with case-insensitive names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nethttp {

/// One header field as it appeared (or will appear) on the wire.
struct HeaderField {
  std::string name;   ///< as given; compared case-insensitively
  std::string value;  ///< without leading or trailing whitespace

  friend bool operator==(const HeaderField&, const HeaderField&) = default;
};

/// Header fields in arrival order. Names compare case-insensitively and keep
/// the case they were given; repeated names keep every value in order.
/// Not synchronised: one thread at a time. Nothing here validates: the
/// request serialiser rejects names and values that cannot be sent.
class Header {
 public:
  using const_iterator = std::vector<HeaderField>::const_iterator;

  /// Appends a field, keeping any earlier ones of the same name.
  void add(std::string_view name, std::string_view value);
  /// Replaces every field of this name by one with this value (appended if new).
  void set(std::string_view name, std::string_view value);
  /// Removes every field of this name; returns how many were removed.
  std::size_t remove(std::string_view name);

  /// The first value of `name`, if any.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  /// Every value of `name`, in order.
  [[nodiscard]] std::vector<std::string_view> values(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const;

  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  void clear() noexcept { fields_.clear(); }
  void reserve(std::size_t n) { fields_.reserve(n); }
  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }

  friend bool operator==(const Header&, const Header&) = default;

 private:
  std::vector<HeaderField> fields_;
};

}  // namespace nethttp
