// Readable GoogleTest output for the library's own value types. gtest finds
// a PrintTo() by argument-dependent lookup, so each one is declared in the
// namespace of its type.
#pragma once

#include <ostream>
#include <string_view>

#include "codec/framing.h"
#include "nethttp/error.h"
#include "nethttp/trace.h"

namespace nethttp {
void PrintTo(ErrorKind kind, std::ostream* os);
void PrintTo(CloseReason reason, std::ostream* os);
}  // namespace nethttp

namespace nethttp::codec {
[[nodiscard]] std::string_view to_string(BodyFraming kind);
void PrintTo(BodyFraming kind, std::ostream* os);
void PrintTo(const Framing& framing, std::ostream* os);
}  // namespace nethttp::codec
