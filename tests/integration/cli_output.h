// Reading what the programs run by the integration tests print (the CLI in
// cli_test.cc and demo_test.cc, the examples in examples_test.cc): its
// lines, and a small JSON reader, enough to check the CLI's --json output
// (RFC 8259, strict).
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

namespace nethttp::testing {

/// The lines of `text`, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Json;
struct JsonMember;
using JsonObject = std::vector<JsonMember>;  // in document order
using JsonArray = std::vector<Json>;

struct Json {
  std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> v;

  [[nodiscard]] bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
  [[nodiscard]] bool is_object() const { return std::holds_alternative<JsonObject>(v); }
  [[nodiscard]] bool boolean() const { return std::get<bool>(v); }
  [[nodiscard]] double number() const { return std::get<double>(v); }
  [[nodiscard]] std::int64_t integer() const { return static_cast<std::int64_t>(std::get<double>(v)); }
  [[nodiscard]] const std::string& str() const { return std::get<std::string>(v); }
  [[nodiscard]] const JsonArray& array() const { return std::get<JsonArray>(v); }
  [[nodiscard]] const JsonObject& object() const { return std::get<JsonObject>(v); }
  /// The member `key`; a missing member fails the test and reads as null.
  [[nodiscard]] const Json& operator[](std::string_view key) const;
  [[nodiscard]] std::vector<std::string> keys() const;
};

// Defined after Json: a member holds a complete Json (clang's libstdc++
// instantiation needs it).
struct JsonMember {
  std::string key;
  Json value;
};

inline const Json& Json::operator[](std::string_view key) const {
  static const Json null_json{nullptr};
  for (const JsonMember& m : object()) {
    if (m.key == key) return m.value;
  }
  ADD_FAILURE() << "no member \"" << key << "\"";
  return null_json;
}

inline std::vector<std::string> Json::keys() const {
  std::vector<std::string> out;
  for (const JsonMember& m : object()) out.push_back(m.key);
  return out;
}

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  /// The one value of the text, or nothing when it is not valid JSON.
  std::optional<Json> document() {
    std::optional<Json> value = parse_value();
    skip_space();
    if (!value || i_ != s_.size()) return std::nullopt;
    return value;
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  std::optional<Json> parse_value() {
    skip_space();
    if (i_ >= s_.size()) return std::nullopt;
    const char c = s_[i_];
    if (c == '{') return parse_object();
    if (c == '[') return parse_array();
    if (c == '"') {
      std::optional<std::string> s = parse_string();
      if (!s) return std::nullopt;
      return Json{std::move(*s)};
    }
    if (literal("null")) return Json{nullptr};
    if (literal("true")) return Json{true};
    if (literal("false")) return Json{false};
    return parse_number();
  }

  std::optional<Json> parse_number() {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) != 0 || s_[i_] == '.' ||
                              s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
    }
    if (i_ == start) return std::nullopt;
    const std::string text(s_.substr(start, i_ - start));
    char* end = nullptr;
    const double d = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) return std::nullopt;
    return Json{d};
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::optional<std::string> parse_string() {
    ++i_;  // the opening quote
    std::string out;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;  // raw control: invalid JSON
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) return std::nullopt;
          const std::uint32_t cp = std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16);
          i_ += 4;
          append_utf8(out, cp);
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::optional<Json> parse_array() {
    ++i_;
    JsonArray out;
    if (eat(']')) return Json{std::move(out)};
    do {
      std::optional<Json> value = parse_value();
      if (!value) return std::nullopt;
      out.push_back(std::move(*value));
    } while (eat(','));
    if (!eat(']')) return std::nullopt;
    return Json{std::move(out)};
  }

  std::optional<Json> parse_object() {
    ++i_;
    JsonObject out;
    if (eat('}')) return Json{std::move(out)};
    do {
      skip_space();
      if (i_ >= s_.size() || s_[i_] != '"') return std::nullopt;
      std::optional<std::string> key = parse_string();
      if (!key || !eat(':')) return std::nullopt;
      std::optional<Json> value = parse_value();
      if (!value) return std::nullopt;
      out.push_back(JsonMember{std::move(*key), std::move(*value)});
    } while (eat(','));
    if (!eat('}')) return std::nullopt;
    return Json{std::move(out)};
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace nethttp::testing
