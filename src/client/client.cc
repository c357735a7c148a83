#include "nethttp/client.h"

namespace nethttp {

Client::Client() : transport_(std::make_shared<Transport>()) {}

Client::Client(std::shared_ptr<Transport> transport) : transport_(std::move(transport)) {}

Result<Response> Client::send(Request request) {
  return transport_->round_trip(std::make_shared<const Request>(std::move(request)));
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
