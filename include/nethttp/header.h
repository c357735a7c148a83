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

  /// Same name (compared case-sensitively) and value.
  friend bool operator==(const HeaderField&, const HeaderField&) = default;
};

/// Header fields in arrival order. Names compare case-insensitively and keep
/// the case they were given; repeated names keep every value in order.
/// Not synchronised: one thread at a time. Nothing here validates: the
/// request serialiser rejects names and values that cannot be sent.
class Header {
 public:
  /// Iterates the fields in order, read-only.
  using const_iterator = std::vector<HeaderField>::const_iterator;

  /// Appends a field, keeping any earlier ones of the same name.
  void add(std::string_view name, std::string_view value);
  /// Removes every field of this name, then appends one with this value.
  void set(std::string_view name, std::string_view value);
  /// Removes every field of this name; returns how many were removed.
  std::size_t remove(std::string_view name);

  /// The first value of `name`, if any.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  /// Every value of `name`, in order.
  [[nodiscard]] std::vector<std::string_view> values(std::string_view name) const;
  /// Whether there is a field of this name.
  [[nodiscard]] bool has(std::string_view name) const;

  /// How many fields, each repeated name counted every time.
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  /// Whether there are no fields.
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  /// Removes every field.
  void clear() noexcept { fields_.clear(); }
  /// Makes room for `n` fields (as std::vector::reserve).
  void reserve(std::size_t n) { fields_.reserve(n); }
  /// The first field, in arrival order.
  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  /// Past the last field.
  [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }

  /// The same fields in the same order, names compared case-sensitively.
  friend bool operator==(const Header&, const Header&) = default;

 private:
  std::vector<HeaderField> fields_;
};

}  // namespace nethttp
