#include "support/printers.h"

namespace nethttp {

void PrintTo(ErrorKind kind, std::ostream* os) {
  *os << to_string(kind);
}

void PrintTo(CloseReason reason, std::ostream* os) {
  *os << to_string(reason);
}

}  // namespace nethttp

namespace nethttp::codec {

std::string_view to_string(BodyFraming kind) {
  switch (kind) {
    case BodyFraming::none: return "none";
    case BodyFraming::tunnel: return "tunnel";
    case BodyFraming::chunked: return "chunked";
    case BodyFraming::content_length: return "content_length";
    case BodyFraming::until_close: return "until_close";
  }
  return "?";
}

void PrintTo(BodyFraming kind, std::ostream* os) {
  *os << to_string(kind);
}

void PrintTo(const Framing& framing, std::ostream* os) {
  *os << "{" << to_string(framing.kind);
  if (framing.kind == BodyFraming::content_length) *os << " " << framing.content_length;
  if (framing.ambiguous) *os << " ambiguous";
  *os << "}";
}

}  // namespace nethttp::codec
