#include "codec/request_writer.h"

#include <cassert>
#include <charconv>
#include <string>

#include "base/ascii.h"
#include "base/quote.h"
#include "codec/field_list.h"

namespace nethttp::codec {
namespace {

/// CR, LF and NUL would end or split the line they are in: a header value
/// carrying them is how request splitting is done. No other control byte
/// but HTAB is valid in a field value either (RFC 9110 §5.5); Go rejects
/// them too. Empty when `value` is clean, else what is wrong with it.
std::string control_byte_in(std::string_view value) {
  const std::size_t at = ascii::find_control_but_tab(value);
  if (at == std::string_view::npos) return {};
  return "has a control byte " + quoted(value.substr(at, 1)) + " in its value " + quoted(value);
}

/// Fields the writer derives itself (RFC 9112 §6, §3.2), and the proxy's
/// credentials, which only the transport sets: a caller's copy is skipped.
bool is_derived_field(std::string_view name) {
  return ascii::iequals(name, "host") || ascii::iequals(name, "content-length") ||
         ascii::iequals(name, "transfer-encoding") || ascii::iequals(name, "proxy-authorization");
}

/// Whether the caller's Connection fields already hold the "close" token.
bool asks_to_close(const Header* header) {
  if (header == nullptr) return false;
  for (const std::string_view value : header->values("connection")) {
    if (list_has_token(value, "close")) return true;
  }
  return false;
}

Error invalid(std::string message) {
  return Error(ErrorKind::invalid_request, std::move(message));
}

Result<void> check_field(const HeaderField& field) {
  if (!ascii::is_token(field.name)) return invalid("invalid header field name " + quoted(field.name));
  if (std::string wrong = control_byte_in(field.value); !wrong.empty()) {
    return invalid("header field " + quoted(field.name) + " " + wrong);
  }
  return {};
}

void append_decimal(std::uint64_t n, std::string& out) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  assert(ec == std::errc());
  out.append(digits, end);
}

void append_field(std::string_view name, std::string_view value, std::string& out) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

/// path plus "?query" (RFC 9112 §3.2.1).
void append_origin_form(const Url& url, std::string& out) {
  out += url.path();
  if (url.has_query()) {
    out += '?';
    out += url.query();
  }
}

}  // namespace

Result<void> write_request_head(const RequestHead& head, std::string& out) {
  assert(head.url != nullptr);
  const Url& url = *head.url;
  // Everything is checked before anything is appended: an invalid request
  // leaves no half-written head behind.
  if (!ascii::is_token(head.method)) return invalid("invalid method " + quoted(head.method));
  if (std::string wrong = control_byte_in(head.host); !wrong.empty()) return invalid("Host " + wrong);
  if (std::string wrong = control_byte_in(head.user_agent); !wrong.empty())
    return invalid("User-Agent " + wrong);
  // Credentials stay out of the message.
  if (ascii::find_control_but_tab(head.proxy_authorization) != std::string_view::npos)
    return invalid("Proxy-Authorization has a control byte in its value");
  if (head.header != nullptr) {
    for (const HeaderField& field : *head.header)
      if (Result<void> ok = check_field(field); !ok) return ok;
  }

  out += head.method;
  out += ' ';
  switch (head.form) {
    case TargetForm::origin: append_origin_form(url, out); break;
    case TargetForm::absolute:
      // RFC 9112 §3.2.2: no userinfo, no fragment.
      out += url.scheme();
      out += "://";
      url.append_authority(out);
      append_origin_form(url, out);
      break;
    // RFC 9112 §3.2.3: CONNECT's authority-form always has the port.
    case TargetForm::authority: url.append_host_port(out); break;
  }
  out += " HTTP/1.1\r\nHost: ";
  if (!head.host.empty()) {
    out += head.host;
  } else if (head.form == TargetForm::authority) {
    url.append_host_port(out);
  } else {
    url.append_authority(out);
  }
  out += "\r\n";

  if (head.header != nullptr) {
    for (const HeaderField& field : *head.header)
      if (!is_derived_field(field.name)) append_field(field.name, field.value, out);
  }
  if (!head.user_agent.empty()) append_field("User-Agent", head.user_agent, out);
  if (!head.proxy_authorization.empty()) append_field("Proxy-Authorization", head.proxy_authorization, out);
  switch (head.body) {
    case RequestBodyFraming::none: break;
    case RequestBodyFraming::content_length:
      out += "Content-Length: ";
      append_decimal(head.content_length, out);
      out += "\r\n";
      break;
    case RequestBodyFraming::chunked: out += "Transfer-Encoding: chunked\r\n"; break;
  }
  if (head.close && !asks_to_close(head.header)) out += "Connection: close\r\n";
  out += "\r\n";
  return {};
}

void write_chunk_header(std::uint64_t size, std::string& out) {
  assert(size != 0);
  char digits[16];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, size, 16);
  assert(ec == std::errc());
  out.append(digits, end);
  out += "\r\n";
}

Result<void> write_last_chunk(const Header* trailers, std::string& out) {
  if (trailers != nullptr) {
    for (const HeaderField& field : *trailers)
      if (Result<void> ok = check_field(field); !ok) return ok;
  }
  out += "0\r\n";
  if (trailers != nullptr) {
    for (const HeaderField& field : *trailers) append_field(field.name, field.value, out);
  }
  out += "\r\n";
  return {};
}

}  // namespace nethttp::codec
