#include "fetch.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "args.h"
#include "client_options.h"
#include "json_writer.h"
#include "nethttp/client.h"
#include "nethttp/error.h"
#include "nethttp/response.h"
#include "nethttp/url.h"
#include "progress.h"
#include "request_options.h"
#include "sha256.h"
#include "trace_printer.h"

namespace nethttp::cli {

namespace {

/// Bytes read from a body per call.
constexpr std::size_t kReadChunkBytes = std::size_t{64} * 1024;

constexpr std::string_view kDescription =
    "Fetches each URL in the order given through ONE client (one connection pool):\n"
    "a second URL on the same origin reuses the connection the first left idle.\n"
    "Bodies go to stdout, unless -o or --json is given. Redirects are\n"
    "followed (see --max-redirs), unless --no-follow is given.\n"
    "\n"
    "--json prints one object per URL on its own line, in input order:\n"
    "  url             the URL as given (a password in it replaced by xxxxx)\n"
    "  final_url       the URL of the request that got the response; null when\n"
    "                  no response arrived\n"
    "  status          the HTTP status; 0 when no response arrived (with\n"
    "                  too_many_redirects: the last redirect's)\n"
    "  proto           \"HTTP/1.1\" or \"HTTP/1.0\"; null when no response arrived\n"
    "  headers         {lower-cased name: [values in arrival order]}\n"
    "  trailers        the same, for trailer fields of a chunked body read to its end\n"
    "  body_bytes      bytes of the body read (at most --max-body)\n"
    "  body_sha256     SHA-256 of those bytes, hex; null when no response arrived\n"
    "  body_truncated  true when --max-body stopped reading before the end\n"
    "  redirects       redirects followed\n"
    "  conn            {id, reused, idle_ms} of the response's connection, or null\n"
    "  error           null, or {kind, message}; kind is one of bad_url,\n"
    "                  invalid_request, dns, connect, tls, proxy, timeout, canceled,\n"
    "                  protocol, header_too_large, body, too_many_redirects, io\n"
    "Strings hold the bytes received: invalid UTF-8 bytes appear as \\u00XX (read as\n"
    "ISO-8859-1), so the output is always valid JSON.\n"
    "\n"
    "Without --json, a failed request prints \"nethttp: URL: KIND: MESSAGE\" on stderr.\n"
    "\n"
    "exit status: 0 every request got a response (whatever its HTTP status);\n"
    "             1 a request failed (a malformed URL too: error kind bad_url),\n"
    "               or -o FILE could not be written;\n"
    "             2 bad usage.\n";

constexpr std::string_view kExamples =
    "  nethttp fetch http://127.0.0.1:8080/\n"
    "  nethttp fetch --json http://127.0.0.1:8080/a http://127.0.0.1:8080/b\n"
    "      (the second request reuses the connection: conn.reused is true)\n"
    "  nethttp fetch -X PUT -H 'Content-Type: application/json' -d @item.json \\\n"
    "      http://host/item/1\n"
    "  nethttp fetch -v --max-body 1024 -o head.bin http://host/big\n"
    "  nethttp fetch --json --parallel 8 --max-conns-per-host 2 http://host/{1..8}\n"
    "  echo hello | nethttp fetch -d @- --timeout 2.5 http://host/echo\n";

/// Everything `nethttp fetch` was asked to do.
struct FetchOptions {
  ClientOptions client;
  RequestOptions request;
  bool json = false;
  bool verbose = false;
  std::optional<std::string> output;      ///< -o FILE
  std::optional<std::uint64_t> max_body;  ///< --max-body BYTES
  int parallel = 1;
};

void add_fetch_options(OptionParser& parser, FetchOptions& options) {
  add_request_options(parser, options.request);

  parser.group("output");
  parser.add(OptionSpec{
      "output", 'o', "FILE",
      "write the body of the last URL to FILE (other bodies are read, not printed); a progress bar "
      "shows on stderr when it is a terminal",
      [&options](std::string_view value) -> std::optional<std::string> {
        if (value.empty()) return "wants a file name";
        options.output = std::string(value);
        return std::nullopt;
      }});
  parser.add_flag("json", 0, "print one JSON object per URL per line instead of bodies", options.json);
  parser.add(OptionSpec{"max-body", 0, "BYTES",
                        "read at most BYTES of each body, then close it early (body_truncated in --json)",
                        [&options](std::string_view value) -> std::optional<std::string> {
                          std::uint64_t n = 0;
                          if (auto error = parse_bytes(value, n)) return error;
                          options.max_body = n;
                          return std::nullopt;
                        }});
  parser.add_flag("verbose", 'v',
                  "trace connection events (dns, connect, got-conn, wrote-request, first-byte, put-idle, "
                  "closed + why) and message heads on stderr",
                  options.verbose);

  add_client_options(parser, options.client);

  parser.group("concurrency");
  parser.add(OptionSpec{"parallel", 0, "N",
                        "fetch with N workers sharing the client (default 1); output stays in input order "
                        "(bodies for stdout are held in memory until their turn)",
                        [&options](std::string_view value) {
                          return parse_int(value, 1, std::numeric_limits<int>::max(), options.parallel);
                        }});
}

/// What became of one URL: the facts of a --json line.
struct FetchResult {
  std::string url;  ///< as given
  std::optional<std::string> final_url;
  int status = 0;
  std::optional<std::string> proto;
  Header headers;
  Header trailers;
  std::uint64_t body_bytes = 0;
  std::optional<std::string> body_sha256;
  bool body_truncated = false;
  int redirects = 0;
  std::optional<ConnInfo> conn;
  std::optional<Error> error;
  /// The body, when it is printed on stdout after the fact (--parallel).
  std::string held_body;
};

/// Where the bytes of a body go as they are read. An error stops the read
/// and becomes the request's error.
using BodySink = std::function<Result<void>(std::string_view)>;

Result<void> discard(std::string_view) {
  return {};
}

/// A sink that writes to `file`, naming `what` ("stdout", "'out.bin'") in errors.
BodySink file_sink(std::FILE* file, std::string what) {
  return [file, what = std::move(what)](std::string_view bytes) -> Result<void> {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
      const int err = errno;
      return Error(ErrorKind::io, "writing the body to " + what + ": " + std::strerror(err), err);
    }
    return {};
  };
}

/// Reads the body of `response` into `sink`, hashing it, at most --max-body
/// bytes; always leaves the body closed.
void read_body(Response& response, const FetchOptions& options, const BodySink& sink, FetchResult& out) {
  Sha256 sha;
  std::vector<char> buf(kReadChunkBytes);
  const std::uint64_t limit = options.max_body.value_or(std::numeric_limits<std::uint64_t>::max());
  while (out.body_bytes < limit) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - out.body_bytes));
    Result<std::size_t> n = response.body.read(std::span<char>(buf.data(), want));
    if (!n) {
      out.error = std::move(n).error();
      break;
    }
    if (*n == 0) break;
    const std::string_view chunk(buf.data(), *n);
    sha.update(chunk);
    out.body_bytes += *n;
    if (Result<void> written = sink(chunk); !written) {
      out.error = std::move(written).error();
      break;
    }
  }
  if (!out.error && out.body_bytes >= limit && !response.body.at_end()) {
    if (response.content_length >= 0) {
      out.body_truncated = static_cast<std::uint64_t>(response.content_length) > out.body_bytes;
    } else {
      // Chunked or until close: one more byte tells a body of exactly `limit`
      // bytes (its end not yet seen) from a longer one. That byte is neither
      // counted nor kept; a failure there means the rest was not read.
      char probe = 0;
      Result<std::size_t> n = response.body.read(std::span<char>(&probe, 1));
      out.body_truncated = !n || *n != 0;
    }
  }
  if (response.body.at_end()) out.trailers = response.trailers();
  response.body.close();
  out.body_sha256 = sha.hex_digest();
}

/// Sends one request for `url` and reads its body into `sink`, with a
/// progress bar on a terminal when asked (a download to a file).
FetchResult fetch_one(Client& client, const FetchOptions& options, const TracePrinter* trace,
                      std::string_view url, const BodySink& sink, bool progress = false) {
  FetchResult out;
  // Output gets logged: the password is replaced, the rest kept as given.
  out.url = redact_url_text(url);
  Result<Request> request = build_request(options.request, url);
  if (!request) {
    out.error = std::move(request).error();
    return out;
  }
  if (trace != nullptr) trace->request(*request);

  Result<Response> response = client.send(std::move(*request));
  if (!response) {
    out.status = response.error().response_status();
    out.error = std::move(response).error();
    return out;
  }
  if (trace != nullptr) trace->response(*response);
  out.status = response->status;
  out.proto = response->proto;
  out.headers = response->header;
  out.conn = response->conn;
  out.redirects = response->redirects;
  out.final_url = response->request->url.redacted();
  if (!progress) {
    read_body(*response, options, sink, out);
    return out;
  }
  ProgressBar bar(response->content_length > 0 ? static_cast<std::uint64_t>(response->content_length) : 0,
                  ProgressBar::Unit::bytes);
  read_body(
      *response, options,
      [&](std::string_view bytes) {
        bar.add(bytes.size());
        return sink(bytes);
      },
      out);
  return out;
}

/// `fields` as {lower-cased name: [values in arrival order]}, names in order
/// of first appearance.
void write_fields(JsonWriter& w, const Header& fields) {
  std::vector<std::pair<std::string, std::vector<std::string_view>>> grouped;
  for (const HeaderField& f : fields) {
    std::string name = f.name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    auto it = std::find_if(grouped.begin(), grouped.end(), [&](const auto& g) { return g.first == name; });
    if (it == grouped.end()) {
      grouped.emplace_back(std::move(name), std::vector<std::string_view>{});
      it = std::prev(grouped.end());
    }
    it->second.push_back(f.value);
  }
  w.begin_object();
  for (const auto& [name, values] : grouped) {
    w.key(name).begin_array();
    for (const std::string_view v : values) w.value(v);
    w.end_array();
  }
  w.end_object();
}

std::string json_line(const FetchResult& r) {
  JsonWriter w;
  w.begin_object();
  w.key("url").value(r.url);
  w.key("final_url");
  r.final_url ? w.value(*r.final_url) : w.null();
  w.key("status").value(r.status);
  w.key("proto");
  r.proto ? w.value(*r.proto) : w.null();
  w.key("headers");
  write_fields(w, r.headers);
  w.key("trailers");
  write_fields(w, r.trailers);
  w.key("body_bytes").value(r.body_bytes);
  w.key("body_sha256");
  r.body_sha256 ? w.value(*r.body_sha256) : w.null();
  w.key("body_truncated").value(r.body_truncated);
  w.key("redirects").value(r.redirects);
  w.key("conn");
  if (r.conn) {
    const auto idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.conn->idle_time).count();
    w.begin_object();
    w.key("id").value(r.conn->id);
    w.key("reused").value(r.conn->reused);
    w.key("idle_ms").value(static_cast<std::int64_t>(idle_ms));
    w.end_object();
  } else {
    w.null();
  }
  w.key("error");
  if (r.error) {
    w.begin_object();
    w.key("kind").value(to_string(r.error->kind()));
    w.key("message").value(r.error->message());
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
  return w.str();
}

/// Prints what is left to print of one result, in input order: the held
/// body, the JSON line, or the error line.
void emit(const FetchOptions& options, const FetchResult& r) {
  if (!r.held_body.empty()) std::fwrite(r.held_body.data(), 1, r.held_body.size(), stdout);
  if (options.json) {
    std::string line = json_line(r);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  } else if (r.error) {
    std::fflush(stdout);  // a body printed before the error comes first
    std::fprintf(stderr, "nethttp: %s: %s: %s\n", r.url.c_str(),
                 std::string(to_string(r.error->kind())).c_str(), r.error->message().c_str());
  }
}

/// Fetches every URL and emits the results in input order; returns how many failed.
class FetchRun {
 public:
  FetchRun(const FetchOptions& options, const std::vector<std::string>& urls, std::FILE* output)
      : options_(options), urls_(urls), output_(output) {
    if (options.verbose) trace_.emplace(stderr);
  }

  int run() {
    // The printer (if any) was made first: its hooks outlive the client.
    Client client = make_client(options_.client, trace_ ? trace_->hooks() : Trace{});
    const std::size_t workers =
        std::min<std::size_t>(static_cast<std::size_t>(options_.parallel), urls_.size());
    int failed = 0;
    if (workers <= 1) {
      for (std::size_t i = 0; i < urls_.size(); ++i) {
        const FetchResult r = fetch_index(client, i, /*hold_body=*/false);
        emit(options_, r);
        failed += r.error ? 1 : 0;
      }
      return failed;
    }
    return run_parallel(client, workers);
  }

 private:
  /// Workers take URLs in order; this thread prints each result once those
  /// before it are printed.
  int run_parallel(Client& client, std::size_t workers) {
    std::vector<std::optional<FetchResult>> results(urls_.size());
    std::mutex mu;  // guards results
    std::condition_variable ready;
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        for (std::size_t i = next++; i < urls_.size(); i = next++) {
          FetchResult r = fetch_index(client, i, /*hold_body=*/true);
          {
            const std::lock_guard lock(mu);
            results[i] = std::move(r);
          }
          ready.notify_all();
        }
      });
    }
    int failed = 0;
    for (std::size_t i = 0; i < urls_.size(); ++i) {
      FetchResult r;
      {
        std::unique_lock lock(mu);
        ready.wait(lock, [&] { return results[i].has_value(); });
        r = std::move(*results[i]);
        results[i].reset();
      }
      emit(options_, r);
      failed += r.error ? 1 : 0;
    }
    return failed;
  }

  /// Fetches URL `i`, its body going to -o (last URL), stdout (directly, or
  /// held in the result when `hold_body`), or nowhere.
  FetchResult fetch_index(Client& client, std::size_t i, bool hold_body) {
    const bool last = i + 1 == urls_.size();
    const TracePrinter* trace = trace_ ? &*trace_ : nullptr;
    if (output_ != nullptr) {
      if (!last) return fetch_one(client, options_, trace, urls_[i], discard);
      return fetch_one(client, options_, trace, urls_[i], file_sink(output_, "'" + *options_.output + "'"),
                       /*progress=*/true);
    }
    if (options_.json) return fetch_one(client, options_, trace, urls_[i], discard);
    if (!hold_body) return fetch_one(client, options_, trace, urls_[i], file_sink(stdout, "stdout"));
    std::string held;
    FetchResult r =
        fetch_one(client, options_, trace, urls_[i], [&held](std::string_view bytes) -> Result<void> {
          held.append(bytes);
          return {};
        });
    r.held_body = std::move(held);
    return r;
  }

  const FetchOptions& options_;
  const std::vector<std::string>& urls_;
  std::FILE* output_;  ///< -o FILE, or null
  std::optional<TracePrinter> trace_;
};

}  // namespace

int run_fetch(std::span<const char* const> args) {
  FetchOptions options;
  OptionParser parser("fetch", "[options] URL [URL ...]");
  add_fetch_options(parser, options);
  const ParsedArgs parsed = parser.parse(args);
  if (const std::optional<int> status = parser.stop_early(parsed, kDescription, kExamples)) return *status;
  if (parsed.positionals.empty()) return parser.fail_usage("no URL given: name one or more URLs to fetch");
  if (auto error = load_body(options.request)) return parser.fail_usage(*error);

  std::FILE* output = nullptr;
  if (options.output) {
    output = std::fopen(options.output->c_str(), "wb");
    if (output == nullptr) {
      std::fprintf(stderr, "nethttp fetch: cannot write '%s': %s\n", options.output->c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  int failed = FetchRun(options, parsed.positionals, output).run();
  if (output != nullptr && std::fclose(output) != 0) {
    std::fprintf(stderr, "nethttp fetch: writing '%s': %s\n", options.output->c_str(), std::strerror(errno));
    ++failed;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) ++failed;
  if (!save_cookie_jar(options.client)) ++failed;
  return failed == 0 ? 0 : 1;
}

}  // namespace nethttp::cli
