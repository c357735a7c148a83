#include "request_options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace nethttp::cli {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/// Reads all of `file` (binary). Returns an error message or nothing.
std::optional<std::string> read_all(std::FILE* file, std::string_view name, std::string& out) {
  char buf[64 * 1024];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, file);
    out.append(buf, n);
    if (n < sizeof buf) break;
  }
  if (std::ferror(file)) return "cannot read " + std::string(name) + ": " + std::strerror(errno);
  return std::nullopt;
}

}  // namespace

void add_request_options(OptionParser& parser, RequestOptions& options) {
  parser.group("request");
  parser.add(OptionSpec{"request", 'X', "METHOD", "method (default GET; POST with -d)",
                        [&options](std::string_view value) -> std::optional<std::string> {
                          if (value.empty()) return "wants a method such as GET or PUT";
                          options.method = std::string(value);
                          return std::nullopt;
                        }});
  parser.add(OptionSpec{"header", 'H', "'NAME: VALUE'",
                        "add a request header field (repeatable; in this order); 'Host: x' sets the Host "
                        "header (Go's Request.Host)",
                        [&options](std::string_view value) -> std::optional<std::string> {
                          const std::size_t colon = value.find(':');
                          const std::string_view name =
                              colon == std::string_view::npos ? value : trim(value.substr(0, colon));
                          if (colon == std::string_view::npos || name.empty()) {
                            return "wants 'Name: value', not '" + std::string(value) + "'";
                          }
                          const std::string_view field_value = trim(value.substr(colon + 1));
                          if (iequals(name, "host")) {
                            options.host = std::string(field_value);
                          } else {
                            // Characters that cannot be sent (CR, LF...) are left for the
                            // request writer to refuse: an invalid_request error per URL.
                            options.header.add(name, field_value);
                          }
                          return std::nullopt;
                        }});
  parser.add(
      OptionSpec{"data", 'd', "DATA",
                 "request body, sent as is (no Content-Type added; use -H); @FILE reads it from FILE, @- "
                 "from stdin; implies POST unless -X",
                 [&options](std::string_view value) -> std::optional<std::string> {
                   if (options.data) return "given twice: give the body once (@FILE for long bodies)";
                   options.data = std::string(value);
                   return std::nullopt;
                 }});
}

std::optional<std::string> load_body(RequestOptions& options) {
  if (!options.data) return std::nullopt;
  const std::string& data = *options.data;
  std::string bytes;
  if (data == "@-") {
    if (auto error = read_all(stdin, "stdin", bytes)) return error;
  } else if (data.starts_with('@')) {
    const std::string path = data.substr(1);
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return "-d: cannot open '" + path + "': " + std::strerror(errno);
    auto error = read_all(file, "'" + path + "'", bytes);
    std::fclose(file);
    if (error) return "-d: " + *error;
  } else {
    bytes = data;
  }
  options.body = RequestBody::from_string(std::move(bytes));
  return std::nullopt;
}

Result<Request> build_request(const RequestOptions& options, std::string_view url) {
  std::string method = options.method.value_or(options.data ? "POST" : "GET");
  Result<Request> request = make_request(std::move(method), url, options.body);
  if (!request) return request;
  request->header = options.header;
  request->host = options.host;
  return request;
}

}  // namespace nethttp::cli
