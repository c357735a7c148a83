// Command-line option parsing shared by the subcommands: one table of options
// per command that both parses argv and renders --help.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nethttp::cli {

/// Applies an option's value (an empty view for a flag without one). Returns
/// an error message naming what is expected ("wants a whole number >= 1") for
/// a bad value, or nothing.
using OptionHandler = std::function<std::optional<std::string>(std::string_view value)>;

/// One option of a command.
struct OptionSpec {
  std::string long_name;  ///< without the leading "--"
  char short_name = 0;    ///< 0: no short form
  std::string metavar;    ///< the value's name in --help; empty: a flag without value
  std::string help;       ///< for --help: flowing text, wrapped there
  OptionHandler apply;
};

/// What parse() found.
struct ParsedArgs {
  std::vector<std::string> positionals;  ///< in order, options removed
  bool help = false;                     ///< -h or --help was given
  std::optional<std::string> error;      ///< bad usage: one line, without the command name
};

/// The option table of one command (GNU conventions): `--name VALUE`,
/// `--name=VALUE`, `-x VALUE`, `-xVALUE`, bundled short flags (`-vk`), options
/// and positionals in any order, `--` ends the options. A value is taken as
/// is even when it starts with '-'. `-h` and `--help` are built in.
class OptionParser {
 public:
  /// `command` as typed after "nethttp" ("fetch"); `synopsis` is what
  /// follows it in the usage line ("[options] URL [URL ...]").
  OptionParser(std::string command, std::string synopsis);

  /// Starts a titled group of options in --help.
  void group(std::string title);
  void add(OptionSpec spec);
  /// A flag that sets `target` to true.
  void add_flag(std::string long_name, char short_name, std::string help, bool& target);

  [[nodiscard]] ParsedArgs parse(std::span<const char* const> args) const;

  /// The --help text: usage line, `description`, every option by group, then
  /// `examples` (each line as given).
  [[nodiscard]] std::string help(std::string_view description, std::string_view examples) const;
  /// "nethttp fetch: <message> (see 'nethttp fetch --help')".
  [[nodiscard]] std::string usage_error(std::string_view message) const;
  /// Prints usage_error(message) on stderr; returns the bad-usage exit status, 2.
  int fail_usage(std::string_view message) const;
  /// What ends a command before it runs: a usage error (printed, 2) or
  /// --help (printed, 0); nullopt when the command goes on.
  [[nodiscard]] std::optional<int> stop_early(const ParsedArgs& parsed, std::string_view description,
                                              std::string_view examples) const;

 private:
  struct Group {
    std::string title;
    std::vector<std::size_t> options;  ///< indexes into options_
  };

  [[nodiscard]] const OptionSpec* find_long(std::string_view name) const;
  [[nodiscard]] const OptionSpec* find_short(char c) const;
  [[nodiscard]] std::string unknown_long(std::string_view name) const;
  [[nodiscard]] std::string unknown_short(char c) const;

  std::string command_;
  std::string synopsis_;
  std::vector<OptionSpec> options_;
  std::vector<Group> groups_;
};

// Value parsers for handlers: each returns an error message or nothing.

/// A whole decimal number in [min, max] ("wants a whole number >= 1").
[[nodiscard]] std::optional<std::string> parse_int(std::string_view text, int min, int max, int& out);
/// A byte count: a whole decimal number >= 0.
[[nodiscard]] std::optional<std::string> parse_bytes(std::string_view text, std::uint64_t& out);
/// Seconds as a decimal number >= 0 with an optional fraction ("1", "0.25",
/// ".5"); no sign, exponent, inf or nan; at most 10^8 seconds.
[[nodiscard]] std::optional<std::string> parse_seconds(std::string_view text, std::chrono::nanoseconds& out);

/// `d` as milliseconds for a TransportOptions field, rounding a positive
/// duration up so that it never becomes 0 (which means "no limit" there).
[[nodiscard]] std::chrono::milliseconds to_option_millis(std::chrono::nanoseconds d);

}  // namespace nethttp::cli
