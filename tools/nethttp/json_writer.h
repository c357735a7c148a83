// A small streaming JSON writer for the CLI's --json output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nethttp::cli {

/// Appends JSON text to a string, adding commas between members and array
/// elements itself. The layout matches cli.md's examples: one line, ", "
/// between members and ": " after keys.
///
/// Strings may hold arbitrary bytes (header values can): valid UTF-8 is
/// copied as is; `"` and `\` are escaped; control characters become \b, \f,
/// \n, \r, \t or \u00XX (DEL too); every byte that is not part of a valid
/// UTF-8 sequence (stray continuation, overlong form, surrogate, beyond
/// U+10FFFF, truncated sequence) becomes \u00XX of that byte, i.e. it is read
/// as ISO-8859-1, the way RFC 9110 §5.5 treats such obs-text bytes. The output
/// is therefore always valid JSON in valid UTF-8.
///
/// Misuse (a value where a key is due, unbalanced ends) is a bug and asserts.
/// Not thread-safe.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The next member's name; a value must follow.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(std::uint64_t n);
  /// A number with `decimals` digits after the point; NaN and infinities
  /// (which JSON cannot hold) are written as null.
  JsonWriter& value(double d, int decimals = 3);
  JsonWriter& null();

  /// The text so far (a complete document once every container is closed).
  [[nodiscard]] const std::string& str() const noexcept { return out_; }

 private:
  enum class Scope : std::uint8_t { object, array };
  struct Level {
    Scope scope;
    bool empty = true;
  };

  void before_value();
  void open(Scope scope, char c);
  void close(Scope scope, char c);

  std::string out_;
  std::vector<Level> levels_;
  bool key_pending_ = false;  ///< key() was written and its value is due
};

/// Appends `s` to `out` as a JSON string literal, quotes included (the rules
/// of JsonWriter above).
void append_json_string(std::string& out, std::string_view s);

}  // namespace nethttp::cli
