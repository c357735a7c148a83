// upload: POST a file, then a body generated on the fly, and print what the
// server answered to each.
//
//   nethttp_example_upload http://127.0.0.1:8080/upload photo.jpg
//   file: 200 OK: <the server's answer>
//   stream: 200 OK: <the server's answer>
//
// The two kinds of request body:
// - the file is sent with its length (Content-Length) from a factory that
//   opens it again for each attempt: the body is replayable, so the client
//   can follow a 307/308 redirect with it and the transport can retry it on
//   a new connection when a kept-alive one turns out to be closed;
// - the generated body has no known length, so it is sent chunked
//   (Transfer-Encoding: chunked); it is a one-shot stream, read only once.
// Exits 1 with the error on stderr when a request fails.
#include <nethttp/client.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>

namespace {

/// Reads a file from its start: one BodySource per attempt.
class FileSource : public nethttp::BodySource {
 public:
  explicit FileSource(const std::string& path) : file_(std::fopen(path.c_str(), "rb")), path_(path) {}
  ~FileSource() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  nethttp::Result<std::size_t> read(std::span<char> buf) override {
    if (file_ == nullptr) return nethttp::Error(nethttp::ErrorKind::io, "cannot open " + path_);
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), file_);
    if (n == 0 && std::ferror(file_) != 0)
      return nethttp::Error(nethttp::ErrorKind::io, "cannot read " + path_);
    return n;  // 0 at the end of the file
  }

 private:
  std::FILE* file_;
  std::string path_;
};

/// Produces `lines` lines of text, as a program would stream a report or a
/// log it generates: the total size is not known in advance.
class LineGenerator : public nethttp::BodySource {
 public:
  explicit LineGenerator(int lines) : lines_(lines) {}

  nethttp::Result<std::size_t> read(std::span<char> buf) override {
    std::size_t n = 0;
    while (true) {
      if (pending_.empty()) {
        if (next_ == lines_) break;
        pending_ = "line " + std::to_string(next_++) + "\n";
      }
      const std::size_t take = std::min(pending_.size(), buf.size() - n);
      if (take == 0) break;  // buf is full
      std::memcpy(buf.data() + n, pending_.data(), take);
      pending_.erase(0, take);
      n += take;
    }
    return n;  // 0 once every line was given
  }

 private:
  int lines_;
  int next_ = 0;
  std::string pending_;
};

/// Prints "label: STATUS REASON: ANSWER" and returns whether the request went through.
bool report(const char* label, nethttp::Result<nethttp::Response>& response) {
  if (!response) {
    std::fprintf(stderr, "%s: error: %s\n", label, response.error().message().c_str());
    return false;
  }
  nethttp::Result<std::string> answer = response->body.read_all(std::size_t{1} << 20);
  if (!answer) {
    std::fprintf(stderr, "%s: error reading the answer: %s\n", label, answer.error().message().c_str());
    return false;
  }
  std::printf("%s: %d %s: %s\n", label, response->status, response->reason.c_str(), answer->c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s URL FILE\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::string path = argv[2];

  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    std::fprintf(stderr, "error: %s: %s\n", path.c_str(), ec.message().c_str());
    return 1;
  }

  nethttp::Client client;

  // 1. The file: a factory (called once per attempt) and the exact length.
  nethttp::RequestBody file_body = nethttp::RequestBody::from_factory(
      [path] { return std::make_unique<FileSource>(path); }, static_cast<std::int64_t>(size));
  nethttp::Result<nethttp::Response> file_response =
      client.post(url, "application/octet-stream", std::move(file_body));
  const bool file_ok = report("file", file_response);

  // 2. A generated body: a one-shot stream of unknown length (-1), chunked.
  nethttp::RequestBody stream_body =
      nethttp::RequestBody::from_stream(std::make_unique<LineGenerator>(1000), /*length=*/-1);
  nethttp::Result<nethttp::Response> stream_response = client.post(url, "text/plain", std::move(stream_body));
  const bool stream_ok = report("stream", stream_response);

  return file_ok && stream_ok ? 0 : 1;
}
