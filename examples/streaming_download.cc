// streaming_download: save a URL's body to a file in fixed-size chunks, so
// memory stays the same whatever the size of the download.
//
//   nethttp_example_streaming_download http://127.0.0.1:8080/big big.bin
//   200 OK: 4194304 bytes written to big.bin
//
// A progress bar goes to stderr, and only when stderr is a terminal (not in
// a pipe or a log file). On failure the partial file is removed and the
// program exits 1 with the error on stderr.
#include <nethttp/client.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace {

/// Redraws one line of progress: "[#####.....]  42%  1.7 MiB" (no percentage
/// and no bar when the length is unknown: chunked or compressed bodies).
void show_progress(std::uint64_t done, std::int64_t total) {
  const double mib = static_cast<double>(done) / (1024.0 * 1024.0);
  if (total > 0) {
    constexpr int kWidth = 30;
    const auto filled = static_cast<int>(done * kWidth / static_cast<std::uint64_t>(total));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r[%s] %3d%%  %.1f MiB", bar.c_str(),
                 static_cast<int>(done * 100 / static_cast<std::uint64_t>(total)), mib);
  } else {
    std::fprintf(stderr, "\r%.1f MiB", mib);
  }
}

int fail(const std::string& path, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::remove(path.c_str());  // no half-written file left behind
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s URL FILE\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::string path = argv[2];

  nethttp::Client client;
  nethttp::Result<nethttp::Response> response = client.get(url);
  if (!response) {
    std::fprintf(stderr, "error: %s\n", response.error().message().c_str());
    return 1;
  }
  if (response->status != 200) {
    // Not an error for the library, but nothing to save for us. Returning
    // drops the response: its destructor closes the body.
    std::fprintf(stderr, "error: %s answered %d %s\n", url.c_str(), response->status,
                 response->reason.c_str());
    return 1;
  }

  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) {
    std::perror(path.c_str());
    return 1;
  }

  // The body is read into one fixed buffer, chunk after chunk; read()
  // returns how many bytes it put there, and 0 at the end of the body.
  const bool progress = isatty(STDERR_FILENO) == 1;
  std::array<char, std::size_t{64} << 10> buffer{};  // 64 KiB, whatever the size of the body
  std::uint64_t written = 0;
  std::uint64_t shown = 0;  // redraw the bar every 512 KiB, not on every chunk
  for (;;) {
    nethttp::Result<std::size_t> n = response->body.read(std::span<char>(buffer));
    if (!n) {
      std::fclose(out);
      return fail(path, "reading the body: " + n.error().message());
    }
    if (*n == 0) break;  // the end: the connection is back in the pool
    if (std::fwrite(buffer.data(), 1, *n, out) != *n) {
      std::fclose(out);
      return fail(path, "writing " + path);
    }
    written += *n;
    if (progress && written - shown >= (std::uint64_t{512} << 10)) {
      show_progress(written, response->content_length);
      shown = written;
    }
  }
  if (progress) {
    show_progress(written, response->content_length);
    std::fputc('\n', stderr);
  }
  if (std::fclose(out) != 0) return fail(path, "closing " + path);

  std::printf("%d %s: %llu bytes written to %s\n", response->status, response->reason.c_str(),
              static_cast<unsigned long long>(written), path.c_str());
  return 0;
}
