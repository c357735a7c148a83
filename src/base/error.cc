#include "nethttp/error.h"

namespace nethttp {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::bad_url: return "bad_url";
    case ErrorKind::invalid_request: return "invalid_request";
    case ErrorKind::dns: return "dns";
    case ErrorKind::connect: return "connect";
    case ErrorKind::tls: return "tls";
    case ErrorKind::proxy: return "proxy";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::canceled: return "canceled";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::header_too_large: return "header_too_large";
    case ErrorKind::body: return "body";
    case ErrorKind::too_many_redirects: return "too_many_redirects";
    case ErrorKind::io: return "io";
  }
  return "io";
}

}  // namespace nethttp
