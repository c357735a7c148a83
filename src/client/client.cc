#include "nethttp/client.h"

#include <optional>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "client/decoder.h"
#include "client/decoding_body.h"
#include "client/redirect.h"

namespace nethttp {
namespace {

/// Header fields that describe a body: they go when a redirect drops it.
bool describes_body(std::string_view name) {
  return name.size() > 8 && ascii::iequals(name.substr(0, 8), "content-");
}

/// What a request asks for when the client decodes for it.
constexpr std::string_view kAcceptEncoding = "gzip, br, zstd";

/// Adds Accept-Encoding when the client is to decode the response itself
/// (as Go's transport: not for HEAD or Range requests, never over the
/// caller's own Accept-Encoding). True when it did.
bool ask_for_compression(const ClientOptions& options, Request& request) {
  if (options.disable_compression || request.method == "HEAD" || request.header.has("accept-encoding") ||
      request.header.has("range")) {
    return false;
  }
  request.header.add("Accept-Encoding", kAcceptEncoding);
  return true;
}

/// Decodes the body of a response to a request that asked for compression.
/// An unknown coding is left as it is (the caller sees Content-Encoding).
void decode(const ClientOptions& options, Response& response) {
  const std::optional<std::string_view> coding = response.header.get("content-encoding");
  if (!coding) return;
  client::DecodeLimits limits;
  limits.max_decoded_bytes = options.max_decoded_bytes;
  limits.max_ratio = options.max_decompression_ratio;
  std::unique_ptr<client::Decoder> decoder = client::make_decoder(*coding, limits);
  if (!decoder) return;
  response.body = Body(std::make_unique<client::DecodingBody>(std::move(response.body), std::move(decoder)));
  response.header.remove("content-encoding");
  response.header.remove("content-length");
  response.content_length = -1;
  response.uncompressed = true;
}

/// Adds the jar's cookies for the request's URL to its Cookie field (after
/// any the caller set, as Go's AddCookie).
void add_jar_cookies(CookieJar& jar, Request& request) {
  const std::string cookies = jar.cookie_header(request.url);
  if (cookies.empty()) return;
  const std::optional<std::string_view> own = request.header.get("cookie");
  request.header.set("Cookie", own ? std::string(*own) + "; " + cookies : cookies);
}

}  // namespace

Client::Client() : transport_(std::make_shared<Transport>()) {}

Client::Client(std::shared_ptr<Transport> transport, ClientOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

Result<Response> Client::send(Request request) {
  if (options_.timeout > std::chrono::milliseconds::zero()) {
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    if (!request.deadline || deadline < *request.deadline) request.deadline = deadline;
  }
  std::vector<std::shared_ptr<const Request>> via;
  // The caller's fields travel along the chain (copied at the first
  // redirect). Credentials dropped once (a hop to another host) stay
  // dropped, even if a later hop returns to the first host (the fix Go
  // shipped for CVE-2024-45336).
  std::optional<Header> carried;
  const bool first_asked = ask_for_compression(options_, request);
  // The jar's cookies are added per hop (their scope decides), never carried.
  const std::optional<std::string> own_cookie =
      request.header.get("cookie") ? std::optional<std::string>(*request.header.get("cookie")) : std::nullopt;
  if (options_.jar) add_jar_cookies(*options_.jar, request);
  bool asked = first_asked;
  auto current = std::make_shared<const Request>(std::move(request));
  for (;;) {
    Result<Response> response = transport_->round_trip(current);
    if (!response) return response;
    response->redirects = static_cast<int>(via.size());
    if (options_.jar) options_.jar->set_cookies(current->url, response->header.values("set-cookie"));
    if (asked) decode(options_, *response);
    const std::optional<client::RedirectBehavior> behavior =
        client::redirect_behavior(*current, response->status);
    // A 3xx without Location is a response like any other (seen in the wild).
    const std::optional<std::string_view> location = response->header.get("location");
    if (!behavior || !location) return response;

    Result<Url> target = current->url.resolve(*location);
    if (!target) {
      return std::move(target)
          .error()
          .with_context("following the redirect from " + current->url.redacted())
          .with_response_status(response->status);
    }
    // RFC 9110 §10.2.2: a Location without a fragment inherits the current one.
    if (!target->has_fragment() && current->url.has_fragment()) {
      Result<Url> with_fragment = Url::parse(target->str() + "#" + current->url.fragment());
      if (with_fragment) target = std::move(with_fragment);
    }

    via.push_back(current);
    const Request& first = *via.front();
    if (!carried) {
      carried = first.header;
      // Each hop decides for itself whether the client asks for compression
      // and which of the jar's cookies go along.
      if (first_asked) carried->remove("accept-encoding");
      if (options_.jar) {
        carried->remove("cookie");
        if (own_cookie) carried->add("Cookie", *own_cookie);
      }
    }
    Request next;
    next.method = behavior->method;
    next.url = *std::move(target);
    next.close = current->close;
    next.deadline = current->deadline;
    next.cancel = current->cancel;
    if (behavior->keep_body) next.body = current->body;
    std::vector<std::string> dropped;
    for (const HeaderField& field : *carried) {
      if (!client::keeps_header_on_redirect(field.name, first.url, next.url)) {
        dropped.push_back(field.name);
      } else if (behavior->keep_body || !describes_body(field.name)) {
        next.header.add(field.name, field.value);
      }
    }
    for (const std::string& name : dropped) carried->remove(name);
    // Go's Referer: the previous URL, unless the caller set one (or https to http).
    if (!first.header.has("referer")) {
      const std::string referer = client::referer_for(current->url, next.url);
      if (!referer.empty()) next.header.set("Referer", referer);
    }
    asked = ask_for_compression(options_, next);
    if (options_.jar) add_jar_cookies(*options_.jar, next);

    if (options_.check_redirect) {
      Result<RedirectVerdict> verdict = options_.check_redirect(next, via);
      if (!verdict) return std::move(verdict).error().with_response_status(response->status);
      if (*verdict == RedirectVerdict::stop) return response;
    } else if (options_.max_redirects <= 0) {
      return response;
    } else if (static_cast<int>(via.size()) >= options_.max_redirects) {
      return Error(ErrorKind::too_many_redirects,
                   "stopped after " + std::to_string(via.size()) + " requests (" +
                       std::to_string(via.size() - 1) + " redirects followed), the last to " +
                       current->url.redacted() + " answered " + std::to_string(response->status))
          .with_response_status(response->status);
    }
    if (!options_.allow_internal_redirects && has_internal_host(next.url) &&
        !has_internal_host(current->url)) {
      return Error(ErrorKind::bad_url, "redirect from " + current->url.redacted() + " to the internal host " +
                                           next.url.redacted() +
                                           " refused (ClientOptions::allow_internal_redirects allows it)")
          .with_response_status(response->status);
    }
    // The previous body goes first (drained when small): a redirect to the
    // same origin then reuses its connection.
    response->body.close();
    current = std::make_shared<const Request>(std::move(next));
  }
}

Result<Response> Client::get(std::string_view url) {
  Result<Request> request = make_request("GET", url);
  if (!request) return std::move(request).error();
  return send(*std::move(request));
}

Result<Response> Client::head(std::string_view url) {
  Result<Request> request = make_request("HEAD", url);
  if (!request) return std::move(request).error();
  return send(*std::move(request));
}

Result<Response> Client::post(std::string_view url, std::string_view content_type, RequestBody body) {
  Result<Request> request = make_request("POST", url, std::move(body));
  if (!request) return std::move(request).error();
  request->header.set("Content-Type", content_type);
  return send(*std::move(request));
}

}  // namespace nethttp
