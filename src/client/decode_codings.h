// The unguarded decoder of each coding; make_decoder() wraps them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "client/decoder.h"
#include "nethttp/error.h"

namespace nethttp::client::detail {

[[nodiscard]] std::unique_ptr<Decoder> make_gzip_decoder();
[[nodiscard]] std::unique_ptr<Decoder> make_deflate_decoder();
[[nodiscard]] std::unique_ptr<Decoder> make_brotli_decoder();
[[nodiscard]] std::unique_ptr<Decoder> make_zstd_decoder();

/// "corrupt <coding> stream: <why>".
[[nodiscard]] inline Error corrupt_error(std::string_view coding, std::string_view why) {
  std::string message = "corrupt ";
  message.append(coding).append(" stream: ").append(why);
  return Error(ErrorKind::body, std::move(message));
}

/// "trailing data after the end of the <coding> stream".
[[nodiscard]] inline Error trailing_error(std::string_view coding) {
  std::string message = "trailing data after the end of the ";
  message.append(coding).append(" stream");
  return Error(ErrorKind::body, std::move(message));
}

}  // namespace nethttp::client::detail
