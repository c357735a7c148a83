#include "args.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace nethttp::cli {

namespace {

/// Options whose "-x, --name METAVAR" column is wider than this get their help
/// on the next line.
constexpr std::size_t kHelpColumn = 32;
/// --help lines are wrapped to this many columns (a classic terminal).
constexpr std::size_t kHelpWidth = 80;

/// Levenshtein distance, for "did you mean" on a mistyped option.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string spelled(char short_name, std::string_view long_name) {
  std::string s = "'--";
  s += long_name;
  s += '\'';
  if (short_name != 0) {
    s += " (-";
    s += short_name;
    s += ')';
  }
  return s;
}

/// "  -x, --name VALUE   help", the help column aligned and `help` (flowing
/// text) word-wrapped to kHelpWidth under it.
void append_option_line(std::string& out, std::string_view left, std::string_view help) {
  const std::string indent(kHelpColumn + 2, ' ');
  out += left;
  if (left.size() > kHelpColumn) {
    out += "\n" + indent;
  } else {
    out += std::string(kHelpColumn + 2 - left.size(), ' ');
  }
  const std::size_t width = kHelpWidth - indent.size();
  std::size_t column = 0;
  std::size_t start = 0;
  while (start < help.size()) {
    std::size_t end = help.find_first_of(" \n", start);
    if (end == std::string_view::npos) end = help.size();
    const std::string_view word = help.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (column != 0 && column + 1 + word.size() > width) {
      out += "\n" + indent;
      column = 0;
    }
    if (column != 0) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  out += '\n';
}

}  // namespace

OptionParser::OptionParser(std::string command, std::string synopsis)
    : command_(std::move(command)), synopsis_(std::move(synopsis)) {}

void OptionParser::group(std::string title) {
  groups_.push_back(Group{std::move(title), {}});
}

void OptionParser::add(OptionSpec spec) {
  if (groups_.empty()) group("options");
  groups_.back().options.push_back(options_.size());
  options_.push_back(std::move(spec));
}

void OptionParser::add_flag(std::string long_name, char short_name, std::string help, bool& target) {
  add(OptionSpec{std::move(long_name), short_name, "", std::move(help), [&target](std::string_view) {
                   target = true;
                   return std::optional<std::string>();
                 }});
}

const OptionSpec* OptionParser::find_long(std::string_view name) const {
  for (const OptionSpec& o : options_) {
    if (o.long_name == name) return &o;
  }
  return nullptr;
}

const OptionSpec* OptionParser::find_short(char c) const {
  for (const OptionSpec& o : options_) {
    if (o.short_name == c) return &o;
  }
  return nullptr;
}

std::string OptionParser::unknown_long(std::string_view name) const {
  std::string message = "unknown option '--" + std::string(name) + "'";
  const OptionSpec* best = nullptr;
  std::size_t best_distance = 3;  // suggest only close misspellings
  for (const OptionSpec& o : options_) {
    const std::size_t d = edit_distance(name, o.long_name);
    if (d < best_distance) {
      best = &o;
      best_distance = d;
    }
  }
  if (best != nullptr) message += "; did you mean '--" + best->long_name + "'?";
  return message;
}

std::string OptionParser::unknown_short(char c) const {
  return std::string("unknown option '-") + c + "'";
}

ParsedArgs OptionParser::parse(std::span<const char* const> args) const {
  ParsedArgs out;
  const auto fail = [&out](std::string message) {
    out.error = std::move(message);
    return out;
  };
  const auto apply = [](const OptionSpec& o, std::string_view value) -> std::optional<std::string> {
    std::optional<std::string> error = o.apply(value);
    if (!error) return std::nullopt;
    return "option " + spelled(o.short_name, o.long_name) + ": " + *error;
  };

  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      out.positionals.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg.starts_with("--")) {
      const std::string_view body = arg.substr(2);
      const std::size_t eq = body.find('=');
      const std::string_view name = body.substr(0, eq);
      const OptionSpec* o = find_long(name);
      if (o == nullptr) return fail(unknown_long(name));
      std::string_view value;
      if (o->metavar.empty()) {
        if (eq != std::string_view::npos) return fail("option '--" + o->long_name + "' takes no value");
      } else if (eq != std::string_view::npos) {
        value = body.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail("option '--" + o->long_name + "' needs a value (" + o->metavar + ")");
      }
      if (auto error = apply(*o, value)) return fail(std::move(*error));
      continue;
    }
    // One or more short options: "-v", "-vk", "-XPOST", "-X POST".
    for (std::size_t k = 1; k < arg.size(); ++k) {
      const char c = arg[k];
      if (c == 'h') {
        out.help = true;
        continue;
      }
      const OptionSpec* o = find_short(c);
      if (o == nullptr) return fail(unknown_short(c));
      if (o->metavar.empty()) {
        if (auto error = apply(*o, {})) return fail(std::move(*error));
        continue;
      }
      std::string_view value;
      if (k + 1 < arg.size()) {
        value = arg.substr(k + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail(std::string("option '-") + c + "' needs a value (" + o->metavar + ")");
      }
      if (auto error = apply(*o, value)) return fail(std::move(*error));
      break;
    }
  }
  return out;
}

std::string OptionParser::help(std::string_view description, std::string_view examples) const {
  std::string out = "usage: nethttp " + command_ + " " + synopsis_ + "\n\n";
  out += description;
  if (!description.ends_with('\n')) out += '\n';
  for (const Group& g : groups_) {
    out += "\n" + g.title + ":\n";
    for (const std::size_t index : g.options) {
      const OptionSpec& o = options_[index];
      std::string left = "  ";
      left += o.short_name != 0 ? std::string("-") + o.short_name + ", " : std::string("    ");
      left += "--" + o.long_name;
      if (!o.metavar.empty()) left += " " + o.metavar;
      append_option_line(out, left, o.help);
    }
  }
  out += '\n';
  append_option_line(out, "  -h, --help", "this help");
  if (!examples.empty()) {
    out += "\nexamples:\n";
    out += examples;
    if (!examples.ends_with('\n')) out += '\n';
  }
  return out;
}

std::string OptionParser::usage_error(std::string_view message) const {
  return "nethttp " + command_ + ": " + std::string(message) + " (see 'nethttp " + command_ + " --help')";
}

int OptionParser::fail_usage(std::string_view message) const {
  std::fprintf(stderr, "%s\n", usage_error(message).c_str());
  return 2;
}

std::optional<int> OptionParser::stop_early(const ParsedArgs& parsed, std::string_view description,
                                            std::string_view examples) const {
  if (parsed.error) return fail_usage(*parsed.error);
  if (parsed.help) {
    std::fputs(help(description, examples).c_str(), stdout);
    return 0;
  }
  return std::nullopt;
}

std::optional<std::string> parse_int(std::string_view text, int min, int max, int& out) {
  const auto wants = [&] {
    std::string s = "wants a whole number";
    if (max == std::numeric_limits<int>::max())
      return s + " >= " + std::to_string(min) + ", not '" + std::string(text) + "'";
    return s + " from " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + std::string(text) +
           "'";
  };
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) return wants();
  out = value;
  return std::nullopt;
}

std::optional<std::string> parse_bytes(std::string_view text, std::uint64_t& out) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return "wants a byte count (a whole number >= 0), not '" + std::string(text) + "'";
  }
  out = value;
  return std::nullopt;
}

std::optional<std::string> parse_seconds(std::string_view text, std::chrono::nanoseconds& out) {
  constexpr double kMaxSeconds = 1e8;  // ~3 years; far from nanoseconds' int64 overflow
  const auto wants = [&] {
    return "wants seconds (a number >= 0 like 5 or 0.25), not '" + std::string(text) + "'";
  };
  // from_chars would also take a sign, an exponent, "inf" and "nan": only
  // digits with at most one '.' are seconds here.
  const bool has_digit = std::any_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const bool well_formed =
      std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
      std::count(text.begin(), text.end(), '.') <= 1;
  if (!has_digit || !well_formed) return wants();
  double seconds = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, seconds, std::chars_format::fixed);
  if (ec != std::errc() || ptr != end || !(seconds <= kMaxSeconds)) return wants();
  out = std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(seconds * 1e9)));
  return std::nullopt;
}

std::chrono::milliseconds to_option_millis(std::chrono::nanoseconds d) {
  return std::chrono::ceil<std::chrono::milliseconds>(d);
}

}  // namespace nethttp::cli
