#include "json_writer.h"

#include <cassert>
#include <cmath>
#include <cstdio>

namespace nethttp::cli {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_byte_escape(std::string& out, unsigned char b) {
  out += "\\u00";
  out += kHex[b >> 4];
  out += kHex[b & 0xf];
}

/// The length of the valid UTF-8 sequence starting at s[i] (RFC 3629 §4:
/// no overlong forms, no surrogates, nothing beyond U+10FFFF), or 0 when the
/// byte there does not start one.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = at(i);
  const std::size_t left = s.size() - i;
  const auto cont = [&](std::size_t k) { return k < left && (at(i + k) & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const unsigned char b1 = at(i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;  // overlong
    if (b0 == 0xED && b1 > 0x9F) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const unsigned char b1 = at(i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && b1 > 0x8F) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;  // continuation byte, C0, C1 or F5..FF
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        append_byte_escape(out, b);
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (b < 0x20 || b == 0x7f) {
          append_byte_escape(out, b);
        } else {
          out += c;
        }
    }
    ++i;
  }
  out += '"';
}

void JsonWriter::before_value() {
  if (levels_.empty()) {
    assert(out_.empty() && "one top-level value per writer");
    return;
  }
  Level& level = levels_.back();
  if (level.scope == Scope::object) {
    assert(key_pending_ && "an object member needs key() first");
    key_pending_ = false;
    return;
  }
  if (!level.empty) out_ += ", ";
  level.empty = false;
}

void JsonWriter::open(Scope scope, char c) {
  before_value();
  out_ += c;
  levels_.push_back(Level{scope});
}

void JsonWriter::close(Scope scope, char c) {
  assert(!levels_.empty() && levels_.back().scope == scope && !key_pending_);
  (void)scope;
  levels_.pop_back();
  out_ += c;
}

JsonWriter& JsonWriter::begin_object() {
  open(Scope::object, '{');
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  close(Scope::object, '}');
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  open(Scope::array, '[');
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(Scope::array, ']');
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  assert(!levels_.empty() && levels_.back().scope == Scope::object && !key_pending_);
  Level& level = levels_.back();
  if (!level.empty) out_ += ", ";
  level.empty = false;
  append_json_string(out_, name);
  out_ += ": ";
  key_pending_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  append_json_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t n) {
  before_value();
  out_ += std::to_string(n);
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t n) {
  before_value();
  out_ += std::to_string(n);
  return *this;
}

JsonWriter& JsonWriter::value(double d, int decimals) {
  if (!std::isfinite(d)) return null();
  before_value();
  // Large magnitudes print every integer digit: size the text first.
  const int n = std::snprintf(nullptr, 0, "%.*f", decimals, d);
  const std::size_t at = out_.size();
  out_.resize(at + static_cast<std::size_t>(n) + 1);
  std::snprintf(out_.data() + at, static_cast<std::size_t>(n) + 1, "%.*f", decimals, d);
  out_.resize(at + static_cast<std::size_t>(n));
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

}  // namespace nethttp::cli
