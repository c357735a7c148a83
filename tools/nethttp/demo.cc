#include "demo.h"

#include <dirent.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "args.h"
#include "json_writer.h"
#include "loopback_server.h"
#include "nethttp/client.h"
#include "nethttp/error.h"
#include "nethttp/response.h"
#include "nethttp/trace.h"
#include "nethttp/transport.h"
#include "process_usage.h"

namespace nethttp::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDefaultRequests = 1000;
constexpr std::uint64_t kDefaultBodySize = 4096;
constexpr std::uint64_t kMaxBodySize = std::uint64_t{1} << 30;
/// Responses mode (d) holds at most: each keeps a connection, i.e. two
/// descriptors in this process (the client's socket and the server's).
constexpr int kMaxHeld = 200;
/// Descriptors left free for everything else when bounding mode (d).
constexpr long kFdMargin = 64;
/// A bound on each request, body included, so that nothing can hang.
constexpr std::chrono::seconds kRequestTimeout{10};
/// How long the end of a mode waits for the server to see its connections closed.
constexpr std::chrono::seconds kSettleLimit{2};

constexpr std::string_view kDescription =
    "Needs no network: starts an HTTP/1.1 server inside this process on\n"
    "127.0.0.1 (keep-alive, every GET answered with a body of --body-size bytes\n"
    "and a Content-Length) and replays the classic body-handling experiment\n"
    "(Go's \"always close the body\"). For each mode, N sequential GETs go through\n"
    "ONE Client (a fresh one per mode), and each response is handled this way:\n"
    "\n"
    "  (a) read the body to its end, then close() it\n"
    "  (b) close() it without reading: nethttp drains a small rest (the\n"
    "      transport's drain_max_bytes, 64 KiB, within drain_timeout, 50 ms)\n"
    "  (c) read it to its end and never call close(): the Body's destructor does\n"
    "  (d) keep every response, unread and open, until the mode ends (at most\n"
    "      200 requests, fewer when the open-file limit is low: each holds a\n"
    "      connection)\n"
    "  (e) as (b) with drain_max_bytes = 0: Go's behaviour, an early close\n"
    "      closes the connection\n"
    "\n"
    "For each mode it prints the connections the client dialed and reused, the\n"
    "connections the server accepted, the open file descriptors of the process\n"
    "(before, at the end while responses are still held, and after), the heap\n"
    "held and the RSS, the time taken, and one sentence on what happened.\n"
    "\n"
    "--json prints one object instead: requests, body_size, drain_max_bytes,\n"
    "drain_timeout_ms, fd_limit, server, and modes: an array of {mode, name,\n"
    "requests, dials, reuses, server_accepted, errors, closed {reason: count},\n"
    "fds_before, fds_held, fds_after, heap_before_bytes, heap_held_bytes,\n"
    "heap_after_bytes (null where mallinfo2 does not see the heap, as under\n"
    "sanitizers), rss_held_bytes, rss_after_bytes, seconds, summary}.\n"
    "\n"
    "exit status: 0 every request succeeded; 1 a request failed; 2 bad usage.\n";

constexpr std::string_view kExamples =
    "  nethttp demo\n"
    "  nethttp demo --requests 5000 --body-size 64k\n"
    "  nethttp demo --body-size 1m      # bodies too large to drain: (b) dials like (e)\n"
    "  nethttp demo --json | jq '.modes[] | {mode, dials, reuses}'\n";

struct DemoOptions {
  int requests = kDefaultRequests;
  std::uint64_t body_size = kDefaultBodySize;
  bool json = false;
};

/// A byte count with an optional binary suffix: 4096, 64k, 1m, 2KiB, 1g.
std::optional<std::string> parse_size(std::string_view text, std::uint64_t& out) {
  const auto wants = [&] {
    return "wants a byte count (a whole number, optionally with k, m or g), not '" + std::string(text) + "'";
  };
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return wants();
  std::uint64_t value = 0;
  for (const char c : text.substr(0, digits)) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  std::string suffix(text.substr(digits));
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  int shift = 0;
  if (!suffix.empty() && suffix != "b") {
    const char unit = suffix.front();
    if (unit == 'k') {
      shift = 10;
    } else if (unit == 'm') {
      shift = 20;
    } else if (unit == 'g') {
      shift = 30;
    } else {
      return wants();
    }
    const std::string_view rest = std::string_view(suffix).substr(1);
    if (!rest.empty() && rest != "b" && rest != "ib") return wants();
  }
  if (value > (kMaxBodySize >> shift)) return "wants at most 1g, not '" + std::string(text) + "'";
  out = value << shift;
  return std::nullopt;
}

void add_demo_options(OptionParser& parser, DemoOptions& options) {
  parser.group("experiment");
  parser.add(OptionSpec{"requests", 'n', "N",
                        "requests per mode (default 1000; mode (d) holds at most 200 of them)",
                        [&options](std::string_view v) {
                          return parse_int(v, 1, std::numeric_limits<int>::max(), options.requests);
                        }});
  parser.add(OptionSpec{"body-size", 0, "BYTES",
                        "size of every response body (default 4096); suffixes k, m, g (KiB, MiB, GiB)",
                        [&options](std::string_view v) { return parse_size(v, options.body_size); }});
  parser.add_flag("json", 0, "print the numbers as one JSON object", options.json);
}

/// How a mode handles each response.
enum class Handling : std::uint8_t {
  read_then_close,  ///< (a)
  close_unread,     ///< (b), and (e) without draining
  read_no_close,    ///< (c)
  hold,             ///< (d)
};

struct Mode {
  std::string_view id;    ///< "a"
  std::string_view name;  ///< for the table
  Handling handling;
  bool drain;  ///< drain-on-close as by default; false: drain_max_bytes = 0 (Go)
};

constexpr std::array<Mode, 5> kModes = {{
    {"a", "read to the end, close()", Handling::read_then_close, true},
    {"b", "close() unread", Handling::close_unread, true},
    {"c", "read to the end, no close()", Handling::read_no_close, true},
    {"d", "hold unread, no close()", Handling::hold, true},
    {"e", "close() unread, no drain (Go)", Handling::close_unread, false},
}};

/// Open descriptors of this process (entries of /proc/self/fd, not counting
/// the one that lists them); -1 without /proc.
int count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;
}

/// Bytes malloc has handed out and not had back (mallinfo2); 0 when it
/// does not know (a sanitizer's allocator replaces malloc's).
std::uint64_t heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

struct Snapshot {
  int fds = 0;
  std::uint64_t heap = 0;  ///< 0: unknown
  std::uint64_t rss = 0;
};

Snapshot snapshot() {
  return Snapshot{count_open_fds(), heap_in_use(), resident_bytes()};
}

/// What one mode measured.
struct ModeResult {
  const Mode* mode = nullptr;
  int requests = 0;
  int errors = 0;
  std::string first_error;
  TransportStats stats;  ///< after the responses were dropped, before the Client was
  std::uint64_t accepted = 0;
  Snapshot before;
  Snapshot held;   ///< at the end of the requests, responses still held
  Snapshot after;  ///< responses and Client gone, the server's side closed
  double seconds = 0;
  std::string summary;
};

/// Waits (a bounded time) until the server has closed every connection.
void settle(const LoopbackServer& server) {
  const Clock::time_point limit = Clock::now() + kSettleLimit;
  while (server.open_connections() != 0 && Clock::now() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

/// Reads `body` to its end, dropping the bytes; an error is returned.
std::optional<Error> read_to_end(Body& body) {
  Result<std::uint64_t> n = body.write_to([](std::string_view) { return Result<void>(); });
  if (!n) return n.error();
  return std::nullopt;
}

ModeResult run_mode(const Mode& mode, int requests, const LoopbackServer& server, const std::string& url) {
  ModeResult r;
  r.mode = &mode;
  r.requests = requests;
  const auto failed = [&r](const Error& e) {
    if (r.errors++ == 0) r.first_error = e.message();
  };

  const std::uint64_t accepted_before = server.accepted();
  r.before = snapshot();
  {
    TransportOptions transport_options;
    if (!mode.drain) transport_options.drain_max_bytes = 0;
    ClientOptions client_options;
    client_options.timeout = kRequestTimeout;
    Client client(std::make_shared<Transport>(std::move(transport_options)), client_options);
    std::vector<Response> held;
    if (mode.handling == Handling::hold) held.reserve(static_cast<std::size_t>(requests));

    const Clock::time_point start = Clock::now();
    for (int i = 0; i < requests; ++i) {
      Result<Response> response = client.get(url);
      if (!response) {
        failed(response.error());
        continue;
      }
      switch (mode.handling) {
        case Handling::read_then_close:
          if (std::optional<Error> e = read_to_end(response->body)) failed(*e);
          response->body.close();
          break;
        case Handling::close_unread: response->body.close(); break;
        case Handling::read_no_close:
          // No close(): the response (and its Body) is destroyed at the end
          // of this iteration, which closes it.
          if (std::optional<Error> e = read_to_end(response->body)) failed(*e);
          break;
        case Handling::hold: held.push_back(std::move(*response)); break;
      }
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.held = snapshot();
    held.clear();  // the destructors close the bodies
    r.stats = client.transport().stats();
  }  // the Client and its Transport go: pooled connections are closed
  settle(server);
  r.after = snapshot();
  r.accepted = server.accepted() - accepted_before;
  return r;
}

// ---------------------------------------------------------------------------
// Words

/// "1 dial", "2 dials".
std::string count_of(std::uint64_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

/// "4 KiB", "1.5 MiB", "100 B".
std::string format_bytes(std::uint64_t n) {
  constexpr std::array<const char*, 4> kUnits = {"B", "KiB", "MiB", "GiB"};
  std::size_t unit = 0;
  auto value = static_cast<double>(n);
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  std::array<char, 32> text{};
  if (unit == 0 || value >= 100 || value == static_cast<double>(static_cast<std::uint64_t>(value))) {
    std::snprintf(text.data(), text.size(), "%.0f %s", value, kUnits[unit]);
  } else {
    std::snprintf(text.data(), text.size(), "%.1f %s", value, kUnits[unit]);
  }
  return text.data();
}

/// "+1.2 MiB", "-3 KiB", "+0 B".
std::string format_delta(std::uint64_t from, std::uint64_t to) {
  return to >= from ? "+" + format_bytes(to - from) : "-" + format_bytes(from - to);
}

/// "D dials for N requests".
std::string dials_for(const ModeResult& r) {
  return count_of(r.stats.dials, "dial") + " for " +
         count_of(static_cast<std::uint64_t>(r.requests), "request");
}

/// The closes other than the Client's own at the end: "999 body_not_drained".
std::string closes_of(const TransportStats& stats) {
  std::string out;
  for (int i = 0; i < kCloseReasonCount; ++i) {
    const auto reason = static_cast<CloseReason>(i);
    if (reason == CloseReason::closed_by_user || stats.closed_for(reason) == 0) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(stats.closed_for(reason)) + " " +
           std::string(to_string(reason));
  }
  return out;
}

/// The sentence of one mode, from what it measured.
std::string summarize(const ModeResult& r, const DemoOptions& options, const TransportOptions& defaults) {
  const std::uint64_t n = static_cast<std::uint64_t>(r.requests);
  const std::uint64_t dials = r.stats.dials;
  const std::uint64_t not_drained = r.stats.closed_for(CloseReason::body_not_drained);
  const std::string body = format_bytes(options.body_size);
  const std::string limits =
      format_bytes(defaults.drain_max_bytes) + " / " + std::to_string(defaults.drain_timeout.count()) + " ms";
  const std::string closes = closes_of(r.stats);
  const std::string why_closed = closes.empty() ? "" : " (connections closed: " + closes + ")";
  std::string s = "(" + std::string(r.mode->id) + ") ";
  switch (r.mode->handling) {
    case Handling::read_then_close:
      if (dials < n) {
        s += "reading each body to its end handed the connection back to the pool at once, so it "
             "carried the next request: " +
             dials_for(r) + ", " + std::to_string(r.stats.reuses) + " reused.";
      } else {
        s += "reading each body to its end, yet " + dials_for(r) + why_closed + ".";
      }
      break;
    case Handling::close_unread:
      if (r.mode->drain) {
        if (dials < n && not_drained == 0) {
          s += "closing an unread " + body + " body drains it (up to " + limits +
               "), so the connection went back to the pool: " + dials_for(r) + ".";
        } else if (not_drained > 0) {
          s += "closing an unread " + body + " body could not drain it within " + limits + ", so " +
               std::to_string(not_drained) + " of " + count_of(n, "connection") +
               " were thrown away (body_not_drained): " + dials_for(r) + ".";
        } else {
          s += "closing each body unread: " + dials_for(r) + why_closed + ".";
        }
      } else if (not_drained == n && dials == n) {
        s += "without draining (drain_max_bytes = 0), as in Go, every early close threw the connection "
             "away: " +
             dials_for(r) + ".";
      } else {
        s += "without draining (drain_max_bytes = 0), as in Go, " + std::to_string(not_drained) + " of " +
             std::to_string(n) + " early closes threw the connection away: " + dials_for(r) + why_closed +
             ".";
      }
      break;
    case Handling::read_no_close:
      if (dials < n) {
        s += "never calling close() cost nothing: reaching the end of the body returned the connection "
             "to the pool at once, and the Body's destructor (RAII) closed the rest: " +
             dials_for(r) + ".";
      } else {
        s += "reading each body to its end without close(): " + dials_for(r) + why_closed + ".";
      }
      break;
    case Handling::hold:
      if (dials == n) {
        s +=
            "each held response kept its connection busy, so every request dialed a new one: " + dials_for(r);
      } else {
        s += "holding every response: " + dials_for(r);
      }
      s += "; while they were held, " + std::to_string(r.held.fds) + " descriptors were open (" +
           std::to_string(r.before.fds) + " before)";
      if (r.before.heap != 0 && r.held.heap != 0) {
        s += r.held.heap >= r.before.heap
                 ? " and the heap had grown by " + format_bytes(r.held.heap - r.before.heap)
                 : " and the heap had shrunk by " + format_bytes(r.before.heap - r.held.heap);
      }
      if (r.after.fds == r.before.fds) {
        s += "; dropping them (their destructors close the bodies) brought the descriptors back to " +
             std::to_string(r.after.fds) + ".";
      } else {
        s += "; after dropping them, " + std::to_string(r.after.fds) + " descriptors were open.";
      }
      break;
  }
  if (r.errors > 0) {
    s += " " + count_of(static_cast<std::uint64_t>(r.errors), "request") +
         " failed (first: " + r.first_error + ").";
  }
  return s;
}

// ---------------------------------------------------------------------------
// Output

/// `text` centred in `width` columns (padded on both sides).
std::string centered(std::string_view text, std::size_t width) {
  if (text.size() >= width) return std::string(text);
  const std::size_t left = (width - text.size()) / 2;
  return std::string(left, ' ') + std::string(text) + std::string(width - text.size() - left, ' ');
}

/// `text` wrapped at spaces to lines of at most `width` columns, the lines
/// after the first indented by `indent`.
std::string wrapped(std::string_view text, std::size_t width, std::size_t indent) {
  std::string out;
  std::size_t column = 0;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (column > indent && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (!out.empty()) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out;
}

/// The table's columns: widths of the name, requests, the three connection
/// counts, the three fd counts, heap and RSS, and time; groups are set apart
/// by three spaces.
constexpr std::size_t kLeadWidth = 34 + 1 + 8 + 3;
constexpr std::size_t kConnectionsWidth = 6 + 1 + 6 + 1 + 8;
constexpr std::size_t kFdsWidth = 6 + 1 + 5 + 1 + 5;
constexpr std::size_t kMemoryWidth = 10 + 1 + 8;
constexpr std::size_t kSentenceWidth = 100;

void print_row(const std::array<std::string, 11>& cells) {
  // The widths above (a literal: -Wformat-nonliteral).
  std::printf("%-34s %8s   %6s %6s %8s   %6s %5s %5s   %10s %8s   %7s\n", cells[0].c_str(), cells[1].c_str(),
              cells[2].c_str(), cells[3].c_str(), cells[4].c_str(), cells[5].c_str(), cells[6].c_str(),
              cells[7].c_str(), cells[8].c_str(), cells[9].c_str(), cells[10].c_str());
}

void print_table(const std::vector<ModeResult>& results, const DemoOptions& options, int held_limit,
                 const std::string& url, long fd_limit) {
  std::printf("nethttp demo: a server in this process at %s answers every GET with %s\n", url.c_str(),
              format_bytes(options.body_size).c_str());
  std::printf(
      "(Content-Length). Each mode sends %d sequential GETs through one Client, a new one per mode.\n",
      options.requests);
  if (held_limit < options.requests) {
    std::printf(
        "Mode (d) holds a connection per response (2 descriptors here: the client's and the server's),\n"
        "so it sends %d requests only (at most %d; open-file limit %ld).\n",
        held_limit, kMaxHeld, fd_limit);
  }
  std::printf("\n");
  std::string groups = std::string(kLeadWidth, ' ') + centered("connections", kConnectionsWidth) + "   " +
                       centered("open fds", kFdsWidth) + "   " + centered("memory", kMemoryWidth);
  groups.erase(groups.find_last_not_of(' ') + 1);
  std::printf("%s\n", groups.c_str());
  print_row({"mode", "requests", "dialed", "reused", "accepted", "before", "held", "after", "heap held",
             "RSS", "time"});
  for (const ModeResult& r : results) {
    print_row({"(" + std::string(r.mode->id) + ") " + std::string(r.mode->name), std::to_string(r.requests),
               std::to_string(r.stats.dials), std::to_string(r.stats.reuses), std::to_string(r.accepted),
               std::to_string(r.before.fds), std::to_string(r.held.fds), std::to_string(r.after.fds),
               r.before.heap != 0 && r.held.heap != 0 ? format_delta(r.before.heap, r.held.heap) : "-",
               format_bytes(r.after.rss), std::to_string(std::llround(r.seconds * 1000)) + " ms"});
  }
  std::printf(
      "\naccepted: connections the server accepted. open fds: /proc/self/fd of this process (client and\n"
      "server sockets) before the mode, at its end with the responses still held, and once they and the\n"
      "Client are gone. heap held: malloc'd bytes at the end of the mode minus before. RSS: after the "
      "mode.\n\n");
  for (const ModeResult& r : results) std::printf("%s\n", wrapped(r.summary, kSentenceWidth, 4).c_str());
  const bool all_match = std::all_of(results.begin(), results.end(),
                                     [](const ModeResult& r) { return r.accepted == r.stats.dials; });
  if (all_match) {
    std::printf("\nIn every mode the server accepted exactly the connections the client dialed.\n");
  }
}

void print_json(const std::vector<ModeResult>& results, const DemoOptions& options,
                const TransportOptions& defaults, const std::string& url, long fd_limit) {
  JsonWriter w;
  w.begin_object();
  w.key("requests").value(options.requests);
  w.key("body_size").value(options.body_size);
  w.key("drain_max_bytes").value(static_cast<std::uint64_t>(defaults.drain_max_bytes));
  w.key("drain_timeout_ms").value(static_cast<std::int64_t>(defaults.drain_timeout.count()));
  w.key("fd_limit").value(static_cast<std::int64_t>(fd_limit));
  w.key("server").value(url);
  w.key("modes").begin_array();
  for (const ModeResult& r : results) {
    w.begin_object();
    w.key("mode").value(r.mode->id);
    w.key("name").value(r.mode->name);
    w.key("requests").value(r.requests);
    w.key("dials").value(r.stats.dials);
    w.key("reuses").value(r.stats.reuses);
    w.key("server_accepted").value(r.accepted);
    w.key("errors").value(r.errors);
    w.key("closed").begin_object();
    for (int i = 0; i < kCloseReasonCount; ++i) {
      const auto reason = static_cast<CloseReason>(i);
      if (r.stats.closed_for(reason) != 0) w.key(to_string(reason)).value(r.stats.closed_for(reason));
    }
    w.end_object();
    w.key("fds_before").value(r.before.fds);
    w.key("fds_held").value(r.held.fds);
    w.key("fds_after").value(r.after.fds);
    for (const auto& [name, bytes] : {std::pair{"heap_before_bytes", r.before.heap},
                                      {"heap_held_bytes", r.held.heap},
                                      {"heap_after_bytes", r.after.heap}}) {
      if (bytes != 0) {
        w.key(name).value(bytes);
      } else {
        w.key(name).null();
      }
    }
    w.key("rss_held_bytes").value(r.held.rss);
    w.key("rss_after_bytes").value(r.after.rss);
    w.key("seconds").value(r.seconds, 6);
    w.key("summary").value(r.summary);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::printf("%s\n", w.str().c_str());
}

/// What the server answers: "nethttp demo body\n" repeated to `size` bytes,
/// recognisable in a packet capture.
std::string demo_body(std::size_t size) {
  constexpr std::string_view kPattern = "nethttp demo body\n";
  std::string body(size, ' ');
  for (std::size_t i = 0; i < size; ++i) body[i] = kPattern[i % kPattern.size()];
  return body;
}

}  // namespace

int run_demo(std::span<const char* const> args) {
  DemoOptions options;
  OptionParser parser("demo", "[options]");
  add_demo_options(parser, options);
  const ParsedArgs parsed = parser.parse(args);
  if (const std::optional<int> status = parser.stop_early(parsed, kDescription, kExamples)) return *status;
  if (!parsed.positionals.empty()) {
    return parser.fail_usage("unexpected argument '" + parsed.positionals.front() +
                             "': demo takes no URL, it runs its own server");
  }

  std::optional<LoopbackServer> server;
  try {
    server.emplace(demo_body(static_cast<std::size_t>(options.body_size)));
    server->start();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "nethttp demo: cannot start the server: %s\n", e.what());
    return 1;
  }
  const std::string url = server->url();

  // A first request, not counted: whatever the library sets up once per
  // process is in place before the modes count descriptors.
  {
    Client warm_up;
    if (Result<Response> r = warm_up.get(url)) r->body.close();
  }
  settle(*server);

  const long limit = open_file_limit();
  const long room = (limit - count_open_fds() - kFdMargin) / 2;
  const int held_limit = static_cast<int>(std::clamp<long>(room, 1, std::min(options.requests, kMaxHeld)));

  const TransportOptions defaults;
  std::vector<ModeResult> results;
  results.reserve(kModes.size());
  for (const Mode& mode : kModes) {
    const int n = mode.handling == Handling::hold ? held_limit : options.requests;
    ModeResult r = run_mode(mode, n, *server, url);
    r.summary = summarize(r, options, defaults);
    results.push_back(std::move(r));
  }
  server->stop();

  if (options.json) {
    print_json(results, options, defaults, url, limit);
  } else {
    print_table(results, options, held_limit, url, limit);
  }
  const bool ok =
      std::all_of(results.begin(), results.end(), [](const ModeResult& r) { return r.errors == 0; });
  return ok ? 0 : 1;
}

}  // namespace nethttp::cli
