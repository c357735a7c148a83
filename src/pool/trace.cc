#include "nethttp/trace.h"

namespace nethttp {

std::string_view to_string(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::peer_closed: return "peer_closed";
    case CloseReason::unsolicited_bytes: return "unsolicited_bytes";
    case CloseReason::idle_timeout: return "idle_timeout";
    case CloseReason::server_idle_timeout: return "server_idle_timeout";
    case CloseReason::max_lifetime: return "max_lifetime";
    case CloseReason::idle_pool_full: return "idle_pool_full";
    case CloseReason::evicted: return "evicted";
    case CloseReason::not_reusable: return "not_reusable";
    case CloseReason::body_not_drained: return "body_not_drained";
    case CloseReason::error: return "error";
    case CloseReason::closed_by_user: return "closed_by_user";
  }
  return "error";
}

}  // namespace nethttp
