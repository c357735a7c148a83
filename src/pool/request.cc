#include "nethttp/request.h"

#include <atomic>
#include <cstring>

namespace nethttp {
namespace {

/// Serves bytes shared with the RequestBody, from the start.
class StringSource final : public BodySource {
 public:
  explicit StringSource(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  Result<std::size_t> read(std::span<char> buf) override {
    const std::size_t n = std::min(buf.size(), bytes_->size() - offset_);
    std::memcpy(buf.data(), bytes_->data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  std::size_t offset_ = 0;
};

}  // namespace

/// A one-shot stream and whether it was handed out already.
struct RequestBody::Stream {
  std::unique_ptr<BodySource> source;
  std::atomic<bool> opened{false};
};

RequestBody RequestBody::from_string(std::string bytes) {
  RequestBody body;
  body.kind_ = Kind::bytes;
  body.length_ = static_cast<std::int64_t>(bytes.size());
  body.bytes_ = std::make_shared<const std::string>(std::move(bytes));
  return body;
}

RequestBody RequestBody::from_factory(std::function<std::unique_ptr<BodySource>()> open,
                                      std::int64_t length) {
  RequestBody body;
  body.kind_ = Kind::factory;
  body.length_ = length < 0 ? -1 : length;
  body.factory_ = std::make_shared<const std::function<std::unique_ptr<BodySource>()>>(std::move(open));
  return body;
}

RequestBody RequestBody::from_stream(std::unique_ptr<BodySource> source, std::int64_t length) {
  RequestBody body;
  body.kind_ = Kind::stream;
  body.length_ = length < 0 ? -1 : length;
  body.stream_ = std::make_shared<Stream>();
  body.stream_->source = std::move(source);
  return body;
}

Result<std::unique_ptr<BodySource>> RequestBody::open() const {
  switch (kind_) {
    case Kind::none:
      return std::unique_ptr<BodySource>(
          std::make_unique<StringSource>(std::make_shared<const std::string>()));
    case Kind::bytes: return std::unique_ptr<BodySource>(std::make_unique<StringSource>(bytes_));
    case Kind::factory: {
      std::unique_ptr<BodySource> source = (*factory_)();
      if (!source) return Error(ErrorKind::invalid_request, "the request body factory returned no source");
      return source;
    }
    case Kind::stream:
      if (stream_->opened.exchange(true)) {
        return Error(ErrorKind::invalid_request,
                     "the request body is a one-shot stream and was already sent");
      }
      return std::move(stream_->source);
  }
  return Error(ErrorKind::invalid_request, "unknown request body kind");
}

Result<Request> make_request(std::string method, std::string_view url, RequestBody body) {
  Result<Url> parsed = Url::parse(url);
  if (!parsed) return std::move(parsed).error();
  Request request;
  request.method = std::move(method);
  request.url = *std::move(parsed);
  request.body = std::move(body);
  return request;
}

}  // namespace nethttp
